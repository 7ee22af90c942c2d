/*
 * snapshot_tls.c: the TLS side of routes and snapshots: which listen
 * addresses speak TLS, each server's certificate set (loaded when the routes
 * are built: at start, -t and every reload, so HUP re-reads the files), the
 * control plane's certificates by host name, and the SNI decision.
 */
#include "gateway/snapshot.h"

#include "tls/tls.h"

#include <stdarg.h>

static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
    int k = snprintf(err, errlen, "%s:%d: ", file, line);
    if (k >= 0 && (size_t)k < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return JN_ECONFIG;
}

static void settings_of(const struct jn_conf_settings *cs, struct jn_tls_settings *ts)
{
    jn_tls_settings_default(ts);
    ts->protocols = cs->ssl_protocols;
    ts->ciphers = cs->ssl_ciphers;
    ts->prefer_server_ciphers = cs->ssl_prefer_server_ciphers;
    ts->session_cache = cs->ssl_session_cache;
    ts->session_cache_size = cs->ssl_session_cache_size;
    ts->session_timeout_s = (long)(cs->ssl_session_timeout_ms / 1000);
    ts->session_tickets = cs->ssl_session_tickets;
}

static int server_tls(struct jn_gw_routes *r, struct jn_gw_server *gs, const char *listen,
                      char *err, size_t errlen)
{
    const struct jn_conf_server *cs = gs->cs;
    const struct jn_conf_settings *s = &cs->s;
    struct jn_tls_settings ts;
    settings_of(s, &ts);
    char why[512];
    int rc;
    if (s->ssl_reject_handshake) {
        rc = jn_tls_cert_reject(&ts, &gs->tls, why, sizeof(why));
    } else if (s->nssl_certs == 0) {
        return fail(err, errlen, r->conf->path, cs->line,
                    "no \"ssl_certificate\" is defined for the \"listen %s ssl\" directive in "
                    "this server (or set \"ssl_reject_handshake on\")",
                    listen);
    } else if (s->nssl_keys != s->nssl_certs) {
        return fail(err, errlen, r->conf->path, cs->line,
                    "%zu \"ssl_certificate\" but %zu \"ssl_certificate_key\": each certificate "
                    "needs its key, in the same order",
                    s->nssl_certs, s->nssl_keys);
    } else {
        rc = jn_tls_cert_load((const char *const *)s->ssl_certs, (const char *const *)s->ssl_keys,
                              s->nssl_certs, &ts, &gs->tls, why, sizeof(why));
    }
    if (rc < 0)
        return fail(err, errlen, r->conf->path, cs->line, "%s", why);
    return 0;
}

int jn_gw_routes_build_tls(struct jn_gw_routes *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nlistens; i++) {
        struct jn_gw_listen *l = &r->listens[i];
        const char *text = "";
        for (size_t k = 0; k < l->nservers && !l->ssl; k++) {
            const struct jn_conf_server *cs = l->servers[k]->cs;
            for (size_t m = 0; m < cs->nlistens; m++) {
                if (cs->listens[m].ssl && jn_addr_equal(&cs->listens[m].addr, &l->addr)) {
                    l->ssl = true;
                    text = cs->listens[m].text;
                }
            }
        }
        l->http2 = l->def->cs->s.http2;
        for (size_t k = 0; k < l->nservers && !l->http2; k++) {
            const struct jn_conf_server *cs = l->servers[k]->cs;
            for (size_t m = 0; m < cs->nlistens; m++)
                if (cs->listens[m].http2 && jn_addr_equal(&cs->listens[m].addr, &l->addr))
                    l->http2 = true;
        }
        for (size_t k = 0; l->ssl && k < l->nservers; k++) {
            if (l->servers[k]->tls)
                continue;
            int rc = server_tls(r, l->servers[k], text, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

void jn_gw_routes_free_tls(struct jn_gw_routes *r)
{
    for (size_t i = 0; r->servers && i < r->nservers; i++) {
        jn_tls_cert_unref(r->servers[i].tls);
        r->servers[i].tls = NULL;
    }
}

static struct jn_tls_cert *find_cert(const struct jn_gw_snapshot *s, const char *host)
{
    size_t lo = 0, hi = s->ncerts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->certs[mid].host, host);
        if (c == 0)
            return s->certs[mid].cert;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct jn_tls_cert *jn_gw_sni_pick(const struct jn_gw_snapshot *s, const struct jn_gw_listen *l,
                                   const char *name)
{
    if (name && name[0]) {
        const struct jn_gw_server *srv = jn_gw_match_server(l, name, strlen(name));
        if (srv && srv->tls)
            return srv->tls;
        struct jn_tls_cert *c = s->ncerts ? find_cert(s, name) : NULL;
        if (c)
            return c;
    }
    return l->def->tls;
}

void jn_gw_certs_copy(struct jn_gw_snapshot *dst, const struct jn_gw_snapshot *src)
{
    dst->ncerts = src->ncerts;
    dst->certs = src->ncerts ? jn_calloc(src->ncerts, sizeof(*dst->certs)) : NULL;
    for (size_t i = 0; i < src->ncerts; i++) {
        dst->certs[i].host = jn_strdup(src->certs[i].host);
        dst->certs[i].cert = src->certs[i].cert;
        jn_tls_cert_ref(dst->certs[i].cert);
    }
}

void jn_gw_certs_free(struct jn_gw_snapshot *s)
{
    for (size_t i = 0; i < s->ncerts; i++) {
        free(s->certs[i].host);
        jn_tls_cert_unref(s->certs[i].cert);
    }
    free(s->certs);
    s->certs = NULL;
    s->ncerts = 0;
}
