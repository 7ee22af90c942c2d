/*
 * upstream.c: peers and upstream groups, their reference counts, rebuilding a
 * group while keeping the peers of the addresses it keeps, and the failure
 * accounting every balancer shares (nginx's max_fails / fail_timeout, from
 * ngx_http_upstream_round_robin.c).
 *
 * Failure state of a peer:
 *   fails     failures counted in the current window
 *   accessed  time of the last failure
 *   checked   time of the last failure, or of the pick that opened a new
 *             window (the probe)
 * A peer is skipped while fails >= max_fails and now - checked <= fail_timeout.
 * The first pick after that sets checked = now, so exactly one request per
 * fail_timeout goes through as a probe; its success (accessed < checked)
 * resets fails, its failure restarts the window.
 */
#include "gateway/upstream.h"

#include "gateway/balancer.h"
#include "core/log.h"

#define PEER_MAX_WEIGHT 1000000 /* keeps conns * weight far from overflow */

static bool in_tried(const struct jn_peer *p, struct jn_peer *const *tried, size_t ntried)
{
    for (size_t i = 0; i < ntried; i++)
        if (tried[i] == p)
            return true;
    return false;
}

bool jn_peer_usable(const struct jn_peer *p, int64_t now_ms, bool check_fails,
                    struct jn_peer *const *tried, size_t ntried)
{
    if (ntried && in_tried(p, tried, ntried))
        return false;
    if (atomic_load_explicit(&p->state, memory_order_relaxed) != JN_PEER_READY)
        return false;
    int max_conns = peer_ld(&p->max_conns);
    if (max_conns && atomic_load_explicit(&p->conns, memory_order_relaxed) >= max_conns)
        return false;
    if (check_fails) {
        int max_fails = peer_ld(&p->max_fails);
        if (max_fails && peer_ld(&p->fails) >= max_fails &&
            now_ms - peer_ld64(&p->checked) <= peer_ld64(&p->fail_timeout_ms))
            return false;
    }
    return true;
}

void jn_peer_picked(struct jn_peer *p, int64_t now_ms)
{
    if (now_ms - peer_ld64(&p->checked) > peer_ld64(&p->fail_timeout_ms))
        peer_st64(&p->checked, now_ms);
}

/* Sets the configured parameters. On a peer shared with a running upstream
 * the stores are atomic; effective_weight is clamped, not reset, so a peer
 * recovering from failures keeps recovering. */
static void peer_configure(struct jn_peer *p, const struct jn_conf_upstream_server *s)
{
    int w = s->weight < 1 ? 1 : s->weight > PEER_MAX_WEIGHT ? PEER_MAX_WEIGHT : s->weight;
    peer_st(&p->weight, w);
    if (peer_ld(&p->effective_weight) > w)
        peer_st(&p->effective_weight, w);
    peer_st(&p->max_fails, s->max_fails < 0 ? 0 : s->max_fails);
    peer_st64(&p->fail_timeout_ms, s->fail_timeout_ms < 0 ? 0 : s->fail_timeout_ms);
    peer_st(&p->max_conns, s->max_conns < 0 ? 0 : s->max_conns);
    p->backup = s->backup;
}

struct jn_peer *jn_peer_new(const struct jn_conf_upstream_server *s)
{
    struct jn_addr a = s->addr;
    if (a.len == 0 && (s->text == NULL || jn_addr_parse(s->text, 80, &a) != 0))
        return NULL;
    struct jn_peer *p = jn_calloc(1, sizeof(*p));
    p->addr = a;
    jn_addr_format(&a, p->name, sizeof(p->name));
    peer_configure(p, s);
    p->effective_weight = p->weight;
    atomic_init(&p->state, s->down ? JN_PEER_MAINT : JN_PEER_READY);
    atomic_init(&p->conns, 0);
    atomic_init(&p->requests, 0);
    atomic_init(&p->failures, 0);
    atomic_init(&p->refs, 1);
    p->slots = jn_peer_slots_new();
    return p;
}

void jn_peer_ref(struct jn_peer *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void jn_peer_unref(struct jn_peer *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
        jn_peer_slots_free(p->slots);
        free(p);
    }
}

static void lock_init(pthread_mutex_t *m)
{
    /* Hold times are tens of nanoseconds. Measured here (2 cores, 3 peers,
     * pick+done in a loop): one thread ~30 ns/op; 2 and 4 threads on one
     * group ~27-29 Mops/s in total with an adaptive or plain mutex, but
     * 14-24 with a pthread spinlock, which collapses when threads outnumber
     * cores. The adaptive mutex spins a little before sleeping, which helped
     * on a busy machine. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

/* Allocates a group with room for n peers; the caller fills them in. */
static struct jn_upstream *upstream_alloc(const char *name, enum jn_balance balance, size_t n)
{
    struct jn_upstream *u = jn_calloc(1, sizeof(*u));
    u->name = jn_strdup(name ? name : "");
    u->balance = balance;
    static _Atomic uint64_t groups;
    u->pool_group = atomic_fetch_add_explicit(&groups, 1, memory_order_relaxed) + 1;
    u->peers = jn_calloc(n ? n : 1, sizeof(*u->peers));
    lock_init(&u->lock);
    atomic_init(&u->refs, 1);
    return u;
}

struct jn_upstream *jn_upstream_new(const struct jn_conf_upstream *cu,
                                    const struct jn_upstream *prev)
{
    struct jn_upstream *u = upstream_alloc(cu->name, cu->balance, cu->nservers);
    u->keepalive = cu->keepalive;
    u->keepalive_timeout_ms = cu->keepalive_timeout_ms;
    u->keepalive_requests = cu->keepalive_requests;
    if (prev)
        u->pool_group = prev->pool_group; /* the same upstream, rebuilt: one keepalive bound */

    /* each previous peer is reused at most once: "server a; server a;" is two
     * peers in nginx, and must stay two here */
    bool *used = prev && prev->npeers ? jn_calloc(prev->npeers, sizeof(*used)) : NULL;

    /* primaries first, then backups, each in file order */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cu->nservers; i++) {
            const struct jn_conf_upstream_server *s = &cu->servers[i];
            if (s->backup != (pass == 1))
                continue;
            struct jn_peer *p = NULL;
            struct jn_addr a = s->addr;
            if (a.len == 0 && s->text)
                jn_addr_parse(s->text, 80, &a);
            for (size_t j = 0; prev && a.len && j < prev->npeers; j++) {
                if (!used[j] && jn_addr_equal(&prev->peers[j]->addr, &a)) {
                    used[j] = true;
                    p = prev->peers[j];
                    jn_peer_ref(p);
                    peer_configure(p, s);
                    /* the config rules "down"; a drain set at runtime stays */
                    if (s->down)
                        atomic_store(&p->state, JN_PEER_MAINT);
                    else if (atomic_load(&p->state) == JN_PEER_MAINT)
                        atomic_store(&p->state, JN_PEER_READY);
                    break;
                }
            }
            if (p == NULL && (p = jn_peer_new(s)) == NULL) {
                free(used);
                jn_upstream_unref(u);
                return NULL;
            }
            u->peers[u->npeers++] = p;
            if (!s->backup)
                u->nprimary++;
        }
    }
    free(used);
    return u;
}

struct jn_upstream *jn_upstream_with_peers(const char *name, enum jn_balance balance,
                                           struct jn_peer *const *peers, size_t npeers,
                                           int keepalive, int64_t keepalive_timeout_ms,
                                           int keepalive_requests)
{
    struct jn_upstream *u = upstream_alloc(name, balance, npeers);
    u->keepalive = keepalive;
    u->keepalive_timeout_ms = keepalive_timeout_ms;
    u->keepalive_requests = keepalive_requests;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < npeers; i++) {
            if (peers[i]->backup != (pass == 1))
                continue;
            jn_peer_ref(peers[i]);
            u->peers[u->npeers++] = peers[i];
            if (!peers[i]->backup)
                u->nprimary++;
        }
    }
    return u;
}

void jn_upstream_ref(struct jn_upstream *u)
{
    atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
}

void jn_upstream_unref(struct jn_upstream *u)
{
    if (u == NULL || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < u->npeers; i++)
        jn_peer_unref(u->peers[i]);
    pthread_mutex_destroy(&u->lock);
    free(u->peers);
    free(u->name);
    free(u);
}

/* nginx's peers->single: one primary and no backup is never marked down,
 * because there is nothing better to send the request to. */
static bool is_single(const struct jn_upstream *u)
{
    return u->nprimary == 1 && u->npeers == 1;
}

static struct jn_peer *choose(struct jn_upstream *u, struct jn_peer *const *peers, size_t n,
                              int64_t now_ms, bool check_fails, struct jn_peer *const *tried,
                              size_t ntried)
{
    if (n == 0)
        return NULL;
    if (u->balance == JN_BALANCE_LEAST_CONN)
        return jn_balancer_least_conn_pick(peers, n, now_ms, check_fails, tried, ntried);
    if (u->balance == JN_BALANCE_P2C)
        return jn_balancer_p2c_pick(peers, n, now_ms, now_ms * 1000000, check_fails, tried, ntried);
    return jn_balancer_rr_pick(peers, n, now_ms, check_fails, tried, ntried);
}

/* Takes a slot on p. Increments happen under a lock, but an upstream being
 * replaced shares p under another lock, so max_conns is enforced with a CAS. */
static bool take_conn(struct jn_peer *p)
{
    int max = peer_ld(&p->max_conns);
    if (max == 0) {
        atomic_fetch_add_explicit(&p->conns, 1, memory_order_relaxed);
        return true;
    }
    int c = atomic_load_explicit(&p->conns, memory_order_relaxed);
    do {
        if (c >= max)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&p->conns, &c, c + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

int jn_upstream_pick(struct jn_upstream *u, int64_t now_ms, struct jn_peer *const *tried,
                     size_t ntried, struct jn_peer **out)
{
    bool check_fails = !is_single(u);
    struct jn_peer *p = NULL;

    pthread_mutex_lock(&u->lock);
    /* a lost max_conns race makes the peer unusable, so a new choice differs;
     * the bound only guards against a peer that keeps freeing and filling */
    for (int attempt = 0; attempt < 4; attempt++) {
        p = choose(u, u->peers, u->nprimary, now_ms, check_fails, tried, ntried);
        if (p == NULL)
            p = choose(u, u->peers + u->nprimary, u->npeers - u->nprimary, now_ms, true, tried,
                       ntried);
        if (p == NULL || take_conn(p))
            break;
        p = NULL;
    }
    pthread_mutex_unlock(&u->lock);

    if (p == NULL)
        return JN_ENOTFOUND;
    atomic_fetch_add_explicit(&p->requests, 1, memory_order_relaxed);
    *out = p;
    return 0;
}

void jn_upstream_done(struct jn_upstream *u, struct jn_peer *p, bool failed, int64_t now_ms)
{
    if (!failed) {
        /* the common case takes no lock: nothing to reset */
        if (peer_ld(&p->fails) != 0 && !is_single(u)) {
            pthread_mutex_lock(&u->lock);
            if (peer_ld64(&p->accessed) < peer_ld64(&p->checked))
                peer_st(&p->fails, 0);
            pthread_mutex_unlock(&u->lock);
        }
        atomic_fetch_sub_explicit(&p->conns, 1, memory_order_release);
        return;
    }

    atomic_fetch_add_explicit(&p->failures, 1, memory_order_relaxed);
    if (is_single(u)) {
        atomic_fetch_sub_explicit(&p->conns, 1, memory_order_release);
        return;
    }

    bool disabled = false;
    pthread_mutex_lock(&u->lock);
    int max_fails = peer_ld(&p->max_fails);
    int64_t fail_timeout = peer_ld64(&p->fail_timeout_ms);
    int fails = peer_ld(&p->fails);
    /* Failures count towards max_fails only within fail_timeout of the
     * previous one, as nginx documents (nginx itself relies on a success in
     * between to reset). A peer already disabled keeps counting: a failed
     * probe disables it for another window. */
    if (fails < max_fails && now_ms - peer_ld64(&p->accessed) > fail_timeout)
        fails = 0;
    fails++;
    peer_st(&p->fails, fails);
    peer_st64(&p->accessed, now_ms);
    peer_st64(&p->checked, now_ms);
    if (max_fails) {
        int w = peer_ld(&p->weight);
        int ew = peer_ld(&p->effective_weight) - w / max_fails;
        peer_st(&p->effective_weight, ew < 0 ? 0 : ew);
        disabled = fails == max_fails;
    }
    pthread_mutex_unlock(&u->lock);
    atomic_fetch_sub_explicit(&p->conns, 1, memory_order_release);

    if (disabled)
        jn_warn("upstream \"%s\": server %s temporarily disabled for %lld ms after %d failures",
                u->name, p->name, (long long)fail_timeout, fails);
}

bool jn_upstream_failure_counts(unsigned next_upstream, unsigned cause)
{
    if (cause & (JN_NEXT_ERROR | JN_NEXT_TIMEOUT | JN_NEXT_INVALID_HEADER))
        return true;
    if (cause & (JN_NEXT_HTTP_403 | JN_NEXT_HTTP_404))
        return false;
    return (next_upstream & cause) != 0;
}

unsigned jn_upstream_status_cause(int status)
{
    switch (status) {
    case 500:
        return JN_NEXT_HTTP_500;
    case 502:
        return JN_NEXT_HTTP_502;
    case 503:
        return JN_NEXT_HTTP_503;
    case 504:
        return JN_NEXT_HTTP_504;
    case 403:
        return JN_NEXT_HTTP_403;
    case 404:
        return JN_NEXT_HTTP_404;
    case 429:
        return JN_NEXT_HTTP_429;
    default:
        return 0;
    }
}

bool jn_upstream_has_ready(struct jn_upstream *u, int64_t now_ms)
{
    bool check_fails = !is_single(u);
    for (size_t i = 0; i < u->npeers; i++)
        if (jn_peer_usable(u->peers[i], now_ms, i < u->nprimary ? check_fails : true, NULL, 0))
            return true;
    return false;
}

bool jn_upstream_has_untried(struct jn_upstream *u, int64_t now_ms, struct jn_peer *const *tried,
                             size_t ntried)
{
    bool check_fails = !is_single(u);
    for (size_t i = 0; i < u->npeers; i++)
        if (jn_peer_usable(u->peers[i], now_ms, i < u->nprimary ? check_fails : true, tried,
                           ntried))
            return true;
    return false;
}

bool jn_upstream_has_draining(const struct jn_upstream *u)
{
    for (size_t i = 0; i < u->npeers; i++)
        if (atomic_load_explicit(&u->peers[i]->state, memory_order_relaxed) == JN_PEER_DRAIN)
            return true;
    return false;
}

struct jn_peer *jn_upstream_find(struct jn_upstream *u, const char *name)
{
    struct jn_addr a;
    bool parsed = jn_addr_parse(name, 80, &a) == 0;
    for (size_t i = 0; i < u->npeers; i++) {
        struct jn_peer *p = u->peers[i];
        if (parsed ? jn_addr_equal(&p->addr, &a) : strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

void jn_upstream_set_wait_hook(struct jn_upstream *u, void (*on_wait)(struct jn_upstream *, void *),
                               void *arg, int wait_max)
{
    u->on_wait = on_wait;
    u->on_wait_arg = arg;
    u->wait_max = wait_max;
}

void jn_upstream_set_failure(struct jn_upstream *u, const char *msg, int64_t fail_ms, bool rearm)
{
    snprintf(u->fail_msg, sizeof(u->fail_msg), "%s", msg);
    atomic_store_explicit(&u->fail_ms, fail_ms, memory_order_release);
    if (rearm)
        atomic_store(&u->wait_posted, false);
}

void jn_upstream_set_peer_state(struct jn_upstream *u, const char *name, enum jn_peer_state state)
{
    for (size_t k = 0; k < u->npeers; k++) {
        if (strcmp(u->peers[k]->name, name) == 0)
            atomic_store(&u->peers[k]->state, state);
    }
}
