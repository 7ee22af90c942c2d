/*
 * pool.c: the upstream keep-alive pool of one worker: per peer, a list of
 * idle connections (newest first), each with its keepalive_timeout timer.
 *
 * "keepalive N" bounds an upstream as nginx does (ngx_http_upstream_keepalive):
 * at most N idle connections per worker across all the upstream's servers,
 * the least recently pooled one closed to make room. The per-peer lists only
 * make the look-up by peer short; a peer's pool carries its upstream's group,
 * and the bound is counted over the pools of that group.
 * Worker thread only.
 */
#include "gateway/pool.h"

#include "core/log.h"

#include <unistd.h>

static struct gw_pool *find_pool(struct gw_worker *w, const struct jn_peer *peer)
{
    for (size_t i = 0; i < w->npools; i++)
        if (w->pools[i].peer == peer)
            return &w->pools[i];
    return NULL;
}

static void unlink_idle(struct gw_upconn *uc)
{
    struct gw_pool *p = find_pool(uc->w, uc->peer);
    if (!p)
        return;
    for (struct gw_upconn **pp = &p->idle; *pp; pp = &(*pp)->next) {
        if (*pp == uc) {
            *pp = uc->next;
            p->nidle--;
            return;
        }
    }
}

void gw_upconn_close(struct gw_upconn *uc)
{
    struct gw_worker *w = uc->w;
    if (!uc->req)
        unlink_idle(uc);
    jn_timer_stop(w->loop, &uc->timer);
    jn_io_del(w->loop, &uc->io);
    close(uc->io.fd);
    jn_peer_unref(uc->peer);
    free(uc);
}

/* Whether the worker's current snapshot still sends traffic to peer. Walks
 * every upstream: called only when a peer gets its first pooled connection
 * in this worker, never per request. */
static bool peer_in_snapshot(const struct jn_gw_snapshot *s, const struct jn_peer *peer)
{
    for (size_t i = 0; i < s->nups; i++)
        for (size_t k = 0; s->ups[i].u && k < s->ups[i].u->npeers; k++)
            if (s->ups[i].u->peers[k] == peer)
                return true;
    for (size_t i = 0; i < s->napps; i++)
        for (size_t k = 0; s->apps[i].u && k < s->apps[i].u->npeers; k++)
            if (s->apps[i].u->peers[k] == peer)
                return true;
    return false;
}

/* A new snapshot arrived: idle connections to peers that are drained, in
 * maint or gone from every upstream are closed now (a drained server's
 * deploy should not wait for our keep-alive timeout), and their pools
 * dropped, so they are never handed out again. */
void gw_pool_prune(struct gw_worker *w, bool (*live)(void *, const struct jn_peer *), void *arg)
{
    for (size_t i = 0; i < w->npools;) {
        struct gw_pool *p = &w->pools[i];
        if (gw_peer_ready(p->peer) && live(arg, p->peer)) {
            i++;
            continue;
        }
        while (p->idle)
            gw_upconn_close(p->idle);
        jn_peer_unref(p->peer);
        w->pools[i] = w->pools[--w->npools];
    }
}

struct gw_upconn *gw_pool_take(struct gw_worker *w, struct jn_peer *peer)
{
    struct gw_pool *p = find_pool(w, peer);
    if (!p || !p->idle || !gw_peer_ready(peer))
        return NULL;
    struct gw_upconn *uc = p->idle;
    p->idle = uc->next;
    p->nidle--;
    uc->next = NULL;
    jn_timer_park(w->loop, &uc->timer);
    return uc;
}

static void idle_timeout(struct jn_loop *loop, struct jn_timer *t)
{
    (void)loop;
    gw_upconn_close(t->data);
}

/* The idle connections of group, and the least recently pooled of them. */
static int group_idle(struct gw_worker *w, uint64_t group, struct gw_upconn **oldest)
{
    int n = 0;
    *oldest = NULL;
    for (size_t i = 0; i < w->npools; i++) {
        struct gw_pool *p = &w->pools[i];
        if (p->group != group || !p->idle)
            continue;
        n += p->nidle;
        struct gw_upconn *tail = p->idle;
        while (tail->next)
            tail = tail->next;
        if (!*oldest || tail->idle_seq < (*oldest)->idle_seq)
            *oldest = tail;
    }
    return n;
}

void gw_pool_put(struct gw_worker *w, struct gw_upconn *uc, const struct jn_upstream *u)
{
    uc->req = NULL;
    if (u->keepalive <= 0 || w->draining || uc->nreqs >= (uint32_t)u->keepalive_requests) {
        gw_upconn_close(uc);
        return;
    }
    if (!gw_peer_ready(uc->peer)) {
        gw_upconn_close(uc);
        return;
    }
    struct gw_pool *p = find_pool(w, uc->peer);
    if (!p) {
        if (!w->snap || !peer_in_snapshot(w->snap, uc->peer)) {
            gw_upconn_close(uc); /* its server left the upstream meanwhile */
            return;
        }
        w->pools = jn_realloc(w->pools, (w->npools + 1) * sizeof(*w->pools));
        p = &w->pools[w->npools++];
        p->peer = uc->peer;
        jn_peer_ref(p->peer);
        p->idle = NULL;
        p->nidle = 0;
    }
    p->group = u->pool_group;
    struct gw_upconn *oldest;
    if (group_idle(w, u->pool_group, &oldest) >= u->keepalive)
        gw_upconn_close(oldest); /* full: the least recently pooled makes room */
    uc->idle_seq = ++w->pool_seq;
    uc->next = p->idle;
    p->idle = uc;
    p->nidle++;
    uc->rd_ready = false;
    jn_timer_set_cb(&uc->timer, idle_timeout, uc);
    jn_timer_start(w->loop, &uc->timer, u->keepalive_timeout_ms);
}

void gw_pool_free_all(struct gw_worker *w)
{
    for (size_t i = 0; i < w->npools; i++) {
        while (w->pools[i].idle)
            gw_upconn_close(w->pools[i].idle);
        jn_peer_unref(w->pools[i].peer);
    }
    free(w->pools);
    w->pools = NULL;
    w->npools = 0;
}
