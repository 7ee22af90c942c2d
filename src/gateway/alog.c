/*
 * alog.c: access logging for the gateway's workers (see alog.h).
 */
#include "gateway/alog.h"

#include "core/log.h"
#include "gateway/conn_io.h"
#include "gateway/accesslog.h"
#include "gateway/types.h"

#include <arpa/inet.h>
#include <time.h>

struct alog_file {
    char *path;
    struct jn_accesslog *log;
};

/* The writers of one snapshot, resolved once each: [i] for routes->alogs[i],
 * then one per app entry (its own log). UNRESOLVED until first used, so the
 * path comparisons happen once per snapshot, not once per request. */
struct alog_cache {
    uint64_t generation; /* of the snapshot w belongs to; 0: none yet */
    struct jn_accesslog **w;
};

struct alogs {
    struct alog_file *files;
    size_t n;
    struct alog_cache cache;
};

static struct jn_accesslog unresolved_mark;
#define UNRESOLVED (&unresolved_mark)

static struct jn_accesslog *writer(struct gw_worker *w, const char *path)
{
    struct alogs *a = w->alog;
    if (!a)
        a = w->alog = jn_calloc(1, sizeof(*a));
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->files[i].path, path) == 0)
            return a->files[i].log;
    struct jn_accesslog *l = NULL;
    int rc = jn_accesslog_open(path, 0, &l);
    if (rc < 0) {
        /* Remembered as NULL so a bad path costs one error line, not one per request. */
        jn_error("gateway: access_log \"%s\": %s", path, jn_strerror(rc));
        l = NULL;
    }
    a->files = jn_realloc(a->files, (a->n + 1) * sizeof(*a->files));
    a->files[a->n].path = jn_strdup(path);
    a->files[a->n].log = l;
    a->n++;
    return l;
}

/* The writer of slot i of snapshot s (see struct alog_cache) for path. */
static struct jn_accesslog *cached_writer(struct gw_worker *w, const struct jn_gw_snapshot *s,
                                          size_t i, const char *path)
{
    struct alogs *a = w->alog;
    if (!a)
        a = w->alog = jn_calloc(1, sizeof(*a));
    struct alog_cache *c = &a->cache;
    if (c->generation != s->generation) { /* unique per snapshot: its sizes are fixed */
        size_t n = s->routes->nalogs + s->napps; /* > i, so > 0 */
        c->w = jn_realloc(c->w, n * sizeof(*c->w));
        for (size_t k = 0; k < n; k++)
            c->w[k] = UNRESOLVED;
        c->generation = s->generation;
    }
    if (c->w[i] == UNRESOLVED)
        c->w[i] = writer(w, path);
    return c->w[i];
}

void gw_alog_request(struct gw_worker *w, struct gw_req *r)
{
    const struct jn_gw_location *loc = r->loc;
    if (!loc) {
        const struct jn_gw_listen *l =
            r->snap ? jn_gw_snapshot_listen(r->snap, r->c->listen_id) : NULL;
        loc = l ? &l->def->app_loc : NULL;
    }
    const struct jn_gw_alog_conf *ac =
        loc && loc->alog >= 0 ? &r->snap->routes->alogs[loc->alog] : NULL;
    /* An app's own log: its server's format, else combined. */
    const char *app_path = r->app && r->snap ? r->app->access_log : NULL;
    struct jn_accesslog *lg = ac ? cached_writer(w, r->snap, (size_t)loc->alog, ac->path) : NULL;
    struct jn_accesslog *alg =
        app_path ? cached_writer(w, r->snap,
                                 r->snap->routes->nalogs + (size_t)(r->app - r->snap->apps),
                                 app_path)
                 : NULL;
    if (!lg && !alg)
        return;
    struct gw_conn *c = r->c;
    if (!r->remote_text[0]) {
        if (c->remote.sa.sa_family == AF_INET)
            inet_ntop(AF_INET, &c->remote.sin.sin_addr, r->remote_text, sizeof(r->remote_text));
        else if (c->remote.sa.sa_family == AF_INET6)
            inet_ntop(AF_INET6, &c->remote.sin6.sin6_addr, r->remote_text, sizeof(r->remote_text));
    }
    struct jn_var_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.req = r->head_len ? &r->hreq : NULL;
    ctx.remote_addr = r->remote_text[0] ? r->remote_text : NULL;
    ctx.remote_port = c->remote.sa.sa_family == AF_INET    ? ntohs(c->remote.sin.sin_port)
                      : c->remote.sa.sa_family == AF_INET6 ? ntohs(c->remote.sin6.sin6_port)
                                                           : 0;
    gw_conn_vars(c, &ctx);
    ctx.status = r->status;
    ctx.body_bytes_sent = r->body_bytes;
    ctx.bytes_sent = r->head_bytes + r->body_bytes;
    ctx.request_length = r->head_len;
    ctx.upstream_addr = r->up_addrs[0] ? r->up_addrs : NULL;
    ctx.upstream_status = r->up_statuses[0] ? r->up_statuses : NULL;
    ctx.upstream_response_time_us = r->up_time_us;
    ctx.upstream_connect_time_us = r->up_connect_us;
    ctx.upstream_header_time_us = r->up_time_us;
    ctx.upstream_response_length = r->resp_head_done ? (int64_t)r->rs.body_out : -1;
    ctx.request_time_us = (jn_loop_now_ns(c->w->loop) - r->start_ns) / 1000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ctx.time_sec = ts.tv_sec;
    ctx.time_msec = (int)(ts.tv_nsec / 1000000);
    ctx.connection = c->serial;
    ctx.connection_requests = c->nreqs + 1;
    if (r->snap && r->loc) {
        ctx.user = &r->snap->routes->uvars;
        ctx.sets = r->loc->sets;
        ctx.nsets = r->loc->nsets;
        ctx.proxy_host = r->loc->proxy_host;
        ctx.server_name = r->loc->server_name;
    }
    if (lg)
        jn_accesslog_write(lg, &ac->fmt, &ctx);
    if (alg)
        jn_accesslog_write(alg, ac ? &ac->fmt : &r->snap->routes->app_fmt, &ctx);
}

void jn_gw_alog_flush(struct gw_worker *w)
{
    struct alogs *a = w->alog;
    for (size_t i = 0; a && i < a->n; i++)
        if (a->files[i].log)
            jn_accesslog_flush(a->files[i].log);
}

void jn_gw_alog_reopen(struct gw_worker *w)
{
    struct alogs *a = w->alog;
    for (size_t i = 0; a && i < a->n; i++) {
        if (!a->files[i].log)
            continue;
        int rc = jn_accesslog_reopen(a->files[i].log);
        if (rc < 0)
            jn_error("gateway: reopening access_log \"%s\": %s", a->files[i].path, jn_strerror(rc));
    }
}

void jn_gw_alog_free(struct gw_worker *w)
{
    struct alogs *a = w->alog;
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        jn_accesslog_close(a->files[i].log);
        free(a->files[i].path);
    }
    free(a->files);
    free(a->cache.w);
    free(a);
    w->alog = NULL;
}
