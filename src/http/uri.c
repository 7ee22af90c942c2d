/*
 * uri.c: a request path made safe to join to a document root. Decoding
 * comes first, so an escaped "%2e%2e" or "%2F" is a dot segment or a slash
 * like the plain ones; then segments are resolved on the output as it
 * grows (a ".." removes the last segment written, never the root).
 */
#include "http/uri.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The segment just closed at out[len) (after its '/' at start): "." drops
 * it, ".." drops it and the one before. Returns the new length or -1. */
static ssize_t close_segment(char *out, size_t start, size_t len)
{
    size_t seg = len - start;
    if (seg == 1 && out[start] == '.')
        return (ssize_t)start;
    if (seg == 2 && out[start] == '.' && out[start + 1] == '.') {
        if (start == 1)
            return -1;        /* above the root */
        size_t p = start - 1; /* the '/' before this segment */
        while (p > 0 && out[p - 1] != '/')
            p--;
        return (ssize_t)p;
    }
    return (ssize_t)len;
}

ssize_t jn_uri_normalize(const char *path, size_t n, char *out, size_t cap)
{
    if (n == 0 || path[0] != '/' || cap < 2)
        return -1;
    size_t len = 0, seg_start = 1;
    bool dir = true; /* the result ends with '/': the last segment was empty, "." or ".." */
    out[len++] = '/';
    for (size_t i = 1; i <= n; i++) {
        char c = '/'; /* i == n closes the last segment */
        if (i < n && path[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(path[i + 1]), b = hexval(path[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return -1;
            c = (char)(a * 16 + b);
            i += 2;
        } else if (i < n) {
            if (path[i] == '\0')
                return -1;
            c = path[i];
        }
        if (c != '/') {
            if (len + 1 >= cap)
                return -1;
            out[len++] = c;
            continue;
        }
        if (len == seg_start) { /* an empty segment: "//" merged */
            dir = true;
            continue;
        }
        ssize_t k = close_segment(out, seg_start, len);
        if (k < 0)
            return -1;
        dir = (size_t)k != len;
        len = (size_t)k;
        if (len + 1 >= cap)
            return -1;
        if (out[len - 1] != '/')
            out[len++] = '/';
        seg_start = len;
        if (i < n)
            dir = true;
    }
    if (!dir && len > 1)
        len--; /* "/a/b" stays without the slash the last segment got */
    return (ssize_t)len;
}
