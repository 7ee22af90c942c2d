#include "core/common.h"

#include "control/names.h"
#include "gateway/upstream.h"
#include "net/sock.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>

int jn_name_app_check(const char *name, char *err, size_t errlen)
{
    size_t n = strlen(name);
    const char *why = NULL;
    if (n == 0)
        why = "it is empty";
    else if (n > 63)
        why = "it is longer than 63 characters";
    else if (!(name[0] >= 'a' && name[0] <= 'z'))
        why = "it must start with a lower-case letter";
    else if (name[n - 1] == '-')
        why = "it must not end with '-'";
    for (size_t i = 0; !why && i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            why = "only lower-case letters, digits and '-' are allowed";
    }
    if (!why)
        return 0;
    snprintf(err, errlen, "invalid app name '%.80s': %s (example: shop-api)", name, why);
    return JN_EBADINPUT;
}

int jn_name_domain_norm(const char *domain, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t n = strlen(domain);
    if (n && domain[n - 1] == '.')
        n--;
    const char *why = NULL;
    if (n == 0)
        why = "it is empty";
    else if (n > 253 || n >= outlen)
        why = "it is longer than 253 characters";
    size_t label = 0, labels = 1;
    for (size_t i = 0; !why && i < n; i++) {
        char c = (char)tolower((unsigned char)domain[i]);
        if (c == '.') {
            if (label == 0)
                why = "it has an empty label";
            label = 0;
            labels++;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (++label > 63)
                why = "a label is longer than 63 characters";
        } else if (c == ':') {
            why = "a domain has no port (traffic arrives on jern's listen ports)";
        } else if (c == '*') {
            why = "wildcards are not supported; add each name";
        } else {
            why = "only letters, digits, '-' and '.' are allowed";
        }
        if (!why)
            out[i] = c;
    }
    if (!why && label == 0)
        why = "it has an empty label";
    if (!why && labels < 2)
        why = "it needs at least two labels";
    if (!why) {
        out[n] = '\0';
        return 0;
    }
    snprintf(err, errlen, "invalid domain '%.260s': %s (example: shop.example.com)", domain, why);
    return JN_EBADINPUT;
}

int jn_name_addr_norm(const char *addr, char *out, size_t outlen, char *err, size_t errlen)
{
    struct jn_addr a;
    /* A bare "PORT" would mean 0.0.0.0:PORT: not a place to send requests. */
    if (strchr(addr, ':') && strncmp(addr, "unix:", 5) != 0 && jn_addr_parse(addr, 0, &a) == 0) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a.ss;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;
        in_port_t port = a.ss.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port;
        if (port != 0) {
            jn_addr_format(&a, out, outlen);
            return 0;
        }
    }
    snprintf(err, errlen,
             "invalid server address '%.200s': expected HOST:PORT with an IP address or "
             "localhost (example: 127.0.0.1:9000 or [::1]:9000)",
             addr);
    return JN_EBADINPUT;
}

int jn_name_state_parse(const char *s)
{
    if (strcmp(s, "ready") == 0)
        return JN_PEER_READY;
    if (strcmp(s, "drain") == 0)
        return JN_PEER_DRAIN;
    if (strcmp(s, "maint") == 0)
        return JN_PEER_MAINT;
    return -1;
}

const char *jn_name_state(int state)
{
    switch (state) {
    case JN_PEER_READY:
        return "ready";
    case JN_PEER_DRAIN:
        return "drain";
    case JN_PEER_MAINT:
        return "maint";
    }
    return "unknown";
}
