/*
 * h2.c: an HTTP/2 session on a client connection, framed by libnghttp2 and
 * driven by the worker's event loop: bytes read from the socket go to
 * nghttp2_session_mem_recv, frames from nghttp2_session_mem_send are
 * gathered and written, and the streams are h2_stream.c's.
 *
 * Limits (nginx's names): http2_max_concurrent_streams (SETTINGS), the
 * header list (large_client_header_buffers: 4 x 8k), http2_body_preread_size
 * (each stream's receive window: the body jern holds for a stream the
 * upstream does not take yet), keepalive_requests streams per connection,
 * keepalive_timeout when no stream is open, send_timeout for a stream (or
 * the connection) that cannot send.
 *
 * Attacks: rapid reset (CVE-2023-44487) and CONTINUATION floods are cut by
 * nghttp2's limits, set here explicitly; SETTINGS and PING floods by its
 * bound on queued ACKs (reading goes on while the client does not read, so
 * the bound is reached; nghttp2 holds every other frame it queues to a
 * bound too, and DATA is pulled only when it can go out); HPACK bombs by the header list limit,
 * counted on the decoded fields; zero-window stalls by send_timeout per stream; stream id
 * exhaustion by the keepalive_requests GOAWAY.
 */
#include "gateway/h2_int.h"

#include "gateway/batch_send.h"
#include "gateway/conn_io.h"
#include "gateway/freelist.h"
#include "core/log.h"
#include "net/sock.h"
#include "tls/tls.h"

#include <sys/uio.h>

/* nghttp2's own defaults, set explicitly: they are the protection. */
#define GW_H2_RESET_BURST 1000 /* RST_STREAMs a client may cause at once ... */
#define GW_H2_RESET_RATE 33    /* ... and per second after that */
#define GW_H2_MAX_CONTINUATIONS 8
#define GW_H2_MAX_ACKS 1000 /* SETTINGS/PING ACKs queued unsent */
#define GW_H2_MAX_SETTINGS 32

static void h2_run(struct gw_h2 *h);
static void flush_timeout(struct jn_loop *loop, struct jn_timer *t);

static struct gw_h2 *h2_of(void *arg)
{
    return arg;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
    struct gw_h2 *h = h2_of(arg);
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h->total++;
    if (h->total >= h->max_total) {
        /* keepalive_requests: this is the last stream; a client cannot walk
         * the stream ids to their end on one connection */
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR, NULL, 0);
    }
    if (h->total > h->max_total)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    struct gw_h2s *st = gw_h2s_new(h, f->hd.stream_id);
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
    (void)flags;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct gw_h2s *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st || st->started)
        return 0; /* trailers: not forwarded */
    if (!gw_h2s_header(st, name, nlen, value, vlen)) {
        /* an HPACK bomb or simply too much: the whole connection goes, as
         * the decoder would otherwise keep expanding what the client sends */
        nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
    struct gw_h2 *h = h2_of(arg);
    h->last_active = jn_loop_now(h->c->w->loop);
    if (f->hd.stream_id == 0)
        return 0;
    struct gw_h2s *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (f->hd.type == NGHTTP2_HEADERS && !st->started) {
        int rc = gw_h2s_request(st, end);
        if (rc < 0) /* bad request (CONNECT, no :path), or no descriptors: retry later */
            nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id,
                                      rc == JN_EBADINPUT ? NGHTTP2_PROTOCOL_ERROR
                                                         : NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && end)
        gw_h2s_end(st);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *arg)
{
    (void)flags;
    struct gw_h2s *st = nghttp2_session_get_stream_user_data(s, id);
    if (st)
        gw_h2s_data(st, data, len);
    else
        nghttp2_session_consume_connection(s, len);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *arg)
{
    (void)code;
    struct gw_h2 *h = h2_of(arg);
    struct gw_h2s *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        nghttp2_session_set_stream_user_data(s, id, NULL);
        if (st->unconsumed)
            nghttp2_session_consume_connection(s, st->unconsumed);
        gw_h2s_free(st);
    }
    h->last_active = jn_loop_now(h->c->w->loop);
    return 0;
}

static nghttp2_session_callbacks *callbacks(void)
{
    static __thread nghttp2_session_callbacks *cb;
    if (!cb) {
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    }
    return cb;
}

static const struct jn_conf_settings *listen_settings(struct gw_conn *c)
{
    const struct jn_gw_snapshot *s = c->w->snap;
    const struct jn_gw_listen *l = jn_gw_snapshot_listen(s, c->listen_id);
    if (!l && s->routes->nlistens)
        l = &s->routes->listens[0];
    return l ? &l->def->cs->s : NULL;
}

static int session_new(struct gw_h2 *h, const struct jn_conf_settings *cs)
{
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0)
        return -ENOMEM;
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, GW_H2_RESET_BURST, GW_H2_RESET_RATE);
    nghttp2_option_set_max_continuations(opt, GW_H2_MAX_CONTINUATIONS);
    nghttp2_option_set_max_outbound_ack(opt, GW_H2_MAX_ACKS);
    nghttp2_option_set_max_settings(opt, GW_H2_MAX_SETTINGS);
    int rc = nghttp2_session_server_new2(&h->s, callbacks(), h, opt);
    nghttp2_option_del(opt);
    if (rc != 0)
        return -ENOMEM;
    int streams = cs ? cs->http2_max_concurrent_streams : 128;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)h->preread},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)h->max_head},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    /* the connection window: room for every stream's preread at once */
    int32_t conn_win = (int32_t)JN_MIN((int64_t)streams * h->preread, (int64_t)INT32_MAX >> 1);
    if (conn_win > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, conn_win);
    return 0;
}

void gw_h2_start(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    const struct jn_conf_settings *cs = listen_settings(c);
    struct gw_h2 *h = jn_calloc(1, sizeof(*h));
    h->c = c;
    h->max_total = cs && cs->keepalive_requests > 0 ? (uint32_t)cs->keepalive_requests : 1000;
    h->max_head = w->snap->routes->max_head;
    h->preread = cs ? cs->http2_body_preread_size : 65536;
    h->chunk = cs ? cs->http2_chunk_size : 8192;
    h->idle_ms = cs && cs->keepalive_timeout_ms > 0 ? cs->keepalive_timeout_ms : 75000;
    h->send_ms = cs ? cs->send_timeout_ms : 60000;
    h->last_active = h->last_written = jn_loop_now(w->loop);
    jn_timer_init(&h->flush_timer, flush_timeout, h);
    c->h2 = h;
    c->state = GW_C_H2;
    if (session_new(h, cs) < 0) {
        gw_exch_close(c);
        return;
    }
    jn_timer_start(w->loop, &c->timer, GW_H2_TICK_MS);
    if (c->len > 0) {
        ssize_t n = nghttp2_session_mem_recv(h->s, (const uint8_t *)c->buf, c->len);
        c->len = 0;
        gw_buf_put(w, c->buf, c->cap);
        c->buf = NULL;
        c->cap = 0;
        if (n < 0) {
            gw_exch_close(c);
            return;
        }
    }
    c->rd_ready = true;
    h2_run(h);
}

/* bytes of sealed records reached the socket */
static void sealed_took(struct gw_h2 *h, size_t n)
{
    h->sealed_off += n;
    h->last_written = jn_loop_now(h->c->w->loop);
    if (h->sealed_off == h->sealed_len) {
        gw_buf_put(h->c->w, h->sealed, GW_CLIENT_BUF);
        h->sealed = NULL;
        h->sealed_len = h->sealed_off = 0;
    }
}

/* Writes what is left of the sealed records: they go before anything else.
 * Returns false when the connection failed. */
static bool write_sealed(struct gw_h2 *h)
{
    struct gw_conn *c = h->c;
    while (h->sealed && c->wr_ready) {
        ssize_t n =
            jn_sock_send(c->io.fd, h->sealed + h->sealed_off, h->sealed_len - h->sealed_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->wr_ready = false;
            break;
        }
        if (n <= 0)
            return false;
        sealed_took(h, (size_t)n);
    }
    return true;
}

/* Writes out[opos..olen). Returns false when the connection failed. */
static bool write_out(struct gw_h2 *h)
{
    struct gw_conn *c = h->c;
    if (!write_sealed(h))
        return false;
    while (!h->sealed && h->opos < h->olen && c->wr_ready) {
        ssize_t n;
        size_t len = h->olen - h->opos;
        if (c->tls) {
            struct iovec v = {.iov_base = h->out + h->opos, .iov_len = len};
            n = jn_tls_writev(c->tls, &v, 1);
            if (n == JN_TLS_WANT_WRITE || n == JN_TLS_WANT_READ)
                n = -EAGAIN;
        } else {
            n = jn_sock_send(c->io.fd, h->out + h->opos, len);
            if (n < 0)
                n = errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
        }
        if (n == -EAGAIN) {
            c->wr_ready = false;
            break;
        }
        if (n <= 0)
            return false;
        h->opos += (size_t)n;
        h->last_written = jn_loop_now(c->w->loop);
    }
    if (h->opos == h->olen)
        h->opos = h->olen = 0;
    return true;
}

/* Moves the frames nghttp2 has ready into out, up to a batch. False: the
 * session failed. */
static bool gather(struct gw_h2 *h)
{
    while (h->olen < GW_H2_OUT_BATCH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->s, &data);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        if (h->olen + (size_t)n > h->ocap) {
            h->ocap = JN_MAX(h->ocap * 2, h->olen + (size_t)n + GW_H2_OUT_BATCH);
            h->out = jn_realloc(h->out, h->ocap);
        }
        memcpy(h->out + h->olen, data, (size_t)n);
        h->olen += (size_t)n;
    }
    return true;
}

/* Gathers frames from nghttp2 and writes them while the socket takes them. */
static bool send_frames(struct gw_h2 *h)
{
    for (;;) {
        if (!write_out(h))
            return false;
        if (h->olen > 0 || h->sealed)
            return true; /* the socket is full: nghttp2 keeps the rest */
        if (!gather(h))
            return false;
        if (h->olen == 0)
            return true;
    }
}

/* Reads what the client sent into the session. False: close now. */
static bool read_frames(struct gw_h2 *h)
{
    struct gw_conn *c = h->c;
    char buf[16384];
    while (c->rd_ready && h->olen - h->opos < GW_H2_OUT_MAX && nghttp2_session_want_read(h->s)) {
        size_t len = 0;
        ssize_t n = gw_conn_read(c, buf, &len, sizeof(buf));
        if (n == -EAGAIN)
            return true;
        if (n <= 0)
            return false;
        ssize_t rc = nghttp2_session_mem_recv(h->s, (const uint8_t *)buf, len);
        if (rc < 0) {
            jn_debug("gateway: HTTP/2 connection %llu: %s", (unsigned long long)c->serial,
                     nghttp2_strerror((int)rc));
            send_frames(h); /* a GOAWAY when nghttp2 queued one */
            return false;
        }
        if (h->dead)
            return false;
    }
    return true;
}

static void h2_run(struct gw_h2 *h)
{
    if (h->in_run) {
        h->rerun = true;
        return;
    }
    h->in_run = true;
    bool ok;
    do {
        h->rerun = false;
        ok = read_frames(h);
        if (ok)
            gw_h2s_kick(h); /* the requests that came */
        ok = ok && send_frames(h);
        if (ok)
            gw_h2s_kick(h); /* room the DATA frames made */
    } while (ok && h->rerun);
    h->in_run = false;
    if (!ok || (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s) &&
                h->olen == 0 && !h->sealed)) {
        gw_exch_close(h->c);
    }
}

static void flush_timeout(struct jn_loop *loop, struct jn_timer *t)
{
    (void)loop;
    struct gw_h2 *h = t->data;
    h->flush_armed = false;
    h2_run(h);
}

void gw_h2_flush(struct gw_h2 *h)
{
    if (h->in_run) {
        h->rerun = true;
        return;
    }
    struct gw_worker *w = h->c->w;
    if (h->ahead)
        return;
    if (w->batch_sending && w->nh2_ahead < GW_H2_AHEAD) {
        h->ahead = true; /* sent with the batch's others (gw_h2_send_ahead) */
        w->h2_ahead[w->nh2_ahead++] = h;
        return;
    }
    if (!h->flush_armed) {
        h->flush_armed = true;
        jn_timer_start(h->c->w->loop, &h->flush_timer, 0);
    }
}

void gw_h2_event(struct gw_conn *c)
{
    h2_run(c->h2);
}

void gw_h2_timeout(struct gw_conn *c)
{
    struct gw_h2 *h = c->h2;
    int64_t now = jn_loop_now(c->w->loop);
    if ((h->olen > 0 || h->sealed) && h->send_ms > 0 && now - h->last_written >= h->send_ms) {
        gw_exch_close(c); /* the client reads nothing at all */
        return;
    }
    if (h->nstreams == 0 && now - h->last_active >= h->idle_ms) {
        nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR);
        send_frames(h);
        gw_exch_close(c);
        return;
    }
    /* send_timeout per stream: a stream whose window stays shut (or that
     * the client never reads) is reset; the others go on */
    for (struct gw_h2s *st = h->streams; st; st = st->next) {
        bool waits = st->head_done && !st->eof_sent && !st->deferred;
        if (waits && h->send_ms > 0 && now - st->last_progress >= h->send_ms) {
            jn_debug("gateway: HTTP/2 stream %d timed out sending to the client", st->id);
            nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
            st->last_progress = now;
        }
    }
    jn_timer_start(c->w->loop, &c->timer, GW_H2_TICK_MS);
    h2_run(h);
}

bool gw_h2_idle(struct gw_conn *c)
{
    struct gw_h2 *h = c->h2;
    if (h->nstreams == 0)
        return true;
    nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
                          NGHTTP2_NO_ERROR, NULL, 0);
    h2_run(h);
    return false;
}

void gw_h2_free(struct gw_conn *c)
{
    if (c->stream)
        gw_h2s_detach(c);
    struct gw_h2 *h = c->h2;
    if (!h)
        return;
    h->dead = true;
    jn_timer_stop(c->w->loop, &h->flush_timer);
    for (size_t i = 0; h->ahead && i < c->w->nh2_ahead; i++)
        if (c->w->h2_ahead[i] == h)
            c->w->h2_ahead[i] = NULL;
    gw_buf_put(c->w, h->sealed, GW_CLIENT_BUF);
    while (h->streams)
        gw_h2s_free(h->streams);
    nghttp2_session_del(h->s);
    free(h->out);
    free(h);
    c->h2 = NULL;
}

/* The outcome of a send made at the batch's end: of the sealed records
 * (TLS), or of out's frames (h2c). Short or EAGAIN: the socket is full. */
static void ahead_sent(void *arg, ssize_t res)
{
    struct gw_h2 *h = arg;
    size_t left = h->sealed ? h->sealed_len - h->sealed_off : h->olen - h->opos;
    if (res == -EAGAIN || (res >= 0 && (size_t)res < left))
        h->c->wr_ready = false;
    if (res <= 0)
        return; /* an error: the next write meets it */
    if (h->sealed) {
        sealed_took(h, (size_t)res);
        return;
    }
    h->opos += (size_t)res;
    h->last_written = jn_loop_now(h->c->w->loop);
    if (h->opos == h->olen)
        h->opos = h->olen = 0;
}

/* Queues h's frames for the batch's submission: sealed first over TLS. */
static void send_ahead(struct gw_h2 *h)
{
    struct gw_conn *c = h->c;
    if (h->dead || h->in_run || !c->wr_ready || h->sealed || h->opos < h->olen)
        return; /* the run writes as before */
    if (!gather(h) || h->olen == 0)
        return;
    if (!c->tls) {
        gw_bsend_add_buf(c->w, c->io.fd, h->out, h->olen, ahead_sent, h);
        return;
    }
    struct iovec v = {.iov_base = h->out, .iov_len = h->olen};
    size_t taken, len;
    char *buf = gw_conn_seal_buf(c, &v, 1, &taken, &len);
    if (!buf)
        return;
    h->opos += taken;
    if (h->opos == h->olen)
        h->opos = h->olen = 0;
    h->sealed = buf;
    h->sealed_len = len;
    h->sealed_off = 0;
    /* not queued (no ring, or it is full): write_out sends them first */
    gw_bsend_add_buf(c->w, c->io.fd, buf, len, ahead_sent, h);
}

void gw_h2_send_ahead(struct gw_worker *w)
{
    size_t n = w->nh2_ahead;
    if (n == 0)
        return;
    if (n > 1 && !w->bsend_off) {
        for (size_t i = 0; i < n; i++)
            if (w->h2_ahead[i])
                send_ahead(w->h2_ahead[i]);
        gw_bsend_submit(w);
    }
    /* A run may end a session: gw_h2_free clears its entry. */
    for (size_t i = 0; i < n; i++) {
        struct gw_h2 *h = w->h2_ahead[i];
        if (!h)
            continue;
        w->h2_ahead[i] = NULL;
        h->ahead = false;
        if (h->flush_armed) {
            jn_timer_stop(w->loop, &h->flush_timer);
            h->flush_armed = false;
        }
        h2_run(h);
    }
    w->nh2_ahead = 0;
}
