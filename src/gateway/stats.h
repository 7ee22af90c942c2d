/*
 * stats.h: counters of the gateway that the daemon exposes on /metrics:
 * per upstream server, responses by status class and a response-time
 * histogram; per gateway, requests and client connections.
 *
 * Hot path rule: a worker only writes memory that no other worker writes.
 * A peer's counters are split into JN_PEER_SLOTS cache-line-aligned slots,
 * one per worker (worker id modulo the slot count, so beyond that many
 * workers two share a slot: still correct, as every add is atomic); readers
 * on the control thread sum the slots. Reads are relaxed: a scrape may see
 * one counter a request ahead of another, never a torn value.
 */
#ifndef JN_GATEWAY_STATS_H
#define JN_GATEWAY_STATS_H

#include "core/common.h"

#include <stdatomic.h>

#define JN_PEER_SLOTS 16
/* Histogram upper bounds in microseconds (Prometheus "le"), then +Inf. */
#define JN_STATS_NBOUNDS 11
#define JN_STATS_NBUCKETS (JN_STATS_NBOUNDS + 1)
extern const int64_t jn_stats_bounds_us[JN_STATS_NBOUNDS];

/* One worker's share of a peer's counters. */
struct jn_peer_slot {
    _Atomic uint64_t status[5];                 /* responses 1xx..5xx */
    _Atomic uint64_t bucket[JN_STATS_NBUCKETS]; /* not cumulative */
    _Atomic uint64_t time_us_sum;
} __attribute__((aligned(64)));

/* A summed, plain copy for readers. */
struct jn_peer_stats {
    uint64_t status[5];                 /* [0] = 1xx ... [4] = 5xx */
    uint64_t bucket[JN_STATS_NBUCKETS]; /* cumulative: bucket[i] = responses <= bound i */
    uint64_t count;                     /* responses timed (= bucket[JN_STATS_NBOUNDS]) */
    double time_sum_s;                  /* sum of response times, seconds */
};

struct jn_peer;

/* Allocates a peer's zeroed slots (jn_peer_new); freed with jn_peer_slots_free. */
struct jn_peer_slot *jn_peer_slots_new(void);
void jn_peer_slots_free(struct jn_peer_slot *s);

/* Counts one upstream response of status (100..599; others are ignored for
 * the class counters) that took us microseconds from the attempt's start to
 * its complete head (us < 0: not timed). worker: the calling worker's id.
 * Worker threads; lock-free. */
void jn_peer_stats_record(struct jn_peer *p, int worker, int status, int64_t us);

/* Sums p's slots into *out (cumulative buckets). Any thread. */
void jn_peer_stats_read(const struct jn_peer *p, struct jn_peer_stats *out);

/* Per-gateway totals, summed over the workers. */
struct jn_gateway_stats {
    uint64_t requests;       /* request heads received (answered or refused) */
    uint64_t conns_accepted; /* client connections accepted */
    uint64_t conns_open;     /* client connections open now */
};

#endif
