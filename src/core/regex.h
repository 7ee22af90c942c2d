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

/* $0 (the whole match) and $1..$9, as nginx's rewrite captures. */
#define JN_REGEX_MAX_GROUPS 10

/* Matches like jn_regex_match and keeps the groups: returns how many of
 * $0..$9 were set (ovec[2i], ovec[2i+1] the start and end of $i, (size_t)-1
 * for a group that took no part), 0 when s does not match. ovec has room
 * for 2 * JN_REGEX_MAX_GROUPS. Any thread. */
int jn_regex_exec(const struct jn_regex *re, const char *s, size_t n, size_t *ovec);

/* Frees a compiled expression. NULL is fine. */
void jn_regex_free(struct jn_regex *re);

#endif
