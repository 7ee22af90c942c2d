/*
 * stats.c: per-peer counters split into per-worker slots (see stats.h).
 */
#include "gateway/stats.h"

#include "gateway/peer.h"

#include <stdlib.h>

const int64_t jn_stats_bounds_us[JN_STATS_NBOUNDS] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

struct jn_peer_slot *jn_peer_slots_new(void)
{
    size_t n = JN_PEER_SLOTS * sizeof(struct jn_peer_slot);
    struct jn_peer_slot *s = aligned_alloc(64, n);
    if (!s)
        abort(); /* control-side allocation: abort on OOM like jn_malloc */
    memset(s, 0, n);
    return s;
}

void jn_peer_slots_free(struct jn_peer_slot *s)
{
    free(s);
}

void jn_peer_stats_record(struct jn_peer *p, int worker, int status, int64_t us)
{
    struct jn_peer_slot *s = &p->slots[(unsigned)worker % JN_PEER_SLOTS];
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&s->status[status / 100 - 1], 1, memory_order_relaxed);
    if (us < 0)
        return;
    int b = 0;
    while (b < JN_STATS_NBOUNDS && us > jn_stats_bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->time_us_sum, (uint64_t)us, memory_order_relaxed);
}

void jn_peer_stats_read(const struct jn_peer *p, struct jn_peer_stats *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t sum_us = 0;
    for (int i = 0; i < JN_PEER_SLOTS; i++) {
        const struct jn_peer_slot *s = &p->slots[i];
        for (int k = 0; k < 5; k++)
            out->status[k] += atomic_load_explicit(&s->status[k], memory_order_relaxed);
        for (int k = 0; k < JN_STATS_NBUCKETS; k++)
            out->bucket[k] += atomic_load_explicit(&s->bucket[k], memory_order_relaxed);
        sum_us += atomic_load_explicit(&s->time_us_sum, memory_order_relaxed);
    }
    for (int k = 1; k < JN_STATS_NBUCKETS; k++)
        out->bucket[k] += out->bucket[k - 1];
    out->count = out->bucket[JN_STATS_NBUCKETS - 1];
    out->time_sum_s = (double)sum_us / 1e6;
}
