/*
 * gateway.c: the control side of the gateway (see gateway.h): builds
 * snapshots, owns the table of listen addresses (one SO_REUSEPORT socket per
 * worker per address, kept across reloads for addresses that stay) and
 * publishes every change to the workers through their loops.
 */
#include "gateway/gateway.h"

#include "core/log.h"
#include "ev/loop.h"
#include "gateway/snapshot.h"
#include "gateway/worker.h"
#include "net/owner.h"
#include "net/sock.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096

struct listen_entry {
    struct jn_addr addr;
    int id;
    int *fds; /* one per worker; owned by the workers once handed over */
};

struct jn_gateway {
    struct jn_loop *loop;
    struct jn_gw_snapshot *snap; /* the newest, one reference */
    struct gw_worker **workers;
    size_t nworkers;
    struct listen_entry *listens;
    size_t nlistens;
    int next_id;
    char *app_log_dir; /* apps' own access logs: DIR/APP/access.log; NULL: none */
    bool held; /* started held: the workers get no listener yet (jn_gateway_open) */
    /* graceful stop */
    _Atomic int quitting;
    void (*done)(void *);
    void *done_arg;
};

int jn_gateway_check(struct jn_conf *conf, char *err, size_t errlen)
{
    struct jn_gw_routes *routes;
    int rc = jn_gw_routes_build(conf, &routes, err, errlen);
    if (rc < 0)
        return rc;
    struct jn_gw_snapshot *s = jn_gw_snapshot_build(routes, NULL);
    for (size_t i = 0; i < s->nups; i++) {
        if (!s->ups[i].u) {
            snprintf(err, errlen, "%s: upstream \"%s\" could not be built", conf->path,
                     routes->up_names[i]);
            rc = JN_ECONFIG;
        }
    }
    jn_gw_snapshot_unref(s);
    jn_gw_routes_unref(routes);
    return rc;
}

static void raise_nofile(const struct jn_conf *conf)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = conf->worker_rlimit_nofile > 0 ? (rlim_t)conf->worker_rlimit_nofile : rl.rlim_max;
    if (want > rl.rlim_max && rl.rlim_max != RLIM_INFINITY)
        want = rl.rlim_max;
    if (want <= rl.rlim_cur)
        return;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        jn_warn("gateway: cannot raise the open files limit to %llu: %s", (unsigned long long)want,
                strerror(errno));
}

static struct listen_entry *find_entry(struct jn_gateway *g, const struct jn_addr *a)
{
    for (size_t i = 0; i < g->nlistens; i++)
        if (jn_addr_equal(&g->listens[i].addr, a))
            return &g->listens[i];
    return NULL;
}

/* Sends snapshot s and the listener set to every worker. */
static void publish(struct jn_gateway *g, struct jn_gw_snapshot *s)
{
    if (g->snap)
        jn_gw_snapshot_unref(g->snap);
    g->snap = s;
    struct gw_listen_fd *lfds = jn_calloc(g->nlistens ? g->nlistens : 1, sizeof(*lfds));
    size_t n = g->held ? 0 : g->nlistens;
    for (size_t w = 0; w < g->nworkers; w++) {
        for (size_t i = 0; i < n; i++) {
            lfds[i].id = g->listens[i].id;
            lfds[i].fd = g->listens[i].fds[w];
        }
        jn_gw_snapshot_ref(s);
        gw_worker_update(g->workers[w], s, lfds, n);
    }
    free(lfds);
}

/* Opens the listeners routes needs that are not open yet and sets the ids.
 * On failure closes what it opened and returns the error. */
static int open_listens(struct jn_gateway *g, struct jn_gw_routes *routes,
                        struct listen_entry **out, size_t *nout, char *err, size_t errlen)
{
    struct listen_entry *v = jn_calloc(routes->nlistens ? routes->nlistens : 1, sizeof(*v));
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < routes->nlistens; i++) {
        struct jn_gw_listen *l = &routes->listens[i];
        struct listen_entry *old = find_entry(g, &l->addr);
        struct listen_entry *e = &v[n++];
        e->addr = l->addr;
        e->fds = jn_calloc(g->nworkers, sizeof(int));
        if (old) {
            e->id = old->id;
            memcpy(e->fds, old->fds, g->nworkers * sizeof(int));
        } else {
            e->id = g->next_id++;
            for (size_t w = 0; w < g->nworkers; w++)
                e->fds[w] = -1;
            rc = jn_sock_check_free(&l->addr, err, errlen);
            if (rc < 0)
                break;
            for (size_t w = 0; w < g->nworkers; w++) {
                int fd = jn_sock_listen(&l->addr, LISTEN_BACKLOG, true);
                if (fd < 0) {
                    char a[128];
                    snprintf(err, errlen, "listen %s: %s", jn_addr_format(&l->addr, a, sizeof(a)),
                             jn_strerror(fd));
                    rc = fd;
                    break;
                }
                e->fds[w] = fd;
            }
            if (rc < 0)
                break;
        }
        l->id = e->id;
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) {
            if (!find_entry(g, &v[i].addr))
                for (size_t w = 0; w < g->nworkers; w++)
                    if (v[i].fds[w] >= 0)
                        close(v[i].fds[w]);
            free(v[i].fds);
        }
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

static void free_listens(struct listen_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].fds);
    free(v);
}

static int gateway_start(struct jn_loop *loop, struct jn_conf *conf, bool held,
                         struct jn_gateway **out, char *err, size_t errlen)
{
    raise_nofile(conf);
    int workers = conf->worker_processes > 0 ? conf->worker_processes : 1;
    int conns = conf->worker_connections > 0 ? conf->worker_connections : 1024;
    struct jn_gw_routes *routes;
    int rc = jn_gw_routes_build(conf, &routes, err, errlen);
    if (rc < 0)
        return rc;
    struct jn_gateway *g = jn_calloc(1, sizeof(*g));
    g->loop = loop;
    g->nworkers = (size_t)workers;
    g->next_id = 1;
    g->held = held;
    rc = open_listens(g, routes, &g->listens, &g->nlistens, err, errlen);
    if (rc < 0) {
        jn_gw_routes_unref(routes);
        free(g);
        return rc;
    }
    struct jn_gw_snapshot *s = jn_gw_snapshot_build(routes, NULL);
    jn_gw_routes_unref(routes);
    g->workers = jn_calloc(g->nworkers, sizeof(*g->workers));
    for (size_t i = 0; i < g->nworkers; i++) {
        g->workers[i] = gw_worker_new(g, (int)i, (size_t)conns);
        if (!g->workers[i]) {
            snprintf(err, errlen, "cannot create an event loop for worker %zu", i);
            return -ENOMEM;
        }
    }
    publish(g, s);
    for (size_t i = 0; i < g->nworkers; i++) {
        rc = gw_worker_run(g->workers[i]);
        if (rc < 0) {
            snprintf(err, errlen, "cannot start worker thread %zu: %s", i, jn_strerror(rc));
            return rc;
        }
    }
    for (size_t i = 0; i < g->nlistens; i++) {
        char a[128];
        struct jn_addr bound = g->listens[i].addr;
        int port = jn_sock_local_port(g->listens[i].fds[0]);
        if (port > 0 && bound.ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&bound.ss)->sin_port = htons((uint16_t)port);
        else if (port > 0 && bound.ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&bound.ss)->sin6_port = htons((uint16_t)port);
        jn_notice("gateway: listening on %s (%zu workers)", jn_addr_format(&bound, a, sizeof(a)),
                  g->nworkers);
    }
    *out = g;
    return 0;
}

int jn_gateway_start(struct jn_loop *loop, struct jn_conf *conf, struct jn_gateway **out, char *err,
                     size_t errlen)
{
    return gateway_start(loop, conf, false, out, err, errlen);
}

int jn_gateway_start_held(struct jn_loop *loop, struct jn_conf *conf, struct jn_gateway **out,
                          char *err, size_t errlen)
{
    return gateway_start(loop, conf, true, out, err, errlen);
}

void jn_gateway_open(struct jn_gateway *g)
{
    if (!g->held)
        return;
    g->held = false;
    jn_gw_snapshot_ref(g->snap);
    publish(g, g->snap);
}

int jn_gateway_reload(struct jn_gateway *g, struct jn_conf *conf, char *err, size_t errlen)
{
    if (conf->worker_processes > 0 && (size_t)conf->worker_processes != g->nworkers)
        jn_notice("gateway: worker_processes %d takes effect after a restart (running %zu)",
                  conf->worker_processes, g->nworkers);
    struct jn_gw_routes *routes;
    int rc = jn_gw_routes_build(conf, &routes, err, errlen);
    if (rc < 0)
        return rc;
    struct listen_entry *v;
    size_t n;
    rc = open_listens(g, routes, &v, &n, err, errlen);
    if (rc < 0) {
        jn_gw_routes_unref(routes);
        return rc;
    }
    struct jn_gw_snapshot *s = jn_gw_snapshot_build(routes, g->snap);
    jn_gw_routes_unref(routes);
    /* Removed addresses: each worker closes its own socket when it sees the
     * new set; the old table only goes away here. */
    free_listens(g->listens, g->nlistens);
    g->listens = v;
    g->nlistens = n;
    publish(g, s);
    jn_notice("gateway: configuration reloaded (%zu listen addresses)", n);
    return 0;
}

int jn_gateway_set_upstream(struct jn_gateway *g, const char *name, struct jn_upstream *u,
                            bool wait_ready, int64_t wait_timeout_ms)
{
    const struct jn_gw_routes *r = g->snap->routes;
    for (size_t i = 0; i < r->nups; i++) {
        if (strcmp(r->up_names[i], name) != 0)
            continue;
        struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
        jn_upstream_ref(u);
        jn_upstream_unref(s->ups[i].u);
        s->ups[i].u = u;
        s->ups[i].wait_ready = wait_ready;
        s->ups[i].wait_timeout_ms = wait_timeout_ms;
        publish(g, s);
        return 0;
    }
    return JN_ENOTFOUND;
}

static int norm_app_host(const char *host, char *out, size_t cap)
{
    size_t n = strlen(host);
    if (n == 0 || n >= cap)
        return JN_EBADINPUT;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (!(isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
            return JN_EBADINPUT;
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    return 0;
}

int jn_gateway_set_app(struct jn_gateway *g, const char *host, struct jn_upstream *u,
                       bool wait_ready, int64_t wait_timeout_ms)
{
    char h[256];
    if (norm_app_host(host, h, sizeof(h)) < 0)
        return JN_EBADINPUT;
    struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
    size_t pos = 0;
    while (pos < s->napps && strcmp(s->apps[pos].host, h) < 0)
        pos++;
    jn_upstream_ref(u);
    if (pos < s->napps && strcmp(s->apps[pos].host, h) == 0) {
        jn_upstream_unref(s->apps[pos].u);
    } else {
        s->apps = jn_realloc(s->apps, (s->napps + 1) * sizeof(*s->apps));
        memmove(&s->apps[pos + 1], &s->apps[pos], (s->napps - pos) * sizeof(*s->apps));
        s->napps++;
        memset(&s->apps[pos], 0, sizeof(s->apps[pos]));
        s->apps[pos].host = jn_strdup(h);
    }
    s->apps[pos].u = u;
    s->apps[pos].wait_ready = wait_ready;
    s->apps[pos].wait_timeout_ms = wait_timeout_ms;
    free(s->apps[pos].access_log);
    s->apps[pos].access_log = NULL;
    if (g->app_log_dir && u->name) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", g->app_log_dir, u->name);
        if (jn_mkdirs(dir) == 0) {
            size_t n = strlen(dir) + 16;
            s->apps[pos].access_log = jn_malloc(n);
            snprintf(s->apps[pos].access_log, n, "%s/access.log", dir);
        } else {
            jn_warn("gateway: cannot make %s for the access log of app '%s'", dir, u->name);
        }
    }
    publish(g, s);
    return 0;
}

void jn_gateway_set_app_log_dir(struct jn_gateway *g, const char *dir)
{
    free(g->app_log_dir);
    g->app_log_dir = dir ? jn_strdup(dir) : NULL;
}

/* The index of host's entry in the current snapshot's app table, or -1
 * (also for a host that does not normalise). */
static ssize_t app_index(const struct jn_gateway *g, const char *host)
{
    char h[256];
    if (norm_app_host(host, h, sizeof(h)) < 0)
        return -1;
    for (size_t i = 0; i < g->snap->napps; i++)
        if (strcmp(g->snap->apps[i].host, h) == 0)
            return (ssize_t)i;
    return -1;
}

int jn_gateway_remove_app(struct jn_gateway *g, const char *host)
{
    ssize_t i = app_index(g, host);
    if (i < 0)
        return JN_ENOTFOUND;
    struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
    free(s->apps[i].host);
    free(s->apps[i].access_log);
    jn_upstream_unref(s->apps[i].u);
    memmove(&s->apps[i], &s->apps[i + 1], (s->napps - (size_t)i - 1) * sizeof(*s->apps));
    s->napps--;
    publish(g, s);
    return 0;
}

int jn_gateway_set_app_https(struct jn_gateway *g, const char *host, int mode, int port)
{
    ssize_t i = app_index(g, host);
    if (i < 0)
        return JN_ENOTFOUND;
    struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
    s->apps[i].https = (uint8_t)mode;
    s->apps[i].https_port = (uint16_t)(port == 443 ? 0 : port);
    publish(g, s);
    return 0;
}

int jn_gateway_app_https(const struct jn_gateway *g, const char *host, int *port)
{
    ssize_t i = app_index(g, host);
    if (i < 0)
        return JN_ENOTFOUND;
    if (port)
        *port = g->snap->apps[i].https_port ? g->snap->apps[i].https_port : 443;
    return g->snap->apps[i].https;
}

int jn_gateway_set_cert(struct jn_gateway *g, const char *host, struct jn_tls_cert *cert)
{
    char h[256];
    if (norm_app_host(host, h, sizeof(h)) < 0)
        return JN_EBADINPUT;
    struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
    size_t pos = 0;
    while (pos < s->ncerts && strcmp(s->certs[pos].host, h) < 0)
        pos++;
    jn_tls_cert_ref(cert);
    if (pos < s->ncerts && strcmp(s->certs[pos].host, h) == 0) {
        jn_tls_cert_unref(s->certs[pos].cert);
    } else {
        s->certs = jn_realloc(s->certs, (s->ncerts + 1) * sizeof(*s->certs));
        memmove(&s->certs[pos + 1], &s->certs[pos], (s->ncerts - pos) * sizeof(*s->certs));
        s->ncerts++;
        s->certs[pos].host = jn_strdup(h);
    }
    s->certs[pos].cert = cert;
    publish(g, s);
    return 0;
}

int jn_gateway_remove_cert(struct jn_gateway *g, const char *host)
{
    char h[256];
    if (norm_app_host(host, h, sizeof(h)) < 0)
        return JN_ENOTFOUND;
    for (size_t i = 0; i < g->snap->ncerts; i++) {
        if (strcmp(g->snap->certs[i].host, h) != 0)
            continue;
        struct jn_gw_snapshot *s = jn_gw_snapshot_clone(g->snap);
        free(s->certs[i].host);
        jn_tls_cert_unref(s->certs[i].cert);
        memmove(&s->certs[i], &s->certs[i + 1], (s->ncerts - i - 1) * sizeof(*s->certs));
        s->ncerts--;
        publish(g, s);
        return 0;
    }
    return JN_ENOTFOUND;
}

void jn_gateway_reopen_logs(struct jn_gateway *g)
{
    int rc = jn_log_reopen();
    if (rc < 0)
        jn_error("gateway: reopening the error log: %s", jn_strerror(rc));
    for (size_t i = 0; i < g->nworkers; i++)
        gw_worker_reopen(g->workers[i]);
}

static void worker_quit_done_main(struct jn_loop *loop, void *arg)
{
    (void)loop;
    struct jn_gateway *g = arg;
    if (atomic_fetch_sub(&g->quitting, 1) == 1 && g->done)
        g->done(g->done_arg);
}

/* On the worker thread: tell the control loop. */
static void worker_quit_done(struct gw_worker *w, void *arg)
{
    struct jn_gateway *g = arg;
    (void)w;
    jn_loop_post(g->loop, worker_quit_done_main, g);
}

void jn_gateway_shutdown(struct jn_gateway *g, void (*done)(void *arg), void *arg)
{
    if (atomic_load(&g->quitting) > 0)
        return;
    g->done = done;
    g->done_arg = arg;
    atomic_store(&g->quitting, (int)g->nworkers);
    jn_notice("gateway: graceful shutdown: finishing in-flight requests");
    for (size_t i = 0; i < g->nworkers; i++)
        gw_worker_quit(g->workers[i], worker_quit_done, g);
}

void jn_gateway_free(struct jn_gateway *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nworkers; i++)
        gw_worker_stop(g->workers[i]);
    for (size_t i = 0; i < g->nworkers; i++)
        gw_worker_free(g->workers[i]);
    free(g->workers);
    for (size_t i = 0; g->held && i < g->nlistens; i++)
        for (size_t w = 0; w < g->nworkers; w++)
            close(g->listens[i].fds[w]); /* never handed to a worker */
    free_listens(g->listens, g->nlistens);
    if (g->snap)
        jn_gw_snapshot_unref(g->snap);
    free(g->app_log_dir);
    free(g);
}

int jn_gateway_listen_port(const struct jn_gateway *g, size_t i)
{
    if (i >= g->nlistens || g->nworkers == 0)
        return JN_ENOTFOUND;
    return jn_sock_local_port(g->listens[i].fds[0]);
}

void jn_gateway_stats(const struct jn_gateway *g, struct jn_gateway_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < g->nworkers; i++) {
        const struct gw_worker_stats *st = &g->workers[i]->st;
        out->requests += atomic_load_explicit(&st->requests, memory_order_relaxed);
        out->conns_accepted += atomic_load_explicit(&st->accepted, memory_order_relaxed);
        out->conns_open += atomic_load_explicit(&st->open, memory_order_relaxed);
    }
}

void jn_gateway_set_drain_timeout(struct jn_gateway *g, int64_t ms)
{
    for (size_t i = 0; i < g->nworkers; i++)
        gw_worker_set_drain_timeout(g->workers[i], ms < 0 ? 0 : ms);
}
