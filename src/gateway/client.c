/*
 * client.c: the client side of the gateway: accepting, reading and parsing
 * request heads under a total deadline, routing, local responses (return,
 * errors), keep-alive, pipelining (answers in order: the next request is
 * parsed only after the previous response went out) and lingering close.
 */
#include "gateway/client.h"

#include "gateway/alog.h"
#include "gateway/challenge.h"
#include "gateway/conn_io.h"
#include "gateway/freelist.h"
#include "gateway/h2.h"
#include "gateway/local.h"
#include "gateway/pool.h"
#include "gateway/proxy.h"
#include "gateway/rewrite_run.h"
#include "gateway/static_run.h"
#include "core/log.h"
#include "http/status.h"
#include "gateway/date.h"
#include "net/sock.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static void client_event(struct jn_loop *loop, struct jn_io *io, uint32_t events);
static void client_timeout(struct jn_loop *loop, struct jn_timer *t);
static void read_head(struct gw_conn *c);
static void local_run(struct gw_req *r);
static void client_return(struct gw_req *r, int as_status);
static struct jn_tls_cert *sni_pick(void *arg, const char *name);
static void tls_handshake(struct gw_conn *c);

/* The settings that apply before a request is routed: the listen address's
 * default server. */
static const struct jn_conf_settings *conn_settings(struct gw_conn *c)
{
    const struct jn_gw_snapshot *s = c->w->snap;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(s, c->listen_id);
    if (l)
        return &l->def->cs->s;
    if (s->routes->nlistens)
        return &s->routes->listens[0].def->cs->s;
    return NULL;
}

static struct gw_conn *accept_conn(struct gw_worker *w, int fd, const struct jn_addr *peer,
                                   int listen_id, int h2_stream);

void gw_client_accept(struct gw_worker *w, int fd, const struct jn_addr *peer, int listen_id)
{
    struct gw_conn *c = accept_conn(w, fd, peer, listen_id, 0);
    if (!c)
        return;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(w->snap, listen_id);
    if (l && l->ssl) {
        /* The handshake runs under the head deadline: a client that never
         * finishes it is closed like one that never sends a head. */
        c->tls = jn_tls_conn_new(l->def->tls, fd, sni_pick, c);
        if (!c->tls) {
            gw_client_close(c);
            return;
        }
        if (l->http2)
            jn_tls_conn_offer_h2(c->tls);
        c->state = GW_C_TLS;
    }
}

struct gw_conn *gw_client_open_stream(struct gw_conn *session, const struct gw_stream_io *sio,
                                      void *stream)
{
    struct jn_addr peer = {.len = sizeof(session->remote)};
    memcpy(&peer.ss, &session->remote, sizeof(session->remote));
    struct gw_conn *c =
        accept_conn(session->w, -1, &peer, session->listen_id, session->tls ? 2 : 1);
    c->sio = sio;
    c->stream = stream;
    c->session = session;
    return c;
}

void gw_client_stream_event(struct gw_conn *c, uint32_t events)
{
    client_event(c->w->loop, &c->io, events);
}

static struct gw_conn *accept_conn(struct gw_worker *w, int fd, const struct jn_addr *peer,
                                   int listen_id, int h2_stream)
{
    struct gw_conn *c = jn_calloc(1, sizeof(*c));
    c->h2_stream = (uint8_t)h2_stream;
    c->w = w;
    c->listen_id = listen_id;
    c->serial = ++w->serial;
    c->born_ms = jn_loop_now(w->loop);
    size_t n = JN_MIN((size_t)peer->len, sizeof(c->remote));
    memcpy(&c->remote, &peer->ss, n);
    if (!h2_stream)
        jn_sock_nodelay(fd);
    jn_timer_init(&c->timer, client_timeout, c);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    if (!h2_stream) {
        /* worker_connections counts sockets: a stream is capped by
         * http2_max_concurrent_streams on its connection (nginx's rule) */
        w->nconns++;
        gw_stat_add(&w->st.accepted, 1);
        gw_stat_add(&w->st.open, 1);
    }
    c->state = GW_C_IDLE;
    c->wr_ready = true;
    c->io.fd = -1; /* an HTTP/2 stream's exchange has no socket */
    c->io.data = c;
    int rc = fd < 0
                 ? 0
                 : jn_io_add(w->loop, &c->io, fd, JN_EV_READ | JN_EV_WRITE, false, client_event, c);
    if (rc < 0) {
        close(fd);
        c->io.fd = -1;
        gw_client_close(c);
        return NULL;
    }
    const struct jn_conf_settings *s = conn_settings(c);
    c->head_deadline = jn_loop_now(w->loop) + (s ? s->client_header_timeout_ms : 60000);
    c->state = GW_C_HEAD;
    jn_timer_start(w->loop, &c->timer, c->head_deadline - jn_loop_now(w->loop));
    return c;
}

/* SNI, during the handshake: the worker's current snapshot decides. */
static struct jn_tls_cert *sni_pick(void *arg, const char *name)
{
    struct gw_conn *c = arg;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(c->w->snap, c->listen_id);
    return l && l->ssl ? jn_gw_sni_pick(c->w->snap, l, name) : NULL;
}

/* Advances the handshake; on success reads the first request. */
static void tls_handshake(struct gw_conn *c)
{
    int rc = jn_tls_handshake(c->tls);
    if (rc == JN_TLS_WANT_READ || rc == JN_TLS_WANT_WRITE)
        return;
    if (rc < 0) {
        /* not TLS, an old protocol, a refused name, a reset: OpenSSL has
         * sent its alert where the protocol has one */
        jn_debug("gateway: TLS handshake from connection %llu failed: %s",
                 (unsigned long long)c->serial, jn_strerror(rc));
        gw_client_close(c);
        return;
    }
    c->rd_ready = true; /* the first request may have come with the handshake */
    if (jn_tls_is_h2(c->tls)) {
        gw_h2_start(c);
        return;
    }
    c->state = GW_C_HEAD;
    read_head(c);
}

static void release_req(struct gw_conn *c)
{
    struct gw_req *r = c->req;
    if (!r)
        return;
    c->req = NULL;
    gw_static_close(r);
    if (r->snap)
        jn_gw_snapshot_unref(r->snap);
    gw_rbuf_put(c->w, r->rbuf);
    gw_req_put(c->w, r);
}

void gw_client_close(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    if (w->finishing == c)
        w->finishing_closed = true;
    if (c->req) {
        if (c->state == GW_C_BUSY) {
            gw_proxy_abort(c->req);
            /* Logged like nginx: 499 when the client left before any answer,
             * else the status that was being sent. */
            if (!c->req->client_started)
                c->req->status = 499;
            if (c->req->rs.body_out > c->req->body_bytes)
                c->req->body_bytes = c->req->rs.body_out;
            gw_alog_request(w, c->req);
        }
        release_req(c);
    }
    gw_h2_free(c);
    jn_timer_stop(w->loop, &c->timer);
    jn_tls_conn_free(c->tls);
    gw_buf_put(w, c->sealed, GW_CLIENT_BUF);
    if (c->io.fd >= 0) {
        jn_io_del(w->loop, &c->io);
        close(c->io.fd);
    }
    gw_buf_put(w, c->buf, c->cap);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!c->h2_stream) {
        gw_stat_add(&w->st.open, -1);
        w->nconns--;
    }
    free(c);
    w->conn_closed(w);
}

bool gw_client_close_if_idle(struct gw_conn *c)
{
    if (c->state == GW_C_H2) {
        if (!gw_h2_idle(c))
            return false;
        gw_client_close(c);
        return true;
    }
    if (c->state == GW_C_IDLE || c->state == GW_C_TLS || (c->state == GW_C_HEAD && c->len == 0)) {
        gw_client_close(c);
        return true;
    }
    return false;
}

void gw_client_try_read(struct gw_conn *c)
{
    c->rd_ready = true;
    if (c->state == GW_C_H2) {
        gw_h2_event(c);
        return;
    }
    read_head(c);
}

static void linger_read(struct gw_conn *c)
{
    char tmp[4096];
    for (;;) {
        size_t len = 0;
        ssize_t n = gw_conn_read(c, tmp, &len, sizeof(tmp));
        if (n > 0)
            continue;
        if (n == -EAGAIN)
            return;
        gw_client_close(c); /* EOF or error: done */
        return;
    }
}

/* Half-closes and drains what the client still sends for a while, so a
 * close with unread input does not turn into a reset that destroys the
 * response we just sent (nginx's lingering close). */
static void linger(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    release_req(c);
    gw_buf_put(w, c->buf, c->cap);
    c->buf = NULL;
    c->len = c->cap = 0;
    c->state = GW_C_LINGER;
    if (gw_conn_shutdown(c) < 0) {
        gw_client_close(c);
        return;
    }
    jn_timer_start(w->loop, &c->timer, GW_LINGER_MS);
    linger_read(c);
}

static void client_timeout(struct jn_loop *loop, struct jn_timer *t)
{
    (void)loop;
    struct gw_conn *c = t->data;
    if (c->state == GW_C_H2) {
        gw_h2_timeout(c);
        return;
    }
    if (c->state == GW_C_BUSY && c->req && !c->req->client_started && c->req->phase == GW_P_PROXY &&
        !c->req->rq.body_done) {
        /* client_body_timeout before any response: nginx answers 408 */
        gw_proxy_abort(c->req);
        c->req->keep_alive = false;
        gw_client_respond(c->req, 408, "request body timed out", NULL);
        return;
    }
    gw_client_close(c);
}

static void client_event(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)loop;
    struct gw_conn *c = io->data;
    if (events & JN_EV_READ)
        c->rd_ready = true;
    if (events & (JN_EV_RDHUP | JN_EV_HUP | JN_EV_ERROR))
        c->hup = true;
    if (events & JN_EV_WRITE) {
        c->wr_ready = true;
        if (c->tls_rd_wants_wr) {
            c->tls_rd_wants_wr = false;
            c->rd_ready = true;
        }
    }
    switch (c->state) {
    case GW_C_TLS:
        tls_handshake(c);
        break;
    case GW_C_IDLE:
    case GW_C_HEAD:
        if (c->rd_ready)
            read_head(c);
        break;
    case GW_C_BUSY:
        if (c->req->phase == GW_P_LOCAL)
            local_run(c->req);
        else
            gw_proxy_run(c->req);
        break;
    case GW_C_LINGER:
        linger_read(c);
        break;
    case GW_C_H2:
        gw_h2_event(c);
        break;
    }
}

/* Request body bytes at p[0..n) that a local answer does not need:
 * counted (Content-Length) or decoded (chunked) and dropped. Returns the
 * bytes that belonged to the body, or JN_EBADINPUT; sets rq.body_done at its
 * end. */
static ssize_t discard_some(struct gw_req *r, const char *p, size_t n)
{
    if (r->hreq.framing == JN_FRAMING_LENGTH) {
        size_t k = (size_t)JN_MIN((uint64_t)n, r->rq.remaining);
        r->rq.remaining -= k;
        if (!r->rq.remaining)
            r->rq.body_done = true;
        return (ssize_t)k;
    }
    size_t used = 0;
    while (used < n && !r->rq.dec.done) {
        const char *d;
        size_t dl;
        ssize_t k = jn_chunked_decode(&r->rq.dec, p + used, n - used, &d, &dl);
        if (k < 0)
            return k;
        if (k == 0)
            break;
        used += (size_t)k;
    }
    if (r->rq.dec.done)
        r->rq.body_done = true;
    return (ssize_t)used;
}

/* A request with a body gets a local answer: nginx reads and drops the body
 * so that the connection (and what is pipelined after it) goes on. The part
 * already in the buffer is judged now (a malformed chunked body gets 400);
 * the rest is read after the answer went out. Returns false when the 400 was
 * sent. */
static bool discard_begin(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    if (r->rq.body_done)
        return true;
    r->rq.remaining = r->hreq.content_length;
    jn_chunked_init(&r->rq.dec);
    ssize_t k = discard_some(r, c->buf + r->head_len, c->len - r->head_len);
    if (k < 0) {
        r->keep_alive = false;
        gw_client_respond(r, 400, "invalid chunked request body", NULL);
        return false;
    }
    if (r->rq.body_done) {
        r->rq_pos = r->head_len + (size_t)k;
        return true;
    }
    c->len = r->head_len; /* dropped; the rest is read after the answer */
    r->discarding = true;
    return true;
}

/* Reads and drops the rest of a discarded body, then finishes the exchange. */
static void discard_read(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    for (;;) {
        if (!c->rd_ready) {
            const struct jn_conf_settings *s = r->loc ? r->loc->s : conn_settings(c);
            jn_timer_start(c->w->loop, &c->timer, s ? s->client_body_timeout_ms : 60000);
            return;
        }
        c->len = r->head_len;
        ssize_t n = gw_conn_read(c, c->buf, &c->len, c->cap);
        if (n == -EAGAIN)
            continue;
        if (n <= 0) {
            gw_client_close(c);
            return;
        }
        ssize_t k = discard_some(r, c->buf + r->head_len, c->len - r->head_len);
        if (k < 0) {
            gw_client_close(c); /* the answer is out: nothing else to say */
            return;
        }
        if (r->rq.body_done) {
            jn_timer_park(c->w->loop, &c->timer);
            r->rq_pos = r->head_len + (size_t)k;
            gw_client_finish(c);
            return;
        }
    }
}

static void local_run(struct gw_req *r)
{
    struct gw_conn *c = r->c;
    if (r->discarding && r->rs.iov_i == r->rs.niov && !r->file_open) {
        discard_read(r);
        return;
    }
    if (!c->wr_ready)
        return;

    for (;;) {
        bool full;
        ssize_t n = gw_conn_flush(c, &r->rs, &full);
        if (n < 0) {
            gw_client_close(c);
            return;
        }
        if (full) {
            c->wr_ready = false;
            const struct jn_conf_settings *s = r->loc ? r->loc->s : conn_settings(c);
            jn_timer_start(c->w->loop, &c->timer, s ? s->send_timeout_ms : 60000);
            return;
        }
        int more = gw_static_fill(r); /* a static file's next piece */
        if (more < 0) {
            gw_client_close(c);
            return;
        }
        if (more == 0)
            break;
    }
    if (r->discarding && !r->rq.body_done) {
        discard_read(r);
        return;
    }
    gw_client_finish(c);
}

/* error_page: when r's location has one for status, answers with it (once
 * per request, so a page that errs does not loop) and returns true. */
static bool error_page(struct gw_req *r, int status)
{
    if (!r->loc || !r->loc->nerrs || r->error_paged)
        return false;
    const struct jn_gw_error_page *ep = jn_gw_error_page_find(r->loc, status);
    if (!ep)
        return false;
    r->error_paged = true;
    const struct jn_conf_error_page *ce = ep->ce;
    if (!ep->target) {
        /* a URL: nginx redirects with 302 unless "=30x" says otherwise */
        int code = ce->resp == 301 || ce->resp == 303 || ce->resp == 307 || ce->resp == 308
                       ? ce->resp
                       : 302;
        gw_client_respond(r, code, NULL, ce->uri);
        return true;
    }
    /* the target location's return answers, with the original status unless
     * "=CODE" (that code) or "=" (the target's own) says otherwise */
    r->loc = ep->target;
    client_return(r, ce->resp < 0 ? status : ce->resp);
    return true;
}

void gw_client_respond(struct gw_req *r, int status, const char *text, const char *location)
{
    if (status >= 300 && error_page(r, status))
        return;
    gw_local_begin(r, status);
    bool redirect = location && status >= 300 && status < 400;
    char body[512];
    int blen;
    if (status >= 400 || (redirect && !text))
        blen = snprintf(body, sizeof(body),
                        "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                        "<center><h1>%d %s</h1></center>\r\n%s%s%s<hr><center>jern</center>\r\n"
                        "</body>\r\n</html>\r\n",
                        status, jn_http_reason(status), status, jn_http_reason(status), text ? "<p>" : "",
                        text ? text : "", text ? "</p>\r\n" : "");
    else
        blen = snprintf(body, sizeof(body), "%s", text ? text : "");
    if (blen < 0)
        blen = 0;
    if ((size_t)blen >= sizeof(body))
        blen = (int)sizeof(body) - 1;
    bool no_body = r->hreq.method_id == JN_HTTP_HEAD || status == 204 || status == 304;
    const char *ctype = status >= 400 || redirect ? "text/html" : "text/plain";
    char *o = r->scratch;
    size_t cap = sizeof(r->scratch);
    size_t n = gw_local_head_start(r, status, ctype, o);
    /* room: the head start is < 256 bytes, add_header < 1024, the end < 160,
     * the body < 512 */
    n += gw_add_headers(r, status, o + n, 1024);
    if (redirect) {
        int k = snprintf(o + n, cap - n - 700, "Location: %s\r\n", location);
        n += k > 0 ? JN_MIN((size_t)k, cap - n - 701) : 0;
    }
    n += gw_local_head_end(r, status, (size_t)blen, o + n);
    if (!no_body) {
        memcpy(o + n, body, (size_t)blen);
        n += (size_t)blen;
    }
    r->body_bytes = no_body ? 0 : (uint64_t)blen;
    r->head_bytes = n - r->body_bytes;
    jn_pipe_push(&r->rs, o, n);
    local_run(r);
}

/* return CODE [TEXT|URL], as nginx: 444 closes the connection without an
 * answer; a redirect code sends the (absolute) Location and the HTML page;
 * another code with a text sends the text alone (text/plain); without a
 * text, codes >= 400 send the HTML page and others an empty body. */
static void answer(struct gw_req *r, int code, const char *text, size_t tl);

static void client_return(struct gw_req *r, int as_status)
{
    const struct jn_gw_location *loc = r->loc;
    const struct jn_conf_location *cl = loc->cl;
    int code = as_status ? as_status : cl->return_code;
    bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    const char *text = cl->return_text;
    size_t tl = text ? strlen(text) : 0;
    char val[2048];
    if (code != 444 && loc->has_ret && loc->ret.has_vars) {
        /* redirects evaluate into val; texts straight into the scratch area */
        char *dst = redirect ? val : r->scratch;
        size_t cap = redirect ? sizeof(val) - 1 : sizeof(r->scratch);
        ssize_t n = gw_eval_template(r, &loc->ret, dst, cap);
        if (n < 0) {
            gw_client_respond(r, 500, "the return value is too long or invalid", NULL);
            return;
        }
        text = dst;
        tl = (size_t)n;
    }
    answer(r, code, text, tl);
}

/* Runs the location's rewrite and if statements: true when one answered
 * (a redirect, or the return inside an if). */
static bool client_rewrite(struct gw_req *r)
{
    ssize_t tl;
    /* the text lands in the scratch area: a return's body is sent from there,
     * a redirect's Location is made absolute from it first */
    int code = gw_rewrite_run(r, r->loc->rewrites, r->loc->nrewrites, r->scratch,
                              sizeof(r->scratch), &tl);
    if (code == 0)
        return false;
    if (code != 444 && !discard_begin(r))
        return true;
    if (code < 0)
        gw_client_respond(r, 500, "the rewritten URL is too long or invalid", NULL);
    else
        answer(r, code, tl < 0 ? NULL : r->scratch, tl < 0 ? 0 : (size_t)tl);
    return true;
}

/* A local answer with code and text (text in the scratch area or the config,
 * NULL for none). */
static void answer(struct gw_req *r, int code, const char *text, size_t tl)
{
    const struct jn_gw_location *loc = r->loc;
    if (code == 444) {
        r->phase = GW_P_LOCAL;
        r->status = 444;
        r->client_started = true; /* logged as 444, as nginx */
        r->keep_alive = false;
        gw_client_close(r->c);
        return;
    }
    bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    if (redirect) {
        char abs[2300];
        ssize_t n = text ? gw_absolute_location(r, text, tl, abs, sizeof(abs)) : -1;
        if (text && n < 0) {
            gw_client_respond(r, 500, "the redirect URL is too long", NULL);
            return;
        }
        gw_client_respond(r, code, NULL, text ? abs : NULL);
        return;
    }
    if (!text) {
        gw_client_respond(r, code, NULL, NULL);
        return;
    }
    gw_local_begin(r, code); /* a return with a text is no error: no error_page, as nginx */
    bool no_body = r->hreq.method_id == JN_HTTP_HEAD || code == 204 || code == 304;
    size_t n = gw_local_head_start(r, code, loc->default_type, r->rscratch);
    n += gw_add_headers(r, code, r->rscratch + n, 1024);
    n += gw_local_head_end(r, code, tl, r->rscratch + n);
    jn_pipe_push(&r->rs, r->rscratch, n);
    if (!no_body && tl)
        jn_pipe_push(&r->rs, text, tl);
    r->head_bytes = n;
    r->body_bytes = no_body ? 0 : tl;
    local_run(r);
}

/* Sends a local response to a request whose head could not be parsed. */
static void respond_bad(struct gw_conn *c, int status, const char *reason)
{
    struct gw_req *r = c->req;
    gw_stat_add(&c->w->st.requests, 1);
    c->state = GW_C_BUSY;
    r->keep_alive = false;
    r->rq.body_done = false;
    r->hreq.method_id = JN_HTTP_OTHER;
    r->hreq.minor_version = 1;
    r->hreq.method = NULL;
    r->start_ns = jn_loop_now_ns(c->w->loop);
    jn_gw_snapshot_ref(c->w->snap);
    r->snap = c->w->snap;
    r->app = NULL; /* no route: nothing of an earlier request's */
    jn_timer_park(c->w->loop, &c->timer);
    gw_client_respond(r, status, reason, NULL);
}

static void start_request(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    struct gw_req *r = c->req;
    const struct jn_http_request *h = &r->hreq;
    gw_stat_add(&w->st.requests, 1);
    c->state = GW_C_BUSY;
    jn_timer_park(w->loop, &c->timer);
    jn_gw_snapshot_ref(w->snap);
    r->snap = w->snap;
    r->start_ns = jn_loop_now_ns(w->loop);
    r->rq_pos = r->head_len;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(r->snap, c->listen_id);
    if (!l && r->snap->routes->nlistens)
        l = &r->snap->routes->listens[0]; /* its address was removed by a reload */
    r->listen = l;
    const struct jn_gw_app *app = NULL;
    r->loc = l ? jn_gw_route(r->snap, l, h->host, h->host_len, h->path, h->path_len, &app) : NULL;
    r->app = app;
    const struct jn_conf_settings *s = r->loc ? r->loc->s : conn_settings(c);
    r->keep_alive = h->keep_alive && !w->draining && s && s->keepalive_timeout_ms > 0 &&
                    c->nreqs + 1 < (uint32_t)s->keepalive_requests &&
                    jn_loop_now(w->loop) - c->born_ms < s->keepalive_time_ms;
    /* A local answer reads and drops the body (discard_begin); a proxied
     * one streams it. */
    jn_pipe_clear(&r->rq);
    r->rq.body_done = h->framing == JN_FRAMING_NONE;
    if (h->method_id == JN_HTTP_TRACE || h->method_id == JN_HTTP_CONNECT) {
        /* nginx answers both itself: TRACE would echo credentials, and
         * jern is no forward proxy */
        r->keep_alive = false;
        gw_client_respond(r, 405, "TRACE and CONNECT are not served", NULL);
        return;
    }
    if (gw_challenge_respond(r) || gw_https_respond(r, app))
        return;
    if (!r->loc) {
        if (discard_begin(r))
            gw_client_respond(r, 404, NULL, NULL);
        return;
    }
    if (s->client_max_body_size > 0 && h->framing == JN_FRAMING_LENGTH &&
        h->content_length > (uint64_t)s->client_max_body_size) {
        r->keep_alive = false;
        gw_client_respond(r, 413, "the request body is larger than client_max_body_size", NULL);
        return;
    }
    if (r->loc->nrewrites && client_rewrite(r))
        return;
    const struct jn_conf_location *cl = r->loc->cl;
    if (cl && cl->return_code) {
        if (cl->return_code == 444 || discard_begin(r))
            client_return(r, 0);
        return;
    }
    if (r->loc->st) {
        if (discard_begin(r) && gw_static_serve(r) == 0)
            local_run(r);
        return;
    }
    if (app) {
        r->u = app->u;
        r->wait_ready = app->wait_ready;
        r->wait_timeout_ms = app->wait_timeout_ms;
    } else if (r->loc->has_pass_tpl) {
        /* proxy_pass http://$var: the value names an upstream block */
        char name[256];
        ssize_t n = gw_eval_template(r, &r->loc->pass_tpl, name, sizeof(name));
        const struct jn_gw_routes *rt = r->snap->routes;
        size_t i = 0;
        while (n >= 0 && i < rt->nups &&
               !(strlen(rt->up_names[i]) == (size_t)n && memcmp(rt->up_names[i], name, (size_t)n) == 0))
            i++;
        if (n < 0 || i == rt->nups) {
            gw_client_respond(r, 502, "proxy_pass names no upstream block", NULL);
            return;
        }
        const struct jn_gw_up *up = &r->snap->ups[i];
        r->u = up->u;
        r->wait_ready = up->wait_ready;
        r->wait_timeout_ms = up->wait_timeout_ms;
    } else if (r->loc->upstream >= 0) {
        const struct jn_gw_up *up = &r->snap->ups[r->loc->upstream];
        r->u = up->u;
        r->wait_ready = up->wait_ready;
        r->wait_timeout_ms = up->wait_timeout_ms;
    } else {
        gw_client_respond(r, 404, NULL, NULL);
        return;
    }
    gw_proxy_start(r);
}

/* Whether parsing the head again can tell more than last time: a head ends
 * with '\n', so new bytes without one cannot complete it, and a one-byte
 * drip must not re-parse the whole head per byte (quadratic). The first
 * bytes are always parsed (garbage is refused at once), and so is a head
 * that just crossed a size limit or filled the buffer (the parser's error). */
static bool head_worth_parsing(const struct gw_conn *c, const struct jn_http_limits *lim)
{
    size_t from = c->req->head_scanned;
    if (from == 0 || from > c->len || c->len == c->cap)
        return true;
    if ((from <= lim->max_request_line && c->len > lim->max_request_line) ||
        (from <= lim->max_head && c->len > lim->max_head))
        return true;
    return memchr(c->buf + from, '\n', c->len - from) != NULL;
}

/* h2c with prior knowledge: the preface on a clear-text listen address with
 * http2, instead of the first request. 1: a session started (or the
 * connection closed); 0: not HTTP/2; -1: a prefix of the preface so far. */
static int h2c_preface(struct gw_conn *c)
{
    if (c->tls || c->h2_stream || c->nreqs || c->buf[0] != 'P')
        return 0;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(c->w->snap, c->listen_id);
    if (!l || !l->http2)
        return 0;
    size_t n = JN_MIN(c->len, (size_t)GW_H2_PREFACE_LEN);
    if (memcmp(c->buf, GW_H2_PREFACE, n) != 0)
        return 0;
    if (n < GW_H2_PREFACE_LEN)
        return -1;
    gw_req_put(c->w, c->req);
    c->req = NULL;
    gw_h2_start(c);
    return 1;
}

static void read_head(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    for (;;) {
        int h2 = c->len > 0 && c->req ? h2c_preface(c) : 0;
        if (h2 > 0)
            return;
        if (c->len > 0 && c->req && h2 == 0) {
            struct jn_http_limits lim = jn_http_default_limits;
            const struct jn_conf_settings *s = conn_settings(c);
            if (s) {
                lim.max_request_line = s->large_header_size;
                lim.max_head = w->snap->routes->max_head;
            }
            ssize_t rc = JN_EINCOMPLETE;
            if (head_worth_parsing(c, &lim))
                rc = jn_http_parse_request(c->buf, c->len, &lim, &c->req->hreq);
            c->req->head_scanned = c->len;
            if (rc > 0) {
                c->req->head_len = (size_t)rc;
                start_request(c);
                return;
            }
            if (rc != JN_EINCOMPLETE) {
                respond_bad(c, c->req->hreq.error_status ? c->req->hreq.error_status : 400,
                            c->req->hreq.error_reason);
                return;
            }
            if (c->len == c->cap) {
                if (c->cap >= w->bufsize) {
                    respond_bad(c, 431, "request header too large");
                    return;
                }
                /* A head larger than the usual buffer: move to a big one. */
                c->buf = gw_buf_grow(w, c->buf, c->len, &c->cap);
            }
        }
        if (!c->rd_ready)
            return;
        if (!c->buf) {
            c->buf = gw_buf_get(w, &c->cap);
            c->len = 0;
        }
        ssize_t n = gw_conn_read(c, c->buf, &c->len, c->cap);
        if (n > 0) {
            if (!c->req)
                c->req = gw_req_get(w);
            c->req->c = c;
            if (c->state == GW_C_IDLE) {
                /* client_header_timeout is a total deadline from the first byte
                 * (after keep-alive idling), never extended by a slow drip. */
                const struct jn_conf_settings *s = conn_settings(c);
                c->state = GW_C_HEAD;
                c->head_deadline = jn_loop_now(w->loop) + (s ? s->client_header_timeout_ms : 60000);
                jn_timer_start(w->loop, &c->timer, c->head_deadline - jn_loop_now(w->loop));
            }
            continue;
        }
        if (n == -EAGAIN) {
            if (c->len == 0) {
                /* Idle: give the buffer and request object back. */
                gw_buf_put(w, c->buf, c->cap);
                c->buf = NULL;
                c->cap = 0;
                if (c->req) {
                    gw_req_put(w, c->req);
                    c->req = NULL;
                }
            }
            return;
        }
        gw_client_close(c); /* EOF or reset before a complete head */
        return;
    }
}

void gw_client_finish(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    struct gw_req *r = c->req;
    gw_alog_request(w, r);
    c->nreqs++;
    bool keep = r->keep_alive && !r->resp_close_after && r->rq.body_done && !w->draining;
    size_t next = r->rq_pos;
    if (!keep) {
        linger(c);
        return;
    }
    /* Copied out: the settings live in r's snapshot, which release_req may free. */
    const struct jn_conf_settings *s = r->loc ? r->loc->s : conn_settings(c);
    int64_t ka = s ? s->keepalive_timeout_ms : 75000;
    int64_t head_timeout = s ? s->client_header_timeout_ms : 60000;
    release_req(c);
    if (next < c->len) {
        memmove(c->buf, c->buf + next, c->len - next);
        c->len -= next;
    } else {
        c->len = 0;
    }
    c->state = GW_C_IDLE;
    jn_timer_start(w->loop, &c->timer, ka);
    if (c->len == 0 && !c->rd_ready) {
        gw_buf_put(w, c->buf, c->cap);
        c->buf = NULL;
        c->cap = 0;
        return;
    }
    /* A pipelined request is waiting: start it, iterating rather than
     * recursing when answers complete synchronously. */
    if (c->in_finish) {
        c->next_pending = true;
        return;
    }
    c->in_finish = true;
    w->finishing = c;
    w->finishing_closed = false;
    do {
        c->next_pending = false;
        if (c->len > 0) {
            c->req = gw_req_get(w);
            c->req->c = c;
            c->state = GW_C_HEAD;
            c->head_deadline = jn_loop_now(w->loop) + head_timeout;
            jn_timer_start(w->loop, &c->timer, c->head_deadline - jn_loop_now(w->loop));
        }
        /* read_head may close c: take nothing from it afterwards unless it
         * asked for another round (then it is alive). */
        read_head(c);
        if (w->finishing_closed)
            break;
    } while (c->next_pending);
    if (!w->finishing_closed)
        c->in_finish = false;
    w->finishing = NULL;
    w->finishing_closed = false;
}

const struct gw_client_ops gw_client_ops = {
    .respond = gw_client_respond,
    .finish = gw_client_finish,
    .close = gw_client_close,
    .open_stream = gw_client_open_stream,
    .stream_event = gw_client_stream_event,
};
