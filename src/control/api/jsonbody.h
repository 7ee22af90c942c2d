/*
 * jsonbody.h: admin request bodies as JSON, with every string checked for
 * control characters. cJSON keeps raw control bytes and silently cuts a
 * string at a NUL (raw, or the escape \u0000): "evil.com\u0000.shop.com"
 * would be read as "evil.com". Names, domains, commands, images and paths
 * cannot hold a control character, so a body with one is refused with the
 * field's name. Pure functions, any thread.
 */
#ifndef JN_CONTROL_JSONBODY_H
#define JN_CONTROL_JSONBODY_H

#include "core/common.h"

struct cJSON;

/* Parses body[0..len) as one JSON value (trailing data is left to the
 * caller: *end is where parsing stopped). A NUL inside a string is kept
 * visible as U+0001 instead of ending the string, so jn_jsonbody_check finds
 * it. Returns the value (free with cJSON_Delete) or NULL with *end near the
 * error. */
struct cJSON *jn_jsonbody_parse(const char *body, size_t len, size_t *end);

/* Walks every key and string value under root. Strings are refused when
 * they hold a control character (U+0000 to U+001F, U+007F), except that the
 * values of the top-level "env" object (free text) may hold tab, CR and LF.
 * Returns true when clean; otherwise false with the field's path (such as
 * "domains[1]" or "env.KEY") in field. */
bool jn_jsonbody_check(const struct cJSON *root, char *field, size_t fieldlen);

#endif
