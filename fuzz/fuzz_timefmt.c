/*
 * fuzz_timefmt.c: durations, RFC 3339 times and log time stamps (core/timefmt.h).
 * The input is read as bytes (an exactly-sized copy: ASan sees any read past
 * its end) and as a string. Invariants: a parse either fails or consumes
 * within the input and gives a time; a duration is never negative; a time
 * written by jn_rfc3339_format reads back to the same millisecond.
 */
#include "fuzz/check.h"

#include "core/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *raw = fuzz_copy(data, len);
    int64_t ms = -1;
    int n = jn_rfc3339_parse(raw, len, &ms);
    FUZZ_CHECK(n == JN_EBADINPUT || (n >= 20 && (size_t)n <= len));
    if (n > 0 && ms >= 0 && ms < 253402300799000LL) {
        char out[40];
        int64_t back = -1;
        jn_rfc3339_format(ms, out, sizeof(out));
        FUZZ_CHECK(jn_rfc3339_parse(out, strlen(out), &back) == 24 && back == ms);
    }
    n = jn_log_stamp_parse(raw, len, &ms);
    FUZZ_CHECK(n == JN_EBADINPUT || (n > 0 && (size_t)n <= len && raw[n - 1] == ' '));
    char *s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    int r = jn_duration_parse(s, &ms);
    FUZZ_CHECK(r == 0 || r == JN_EBADINPUT);
    if (r == 0)
        FUZZ_CHECK(ms >= 0);
    r = jn_time_arg_parse(s, 1796410047000LL, &ms);
    FUZZ_CHECK(r == 0 || r == JN_EBADINPUT);
    free(s);
    free(raw);
    return 0;
}
