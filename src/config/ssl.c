/*
 * ssl.c: the ssl_* directives (http and server level), with nginx's syntax
 * and defaults. Certificates are only named here; they are loaded when the
 * gateway builds its routes (gateway/snapshot.c, tls/tls.c).
 */
#include "config/build.h"

#include "config/value.h"

static struct jn_conf_level *level_of(void *target)
{
    return target;
}

/* ssl_certificate / ssl_certificate_key: repeatable (an RSA and an ECDSA pair
 * side by side); the first at a level replaces the inherited list. Relative
 * paths resolve against the directory of the file that names them. */
JN_CONF_HANDLER(jn_conf_set_ssl_certificate)
{
    struct jn_conf_level *lvl = level_of(target);
    struct jn_conf_settings *s = lvl->s;
    bool keys = d->offset == offsetof(struct jn_conf_settings, ssl_keys);
    char ***list = keys ? &s->ssl_keys : &s->ssl_certs;
    size_t *count = keys ? &s->nssl_keys : &s->nssl_certs;
    bool *here = keys ? &lvl->keys_here : &lvl->certs_here;
    const char *p = n->args[0];
    if (p[0] == '\0')
        return jn_conf_error(b, n, "empty path in \"%s\" directive", n->name);
    if (strncmp(p, "data:", 5) == 0 || strncmp(p, "engine:", 7) == 0 || strchr(p, '$'))
        return jn_conf_error(b, n, "\"%s\" in \"%s\" is not supported: give the path of a PEM file",
                             p, n->name);
    if (!*here) {
        for (size_t i = 0; i < *count; i++)
            free((*list)[i]);
        *count = 0;
        *here = true;
    }
    char **slot = jn_conf_grow(list, count, sizeof(char *));
    *slot = jn_conf_path(n, p);
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} protocol_names[] = {
    {"TLSv1", 0x1u},
    {"TLSv1.1", 0x2u},
    {"TLSv1.2", 0x4u},
    {"TLSv1.3", 0x8u},
};

JN_CONF_HANDLER(jn_conf_set_ssl_protocols)
{
    struct jn_conf_settings *s = level_of(target)->s;
    unsigned bits = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        size_t k = 0;
        while (k < JN_ARRAY_LEN(protocol_names) && strcmp(protocol_names[k].name, n->args[i]) != 0)
            k++;
        if (k == JN_ARRAY_LEN(protocol_names)) {
            if (strcmp(n->args[i], "SSLv2") == 0 || strcmp(n->args[i], "SSLv3") == 0)
                return jn_conf_error(b, n,
                                     "\"%s\" in \"ssl_protocols\" is not supported: it is "
                                     "broken; use TLSv1.2 TLSv1.3",
                                     n->args[i]);
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in \"ssl_protocols\" directive: expected "
                                 "TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3",
                                 n->args[i]);
        }
        bits |= protocol_names[k].bit;
    }
    s->ssl_protocols = bits;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_ssl_ciphers)
{
    struct jn_conf_settings *s = level_of(target)->s;
    if (n->args[0][0] == '\0')
        return jn_conf_error(b, n, "empty value in \"ssl_ciphers\" directive");
    free(s->ssl_ciphers);
    s->ssl_ciphers = jn_strdup(n->args[0]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_ssl_flag)
{
    int f = jn_conf_parse_flag(n->args[0]);
    if (f < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected \"on\" or \"off\"",
                             n->args[0], n->name);
    *(bool *)((char *)level_of(target)->s + d->offset) = f == 1;
    return 0;
}

/* ssl_session_cache off | none | [builtin[:SIZE]] [shared:NAME:SIZE]. jern's
 * cache lives in the SSL_CTX that all workers share, so builtin and shared
 * are one cache (shared's SIZE in bytes counts as SIZE/256 sessions, nginx's
 * estimate: about 4000 sessions per megabyte). */
JN_CONF_HANDLER(jn_conf_set_ssl_session_cache)
{
    struct jn_conf_settings *s = level_of(target)->s;
    bool on = false;
    long size = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        if ((strcmp(a, "off") == 0 || strcmp(a, "none") == 0) && n->nargs == 1) {
            on = false;
        } else if (strcmp(a, "builtin") == 0) {
            on = true;
        } else if (strncmp(a, "builtin:", 8) == 0) {
            long v;
            if (jn_conf_parse_int(a + 8, 1, 1L << 30, &v) < 0)
                return jn_conf_error(b, n, "invalid session cache size in \"%s\"", a);
            on = true;
            size = v;
        } else if (strncmp(a, "shared:", 7) == 0 && strchr(a + 7, ':') &&
                   strchr(a + 7, ':') > a + 7) {
            int64_t bytes = jn_conf_parse_size(strchr(a + 7, ':') + 1);
            if (bytes < 8192)
                return jn_conf_error(b, n,
                                     "invalid zone size in \"%s\": expected NAME:SIZE with SIZE "
                                     "8k or more, such as shared:SSL:10m",
                                     a);
            on = true;
            size = (long)JN_MIN(bytes / 256, (int64_t)1 << 30);
        } else {
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in \"ssl_session_cache\" directive: "
                                 "expected off, none, builtin[:SIZE] or shared:NAME:SIZE",
                                 a);
        }
    }
    s->ssl_session_cache = on;
    s->ssl_session_cache_size = size;
    return 0;
}
