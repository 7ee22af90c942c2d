/*
 * worker.c: one gateway worker thread: its loop, its listeners, snapshot
 * updates and drain deadlines. Its free lists of buffers and request objects
 * are freelist.c; the upstream keep-alive pool is pool.c.
 */
#include "gateway/worker.h"

#include "gateway/batch.h"
#include "gateway/batch_send.h"
#include "gateway/client.h"
#include "gateway/freelist.h"
#include "gateway/pool.h"
#include "gateway/proxy.h"

#include "core/log.h"
#include "gateway/alog.h"
#include "net/sock.h"

#include <signal.h>
#include <unistd.h>

static void drain_tick(struct jn_loop *loop, struct jn_timer *t);
static void worker_conn_closed(struct gw_worker *w);

struct gw_worker *gw_worker_new(struct jn_gateway *g, int id, size_t max_conns)
{
    /* aligned: its counters sit on their own cache line (gw_worker_stats) */
    struct gw_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
    if (!w)
        abort();
    memset(w, 0, sizeof(*w));
    w->id = id;
    atomic_init(&w->drain_timeout_ms, GW_DRAIN_TIMEOUT_MS);
    jn_timer_init(&w->drain_timer, drain_tick, w);
    w->g = g;
    w->max_conns = max_conns;
    w->client = &gw_client_ops;
    w->conn_closed = worker_conn_closed;
    if (jn_loop_new(&w->loop) < 0) {
        free(w);
        return NULL;
    }
    jn_loop_coalesce(w->loop, GW_NAP_US, GW_NAP_MIN_RATE);
    jn_loop_on_batch_end(w->loop, gw_proxy_flush_batch, w);
    return w;
}

/* The snapshot's peers as a sorted array of pointers: the per-snapshot
 * walks below ask "still in service?" once per connection or pool, which a
 * linear scan would make connections x servers. Built per snapshot or drain
 * deadline (control events), never per request. */
struct peer_set {
    const struct jn_peer **v;
    size_t n;
};

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(const void *const *)a);
    uintptr_t y = (uintptr_t)(*(const void *const *)b);
    return x < y ? -1 : x > y;
}

static void peer_set_build(const struct jn_gw_snapshot *s, struct peer_set *ps)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nups; i++)
        n += s->ups[i].u ? s->ups[i].u->npeers : 0;
    for (size_t i = 0; i < s->napps; i++)
        n += s->apps[i].u ? s->apps[i].u->npeers : 0;
    ps->v = jn_calloc(n ? n : 1, sizeof(*ps->v));
    ps->n = 0;
    for (size_t i = 0; i < s->nups; i++)
        for (size_t k = 0; s->ups[i].u && k < s->ups[i].u->npeers; k++)
            ps->v[ps->n++] = s->ups[i].u->peers[k];
    for (size_t i = 0; i < s->napps; i++)
        for (size_t k = 0; s->apps[i].u && k < s->apps[i].u->npeers; k++)
            ps->v[ps->n++] = s->apps[i].u->peers[k];
    qsort(ps->v, ps->n, sizeof(*ps->v), ptr_cmp);
}

static bool peer_set_has(const struct peer_set *ps, const struct jn_peer *p)
{
    return bsearch(&p, ps->v, ps->n, sizeof(*ps->v), ptr_cmp) != NULL;
}

static bool live_has(void *arg, const struct jn_peer *p)
{
    return peer_set_has(arg, p);
}

static void peer_set_free(struct peer_set *ps)
{
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
}

/* Requests in flight on a server that was drained or removed get
 * drain_timeout (from the snapshot that said so) to finish, then they are
 * ended, so a deploy can retire the server. Walks the connections: runs per
 * snapshot and per deadline, never per request. */
static void drain_check(struct gw_worker *w, const struct peer_set *live)
{
    int64_t timeout = atomic_load_explicit(&w->drain_timeout_ms, memory_order_relaxed);
    int64_t now = jn_loop_now(w->loop);
    int64_t next = 0;
    for (struct gw_conn *c = w->conns, *nx; c && timeout > 0; c = nx) {
        nx = c->next; /* ending r may free c, never another connection */
        struct gw_req *r = c->req;
        if (c->state != GW_C_BUSY || !r || !r->peer || !r->up)
            continue;
        if (gw_peer_ready(r->peer) && peer_set_has(live, r->peer)) {
            r->drain_deadline = 0; /* back in service */
            continue;
        }
        if (r->drain_deadline == 0 || r->drain_peer != r->peer) {
            r->drain_deadline = now + timeout;
            r->drain_peer = r->peer;
        }
        if (now >= r->drain_deadline) {
            gw_proxy_end_drained(r);
            continue;
        }
        if (next == 0 || r->drain_deadline < next)
            next = r->drain_deadline;
    }
    if (next)
        jn_timer_start(w->loop, &w->drain_timer, next - now);
    else
        jn_timer_stop(w->loop, &w->drain_timer);
}

static void drain_tick(struct jn_loop *loop, struct jn_timer *t)
{
    (void)loop;
    struct gw_worker *w = t->data;
    struct peer_set live;
    peer_set_build(w->snap, &live);
    drain_check(w, &live);
    peer_set_free(&live);
}

/* ---- listeners ---- */

static void accept_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    struct gw_listener *l = io->data;
    struct gw_worker *w = l->w;
    if (w->draining)
        return;
    for (;;) {
        if (w->nconns >= w->max_conns) {
            /* At the cap: leave the rest in the kernel queue; a closing
             * connection resumes accepting (w->conn_closed). */
            l->paused = true;
            return;
        }
        struct jn_addr peer;
        int fd = jn_sock_accept(io->fd, &peer);
        if (fd < 0) {
            if (fd == -EAGAIN || fd == -EWOULDBLOCK)
                return;
            if (fd == -EMFILE || fd == -ENFILE) {
                jn_warn("gateway: accept: %s (raise worker_rlimit_nofile)", jn_strerror(fd));
                l->paused = true;
                return;
            }
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            jn_warn("gateway: accept: %s", jn_strerror(fd));
            return;
        }
        gw_client_accept(w, fd, &peer, l->id);
    }
}

/* The graceful stop is complete: report once, leave the loop. */
static void quit_finished(struct gw_worker *w)
{
    void (*done)(struct gw_worker *, void *) = w->quit_done;
    w->quit_done = NULL;
    if (done)
        done(w, w->quit_arg);
    jn_loop_stop(w->loop);
}

static void worker_conn_closed(struct gw_worker *w)
{
    if (w->draining) {
        if (w->nconns == 0)
            quit_finished(w);
        return;
    }
    for (size_t i = 0; i < w->nlisteners; i++) {
        if (w->listeners[i].paused && w->nconns < w->max_conns) {
            w->listeners[i].paused = false;
            accept_cb(w->loop, &w->listeners[i].io, JN_EV_READ);
        }
    }
}

static void close_listener(struct gw_worker *w, struct gw_listener *l)
{
    jn_io_del(w->loop, &l->io);
    close(l->io.fd);
}

/* ---- control messages ---- */

struct update_msg {
    struct gw_worker *w;
    struct jn_gw_snapshot *snap;
    struct gw_listen_fd *lfds;
    size_t n;
};

static void apply_update(struct jn_loop *loop, void *arg)
{
    struct update_msg *m = arg;
    struct gw_worker *w = m->w;
    if (w->snap)
        jn_gw_snapshot_unref(w->snap);
    w->snap = m->snap;
    w->bufsize = m->snap->routes->max_head + GW_BODY_WINDOW;
    struct peer_set live;
    peer_set_build(w->snap, &live);
    gw_pool_prune(w, live_has, &live);
    drain_check(w, &live);
    peer_set_free(&live);
    gw_proxy_wake_waiters(w);
    if (!w->draining) {
        /* Keep listeners whose id is still wanted, close the others, add new. */
        struct gw_listener *nl = jn_calloc(m->n ? m->n : 1, sizeof(*nl));
        bool *kept = jn_calloc(w->nlisteners ? w->nlisteners : 1, sizeof(bool));
        for (size_t i = 0; i < m->n; i++) {
            nl[i].w = w;
            nl[i].id = m->lfds[i].id;
            nl[i].io.fd = -1;
            for (size_t k = 0; k < w->nlisteners; k++) {
                if (w->listeners[k].id == m->lfds[i].id && !kept[k]) {
                    kept[k] = true;
                    nl[i].paused = w->listeners[k].paused;
                    jn_io_del(loop, &w->listeners[k].io);
                    nl[i].io.fd = w->listeners[k].io.fd;
                }
            }
            if (nl[i].io.fd < 0)
                nl[i].io.fd = m->lfds[i].fd;
            else if (m->lfds[i].fd != nl[i].io.fd)
                close(m->lfds[i].fd); /* the control thread sent a duplicate */
        }
        for (size_t k = 0; k < w->nlisteners; k++)
            if (!kept[k])
                close_listener(w, &w->listeners[k]);
        free(kept);
        free(w->listeners);
        w->listeners = nl;
        w->nlisteners = m->n;
        for (size_t i = 0; i < m->n; i++) {
            int rc = jn_io_add(loop, &nl[i].io, nl[i].io.fd, JN_EV_READ, false, accept_cb, &nl[i]);
            if (rc < 0)
                jn_error("gateway: worker %d: watching a listener: %s", w->id, jn_strerror(rc));
            accept_cb(loop, &nl[i].io, JN_EV_READ); /* connections queued meanwhile */
        }
    } else {
        for (size_t i = 0; i < m->n; i++) {
            bool known = false;
            for (size_t k = 0; k < w->nlisteners; k++)
                known |= w->listeners[k].io.fd == m->lfds[i].fd;
            if (!known)
                close(m->lfds[i].fd);
        }
    }
    free(m->lfds);
    free(m);
}

void gw_worker_update(struct gw_worker *w, struct jn_gw_snapshot *snap,
                      const struct gw_listen_fd *lfds, size_t n)
{
    struct update_msg *m = jn_calloc(1, sizeof(*m));
    m->w = w;
    m->snap = snap;
    m->n = n;
    m->lfds = jn_calloc(n ? n : 1, sizeof(*lfds));
    memcpy(m->lfds, lfds, n * sizeof(*lfds));
    jn_loop_post(w->loop, apply_update, m);
}

struct quit_msg {
    struct gw_worker *w;
    void (*done)(struct gw_worker *, void *);
    void *arg;
};

static void apply_quit(struct jn_loop *loop, void *arg)
{
    struct quit_msg *m = arg;
    struct gw_worker *w = m->w;
    w->quit_done = m->done;
    w->quit_arg = m->arg;
    free(m);
    if (w->draining)
        return;
    /* Connections already in the kernel's accept queue were promised an
     * answer: take them (and whatever request they sent) before closing. */
    for (size_t i = 0; i < w->nlisteners; i++)
        accept_cb(loop, &w->listeners[i].io, JN_EV_READ);
    w->draining = true;
    for (size_t i = 0; i < w->nlisteners; i++)
        close_listener(w, &w->listeners[i]);
    w->nlisteners = 0;
    gw_pool_free_all(w);
    for (struct gw_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == GW_C_HEAD && c->len == 0 && c->nreqs == 0)
            gw_client_try_read(c); /* may start (or close) it */
    }
    for (struct gw_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        gw_client_close_if_idle(c);
    }
    if (w->nconns == 0)
        quit_finished(w);
}

void gw_worker_quit(struct gw_worker *w, void (*done)(struct gw_worker *, void *), void *arg)
{
    struct quit_msg *m = jn_calloc(1, sizeof(*m));
    m->w = w;
    m->done = done;
    m->arg = arg;
    jn_loop_post(w->loop, apply_quit, m);
}

void gw_worker_set_drain_timeout(struct gw_worker *w, int64_t ms)
{
    atomic_store_explicit(&w->drain_timeout_ms, ms, memory_order_relaxed);
}

void gw_worker_stop(struct gw_worker *w)
{
    jn_loop_stop(w->loop);
}

static void apply_reopen(struct jn_loop *loop, void *arg)
{
    (void)loop;
    struct gw_worker *w = arg;
    jn_gw_alog_reopen(w);
}

void gw_worker_reopen(struct gw_worker *w)
{
    jn_loop_post(w->loop, apply_reopen, w);
}

static void flush_tick(struct jn_loop *loop, struct jn_timer *t)
{
    struct gw_worker *w = t->data;
    jn_gw_alog_flush(w);
    gw_worker_trim(w);
    jn_timer_start(loop, t, GW_LOG_FLUSH_MS);
}

static void *worker_main(void *arg)
{
    struct gw_worker *w = arg;
    jn_timer_init(&w->flush_timer, flush_tick, w);
    jn_timer_start(w->loop, &w->flush_timer, GW_LOG_FLUSH_MS);
    int rc = jn_loop_run(w->loop);
    if (rc < 0)
        jn_error("gateway: worker %d: event loop: %s", w->id, jn_strerror(rc));
    jn_timer_stop(w->loop, &w->flush_timer);
    jn_timer_stop(w->loop, &w->drain_timer);
    jn_gw_alog_flush(w);
    return NULL;
}

int gw_worker_run(struct gw_worker *w)
{
    /* Signals belong to the control thread's signalfd; workers block them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

void gw_worker_free(struct gw_worker *w)
{
    if (!w)
        return;
    jn_loop_stop(w->loop);
    pthread_join(w->thread, NULL);
    /* The thread is gone: its state is ours now. draining keeps closing
     * connections from accepting new ones. */
    w->draining = true;
    w->quit_done = NULL;
    while (w->conns)
        gw_client_close(w->conns);
    for (size_t i = 0; i < w->nlisteners; i++)
        close_listener(w, &w->listeners[i]);
    free(w->listeners);
    gw_pool_free_all(w);
    jn_gw_alog_free(w);
    gw_freelist_free_all(w);
    gw_batch_free(w);
    gw_bsend_free(w);
    if (w->snap)
        jn_gw_snapshot_unref(w->snap);
    jn_loop_free(w->loop);
    free(w);
}
