/*
 * regex.h: regular expressions for the config (location ~, server_name ~),
 * over PCRE2 as nginx uses PCRE. The only user of <pcre2.h>.
 *
 * A compiled expression is immutable and may be matched by any thread at
 * once. Matching allocates nothing per call: each thread keeps one match
 * block, made the first time it matches.
 */
#ifndef JN_CORE_REGEX_H
#define JN_CORE_REGEX_H

#include "core/common.h"

struct jn_regex;

/* Compiles pattern (caseless: as ~* in nginx). Returns 0 and *out, or
 * JN_ECONFIG with PCRE2's message and offset in err. Control thread. */
int jn_regex_compile(const char *pattern, bool caseless, struct jn_regex **out, char *err,
                     size_t errlen);

/* Whether s[0..n) matches (anywhere, unless the pattern anchors itself).
 * Any thread. */
bool jn_regex_match(const struct jn_regex *re, const char *s, size_t n);

/* Frees a compiled expression. NULL is fine. */
void jn_regex_free(struct jn_regex *re);

#endif
