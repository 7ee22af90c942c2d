/*
 * balancer_least_conn.c: nginx's least_conn (ngx_http_upstream_get_least_conn_peer):
 * the peer with the fewest requests in flight per unit of weight, compared
 * without division as conns_a * weight_b < conns_b * weight_a; several equal
 * ones are separated by smooth weighted round robin among just those.
 *
 * Unlike nginx, conns counts the requests of every worker thread, so the
 * balance holds across workers without a shared zone.
 */
#include "gateway/balancer.h"

#include <stdatomic.h>

struct jn_peer *jn_balancer_least_conn_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                            bool check_fails, struct jn_peer *const *tried,
                                            size_t ntried)
{
    struct jn_peer *best = NULL;
    int64_t best_conns = 0, best_weight = 1;
    size_t best_i = 0;
    bool many = false;

    for (size_t i = 0; i < n; i++) {
        struct jn_peer *p = peers[i];
        if (!jn_peer_usable(p, now_ms, check_fails, tried, ntried))
            continue;
        int64_t c = atomic_load_explicit(&p->conns, memory_order_relaxed);
        int64_t w = peer_ld(&p->weight);
        if (best == NULL || c * best_weight < best_conns * w) {
            best = p;
            best_conns = c;
            best_weight = w;
            best_i = i;
            many = false;
        } else if (c * best_weight == best_conns * w) {
            many = true;
        }
    }
    if (best == NULL)
        return NULL;

    if (many) {
        /* conns moves under our feet (other threads finish requests without the
         * lock), so the tie is judged against the ratio found above; if no
         * peer matches it any more, the first choice stands */
        struct jn_peer *sel = NULL;
        int sel_cw = 0, total = 0;
        for (size_t i = best_i; i < n; i++) {
            struct jn_peer *p = peers[i];
            if (!jn_peer_usable(p, now_ms, check_fails, tried, ntried))
                continue;
            int64_t c = atomic_load_explicit(&p->conns, memory_order_relaxed);
            if (c * best_weight != best_conns * (int64_t)peer_ld(&p->weight))
                continue;
            int ew = peer_ld(&p->effective_weight);
            int cw = peer_ld(&p->current_weight) + ew;
            peer_st(&p->current_weight, cw);
            total += ew;
            if (ew < peer_ld(&p->weight))
                peer_st(&p->effective_weight, ew + 1);
            if (sel == NULL || cw > sel_cw) {
                sel = p;
                sel_cw = cw;
            }
        }
        if (sel != NULL) {
            peer_st(&sel->current_weight, sel_cw - total);
            best = sel;
        }
    }
    jn_peer_picked(best, now_ms);
    return best;
}
