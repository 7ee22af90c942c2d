/*
 * peer.h: the data of one upstream server ("peer"), apart from the API that
 * works on it (upstream.h: groups, picking, reference counting; stats.h: its
 * counters; balancer.h: the algorithms). A type only, so that stats.c and the
 * balancers need not include upstream.h, nor upstream.h them.
 */
#ifndef JN_GATEWAY_PEER_H
#define JN_GATEWAY_PEER_H

#include "core/common.h"
#include "net/sock.h"

#include <stdatomic.h>

struct jn_peer_slot; /* stats.h */

enum jn_peer_state {
    JN_PEER_READY = 0, /* takes traffic */
    JN_PEER_DRAIN,     /* no new requests; in-flight ones finish */
    JN_PEER_MAINT,     /* "down": no traffic at all */
};

struct jn_peer {
    struct jn_addr addr;
    char name[64]; /* "127.0.0.1:8080" */
    int weight;
    int max_fails;
    int64_t fail_timeout_ms;
    int max_conns; /* 0 = unlimited */
    bool backup;

    _Atomic int state;          /* enum jn_peer_state */
    _Atomic int conns;          /* requests in flight, all workers */
    _Atomic uint64_t requests;  /* total requests sent */
    _Atomic uint64_t failures;  /* total failed attempts */
    struct jn_peer_slot *slots; /* JN_PEER_SLOTS per-worker counters (stats.h) */

    /* guarded by the owning upstream's lock; read and written as relaxed
     * atomics (balancer.h) because a rebuilt upstream shares its peers with
     * the one it replaces while both are in use */
    int current_weight; /* smooth weighted round robin */
    int effective_weight;
    int fails;        /* failures within the current fail_timeout window */
    int64_t accessed; /* time of the last failure (ms) */
    int64_t checked;  /* time of the last failure, or of the pick that probed after it (ms) */

    /* p2c's peak-EWMA response time (balancer_p2c.c); no lock, relaxed atomics */
    double ewma_ns;        /* the peak estimate */
    double avg_ns;         /* the plain average (what a queued request waits per request ahead) */
    int64_t ewma_stamp_ns; /* time of the last answer; 0: none yet */

    _Atomic int refs;
};

#endif
