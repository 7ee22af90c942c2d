/* node_url.c: ssh://USER@HOST[:PORT] (node_url.h). */
#include "core/common.h"

#include "cli/node_url.h"

#include <ctype.h>

static bool user_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

static bool host_ok(const char *s, size_t n, bool v6)
{
    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(v6 ? ":." : ".-", s[i]))
            return false;
    return true;
}

int jn_node_url_parse(const char *s, struct jn_node_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = 22;
    const char *fix = "write ssh://USER@HOST or ssh://USER@HOST:PORT";
    if (strncmp(s, "ssh://", 6) != 0) {
        snprintf(err, errlen, "\"%.100s\" is not an ssh:// URL: %s", s, fix);
        return JN_EBADINPUT;
    }
    s += 6;
    const char *at = strchr(s, '@');
    if (!at || !user_ok(s, (size_t)(at - s))) {
        snprintf(err, errlen, "the URL needs a user (letters, digits, . _ -) before @: %s", fix);
        return JN_EBADINPUT;
    }
    memcpy(out->user, s, (size_t)(at - s));
    const char *h = at + 1, *end;
    bool v6 = *h == '[';
    if (v6) {
        end = strchr(h, ']');
        if (!end) {
            snprintf(err, errlen, "an IPv6 host needs its closing ]: ssh://USER@[::1]:PORT");
            return JN_EBADINPUT;
        }
        h++;
    } else {
        end = h + strcspn(h, ":/");
    }
    size_t hn = (size_t)(end - h);
    if (!host_ok(h, hn, v6)) {
        snprintf(err, errlen, "host \"%.*s\" is not a host name or address: %s",
                 (int)JN_MIN(hn, 100), h, fix);
        return JN_EBADINPUT;
    }
    memcpy(out->host, h, hn);
    const char *p = v6 ? end + 1 : end;
    if (*p == ':') {
        char *e;
        errno = 0;
        long port = strtol(p + 1, &e, 10);
        if (errno || e == p + 1 || port < 1 || port > 65535 || (*e && strcmp(e, "/") != 0)) {
            snprintf(err, errlen, "the port must be a number from 1 to 65535: %s", fix);
            return JN_EBADINPUT;
        }
        out->port = (int)port;
    } else if (*p && strcmp(p, "/") != 0) {
        snprintf(err, errlen, "unexpected \"%.40s\" after the host: %s", p, fix);
        return JN_EBADINPUT;
    }
    return 0;
}
