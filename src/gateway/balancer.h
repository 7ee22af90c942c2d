/*
 * balancer.h: what the balancing algorithms (balancer_*.c) share with
 * upstream.c. Internal to src/gateway; the public API is upstream.h.
 *
 * The "guarded by the upstream's lock" fields of struct jn_peer are read and
 * written through peer_ld/peer_st (relaxed atomics, plain moves on x86):
 * a rebuilt upstream shares peers with the one it replaces, and for the short
 * time both are in use two different locks guard the same peer. Relaxed
 * access keeps that overlap defined behaviour; the worst it can do is nudge
 * the round-robin order once.
 */
#ifndef JN_GATEWAY_BALANCER_H
#define JN_GATEWAY_BALANCER_H

#include "gateway/peer.h"

static inline int peer_ld(const int *x)
{
    return __atomic_load_n(x, __ATOMIC_RELAXED);
}

static inline void peer_st(int *x, int v)
{
    __atomic_store_n(x, v, __ATOMIC_RELAXED);
}

static inline int64_t peer_ld64(const int64_t *x)
{
    return __atomic_load_n(x, __ATOMIC_RELAXED);
}

static inline void peer_st64(int64_t *x, int64_t v)
{
    __atomic_store_n(x, v, __ATOMIC_RELAXED);
}

/* True when p may take a new attempt now: not in tried, READY, below
 * max_conns, and (when check_fails) not marked failed (fails >= max_fails and
 * the last failure or probe less than fail_timeout ago). Lock held or not:
 * reads only. */
bool jn_peer_usable(const struct jn_peer *p, int64_t now_ms, bool check_fails,
                    struct jn_peer *const *tried, size_t ntried);

/* Records that p was chosen: once the fail_timeout window since the last
 * check has passed, this pick is the probe (nginx sets "checked" here).
 * The upstream's lock must be held. */
void jn_peer_picked(struct jn_peer *p, int64_t now_ms);

/* The algorithms choose among peers[0..n) and return the choice, or NULL when
 * none is usable. They update the smooth round-robin state of the peers they
 * consider and do not touch conns. The upstream's lock must be held. */
struct jn_peer *jn_balancer_rr_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                    bool check_fails, struct jn_peer *const *tried, size_t ntried);
struct jn_peer *jn_balancer_least_conn_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                            bool check_fails, struct jn_peer *const *tried,
                                            size_t ntried);
/* Power of two choices over peak-EWMA latency (balancer_p2c.c); now_ns is the
 * clock jn_peer_observe is given. */
struct jn_peer *jn_balancer_p2c_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                     int64_t now_ns, bool check_fails, struct jn_peer *const *tried,
                                     size_t ntried);

#endif
