/*
 * timefmt.h: times as users and log sources write them. Pure functions over
 * (text, length), any thread.
 */
#ifndef JN_CORE_TIMEFMT_H
#define JN_CORE_TIMEFMT_H

#include "core/common.h"

/* A duration: a whole number with a unit, ms, s, m, h or d ("500ms", "10m",
 * "2h"; a bare number is seconds), or several ("1h30m"). Returns 0 and *ms,
 * or JN_EBADINPUT (no digits, an unknown unit, overflow past 100 years). */
int jn_duration_parse(const char *s, int64_t *ms);

/* An RFC 3339 time at the start of s (len bytes): "2026-12-04T18:47:27Z",
 * with optional fraction (any number of digits, kept to ms) and a Z or
 * +hh:mm offset; a space instead of the T is taken too. Returns the bytes
 * used and *ms (unix milliseconds), or JN_EBADINPUT. */
int jn_rfc3339_parse(const char *s, size_t len, int64_t *ms);

/* A --since/--until value: a duration back from now_ms ("10m"), an RFC 3339
 * time, or unix seconds ("@1764870000"). Returns 0 and *ms or JN_EBADINPUT. */
int jn_time_arg_parse(const char *s, int64_t now_ms, int64_t *ms);

/* The time stamp that starts a log line from a driver asked for time stamps:
 * unix milliseconds (exec) or RFC 3339 (the container engine), then one
 * space. Returns the bytes to skip to the text and *ms, or JN_EBADINPUT. */
int jn_log_stamp_parse(const char *s, size_t len, int64_t *ms);

/* The wall clock in unix milliseconds (jn_now_ms is monotonic). */
int64_t jn_wall_ms(void);

/* Writes ms as "2026-12-04T18:47:27.123Z" (UTC) into out (at least 25 bytes). */
void jn_rfc3339_format(int64_t ms, char *out, size_t len);

#endif
