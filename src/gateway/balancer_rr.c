/*
 * balancer_rr.c: nginx's smooth weighted round robin
 * (ngx_http_upstream_get_peer): every usable peer gains its effective weight,
 * the one with the highest current weight wins and pays back the total.
 * Weights 5,1,1 give a a b a c a a, spread out rather than a a a a a b c.
 */
#include "gateway/balancer.h"

struct jn_peer *jn_balancer_rr_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                    bool check_fails, struct jn_peer *const *tried, size_t ntried)
{
    struct jn_peer *best = NULL;
    int best_cw = 0;
    int total = 0;

    for (size_t i = 0; i < n; i++) {
        struct jn_peer *p = peers[i];
        if (!jn_peer_usable(p, now_ms, check_fails, tried, ntried))
            continue;
        int ew = peer_ld(&p->effective_weight);
        int cw = peer_ld(&p->current_weight) + ew;
        peer_st(&p->current_weight, cw);
        total += ew;
        /* a peer whose weight was cut by failures earns it back one pick at a time */
        if (ew < peer_ld(&p->weight))
            peer_st(&p->effective_weight, ew + 1);
        if (best == NULL || cw > best_cw) {
            best = p;
            best_cw = cw;
        }
    }
    if (best == NULL)
        return NULL;
    peer_st(&best->current_weight, best_cw - total);
    jn_peer_picked(best, now_ms);
    return best;
}
