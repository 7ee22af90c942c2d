/*
 * balancer_p2c.c: power of two choices over peak-EWMA latency, as Finagle's
 * and Linkerd's default balancer: draw two usable peers at random, send to
 * the one with the lower load, where
 *
 *     load = (peak + 1 ns + (avg + 1 ns) * requests in flight) / weight
 *
 * peak is the peer's peak-EWMA response time (jn_peer_observe): a response
 * slower than the estimate replaces it at once (a peer that turns slow loses
 * traffic after its first slow answer), a faster one is averaged in with
 * weight 1 - exp(-dt / tau). avg is the plain EWMA with the same weight.
 *
 * The requests in flight count at the plain average, not at the peak (as
 * Finagle's cost * (pending + 1) would): a new request waits about their
 * usual time behind them, and its own answer may take the peak. With the
 * peak for both, one slow answer of a busy fast peer (a pause of its
 * process) made it look slower than an idle peer fifty times slower, which
 * then took a request each time it had answered the last.
 *
 * While a peer is idle its peak decays towards 0 with the same tau, so a
 * peer that was slow is probed again after a few tau and, when it answers
 * fast, gets its share back at once. The decay counts only while the peer
 * is idle: with its probe in flight the undecayed estimate counts, so it is
 * probed by one request at a time (a crowd sent to a peer still slow would
 * each wait for it).
 *
 * A peer with no answer yet goes first while nothing is in flight on it (a
 * new instance gets one request at once), and is avoided while its first
 * request is in flight (its load counts as infinite), so a new or cold peer
 * is not flooded before it has answered once.
 *
 * Two random peers rather than the best of all: the choice needs no global
 * order, spreads requests that arrive at once across workers, and never
 * herds every worker onto the peer that looked best a moment ago.
 */
#include "gateway/balancer.h"

#include <math.h>
#include <stdatomic.h>

#define EWMA_TAU_NS 1e9 /* decay: a 50 ms estimate is under 1 ms after ~4 s without answers */
#define UNMEASURED_BUSY 1e300

static double cost_ld(const double *x)
{
    double v;
    __atomic_load(x, &v, __ATOMIC_RELAXED);
    return v;
}

static void cost_st(double *x, double v)
{
    __atomic_store(x, &v, __ATOMIC_RELAXED);
}

/* The estimate decayed to now_ns. */
static double cost_now(const struct jn_peer *p, int64_t now_ns)
{
    int64_t stamp = peer_ld64(&p->ewma_stamp_ns);
    double cost = cost_ld(&p->ewma_ns);
    int64_t dt = now_ns - stamp;
    return dt > 0 ? cost * exp(-(double)dt / EWMA_TAU_NS) : cost;
}

void jn_peer_observe(struct jn_peer *p, int64_t rtt_ns, int64_t now_ns)
{
    /* Two workers may update at once: one update can be lost, which an
     * estimate over hundreds of answers does not notice. No lock. */
    double rtt = rtt_ns > 0 ? (double)rtt_ns : 0;
    int64_t stamp = peer_ld64(&p->ewma_stamp_ns);
    double cost = cost_ld(&p->ewma_ns), avg = cost_ld(&p->avg_ns);
    if (stamp == 0) {
        cost = avg = rtt;
    } else {
        int64_t dt = now_ns - stamp;
        double w = dt > 0 ? exp(-(double)dt / EWMA_TAU_NS) : 1.0;
        cost = rtt > cost ? rtt : cost * w + rtt * (1.0 - w);
        avg = avg * w + rtt * (1.0 - w);
    }
    cost_st(&p->ewma_ns, cost);
    cost_st(&p->avg_ns, avg);
    peer_st64(&p->ewma_stamp_ns, now_ns > 0 ? now_ns : 1);
}

static double load_of(const struct jn_peer *p, int64_t now_ns)
{
    int pending = atomic_load_explicit(&p->conns, memory_order_relaxed);
    int w = peer_ld(&p->weight);
    if (peer_ld64(&p->ewma_stamp_ns) == 0)
        return pending > 0 ? UNMEASURED_BUSY : -1; /* no answer yet */
    /* With a request in flight the estimate counts undecayed: the decay lets
     * one request probe a peer that was slow, not a crowd of them before the
     * probe has answered. (A busy peer answers often; for it the two agree.) */
    if (pending == 0)
        return (cost_now(p, now_ns) + 1.0) / (w > 0 ? w : 1);
    double cost = cost_ld(&p->ewma_ns), avg = cost_ld(&p->avg_ns);
    return (cost + 1.0 + (avg + 1.0) * pending) / (w > 0 ? w : 1);
}

/* xorshift64*, one state per thread: the draws need to be cheap, not good. */
static uint32_t draw(uint32_t n)
{
    static _Thread_local uint64_t s;
    if (s == 0)
        s = (uint64_t)(uintptr_t)&s * 0x9E3779B97F4A7C15ull | 1;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (uint32_t)(((s * 0x2545F4914F6CDD1Dull) >> 32) % n);
}

struct jn_peer *jn_balancer_p2c_pick(struct jn_peer *const *peers, size_t n, int64_t now_ms,
                                     int64_t now_ns, bool check_fails, struct jn_peer *const *tried,
                                     size_t ntried)
{
    size_t usable = 0;
    struct jn_peer *fresh = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!jn_peer_usable(peers[i], now_ms, check_fails, tried, ntried))
            continue;
        usable++;
        if (!fresh && load_of(peers[i], now_ns) < 0)
            fresh = peers[i];
    }
    if (usable == 0)
        return NULL;
    struct jn_peer *best = fresh;
    if (!best) {
        uint32_t a = draw((uint32_t)usable), b = a;
        if (usable > 1) {
            b = draw((uint32_t)usable - 1);
            b += b >= a; /* a different peer */
        }
        struct jn_peer *pa = NULL, *pb = NULL;
        for (size_t i = 0, k = 0; i < n && (!pa || !pb); i++) {
            if (!jn_peer_usable(peers[i], now_ms, check_fails, tried, ntried))
                continue;
            if (k == a)
                pa = peers[i];
            if (k == b)
                pb = peers[i];
            k++;
        }
        /* usability can change between the passes (conns move without the lock) */
        if (!pa || !pb)
            best = pa ? pa : pb;
        else
            best = load_of(pb, now_ns) < load_of(pa, now_ns) ? pb : pa;
        if (!best)
            return NULL;
    }
    jn_peer_picked(best, now_ms);
    return best;
}
