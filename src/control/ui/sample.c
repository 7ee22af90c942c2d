/*
 * sample.c: per-second dashboard values from two readings of the counters.
 */
#include "core/common.h"

#include "control/ui/sample.h"

void jn_sample_add(struct jn_sample_counters *c, const struct jn_peer_stats *s)
{
    for (int k = 0; k < 5; k++)
        c->status[k] += s->status[k];
    for (int b = 0; b < JN_STATS_NBUCKETS; b++)
        c->bucket[b] += s->bucket[b];
    c->servers++;
}

static uint64_t delta(uint64_t prev, uint64_t cur)
{
    return cur > prev ? cur - prev : 0;
}

double jn_sample_quantile_ms(const uint64_t *prev, const uint64_t *cur, double q)
{
    uint64_t total = delta(prev[JN_STATS_NBUCKETS - 1], cur[JN_STATS_NBUCKETS - 1]);
    if (total == 0)
        return 0;
    double want = q * (double)total;
    uint64_t below = 0;
    for (int b = 0; b < JN_STATS_NBUCKETS; b++) {
        uint64_t upto = delta(prev[b], cur[b]);
        if (upto < below)
            upto = below; /* a server left between readings */
        double lo = b == 0 ? 0 : (double)jn_stats_bounds_us[b - 1] / 1000.0;
        if ((double)upto >= want && upto > below) {
            if (b == JN_STATS_NBOUNDS)
                return lo;
            double hi = (double)jn_stats_bounds_us[b] / 1000.0;
            return lo + (hi - lo) * (want - (double)below) / (double)(upto - below);
        }
        below = upto;
    }
    return (double)jn_stats_bounds_us[JN_STATS_NBOUNDS - 1] / 1000.0;
}

void jn_sample_values(const struct jn_sample_counters *prev, const struct jn_sample_counters *cur,
                      double dt_s, float out[JN_RING_NSERIES])
{
    if (dt_s <= 0)
        dt_s = 1;
    uint64_t cls[5], all = 0;
    for (int k = 0; k < 5; k++) {
        cls[k] = delta(prev->status[k], cur->status[k]);
        all += cls[k];
    }
    out[JN_RING_RPS] = (float)((double)all / dt_s);
    out[JN_RING_P50] = (float)jn_sample_quantile_ms(prev->bucket, cur->bucket, 0.50);
    out[JN_RING_P99] = (float)jn_sample_quantile_ms(prev->bucket, cur->bucket, 0.99);
    out[JN_RING_2XX] = (float)((double)cls[1] / dt_s);
    out[JN_RING_4XX] = (float)((double)cls[3] / dt_s);
    out[JN_RING_5XX] = (float)((double)cls[4] / dt_s);
    out[JN_RING_INST] = (float)cur->servers;
}
