/*
 * timefmt.c: durations, RFC 3339 times and log time stamps (timefmt.h).
 */
#include "core/common.h"

#include "core/timefmt.h"

#include <time.h>

#define DURATION_MAX_MS (100LL * 365 * 24 * 3600 * 1000)

int jn_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    int64_t total = 0;
    if (!s || !*s)
        return JN_EBADINPUT;
    while (*s) {
        if (*s < '0' || *s > '9')
            return JN_EBADINPUT;
        int64_t v = 0;
        for (; *s >= '0' && *s <= '9'; s++) {
            v = v * 10 + (*s - '0');
            if (v > DURATION_MAX_MS)
                return JN_EBADINPUT;
        }
        int64_t mult = 0;
        if (!*s && total == 0) {
            mult = 1000; /* a bare number: seconds */
        } else {
            for (size_t i = 0; i < JN_ARRAY_LEN(units) && !mult; i++) {
                size_t n = strlen(units[i].unit);
                /* "m" must not take the "m" of "ms" */
                if (strncmp(s, units[i].unit, n) == 0 && !(n == 1 && s[0] == 'm' && s[1] == 's')) {
                    mult = units[i].ms;
                    s += n;
                }
            }
        }
        if (!mult || v > DURATION_MAX_MS / mult)
            return JN_EBADINPUT;
        total += v * mult;
        if (total > DURATION_MAX_MS)
            return JN_EBADINPUT;
    }
    *ms = total;
    return 0;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, size_t len, size_t at, int n)
{
    int v = 0;
    if (at + (size_t)n > len)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = s[at + (size_t)i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

int jn_rfc3339_parse(const char *s, size_t len, int64_t *ms)
{
    int y = digits(s, len, 0, 4), mo = digits(s, len, 5, 2), d = digits(s, len, 8, 2);
    int h = digits(s, len, 11, 2), mi = digits(s, len, 14, 2), se = digits(s, len, 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return JN_EBADINPUT;
    size_t at = 19;
    int64_t frac = 0;
    if (at < len && s[at] == '.') {
        int64_t scale = 100;
        size_t start = ++at;
        for (; at < len && s[at] >= '0' && s[at] <= '9'; at++) {
            frac += (s[at] - '0') * scale;
            scale /= 10;
        }
        if (at == start)
            return JN_EBADINPUT;
    }
    int64_t off = 0;
    if (at < len && (s[at] == 'Z' || s[at] == 'z')) {
        at++;
    } else if (at < len && (s[at] == '+' || s[at] == '-')) {
        int oh = digits(s, len, at + 1, 2), om = digits(s, len, at + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || at + 3 >= len || s[at + 3] != ':')
            return JN_EBADINPUT;
        off = (oh * 60 + om) * 60 * (s[at] == '+' ? 1 : -1);
        at += 6;
    } else {
        return JN_EBADINPUT;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return JN_EBADINPUT;
    *ms = ((int64_t)t - off) * 1000 + frac;
    return (int)at;
}

int jn_time_arg_parse(const char *s, int64_t now_ms, int64_t *ms)
{
    int64_t v;
    if (s[0] == '@') {
        char *end;
        long long secs = strtoll(s + 1, &end, 10);
        if (end == s + 1 || *end || secs < 0 || secs > DURATION_MAX_MS / 1000)
            return JN_EBADINPUT;
        *ms = secs * 1000;
        return 0;
    }
    size_t n = strlen(s);
    if (jn_rfc3339_parse(s, n, &v) == (int)n) {
        *ms = v;
        return 0;
    }
    if (jn_duration_parse(s, &v) < 0)
        return JN_EBADINPUT;
    *ms = now_ms - v;
    return 0;
}

int jn_log_stamp_parse(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int64_t v = 0;
    for (; i < len && i < 17 && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    if (i >= 10 && i < len && s[i] == ' ') { /* unix milliseconds (a year has 4 digits) */
        *ms = v;
        return (int)i + 1;
    }
    int n = jn_rfc3339_parse(s, len, &v);
    if (n < 0 || (size_t)n >= len || s[n] != ' ')
        return JN_EBADINPUT;
    *ms = v;
    return n + 1;
}

void jn_rfc3339_format(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", buf, (int)(ms % 1000));
}

int64_t jn_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
