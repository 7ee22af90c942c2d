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
#include "gateway/worker.h"

#include "core/log.h"
#include "net/sock.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

enum { T_NONE, T_CONNECT, T_SEND, T_READ, T_CSEND, T_CBODY };

static const char CRLF[] = "\r\n";
static const char CONTINUE_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void attempt(struct gw_req *r);
static void up_timeout(struct jn_loop *loop, struct jn_timer *t);

static bool is_idempotent(enum jn_http_method m)
{
    return m == JN_HTTP_GET || m == JN_HTTP_HEAD || m == JN_HTTP_PUT || m == JN_HTTP_DELETE ||
           m == JN_HTTP_OPTIONS || m == JN_HTTP_TRACE;
}

static bool is_connection(const struct jn_http_header *h)
{
    /* the length first: this runs for every header of every head */
    return h->name_len == 10 && jn_http_token_eq(h->name, h->name_len, "connection");
}

/* The next name in a Connection value, from *p up to end: sets *t and
 * returns its length (0 at the end), *p past it. */
static size_t next_conn_name(const char **p, const char *end, const char **t)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == ','))
        q++;
    *t = q;
    while (q < end && *q != ',' && *q != ' ' && *q != '\t')
        q++;
    *p = q;
    return (size_t)(q - *t);
}

/* Is name listed in any Connection header of h[0..n)? */
static bool named_in_connection(const struct jn_http_header *h, size_t n, const char *name,
                                size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_connection(&h[i]))
            continue;
        const char *p = h[i].value, *end = h[i].value + h[i].value_len, *t;
        size_t tl;
        while ((tl = next_conn_name(&p, end, &t)) > 0)
            if (tl == len && strncasecmp(t, name, len) == 0)
                return true;
    }
    return false;
}

/* The names listed in a head's Connection headers, collected once per head
 * so that each header costs a few length compares, not a scan of the head.
 * Heads with more names than fit fall back to named_in_connection. */
#define CONN_NAMES_MAX 8
struct conn_names {
    const char *name[CONN_NAMES_MAX];
    size_t len[CONN_NAMES_MAX];
    size_t n;
    bool many;
};

static void conn_names_collect(const struct jn_http_header *h, size_t n, unsigned conn_flags,
                               struct conn_names *cn)
{
    cn->n = 0;
    cn->many = false;
    /* keep-alive and upgrade name hop-by-hop headers, dropped anyway (and
     * Upgrade kept on purpose for a tunnel): the parser saw nothing else */
    if (!(conn_flags & (JN_HTTP_CONN_OTHER | JN_HTTP_CONN_CLOSE)))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!is_connection(&h[i]))
            continue;
        const char *p = h[i].value, *end = h[i].value + h[i].value_len, *t;
        size_t tl;
        while ((tl = next_conn_name(&p, end, &t)) > 0) {
            if (cn->n == CONN_NAMES_MAX) {
                cn->many = true;
                return;
            }
            cn->name[cn->n] = t;
            cn->len[cn->n++] = tl;
        }
    }
}

static bool conn_names_has(const struct conn_names *cn, const struct jn_http_header *h, size_t n,
                           const struct jn_http_header *hd)
{
    if (cn->n == 0 && !cn->many)
        return false; /* the common case: costs one compare per header */
    /* Content-Length frames the body jern forwards: a peer naming it in
     * Connection must not make the next hop see a body without a length
     * (that would smuggle the body as a second request). */
    if (hd->name_len == 14 && jn_http_token_eq(hd->name, hd->name_len, "content-length"))
        return false;
    if (cn->many)
        return named_in_connection(h, n, hd->name, hd->name_len);
    for (size_t i = 0; i < cn->n; i++)
        if (cn->len[i] == hd->name_len && strncasecmp(cn->name[i], hd->name, hd->name_len) == 0)
            return true;
    return false;
}

/* RFC 9110 7.6.1 plus the de-facto ones. Dispatched on the name's length,
 * so a header costs at most one comparison (it runs for every header). */
static bool is_hop_by_hop(const struct jn_http_header *h)
{
    const char *n = h->name;
    switch (h->name_len) {
    case 2:
        return jn_http_token_eq(n, 2, "te");
    case 7:
        return jn_http_token_eq(n, 7, "upgrade") || jn_http_token_eq(n, 7, "trailer");
    case 10:
        return jn_http_token_eq(n, 10, "connection") || jn_http_token_eq(n, 10, "keep-alive");
    case 16:
        return jn_http_token_eq(n, 16, "proxy-connection");
    case 17:
        return jn_http_token_eq(n, 17, "transfer-encoding");
    default:
        return false;
    }
}

/* Queues an original header line (name: value) with its CRLF, merging it
 * with the previous span when they are adjacent in the buffer. */
static void push_header(struct jn_pipe *p, const struct jn_http_header *h, const char *buf_end)
{
    const char *start = h->name;
    const char *end = h->value_len ? h->value + h->value_len : h->name + h->name_len + 1;
    bool crlf = end + 2 <= buf_end && end[0] == '\r' && end[1] == '\n';
    if (crlf)
        end += 2;
    struct iovec *last = p->niov ? &p->iov[p->niov - 1] : NULL;
    if (last && (const char *)last->iov_base + last->iov_len == start)
        last->iov_len += (size_t)(end - start);
    else
        jn_pipe_push(p, start, (size_t)(end - start));
    if (!crlf)
        jn_pipe_push(p, CRLF, 2);
}

/* $remote_addr as text, formatted on first use: most configurations never
 * ask for it, and inet_ntop formats with sprintf. */
static const char *remote_text(struct gw_req *r)
{
    const struct gw_conn *c = r->c;
    if (!r->remote_text[0]) {
        if (c->remote.sa.sa_family == AF_INET)
            inet_ntop(AF_INET, &c->remote.sin.sin_addr, r->remote_text, sizeof(r->remote_text));
        else if (c->remote.sa.sa_family == AF_INET6)
            inet_ntop(AF_INET6, &c->remote.sin6.sin6_addr, r->remote_text, sizeof(r->remote_text));
        else
            memcpy(r->remote_text, "unix:", 6);
    }
    return r->remote_text;
}

ssize_t gw_eval_template(struct gw_req *r, const struct jn_template *t, char *out, size_t cap)
{
    struct jn_var_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.req = &r->hreq;
    ctx.remote_addr = remote_text(r);
    ctx.scheme = "http";
    ctx.proxy_host = r->loc->proxy_host;
    ctx.upstream_response_time_us = -1;
    ctx.connection = r->c->serial;
    ctx.connection_requests = r->c->nreqs + 1;
    return jn_template_eval(t, &ctx, false, out, cap);
}

static void fill_ctx(struct gw_req *r, struct jn_var_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->req = &r->hreq;
    bool templates = false;
    for (size_t i = 0; i < r->loc->nset && !templates; i++)
        templates = !r->loc->set[i].is_empty;
    ctx->remote_addr = templates ? remote_text(r) : NULL;
    ctx->scheme = "http";
    ctx->proxy_host = r->loc->proxy_host ? r->loc->proxy_host : r->u->name;
    ctx->upstream_response_time_us = -1;
    ctx->connection = r->c->serial;
    ctx->connection_requests = r->c->nreqs + 1;
}

/* Appends "Name: value\r\n" to the scratch area and queues it. */
static int push_scratch_header(struct gw_req *r, const char *name, size_t nlen,
                               const struct jn_template *t, const struct jn_var_ctx *ctx,
                               const char *literal)
{
    char *start = r->scratch + r->scratch_len;
    size_t room = sizeof(r->scratch) - r->scratch_len;
    if (room < nlen + 4)
        return JN_ETOOBIG;
    memcpy(start, name, nlen);
    memcpy(start + nlen, ": ", 2);
    size_t off = nlen + 2;
    ssize_t v;
    if (t) {
        v = jn_template_eval(t, ctx, false, start + off, room - off - 2);
        if (v < 0)
            return (int)v;
    } else {
        v = (ssize_t)strlen(literal);
        if ((size_t)v > room - off - 2)
            return JN_ETOOBIG;
        memcpy(start + off, literal, (size_t)v);
    }
    if (v == 0)
        return 0; /* evaluated empty: not sent, as nginx */
    off += (size_t)v;
    memcpy(start + off, "\r\n", 2);
    off += 2;
    r->scratch_len += off;
    return jn_pipe_push(&r->rq, start, off);
}

/* Queues the rewritten request head. Returns 0 or JN_ETOOBIG. */
static int build_request_head(struct gw_req *r)
{
    const struct jn_http_request *h = &r->hreq;
    const struct jn_gw_location *loc = r->loc;
    struct jn_pipe *p = &r->rq;
    char *buf = r->c->buf;
    r->scratch_len = 0;
    jn_pipe_clear(p);
    jn_pipe_push(p, h->method, h->method_len);
    jn_pipe_push(p, " ", 1);
    if (loc->pass_uri) {
        /* proxy_pass with a URI: the matched prefix is replaced, as nginx. */
        size_t cut = JN_MIN(loc->prefix_len, h->path_len);
        jn_pipe_push(p, loc->pass_uri, loc->pass_uri_len);
        jn_pipe_push(p, h->path + cut, h->path_len - cut);
    } else {
        jn_pipe_push(p, h->path, h->path_len);
    }
    bool chunked = h->framing == JN_FRAMING_CHUNKED;
    bool v11 = loc->s->proxy_http_minor == 1 || chunked || h->upgrade;
    jn_pipe_push(p, v11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);

    struct jn_var_ctx ctx;
    fill_ctx(r, &ctx);
    bool pool = v11 && r->u->keepalive > 0;
    r->sent_close = false;
    if (!loc->sets_host) {
        const char *ph = ctx.proxy_host;
        int rc = push_scratch_header(r, "Host", 4, NULL, &ctx, ph);
        if (rc < 0)
            return rc;
    }
    if (!loc->sets_connection && !pool) {
        int rc = push_scratch_header(r, "Connection", 10, NULL, &ctx, "close");
        if (rc < 0)
            return rc;
        r->sent_close = true;
    }
    for (size_t i = 0; i < loc->nset; i++) {
        const struct jn_gw_set_header *sh = &loc->set[i];
        if (sh->is_empty)
            continue;
        int rc = push_scratch_header(r, sh->name, sh->name_len, &sh->value, &ctx, NULL);
        if (rc < 0)
            return rc;
    }
    if (chunked)
        jn_pipe_push(p, "Transfer-Encoding: chunked\r\n", 28);
    const char *head_end = buf + r->head_len;
    struct conn_names cn;
    conn_names_collect(h->headers, h->nheaders, h->conn_flags, &cn);
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct jn_http_header *hd = &h->headers[i];
        /* Expect was answered here (gw_proxy_start), as nginx does. */
        if (is_hop_by_hop(hd) || jn_http_token_eq(hd->name, hd->name_len, "host") ||
            jn_http_token_eq(hd->name, hd->name_len, "expect"))
            continue;
        if (conn_names_has(&cn, h->headers, h->nheaders, hd))
            continue;
        bool overridden = false;
        for (size_t k = 0; k < loc->nset && !overridden; k++)
            overridden = loc->set[k].name_len == hd->name_len &&
                         strncasecmp(loc->set[k].name, hd->name, hd->name_len) == 0;
        if (overridden)
            continue;
        if (!jn_pipe_has_room(p))
            return JN_ETOOBIG;
        push_header(p, hd, head_end);
    }
    jn_pipe_push(p, CRLF, 2);
    if (!jn_pipe_has_room(p))
        return JN_ETOOBIG;
    return 0;
}

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

/* Writes v in decimal at dst (room for 10 digits); returns the length. */
static size_t put_uint(char *dst, unsigned v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

static void append_status(char *dst, size_t cap, int status)
{
    char st[12];
    st[put_uint(st, status < 0 ? 0 : (unsigned)status)] = '\0';
    append_list(dst, cap, st);
}

static void close_up(struct gw_req *r, bool failed)
{
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
           (is_idempotent(r->hreq.method_id) || (s->next_upstream & JN_NEXT_NON_IDEMPOTENT)) &&
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
        gw_client_close(r->c);
        return;
    }
    gw_client_respond(r, status, why, NULL);
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

static void start_wait(struct gw_req *r)
{
    struct gw_worker *w = r->c->w;
    if (w->nwaiters >= GW_WAITERS_MAX ||
        (r->u->wait_max > 0 && atomic_load(&r->u->waiters) >= r->u->wait_max)) {
        gw_client_respond(r, 503, "too many requests waiting for the application to start", NULL);
        return;
    }
    w->nwaiters++;
    r->phase = GW_P_WAIT;
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
        w->nwaiters--;
        atomic_fetch_sub(&r->u->waiters, 1);
        r->phase = GW_P_PROXY;
        attempt(r);
        return;
    }
    int64_t failed = atomic_load_explicit(&r->u->fail_ms, memory_order_acquire);
    if (failed && failed >= r->wait_start_ms) {
        /* The instance started for this request failed: say why now rather
         * than at the timeout; the next request starts another one. */
        w->nwaiters--;
        atomic_fetch_sub(&r->u->waiters, 1);
        r->phase = GW_P_PROXY;
        gw_client_respond(r, 503, r->u->fail_msg, NULL);
        return;
    }
    if (now >= r->wait_deadline || w->draining) {
        w->nwaiters--;
        atomic_fetch_sub(&r->u->waiters, 1);
        r->phase = GW_P_PROXY;
        if (r->wait_transition)
            gw_client_respond(r, 502, "no live upstreams", NULL);
        else
            gw_client_respond(r, 503, "the application did not become ready in time", NULL);
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
        gw_client_respond(r, 502, "no live upstreams", NULL);
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
    if (build_request_head(r) < 0) {
        close_up(r, false);
        gw_client_respond(r, 500, "the rewritten request head is too large", NULL);
        return;
    }
    const struct jn_http_request *h = &r->hreq;
    jn_pipe_start(&r->rq, h->framing, h->content_length, h->framing == JN_FRAMING_CHUNKED);
    struct gw_upconn *uc = r->stale_retried ? NULL : gw_pool_take(w, peer);
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
        ssize_t n = write(c->io.fd, CONTINUE_100, sizeof(CONTINUE_100) - 1);
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
        gw_client_close(c); /* the client sees the truncation */
        return;
    }
    gw_client_respond(r, 502, "the upstream server was drained and did not answer in time", NULL);
}

void gw_proxy_abort(struct gw_req *r)
{
    if (r->phase == GW_P_WAIT) {
        jn_timer_stop(r->c->w->loop, &r->wait_timer);
        r->c->w->nwaiters--;
        atomic_fetch_sub(&r->u->waiters, 1);
        r->phase = GW_P_PROXY;
    }
    close_up(r, false);
}

/* Queues the response head for the client. Returns false when the response
 * must go to another peer instead (proxy_next_upstream http_xxx). */
static void build_response_head(struct gw_req *r, size_t head_len)
{
    const struct jn_http_response *h = &r->hresp;
    struct jn_pipe *p = &r->rs;
    bool client11 = r->hreq.minor_version == 1;
    bool tunnel = h->status == 101;
    bool out_chunked = false;
    if (h->framing == JN_FRAMING_CHUNKED) {
        if (client11)
            out_chunked = true;
        else
            r->resp_close_after = true; /* raw body to an HTTP/1.0 client ends with the close */
    } else if (h->framing == JN_FRAMING_CLOSE) {
        r->resp_close_after = true;
    }
    if (!r->keep_alive)
        r->resp_close_after = true;
    jn_pipe_clear(p);
    /* "HTTP/1.1 %d %.*s\r\n" by hand: printf is a tenth of the user-space
     * instructions of a request */
    size_t reason_len = JN_MIN(h->reason_len, (size_t)200);
    size_t n = 9;
    memcpy(r->rscratch, "HTTP/1.1 ", 9);
    n += put_uint(r->rscratch + n, h->status < 0 ? 0 : (unsigned)h->status);
    r->rscratch[n++] = ' ';
    memcpy(r->rscratch + n, h->reason, reason_len);
    n += reason_len;
    memcpy(r->rscratch + n, "\r\n", 2);
    n += 2;
    jn_pipe_push(p, r->rscratch, n);
    const char *end = r->rbuf + head_len;
    struct conn_names cn;
    conn_names_collect(h->headers, h->nheaders, h->conn_flags, &cn);
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct jn_http_header *hd = &h->headers[i];
        if (tunnel && jn_http_token_eq(hd->name, hd->name_len, "upgrade")) {
            push_header(p, hd, end);
            continue;
        }
        if (is_hop_by_hop(hd) || conn_names_has(&cn, h->headers, h->nheaders, hd))
            continue;
        push_header(p, hd, end);
    }
    const char *extra;
    if (tunnel)
        extra = "Connection: upgrade\r\n\r\n";
    else if (out_chunked)
        extra = r->resp_close_after ? "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                    : "Transfer-Encoding: chunked\r\n\r\n";
    else if (r->resp_close_after)
        extra = "Connection: close\r\n\r\n";
    else
        extra = client11 ? "\r\n" : "Connection: keep-alive\r\n\r\n";
    jn_pipe_push(p, extra, strlen(extra));
    r->client_started = true;
    r->status = h->status;
    jn_pipe_start(p, tunnel ? JN_FRAMING_CLOSE : h->framing, h->content_length, out_chunked);
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
    r->up_time_us = (jn_loop_now_ns(r->c->w->loop) - r->attempt_ns) / 1000;
    jn_peer_stats_record(r->peer, r->c->w->id, status, r->up_time_us);
    unsigned kind = jn_upstream_status_cause(status);
    if (kind && retry_allowed(r, kind, !r->body_discarded)) {
        attempt_failed(r, kind, status, "upstream answered with an error status");
        return -1;
    }
    append_status(r->up_statuses, sizeof(r->up_statuses), status);
    r->resp_head_done = true;
    r->rs_pos = (size_t)rc;
    build_response_head(r, (size_t)rc);
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
    gw_client_finish(r->c);
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
        gw_client_finish(r->c);
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

/* Reads from fd into buf[*len..cap). Returns bytes, 0 at EOF, -EAGAIN, or -errno. */
static ssize_t read_into(int fd, char *buf, size_t *len, size_t cap, bool *ready, bool hup)
{
    for (;;) {
        size_t room = cap - *len;
        ssize_t n = jn_sock_recv(fd, buf + *len, room);
        if (n > 0) {
            *len += (size_t)n;
            /* A short read drained the socket, unless a FIN is pending: with
             * edge triggering its event has already been delivered. */
            if ((size_t)n < room && !hup)
                *ready = false;
            return n;
        }
        if (n == 0) {
            *ready = false;
            return 0;
        }
        if (errno == EINTR)
            continue;
        *ready = false;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

void gw_proxy_run(struct gw_req *r)
{
    if (r->phase == GW_P_WAIT)
        return;
    struct gw_conn *c = r->c;
    bool c_progress = false;
    if (c->hup && r->phase == GW_P_PROXY && r->rq.body_done && !r->client_started) {
        /* The client closed before its answer (nginx: 499, the upstream
         * request is abandoned, proxy_ignore_client_abort off). */
        gw_client_close(c);
        return;
    }
    for (;;) {
        struct gw_upconn *uc = r->up;
        bool progress = false;
        if (!uc)
            return;
        if (!uc->connected) {
            if (!uc->wr_ready && !uc->rd_ready)
                break;
            int err = jn_sock_error(uc->io.fd);
            if (err < 0) {
                attempt_failed(r, JN_NEXT_ERROR, 502,
                               err == -ECONNREFUSED ? "connection refused" : "connect failed");
                return;
            }
            uc->connected = true;
            r->up_progress = true;
        }

        /* request direction: client buffer -> upstream. Queue what is
         * buffered first so the head and the body go out in one send. */
        if (!r->rq.body_done && r->rq_pos < c->len && jn_pipe_has_room(&r->rq)) {
            ssize_t n = jn_pipe_fill(&r->rq, c->buf + r->rq_pos, c->len - r->rq_pos);
            if (n < 0) {
                close_up(r, false);
                r->keep_alive = false;
                if (r->client_started)
                    gw_client_close(c);
                else
                    gw_client_respond(r, 400, "invalid chunked request body", NULL);
                return;
            }
            r->rq_pos += (size_t)n;
            if (n > 0)
                progress = true;
            int64_t max = r->loc->s->client_max_body_size;
            if (max > 0 && r->rq.body_out > (uint64_t)max && r->phase == GW_P_PROXY) {
                /* A chunked body outgrew client_max_body_size. */
                close_up(r, false);
                r->keep_alive = false;
                if (r->client_started)
                    gw_client_close(c);
                else
                    gw_client_respond(r, 413,
                                      "the request body is larger than "
                                      "client_max_body_size",
                                      NULL);
                return;
            }
        }
        if (!jn_pipe_empty(&r->rq) && uc->wr_ready) {
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
                    gw_client_finish(c);
                    return;
                } else {
                    attempt_failed(r, JN_NEXT_ERROR, 502, "sending to the upstream failed");
                    return;
                }
            }
            if (full)
                uc->wr_ready = false;
            if (n > 0)
                progress = r->up_progress = true;
            if (jn_pipe_empty(&r->rq) && r->rq.body_done && r->phase == GW_P_TUNNEL &&
                r->rq_eof_seen)
                shutdown(uc->io.fd, SHUT_WR);
        }
        if (jn_pipe_empty(&r->rq) && !r->rq.body_done && r->rq_pos == c->len && c->rd_ready) {
            if (r->rq_pos > r->head_len && (c->len == c->cap || r->phase == GW_P_TUNNEL)) {
                /* Everything queued was flushed: reuse the body window. */
                c->len = r->head_len;
                r->rq_pos = r->head_len;
                r->body_discarded = true;
            }
            ssize_t n = read_into(c->io.fd, c->buf, &c->len, c->cap, &c->rd_ready, c->hup);
            if (n > 0) {
                progress = c_progress = true;
            } else if (n == 0 || (n < 0 && n != -EAGAIN)) {
                if (r->phase == GW_P_TUNNEL) {
                    r->rq_eof_seen = true;
                    jn_pipe_eof(&r->rq);
                    if (jn_pipe_empty(&r->rq))
                        shutdown(uc->io.fd, SHUT_WR);
                    progress = true;
                } else {
                    /* The client gave up mid-body. */
                    gw_client_close(c);
                    return;
                }
            }
        }

        /* response direction: upstream -> client */
        if (!(r->resp_head_done && r->rs.body_done) && jn_pipe_empty(&r->rs) && uc->rd_ready) {
            if (r->resp_head_done && r->rs_pos > 0) {
                /* Nothing queued points into the buffer: make room at the front. */
                memmove(r->rbuf, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
                r->rlen -= r->rs_pos;
                r->rs_pos = 0;
            }
            ssize_t n = r->rlen < r->rcap ? read_into(uc->io.fd, r->rbuf, &r->rlen, r->rcap,
                                                      &uc->rd_ready, uc->hup)
                                          : -EAGAIN;
            if (n > 0) {
                progress = r->up_progress = true;
                if (!r->resp_head_done) {
                    int pr;
                    while ((pr = parse_response(r)) == 1 && !r->resp_head_done && r->rlen)
                        ;
                    if (pr < 0)
                        return;
                }
            } else if (n == 0 || n != -EAGAIN) {
                uc->eof = true;
                if (!r->resp_head_done) {
                    attempt_failed(r, JN_NEXT_ERROR, 502,
                                   n == 0 ? "upstream closed the connection prematurely"
                                          : "reading from the upstream failed");
                    return;
                }
                if (jn_pipe_eof(&r->rs) < 0) {
                    /* Died mid-body: no final chunk is invented; the client
                     * sees the connection close after what we have. */
                    jn_warn("gateway: upstream %s closed mid-body", r->peer->name);
                    close_up(r, true);
                    bool full;
                    jn_pipe_fill(&r->rs, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
                    jn_pipe_flush(&r->rs, c->io.fd, &full);
                    gw_client_close(c);
                    return;
                }
                progress = true;
            }
        }
        /* Queue the body bytes read so far, right behind the head if it is new. */
        if (r->resp_head_done && !r->rs.body_done && r->rs_pos < r->rlen &&
            jn_pipe_has_room(&r->rs)) {
            ssize_t n = jn_pipe_fill(&r->rs, r->rbuf + r->rs_pos, r->rlen - r->rs_pos);
            if (n < 0) {
                jn_warn("gateway: upstream %s: invalid chunked response body",
                        r->peer ? r->peer->name : "?");
                close_up(r, true);
                if (!r->client_wrote) {
                    /* Only queued so far: the client gets a clean 502, never
                     * a head whose body then breaks off. */
                    r->keep_alive = false;
                    gw_client_respond(r, 502, "upstream sent an invalid chunked body", NULL);
                } else {
                    gw_client_close(c);
                }
                return;
            }
            r->rs_pos += (size_t)n;
            if (n > 0)
                progress = true;
        }
        if (!jn_pipe_empty(&r->rs) && c->wr_ready) {
            bool full;
            ssize_t n = jn_pipe_flush(&r->rs, c->io.fd, &full);
            if (n < 0) {
                gw_client_close(c);
                return;
            }
            if (full)
                c->wr_ready = false;
            if (n > 0)
                progress = c_progress = r->client_wrote = true;
        }
        if (r->resp_head_done && r->rs.body_done && jn_pipe_empty(&r->rs)) {
            if (r->phase == GW_P_TUNNEL) {
                if (!r->rq.body_done || !jn_pipe_empty(&r->rq)) {
                    shutdown(c->io.fd, SHUT_WR);
                    if (!progress)
                        break;
                    continue;
                }
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
