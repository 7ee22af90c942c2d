/*
 * upstream.h: runtime upstream groups and their servers ("peers"), and the
 * balancing algorithms over them (balancer_rr.c, balancer_least_conn.c,
 * balancer_p2c.c).
 *
 * A struct jn_upstream is shared by every worker thread. Its peer list is
 * fixed for its lifetime; changing the servers (the admin API, a deploy, a
 * reload) builds a new jn_upstream that reuses the jn_peer objects of the
 * addresses it keeps, so live counts and failure state carry over, and swaps
 * it into a new snapshot. Both are refcounted: the last jn_*_unref frees.
 *
 * Counts are global across workers (nginx keeps them per worker unless a
 * shared zone is configured). Picking takes the upstream's lock briefly;
 * everything else is atomic.
 */
#ifndef JN_GATEWAY_UPSTREAM_H
#define JN_GATEWAY_UPSTREAM_H

#include "core/common.h"
#include "config/conf.h"
#include "gateway/peer.h"
#include "gateway/stats.h"
#include "net/sock.h"

#include <pthread.h>
#include <stdatomic.h>

struct jn_upstream {
    char *name;
    enum jn_balance balance;
    struct jn_peer **peers; /* primary peers first, then backups */
    size_t npeers;
    size_t nprimary;
    int keepalive;                /* idle connections per worker, all peers; 0 = no pool */
    uint64_t pool_group;          /* kept by the rebuilds of one upstream: its pools' bound */
    int64_t keepalive_timeout_ms;
    int keepalive_requests;
    pthread_mutex_t lock;
    _Atomic int refs;

    /* Scale to zero (control/autoscale.c). The control thread sets on_wait,
     * wait_max, fail_msg before the upstream is published or, for fail_ms,
     * stores fail_msg first and fail_ms last (release); workers only read them.
     * on_wait(u, arg) runs on a worker thread, at most once per upstream
     * object, when the first request starts waiting for a ready peer: it must
     * not block (it posts to the control loop). */
    void (*on_wait)(struct jn_upstream *u, void *arg);
    void *on_wait_arg;
    int wait_max;              /* requests allowed to wait, all workers; 0: no bound here */
    _Atomic int waiters;       /* requests waiting on this object now */
    _Atomic bool wait_posted;  /* on_wait already called for this object */
    _Atomic int64_t fail_ms;   /* jn_now_ms() when starting an instance failed; 0: none */
    char fail_msg[200];        /* why; waiters that began before fail_ms get it in a 503 */
};

/* Creates a peer with one reference. Returns NULL on a bad address. */
struct jn_peer *jn_peer_new(const struct jn_conf_upstream_server *s);
/* Reference counting; the last unref frees. Any thread; unref accepts NULL. */
void jn_peer_ref(struct jn_peer *p);
void jn_peer_unref(struct jn_peer *p);

/* Builds an upstream (one reference) from a config block. Peers whose address
 * is in prev (may be NULL) are reused (counts and state kept), others created.
 * A reused peer takes the new weight/max_fails/fail_timeout/max_conns; the
 * config's "down" sets JN_PEER_MAINT and its absence lifts MAINT, while a
 * DRAIN set at runtime stays. Each prev peer is reused at most once (two
 * "server" lines with one address stay two peers). Returns NULL when a
 * server address does not parse. Control thread. */
struct jn_upstream *jn_upstream_new(const struct jn_conf_upstream *cu, const struct jn_upstream *prev);

/* Builds an upstream with the given peers (each gets a new reference; the
 * caller keeps its own). Primaries keep their order, then backups (p->backup).
 * Control thread. */
struct jn_upstream *jn_upstream_with_peers(const char *name, enum jn_balance balance,
                                           struct jn_peer *const *peers, size_t npeers,
                                           int keepalive, int64_t keepalive_timeout_ms,
                                           int keepalive_requests);

/* Reference counting; the last unref drops its peers' references and frees.
 * Any thread; unref accepts NULL. */
void jn_upstream_ref(struct jn_upstream *u);
void jn_upstream_unref(struct jn_upstream *u);

/* Picks a peer for a new attempt, skipping the peers in tried[0..ntried) (the
 * ones a retry already used), peers in drain/maint, peers at max_conns, and
 * peers marked failed (fails >= max_fails within fail_timeout; after the
 * window one probe request is let through). Backups are used only when no
 * primary is usable. A group whose only server is failed still gets traffic
 * (nginx: a single server is never marked down; with a backup it can be, so
 * the backup takes over). max_conns holds across all threads.
 * Algorithm by u->balance: smooth weighted round robin, least_conn or p2c.
 * On success increments peer->conns and returns 0 with *out set (borrowed:
 * valid while the upstream is referenced). Returns JN_ENOTFOUND when nothing
 * is usable. Any thread. */
int jn_upstream_pick(struct jn_upstream *u, int64_t now_ms, struct jn_peer *const *tried,
                     size_t ntried, struct jn_peer **out);

/* Ends an attempt on p started by jn_upstream_pick on the same u: decrements
 * conns and, when failed is true, counts a failure (nginx max_fails semantics:
 * a failure counts when within fail_timeout of the previous one; reaching
 * max_fails disables the peer for fail_timeout and lowers its effective
 * weight); the success of the probe after the window resets the count. Which
 * outcomes are failures is the caller's choice (proxy_next_upstream's
 * conditions, as nginx). Takes the lock only when failure state changes.
 * Any thread. */
void jn_upstream_done(struct jn_upstream *u, struct jn_peer *p, bool failed, int64_t now_ms);

/* Records that p answered (a response head) rtt_ns after the attempt began,
 * at now_ns (jn_now_ns's clock): the p2c balancer's peak-EWMA latency.
 * Any thread, no lock. */
void jn_peer_observe(struct jn_peer *p, int64_t rtt_ns, int64_t now_ns);

/* Whether an attempt that ended with cause (one JN_NEXT_* flag: ERROR, TIMEOUT,
 * INVALID_HEADER or an HTTP_* status) counts as a failure of the peer, for
 * jn_upstream_done's failed, as nginx decides: errors, timeouts and invalid
 * headers always count; 403 and 404 never; other statuses only when listed in
 * proxy_next_upstream (next_upstream, the location's JN_NEXT_* mask). Pure. */
bool jn_upstream_failure_counts(unsigned next_upstream, unsigned cause);

/* The JN_NEXT_HTTP_* flag of an upstream response status (500, 502, 503, 504,
 * 403, 404, 429), or 0 for any other status. Pure. */
unsigned jn_upstream_status_cause(int status);

/* True when at least one peer may take a request now (for "wait for ready").
 * Takes no lock: the answer may be stale by the time it is used. Any thread. */
bool jn_upstream_has_ready(struct jn_upstream *u, int64_t now_ms);

/* True when a peer of u is draining: u is being replaced (a deploy switching
 * releases), and a worker whose newer snapshot is still on its way should wait
 * for it rather than fail. Any thread. */
bool jn_upstream_has_draining(const struct jn_upstream *u);

/* Whether a peer not in tried[0..ntried) could take a request now (a down,
 * draining, full or failed one cannot). Any thread; reads only. */
bool jn_upstream_has_untried(struct jn_upstream *u, int64_t now_ms, struct jn_peer *const *tried,
                             size_t ntried);

/* Finds a peer by address text ("127.0.0.1:8080", "[::1]:80", "unix:/p"),
 * compared as addresses; NULL if none. Borrowed, like pick's. Any thread. */
struct jn_peer *jn_upstream_find(struct jn_upstream *u, const char *name);

/* The control plane changes a live upstream only through these calls. */

/* Scale to zero: makes requests that find no ready peer call on_wait(u, arg)
 * once (see on_wait above), at most wait_max of them waiting (0: no bound).
 * Before u is published. Control thread. */
void jn_upstream_set_wait_hook(struct jn_upstream *u, void (*on_wait)(struct jn_upstream *, void *),
                               void *arg, int wait_max);
/* Records a failed cold start at fail_ms (0: none) with msg for the 503 of
 * the requests that waited since before it; msg is stored first, fail_ms last
 * (release). When rearm, the next waiting request calls on_wait again.
 * Control thread, on a published upstream too. */
void jn_upstream_set_failure(struct jn_upstream *u, const char *msg, int64_t fail_ms, bool rearm);
/* Sets the state of every peer whose address text is name (none: no-op).
 * Any thread. */
void jn_upstream_set_peer_state(struct jn_upstream *u, const char *name, enum jn_peer_state state);

#endif
