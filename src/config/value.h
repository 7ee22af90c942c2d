/*
 * value.h: nginx's value syntaxes for directive arguments. Pure functions over
 * NUL-terminated text; any thread.
 */
#ifndef JN_CONFIG_VALUE_H
#define JN_CONFIG_VALUE_H

#include "core/common.h"

/* A time as nginx writes it: "30" (seconds), "30s", "500ms", "5m", "1h", "2d",
 * "1w", or a sum such as "1m30s". Returns milliseconds (>= 0), or JN_EBADINPUT
 * (also past about 68 years). */
int64_t jn_conf_parse_time(const char *s);

/* A size: "1024", "8k"/"8K", "1m"/"1M", "1g"/"1G". Returns bytes (>= 0) or
 * JN_EBADINPUT (also past 2^53). */
int64_t jn_conf_parse_size(const char *s);

/* A decimal integer in [min, max]. Returns 0 and *out, or JN_EBADINPUT. */
int jn_conf_parse_int(const char *s, long min, long max, long *out);

/* "on" -> 1, "off" -> 0, else JN_EBADINPUT. */
int jn_conf_parse_flag(const char *s);

/* Edit distance (Levenshtein) between two short strings, capped at 255. */
int jn_conf_edit_distance(const char *a, const char *b);

#endif
