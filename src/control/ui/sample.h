/*
 * sample.h: one second of an app for the dashboard's ring, from the same
 * counters /metrics exposes (responses by class, the response-time
 * histogram, summed over the servers of the app's upstream): the difference
 * of two readings a second apart. Pure functions.
 */
#ifndef JN_CONTROL_UI_SAMPLE_H
#define JN_CONTROL_UI_SAMPLE_H

#include "core/common.h"
#include "control/ui/ring.h"
#include "gateway/stats.h"

/* A reading of an app's counters, summed over its servers. */
struct jn_sample_counters {
    uint64_t status[5];                 /* responses 1xx..5xx */
    uint64_t bucket[JN_STATS_NBUCKETS]; /* cumulative, as struct jn_peer_stats */
    int servers;
};

/* Adds one server's stats to c. */
void jn_sample_add(struct jn_sample_counters *c, const struct jn_peer_stats *s);

/* The quantile q (0..1) in ms of the responses between two cumulative
 * histograms, interpolated linearly inside its bucket (the last, unbounded
 * bucket answers its lower bound). 0 when no response falls between. */
double jn_sample_quantile_ms(const uint64_t *prev, const uint64_t *cur, double q);

/* The sample of the second between prev and cur, dt_s seconds apart. A
 * counter that went down (a server left the upstream) counts as 0. */
void jn_sample_values(const struct jn_sample_counters *prev, const struct jn_sample_counters *cur,
                      double dt_s, float out[JN_RING_NSERIES]);

#endif
