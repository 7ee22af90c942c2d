/*
 * proxy.c: the upstream side of an exchange. One progress loop (proxy_run)
 * moves bytes in both directions as far as the sockets allow, driven by the
 * readiness flags the edge-triggered events set: request head + body from
 * the client buffer to the upstream, response head + body from the upstream
 * buffer to the client. Each side stops reading while its output is queued
 * (back-pressure), so memory per exchange is bounded by its two buffers.
 *
 * Retries (proxy_next_upstream) happen only while nothing was sent to the
 * client, to another peer, for idempotent methods unless non_idempotent, and
 * only when the request body is still whole in the client buffer (a body that
 * fits beside the head in its GW_CLIENT_BUF buffer can be replayed; larger
 * ones are streamed and never retried).
 */
#include "gateway/proxy.h"

#include "gateway/batch.h"
#include "gateway/batch_send.h"
#include "gateway/conn_io.h"
#include "gateway/freelist.h"
#include "gateway/h2.h"
#include "gateway/pool.h"

#include "core/log.h"
#include "net/sock.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

enum { T_NONE, T_CONNECT, T_SEND, T_READ, T_CSEND, T_CBODY };

static const char CONTINUE_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void attempt(struct gw_req *r);
static void connect_peer(struct gw_req *r, struct gw_upconn *uc);
static void up_timeout(struct jn_loop *loop, struct jn_timer *t);

/* Appends item to the ", "-separated list in dst (truncated to cap, as
 * snprintf would: this runs per request, where printf is too dear). */
static void append_list(char *dst, size_t cap, const char *item)
{
    size_t n = strlen(dst);
    if (n && n + 1 < cap) {
        memcpy(dst + n, ", ", JN_MIN((size_t)2, cap - 1 - n));
        n += JN_MIN((size_t)2, cap - 1 - n);
    }
    size_t len = strlen(item);
    if (n + len >= cap)
        len = cap - 1 - n;
    memcpy(dst + n, item, len);
    dst[n + len] = '\0';
}

static void append_status(char *dst, size_t cap, int status)
{
    char st[12];
    st[gw_put_uint(st, status < 0 ? 0 : (unsigned)status)] = '\0';
    append_list(dst, cap, st);
}

static void close_up(struct gw_req *r, bool failed)
{
    r->connect_deferred = false; /* an attempt ended before its connect */
    if (r->up) {
        r->up->req = NULL;
        struct gw_upconn *uc = r->up;
        r->up = NULL;
        uc->req = (struct gw_req *)uc; /* busy marker: not in a pool list */
        jn_timer_stop(uc->w->loop, &uc->timer);
        jn_io_del(uc->w->loop, &uc->io);
        close(uc->io.fd);
        jn_peer_unref(uc->peer);
        free(uc);
    }
    if (r->peer) {
        jn_upstream_done(r->u, r->peer, failed, jn_loop_now(r->c->w->loop));
        r->peer = NULL;
    }
}

/* Whether an attempt that ended with kind (a JN_NEXT_* flag) may go to another
 * peer: proxy_next_upstream and its _tries and _timeout, idempotence, peers
 * left. Both the failure path and the status check ask this one question, so
 * an upstream's error answer is relayed whenever no retry would happen. */
static bool retry_allowed(struct gw_req *r, unsigned kind, bool replayable)
{
    const struct jn_conf_settings *s = r->loc->s;
    int64_t now = jn_loop_now(r->c->w->loop);
    return replayable && (s->next_upstream & kind) &&
           (gw_is_idempotent(r->hreq.method_id) || (s->next_upstream & JN_NEXT_NON_IDEMPOTENT)) &&
           (s->next_upstream_tries == 0 || r->attempts < s->next_upstream_tries) &&
           (s->next_upstream_timeout_ms == 0 ||
            now - r->first_attempt_ms < s->next_upstream_timeout_ms) &&
           r->ntried < GW_TRIED_MAX && !r->c->w->draining && (size_t)r->ntried < r->u->npeers;
}

/* Failure kinds, as the JN_NEXT_* flags of proxy_next_upstream. */
static void attempt_failed(struct gw_req *r, unsigned kind, int status, const char *why)
{
    const struct jn_conf_settings *s = r->loc->s;
    append_status(r->up_statuses, sizeof(r->up_statuses), status);
    bool replayable = !r->body_discarded && !r->client_started;
    /* A kept-alive connection the peer closed meanwhile is no fault of the
     * peer: retry once on a fresh connection without counting a failure. */
    bool stale = r->from_pool && kind == JN_NEXT_ERROR && !r->resp_head_done && r->rlen == 0 &&
                 !r->stale_retried && replayable;
    struct jn_peer *peer = r->peer;
    bool counts = jn_upstream_failure_counts(s->next_upstream, kind);
    if (peer)
        jn_warn("gateway: upstream %s (%s): %s while %s", peer->name, r->u->name, why,
                r->resp_head_done ? "reading the response body"
                                  : "sending the request or reading the response head");
    close_up(r, !stale && counts);
    if (stale) {
        r->stale_retried = true;
        r->attempts--;
        if (r->ntried > 0 && r->tried[r->ntried - 1] == peer)
            r->ntried--;
        attempt(r);
        return;
    }
    if (retry_allowed(r, kind, replayable)) {
        attempt(r);
        return;
    }
    if (r->client_started) {
        /* Mid-response: the client sees the truncation as a closed connection. */
        gw_exch_close(r->c);
        return;
    }
    gw_exch_respond(r, status, why, NULL);
}

static void wait_tick(struct jn_loop *loop, struct jn_timer *t);

/* Counts a waiter of u and, for a new request (post), wakes the control
 * plane once per upstream object (scale to zero: it starts an instance). A
 * waiter moving to a newer snapshot does not post: its first post did. */
static void wait_join(struct jn_upstream *u, bool post)
{
    atomic_fetch_add(&u->waiters, 1);
    if (post && u->on_wait && !atomic_exchange(&u->wait_posted, true))
        u->on_wait(u, u->on_wait_arg);
}

/* How long a request waits for the snapshot replacing a draining upstream. */
#define GW_TRANSITION_WAIT_MS 1000

static void wait_enter(struct gw_req *r)
{
    struct gw_worker *w = r->c->w;
    w->nwaiters++;
    r->phase = GW_P_WAIT;
    r->wait_next = w->waiting;
    if (w->waiting)
        w->waiting->wait_pprev = &r->wait_next;
    r->wait_pprev = &w->waiting;
    w->waiting = r;
}

/* Ends r's wait (the timer is the caller's): back to GW_P_PROXY. */
static void wait_leave(struct gw_req *r)
{
    r->c->w->nwaiters--;
    atomic_fetch_sub(&r->u->waiters, 1);
    *r->wait_pprev = r->wait_next;
    if (r->wait_next)
        r->wait_next->wait_pprev = r->wait_pprev;
    r->wait_next = NULL;
    r->wait_pprev = NULL;
    r->phase = GW_P_PROXY;
}

void gw_proxy_wake_waiters(struct gw_worker *w)
{
    for (struct gw_req *r = w->waiting; r; r = r->wait_next)
        jn_timer_start(w->loop, &r->wait_timer, 0);
}

static void start_wait(struct gw_req *r)
{
    struct gw_worker *w = r->c->w;
    if (w->nwaiters >= GW_WAITERS_MAX ||
        (r->u->wait_max > 0 && atomic_load(&r->u->waiters) >= r->u->wait_max)) {
        gw_exch_respond(r, 503, "too many requests waiting for the application to start", NULL);
        return;
    }
    wait_enter(r);
    r->wait_start_ms = jn_now_ms();
    wait_join(r->u, true);
    r->wait_deadline = jn_loop_now(w->loop) + (r->wait_timeout_ms > 0 ? r->wait_timeout_ms : 30000);
    jn_timer_init(&r->wait_timer, wait_tick, r);
    jn_timer_start(w->loop, &r->wait_timer, 10);
}

/* Finds r's upstream again in the worker's newest snapshot (the control
 * plane publishes a new upstream when an app's instance becomes ready). */
static void refresh_upstream(struct gw_req *r)
{
    struct gw_worker *w = r->c->w;
    struct jn_gw_snapshot *s = w->snap;
    if (s == r->snap)
        return;
    const struct jn_gw_app *app = NULL;
    const struct jn_http_request *h = &r->hreq;
    /* Everything must come from s: r's old snapshot goes away below. */
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(s, r->c->listen_id);
    if (!l && s->routes->nlistens)
        l = &s->routes->listens[0];
    if (!l)
        return;
    const struct jn_gw_location *loc =
        jn_gw_route(s, l, h->host, h->host_len, h->path, h->path_len, &app);
    if (!loc || (!app && loc->upstream < 0))
        return;
    struct jn_upstream *nu = app ? app->u : s->ups[loc->upstream].u;
    if (nu != r->u) {
        atomic_fetch_sub(&r->u->waiters, 1);
        wait_join(nu, false);
    }
    jn_gw_snapshot_ref(s);
    jn_gw_snapshot_unref(r->snap);
    r->snap = s;
    r->loc = loc;
    r->listen = l;
    r->app = app; /* the old entry went with the old snapshot */
    r->u = nu;
    r->wait_ready = app ? app->wait_ready : s->ups[loc->upstream].wait_ready;
}

static void wait_tick(struct jn_loop *loop, struct jn_timer *t)
{
    struct gw_req *r = t->data;
    struct gw_worker *w = r->c->w;
    refresh_upstream(r);
    int64_t now = jn_loop_now(loop);
    if (jn_upstream_has_ready(r->u, now)) {
        wait_leave(r);
        attempt(r);
        return;
    }
    int64_t failed = atomic_load_explicit(&r->u->fail_ms, memory_order_acquire);
    if (failed && failed >= r->wait_start_ms) {
        /* The instance started for this request failed: say why now rather
         * than at the timeout; the next request starts another one. */
        wait_leave(r);
        gw_exch_respond(r, 503, r->u->fail_msg, NULL);
        return;
    }
    if (now >= r->wait_deadline || w->draining) {
        wait_leave(r);
        if (r->wait_transition)
            gw_exch_respond(r, 502, "no live upstreams", NULL);
        else
            gw_exch_respond(r, 503, "the application did not become ready in time", NULL);
        return;
    }
    jn_timer_start(loop, t, 10);
}

static void attempt(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    struct gw_worker *w = c->w;
    int64_t now = jn_loop_now(w->loop);
    struct jn_peer *peer = NULL;
    int rc = jn_upstream_pick(r->u, now, r->tried, (size_t)r->ntried, &peer);
    if (rc < 0) {
        if (r->attempts == 0 && r->wait_ready) {
            start_wait(r);
            return;
        }
        /* Every usable peer is draining: the control plane drains the old
         * peers and publishes their successors in one step, and this worker
         * may not have taken the new snapshot yet. Wait for it, briefly. */
        if (r->attempts == 0 && !r->wait_transition && jn_upstream_has_draining(r->u)) {
            r->wait_transition = true;
            r->wait_timeout_ms = GW_TRANSITION_WAIT_MS;
            start_wait(r);
            return;
        }
        if (r->attempts == 0)
            append_list(r->up_addrs, sizeof(r->up_addrs), r->u->name);
        if (r->attempts == 0)
            append_list(r->up_statuses, sizeof(r->up_statuses), "502");
        gw_exch_respond(r, 502, "no live upstreams", NULL);
        return;
    }
    r->peer = peer;
    r->attempts++;
    if (r->ntried < GW_TRIED_MAX)
        r->tried[r->ntried++] = peer;
    append_list(r->up_addrs, sizeof(r->up_addrs), peer->name);
    r->attempt_ns = jn_loop_now_ns(w->loop);
    r->resp_head_done = false;
    r->rlen = r->rs_pos = 0;
    r->rq_pos = r->head_len;
    r->up_timer_kind = T_NONE;
    if (!r->rbuf) {
        r->rbuf = gw_rbuf_get(w);
        r->rcap = GW_RESP_BUF;
    }
    if (gw_proxy_request_head(r) < 0) {
        close_up(r, false);
        gw_exch_respond(r, 500, "the rewritten request head is too large", NULL);
        return;
    }
    const struct jn_http_request *h = &r->hreq;
    jn_pipe_start(&r->rq, h->framing, h->content_length, h->framing == JN_FRAMING_CHUNKED);
    struct gw_upconn *uc = r->stale_retried ? NULL : gw_pool_take(w, peer);
    if (!uc && !r->stale_retried && !r->connect_deferred && gw_batch_defer(r)) {
        /* No idle connection now; a response later in this batch may give
         * one back. The connect waits for the batch's end (connect_peer). */
        r->connect_deferred = true;
        return;
    }
    connect_peer(r, uc);
}

/* Gives r its upstream connection: uc from the pool, or a new one to r->peer. */
static void connect_peer(struct gw_req *r, struct gw_upconn *uc)
{
    struct gw_worker *w = r->c->w;
    struct jn_peer *peer = r->peer;
    r->connect_deferred = false;
    r->from_pool = uc != NULL;
    if (!uc) {
        int fd = jn_sock_connect(&peer->addr);
        if (fd < 0) {
            attempt_failed(r, JN_NEXT_ERROR, 502, "connect failed");
            return;
        }
        uc = jn_calloc(1, sizeof(*uc));
        uc->w = w;
        uc->peer = peer;
        jn_peer_ref(peer);
        uc->req = r;
        jn_sock_nodelay(fd);
        if (jn_io_add(w->loop, &uc->io, fd, JN_EV_READ | JN_EV_WRITE, false, gw_upconn_event, uc) <
            0) {
            close(fd);
            jn_peer_unref(peer);
            free(uc);
            attempt_failed(r, JN_NEXT_ERROR, 502, "cannot watch the upstream socket");
            return;
        }
    } else {
        uc->connected = true;
        uc->wr_ready = true;
        r->up_connect_us = 0;
    }
    uc->req = r;
    jn_timer_set_cb(&uc->timer, up_timeout, uc); /* a pooled one's is parked */
    r->up = uc;
    gw_proxy_run(r);
}

void gw_proxy_start(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    r->phase = GW_P_PROXY;
    r->first_attempt_ms = jn_loop_now(c->w->loop);
    const struct jn_http_request *h = &r->hreq;
    if (h->expect_continue && h->minor_version == 1 && h->framing != JN_FRAMING_NONE &&
        c->len == r->head_len) {
        /* jern answers 100-continue itself once the request is routed and its
         * size accepted, and does not forward Expect (nginx does the same):
         * the body then streams to whichever peer is picked. The socket is
         * idle here, so this tiny write does not block in practice. */
        ssize_t n = gw_conn_send(c, CONTINUE_100, sizeof(CONTINUE_100) - 1);
        (void)n;
    }
    attempt(r);
}

void gw_proxy_end_drained(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    jn_warn("gateway: upstream %s (%s): request still in flight at drain_timeout: ended",
            r->peer->name, r->u->name);
    bool wrote = r->client_wrote || r->phase == GW_P_TUNNEL;
    if (!r->resp_head_done)
        append_status(r->up_statuses, sizeof(r->up_statuses), 502);
    close_up(r, false);
    r->keep_alive = false;
    if (wrote) {
        gw_exch_close(c); /* the client sees the truncation */
        return;
    }
    gw_exch_respond(r, 502, "the upstream server was drained and did not answer in time", NULL);
}

void gw_proxy_abort(struct gw_req *r)
{
    if (r->phase == GW_P_WAIT) {
        jn_timer_stop(r->c->w->loop, &r->wait_timer);
        wait_leave(r);
    }
    close_up(r, false);
}

/* Parses what the upstream sent so far. Returns 1 when the head is done (or
 * an interim one was consumed), 0 for "need more", -1 when r was finished. */
static int parse_response(struct gw_req *r)
{
    struct jn_http_limits lim = jn_http_default_limits;
    lim.max_head = r->rcap;
    ssize_t rc = jn_http_parse_response(r->rbuf, r->rlen, &lim, r->hreq.method_id, &r->hresp);
    if (rc == JN_EINCOMPLETE) {
        if (r->rlen == r->rcap) {
            attempt_failed(r, JN_NEXT_INVALID_HEADER, 502, "upstream sent too big a header");
            return -1;
        }
        return 0;
    }
    if (rc < 0) {
        attempt_failed(r, JN_NEXT_INVALID_HEADER, 502,
                       r->hresp.error_reason ? r->hresp.error_reason
                                             : "upstream sent an invalid header");
        return -1;
    }
    int status = r->hresp.status;
    if (status >= 100 && status < 200 && status != 101) {
        /* Interim responses (102, 103...) are dropped: Expect is handled here. */
        memmove(r->rbuf, r->rbuf + rc, r->rlen - (size_t)rc);
        r->rlen -= (size_t)rc;
        return 1;
    }
    if (status == 101 && !r->hreq.upgrade) {
        attempt_failed(r, JN_NEXT_INVALID_HEADER, 502, "upstream switched protocols unasked");
        return -1;
    }
    int64_t now_ns = jn_loop_now_ns(r->c->w->loop);
    r->up_time_us = (now_ns - r->attempt_ns) / 1000;
    jn_peer_observe(r->peer, now_ns - r->attempt_ns, now_ns);
    jn_peer_stats_record(r->peer, r->c->w->id, status, r->up_time_us);
    unsigned kind = jn_upstream_status_cause(status);
    /* As nginx, an answer is relayed when no other peer could take the
     * request (a down one does not count): its status beats a 502. */
    if (kind && retry_allowed(r, kind, !r->body_discarded) &&
        jn_upstream_has_untried(r->u, jn_loop_now(r->c->w->loop), r->tried, (size_t)r->ntried)) {
        attempt_failed(r, kind, status, "upstream answered with an error status");
        return -1;
    }
    append_status(r->up_statuses, sizeof(r->up_statuses), status);
    if (status >= 300 && r->loc->s->intercept_errors && jn_gw_error_page_find(r->loc, status)) {
        /* proxy_intercept_errors: the error_page answers instead */
        close_up(r, false);
        gw_exch_respond(r, status, NULL, NULL);
        return -1;
    }
    r->resp_head_done = true;
    r->rs_pos = (size_t)rc;
    gw_proxy_response_head(r, (size_t)rc);
    if (status == 101) {
        r->phase = GW_P_TUNNEL;
        r->keep_alive = false;
        /* Bytes after the request head are the client's first tunnel data. */
        jn_pipe_start(&r->rq, JN_FRAMING_CLOSE, 0, false);
    }
    return 1;
}

/* The exchange is over on the upstream side: pool or close the connection. */
static void response_done(struct gw_req *r)
{
    struct gw_upconn *uc = r->up;
    bool reuse = r->phase == GW_P_PROXY && r->hresp.keep_alive && !r->sent_close &&
                 r->rq.body_done && jn_pipe_empty(&r->rq) && r->rs_pos == r->rlen && !uc->eof &&
                 !uc->hup && r->u->keepalive > 0; /* a FIN came with the answer: gone */
    if (!r->rq.body_done)
        r->keep_alive = false; /* the rest of the request body was never read */
    if (reuse) {
        jn_upstream_done(r->u, r->peer, false, jn_loop_now(r->c->w->loop));
        r->peer = NULL;
        r->up = NULL;
        uc->nreqs++;
        jn_timer_park(uc->w->loop, &uc->timer);
        gw_pool_put(uc->w, uc, r->u);
    } else {
        close_up(r, false);
    }
    gw_exch_finish(r->c);
}

static void set_timer(struct jn_loop *loop, struct jn_timer *t, int *kind, int want, int64_t ms,
                      bool progress)
{
    if (want == T_NONE) {
        jn_timer_park(loop, t);
    } else if (*kind != want || progress || !jn_timer_armed(t)) {
        jn_timer_start(loop, t, ms);
    }
    *kind = want;
}

static void update_timers(struct gw_req *r, bool c_progress)
{
    struct gw_conn *c = r->c;
    struct gw_upconn *uc = r->up;
    const struct jn_conf_settings *s = r->loc->s;
    struct jn_loop *loop = c->w->loop;
    if (uc) {
        int want = T_NONE;
        int64_t ms = 0;
        if (!uc->connected) {
            want = T_CONNECT;
            ms = s->proxy_connect_timeout_ms;
        } else if (r->phase == GW_P_TUNNEL) {
            want = T_READ;
            ms = s->proxy_read_timeout_ms;
        } else if (!jn_pipe_empty(&r->rq) && !uc->wr_ready) {
            want = T_SEND;
            ms = s->proxy_send_timeout_ms;
        } else if (!r->resp_head_done || (!r->rs.body_done && jn_pipe_empty(&r->rs))) {
            want = T_READ;
            ms = s->proxy_read_timeout_ms;
        }
        set_timer(loop, &uc->timer, &r->up_timer_kind, want, ms, r->up_progress || c_progress);
        r->up_progress = false;
    }
    int want = T_NONE;
    int64_t ms = 0;
    if (!jn_pipe_empty(&r->rs) && !c->wr_ready) {
        want = T_CSEND;
        ms = s->send_timeout_ms;
    } else if (r->phase != GW_P_TUNNEL && !r->rq.body_done && jn_pipe_empty(&r->rq) &&
               r->rq_pos == c->len) {
        want = T_CBODY;
        ms = s->client_body_timeout_ms;
    }
    set_timer(loop, &c->timer, &r->c_timer_kind, want, ms, c_progress);
}

static void up_timeout(struct jn_loop *loop, struct jn_timer *t)
{
    (void)loop;
    struct gw_upconn *uc = t->data;
    struct gw_req *r = uc->req;
    if (!r || r == (struct gw_req *)uc)
        return;
    if (r->phase == GW_P_TUNNEL) {
        r->keep_alive = false;
        close_up(r, false);
        gw_exch_finish(r->c);
        return;
    }
    const char *why = r->up_timer_kind == T_CONNECT ? "connect timed out"
                      : r->up_timer_kind == T_SEND  ? "send timed out"
                                                    : "read timed out";
    attempt_failed(r, JN_NEXT_TIMEOUT, 504, why);
}

void gw_upconn_event(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)loop;
    struct gw_upconn *uc = io->data;
    if (!uc->req) {
        /* Idle in the pool: the peer closed it or sent something unasked. */
        if (events & (JN_EV_READ | JN_EV_HUP | JN_EV_ERROR | JN_EV_RDHUP))
            gw_upconn_close(uc);
        return;
    }
    if (events & JN_EV_READ)
        uc->rd_ready = true;
    if (events & (JN_EV_RDHUP | JN_EV_HUP | JN_EV_ERROR))
        uc->hup = true;
    if (events & JN_EV_WRITE)
        uc->wr_ready = true;
    gw_proxy_run(uc->req);
}

/* The pumps below return PUMP_GONE when r was finished or its connection
 * closed (the caller returns at once), else whether bytes moved. */
enum { PUMP_GONE = -1, PUMP_IDLE = 0, PUMP_MOVED = 1 };

/* Completes a non-blocking connect. */
static int pump_connect(struct gw_req *r, struct gw_upconn *uc)
{
    if (!uc->wr_ready && !uc->rd_ready)
        return PUMP_IDLE;
    int err = jn_sock_error(uc->io.fd);
    if (err < 0) {
        attempt_failed(r, JN_NEXT_ERROR, 502,
                       err == -ECONNREFUSED ? "connection refused" : "connect failed");
        return PUMP_GONE;
    }
    uc->connected = true;
    r->up_connect_us = (jn_loop_now_ns(r->c->w->loop) - r->attempt_ns) / 1000;
    r->up_progress = true;
    return PUMP_MOVED;
}

/* Ends r when the request body broke a rule (bad chunked encoding, larger
 * than client_max_body_size). */
static int request_refused(struct gw_req *r, int status, const char *why)
{
    close_up(r, false);
    r->keep_alive = false;
    if (r->client_started)
        gw_exch_close(r->c);
    else
        gw_exch_respond(r, status, why, NULL);
    return PUMP_GONE;
}

/* Request direction: client buffer -> upstream. Queues what is buffered
 * first so the head and the body go out in one send; reads the client only
 * when everything queued went out. */
static int pump_request(struct gw_req *r, struct gw_upconn *uc, bool *c_progress)
{
    struct gw_conn *c = r->c;
    int moved = PUMP_IDLE;
    if (!r->rq.body_done && r->rq_pos < c->len && jn_pipe_has_room(&r->rq)) {
        ssize_t n = jn_pipe_fill(&r->rq, c->buf + r->rq_pos, c->len - r->rq_pos);
        if (n < 0)
            return request_refused(r, 400, "invalid chunked request body");
        r->rq_pos += (size_t)n;
        if (n > 0)
            moved = PUMP_MOVED;
        int64_t max = r->loc->s->client_max_body_size;
        if (max > 0 && r->rq.body_out > (uint64_t)max && r->phase == GW_P_PROXY)
            return request_refused(r, 413, "the request body is larger than client_max_body_size");
    }
    if (!jn_pipe_empty(&r->rq) && uc->wr_ready && !gw_batch_defer(r)) {
        bool full;
        ssize_t n = jn_pipe_flush(&r->rq, uc->io.fd, &full);
        if (n < 0) {
            if (r->resp_head_done && r->phase == GW_P_PROXY) {
                /* The upstream answered early and stopped reading. */
                jn_pipe_clear(&r->rq);
                r->rq.body_done = true;
                r->keep_alive = false;
                uc->eof = true;
            } else if (r->phase == GW_P_TUNNEL) {
                r->keep_alive = false;
                close_up(r, false);
                gw_exch_finish(c);
                return PUMP_GONE;
            } else {
                attempt_failed(r, JN_NEXT_ERROR, 502, "sending to the upstream failed");
                return PUMP_GONE;
            }
        }
        if (full)
            uc->wr_ready = false;
        if (n > 0) {
            moved = PUMP_MOVED;
            r->up_progress = true;
        }
        if (jn_pipe_empty(&r->rq) && r->rq.body_done && r->phase == GW_P_TUNNEL && r->rq_eof_seen)
            shutdown(uc->io.fd, SHUT_WR);
    }
    if (jn_pipe_empty(&r->rq) && !r->rq.body_done && r->rq_pos == c->len && c->rd_ready) {
        if (r->rq_pos > r->head_len && (c->len == c->cap || r->phase == GW_P_TUNNEL)) {
            /* Everything queued was flushed: reuse the body window. */
            c->len = r->head_len;
            r->rq_pos = r->head_len;
            r->body_discarded = true;
        }
        ssize_t n = gw_conn_read(c, c->buf, &c->len, c->cap);
        if (n > 0) {
            moved = PUMP_MOVED;
            *c_progress = true;
        } else if (n == 0 || (n < 0 && n != -EAGAIN)) {
            if (r->phase != GW_P_TUNNEL) {
                /* The client gave up mid-body. */
                gw_exch_close(c);
                return PUMP_GONE;
            }
            r->rq_eof_seen = true;
            jn_pipe_eof(&r->rq);
            if (jn_pipe_empty(&r->rq))
                shutdown(uc->io.fd, SHUT_WR);
            moved = PUMP_MOVED;
        }
    }
    return moved;
}

/* The upstream reached EOF or failed while r's response was being read. */
static int response_eof(struct gw_req *r, struct gw_upconn *uc, ssize_t n)
{
    uc->eof = true;
    if (!r->resp_head_done) {
        attempt_failed(r, JN_NEXT_ERROR, 502,
                       n == 0 ? "upstream closed the connection prematurely"
                              : "reading from the upstream failed");
        return PUMP_GONE;
    }
    if (jn_pipe_eof(&r->rs) < 0) {
        /* Died mid-body: no final chunk is invented; the client sees the
         * connection close after what we have. */
        jn_warn("gateway: upstream %s closed mid-body", r->peer->name);
        close_up(r, true);
        bool full;
        jn_pipe_fill(&r->rs, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
        gw_conn_flush(r->c, &r->rs, &full);
        gw_exch_close(r->c);
        return PUMP_GONE;
    }
    return PUMP_MOVED;
}

/* Response direction: upstream -> response buffer -> client. */
static int pump_response(struct gw_req *r, struct gw_upconn *uc, bool *c_progress)
{
    struct gw_conn *c = r->c;
    int moved = PUMP_IDLE;
    if (!(r->resp_head_done && r->rs.body_done) && jn_pipe_empty(&r->rs) && uc->rd_ready) {
        if (r->resp_head_done && r->rs_pos > 0) {
            /* Nothing queued points into the buffer: make room at the front. */
            memmove(r->rbuf, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
            r->rlen -= r->rs_pos;
            r->rs_pos = 0;
        }
        ssize_t n = r->rlen < r->rcap ? gw_read_into(uc->io.fd, r->rbuf, &r->rlen, r->rcap,
                                                     &uc->rd_ready, uc->hup)
                                      : -EAGAIN;
        if (n > 0) {
            moved = PUMP_MOVED;
            r->up_progress = true;
            if (!r->resp_head_done) {
                int pr;
                while ((pr = parse_response(r)) == 1 && !r->resp_head_done && r->rlen)
                    ;
                if (pr < 0)
                    return PUMP_GONE;
            }
        } else if (n == 0 || n != -EAGAIN) {
            if (response_eof(r, uc, n) == PUMP_GONE)
                return PUMP_GONE;
            moved = PUMP_MOVED;
        }
    }
    /* Queue the body bytes read so far, right behind the head if it is new. */
    if (r->resp_head_done && !r->rs.body_done && r->rs_pos < r->rlen && jn_pipe_has_room(&r->rs)) {
        ssize_t n = jn_pipe_fill(&r->rs, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
        if (n < 0) {
            jn_warn("gateway: upstream %s: invalid chunked response body",
                    r->peer ? r->peer->name : "?");
            close_up(r, true);
            if (!r->client_wrote) {
                /* Only queued so far: the client gets a clean 502, never a
                 * head whose body then breaks off. */
                r->keep_alive = false;
                gw_exch_respond(r, 502, "upstream sent an invalid chunked body", NULL);
            } else {
                gw_exch_close(c);
            }
            return PUMP_GONE;
        }
        r->rs_pos += (size_t)n;
        if (n > 0)
            moved = PUMP_MOVED;
    }
    if (!jn_pipe_empty(&r->rs) && c->wr_ready && !gw_batch_defer(r)) {
        bool full;
        ssize_t n = gw_conn_flush(c, &r->rs, &full);
        if (n < 0) {
            gw_exch_close(c);
            return PUMP_GONE;
        }
        if (full)
            c->wr_ready = false;
        if (n > 0) {
            moved = PUMP_MOVED;
            *c_progress = r->client_wrote = true;
        }
    }
    return moved;
}

void gw_proxy_run(struct gw_req *r)
{
    if (r->phase == GW_P_WAIT)
        return;
    if (r->connect_deferred) {
        if (r->peer) /* the batch ended */
            connect_peer(r, gw_pool_take(r->c->w, r->peer));
        return;
    }
    struct gw_conn *c = r->c;
    bool c_progress = false;
    if (c->hup && r->phase == GW_P_PROXY && r->rq.body_done && !r->client_started) {
        /* The client closed before its answer (nginx: 499, the upstream
         * request is abandoned, proxy_ignore_client_abort off). */
        gw_exch_close(c);
        return;
    }
    for (;;) {
        struct gw_upconn *uc = r->up;
        if (!uc)
            return;
        if (!uc->connected) {
            int rc = pump_connect(r, uc);
            if (rc == PUMP_GONE)
                return;
            if (rc == PUMP_IDLE)
                break;
        }
        int rq = pump_request(r, uc, &c_progress);
        if (rq == PUMP_GONE)
            return;
        int rs = pump_response(r, uc, &c_progress);
        if (rs == PUMP_GONE)
            return;
        bool progress = rq == PUMP_MOVED || rs == PUMP_MOVED;
        if (r->resp_head_done && r->rs.body_done && jn_pipe_empty(&r->rs)) {
            /* A tunnel ends when both directions ended: the response side
             * is done, half-close the client and keep pumping the request. */
            if (r->phase == GW_P_TUNNEL && (!r->rq.body_done || !jn_pipe_empty(&r->rq))) {
                gw_conn_shutdown(c);
                if (!progress)
                    break;
                continue;
            }
            r->body_bytes = r->rs.body_out;
            response_done(r);
            return;
        }
        if (!progress)
            break;
    }
    update_timers(r, c_progress);
}

/* r's sends that its pumps are about to make, queued for one submission
 * (batch_send.h): to its client (plain, or TLS records sealed here) and to
 * its upstream. */
static void send_ahead(struct gw_worker *w, struct gw_req *r)
{
    struct gw_conn *c = r->c;
    struct gw_upconn *uc = r->up;
    if (c->hup || r->connect_deferred)
        return; /* the pumps may abandon the exchange instead */
    if (uc && uc->connected && uc->wr_ready && !jn_pipe_empty(&r->rq) && !r->rq.ahead)
        gw_bsend_add(w, &r->rq, uc->io.fd);
    if (c->sio || !c->wr_ready || jn_pipe_empty(&r->rs) || r->rs.ahead)
        return;
    if (c->tls) {
        /* TLS: the records are made now and sent with the others; they
         * are the connection's from here, as if written */
        if (!gw_conn_seal(c, &r->rs))
            return;
        r->client_wrote = true;
    }
    gw_bsend_add(w, &r->rs, c->io.fd);
}

void gw_proxy_flush_batch(struct jn_loop *loop, void *arg)
{
    (void)loop;
    struct gw_worker *w = arg;
    if (w->nbatch == 0)
        return;
    w->batch_sending = true;
    if (w->nbatch > 1 && !w->bsend_off) {
        for (size_t i = 0; i < w->nbatch; i++) {
            struct gw_req *r = w->batch[i];
            if (r && (r->phase == GW_P_PROXY || r->phase == GW_P_TUNNEL))
                send_ahead(w, r);
        }
        gw_bsend_submit(w);
        /* What reached a client counts as written from here on (a body
         * that then breaks off ends in a close, never in a 502 after it). */
        for (size_t i = 0; i < w->nbatch; i++) {
            struct gw_req *r = w->batch[i];
            if (r && r->rs.ahead && r->rs.ahead_res > 0)
                r->client_wrote = true;
        }
    }
    /* A request ended by another's pumps (a pipelined client, a pool
     * handing over its connection) leaves a NULL here (gw_batch_forget). */
    for (size_t i = 0; i < w->nbatch; i++) {
        struct gw_req *r = w->batch[i];
        if (!r)
            continue;
        w->batch[i] = NULL;
        r->batched = false;
        if (r->phase == GW_P_PROXY || r->phase == GW_P_TUNNEL)
            gw_proxy_run(r);
    }
    w->nbatch = 0;
    w->batch_sending = false;
    gw_h2_send_ahead(w);
}
