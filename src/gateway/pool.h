/*
 * pool.h: the upstream keep-alive pool of one worker (pool.c): idle
 * connections per peer, reused by later requests to the same peer, closed
 * after keepalive_timeout or when the peer leaves service. Worker thread.
 */
#ifndef JN_GATEWAY_POOL_H
#define JN_GATEWAY_POOL_H

#include "gateway/types.h"

/* Whether a peer takes new traffic (not drained, not in maint). */
static inline bool gw_peer_ready(const struct jn_peer *peer)
{
    return atomic_load_explicit(&peer->state, memory_order_relaxed) == JN_PEER_READY;
}

/* An idle connection to peer, out of the pool (its idle timer parked), or NULL. */
struct gw_upconn *gw_pool_take(struct gw_worker *w, struct jn_peer *peer);
/* Gives uc back after an exchange: pooled (newest first; when u's keepalive
 * idle connections of this worker, across all u's peers, are already pooled,
 * the least recently pooled of them is closed) or closed (no keepalive, too many requests,
 * peer out of service, worker draining). */
void gw_pool_put(struct gw_worker *w, struct gw_upconn *uc, const struct jn_upstream *u);
/* Closes an upstream connection, idle or busy, and frees it. */
void gw_upconn_close(struct gw_upconn *uc);
/* Drops the pools of peers that are not ready or for which live(arg, peer)
 * is false, closing their idle connections (a new snapshot arrived). */
void gw_pool_prune(struct gw_worker *w, bool (*live)(void *, const struct jn_peer *), void *arg);
/* Closes every idle connection and frees the pools (worker exit). */
void gw_pool_free_all(struct gw_worker *w);

#endif
