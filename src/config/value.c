#include "config/value.h"

#define MAX_VALUE ((int64_t)1 << 53)

static int64_t parse_digits(const char **p)
{
    const char *s = *p;
    int64_t v = 0;
    if (*s < '0' || *s > '9')
        return JN_EBADINPUT;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > MAX_VALUE)
            return JN_EBADINPUT;
        s++;
    }
    *p = s;
    return v;
}

int64_t jn_conf_parse_time(const char *s)
{
    if (!*s)
        return JN_EBADINPUT;
    int64_t total = 0;
    /* units must come in decreasing order, each at most once, as nginx requires */
    int last_rank = 100;
    while (*s) {
        int64_t v = parse_digits(&s);
        if (v < 0)
            return JN_EBADINPUT;
        int64_t mul;
        int rank;
        if (s[0] == 'm' && s[1] == 's') {
            mul = 1, rank = 0, s += 2;
        } else {
            switch (*s) {
            case '\0':
                mul = 1000, rank = 1;
                break;
            case 's':
                mul = 1000, rank = 1, s++;
                break;
            case 'm':
                mul = 60000, rank = 2, s++;
                break;
            case 'h':
                mul = 3600000, rank = 3, s++;
                break;
            case 'd':
                mul = 86400000, rank = 4, s++;
                break;
            case 'w':
                mul = 604800000, rank = 5, s++;
                break;
            default:
                return JN_EBADINPUT;
            }
        }
        if (rank >= last_rank)
            return JN_EBADINPUT;
        last_rank = rank;
        if (v > (int64_t)2147483647 * 1000 / mul)
            return JN_EBADINPUT;
        total += v * mul;
        if (total > (int64_t)2147483647 * 1000)
            return JN_EBADINPUT;
    }
    return total;
}

int64_t jn_conf_parse_size(const char *s)
{
    int64_t v = parse_digits(&s);
    if (v < 0)
        return JN_EBADINPUT;
    int shift = 0;
    switch (*s) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10, s++;
        break;
    case 'm':
    case 'M':
        shift = 20, s++;
        break;
    case 'g':
    case 'G':
        shift = 30, s++;
        break;
    default:
        return JN_EBADINPUT;
    }
    if (*s || v > (MAX_VALUE >> shift))
        return JN_EBADINPUT;
    return v << shift;
}

int jn_conf_parse_int(const char *s, long min, long max, long *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    int64_t v = parse_digits(&p);
    if (v < 0 || *p)
        return JN_EBADINPUT;
    if (neg)
        v = -v;
    if (v < min || v > max)
        return JN_EBADINPUT;
    *out = (long)v;
    return 0;
}

int jn_conf_parse_flag(const char *s)
{
    if (strcmp(s, "on") == 0)
        return 1;
    if (strcmp(s, "off") == 0)
        return 0;
    return JN_EBADINPUT;
}

int jn_conf_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 255;
    unsigned char row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned char)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned char diag = row[0];
        row[0] = (unsigned char)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned char up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = (unsigned char)best;
            diag = up;
        }
    }
    return row[lb];
}
