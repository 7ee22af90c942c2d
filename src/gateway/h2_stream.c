/*
 * h2_stream.c: one HTTP/2 stream as an exchange of the gateway's client
 * side. The exchange is a client connection without a socket (struct
 * gw_conn with sio set): it reads the request from the stream and writes
 * its response to it, and runs like any other (routing, balancing,
 * retries, timeouts, cold-start holding, keep-alive pools, access log,
 * metrics, limits) without a descriptor or a system call of its own.
 *
 * The request head is given to the exchange as an HTTP/1.1 head (Host from
 * :authority, cookies joined, connection-specific fields dropped,
 * Content-Length kept or the body chunked) so the one request parser checks
 * it; the body follows as DATA arrives. The response head the exchange
 * writes becomes a HEADERS frame (hop-by-hop fields dropped, names
 * lower-cased) and its body, de-chunked, DATA frames as the client's windows
 * allow.
 *
 * Flow control is per stream: DATA is given back to the client's windows
 * only once the exchange took it, and the exchange writes only while the
 * stream's body buffer has room, so a slow reader stalls its own stream
 * and, behind it, only its own upstream connection. A reset stream ends its
 * exchange at once (logged 499 when no answer had begun).
 */
#include "gateway/h2_int.h"

#include "core/log.h"

static const struct gw_stream_io stream_io;

struct gw_h2s *gw_h2s_new(struct gw_h2 *h, int32_t id)
{
    struct gw_h2s *st = jn_calloc(1, sizeof(*st));
    st->h = h;
    st->id = id;
    st->next = h->streams;
    if (h->streams)
        h->streams->prev = st;
    h->streams = st;
    h->nstreams++;
    return st;
}

/* Gives the request DATA the exchange took back to the client's windows,
 * once what it has not taken yet is below one preread. */
static void give_back(struct gw_h2s *st, bool all)
{
    if (!st->unconsumed || (!all && st->qlen - st->qpos >= (size_t)st->h->preread))
        return;
    nghttp2_session_consume(st->h->s, st->id, st->unconsumed);
    st->unconsumed = 0;
    gw_h2_flush(st->h);
}

static void stream_fail(struct gw_h2s *st)
{
    nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    gw_h2_flush(st->h);
}

void gw_h2s_detach(struct gw_conn *c)
{
    struct gw_h2s *st = c->stream;
    c->stream = NULL;
    if (!st)
        return;
    st->x = NULL;
    st->kick = 0;
    /* the rest of the request has nowhere to go */
    st->qpos = st->qlen = 0;
    give_back(st, true);
    if (!st->x_done && !st->resp_done)
        stream_fail(st); /* the exchange ended before its response did */
}

void gw_h2s_free(struct gw_h2s *st)
{
    struct gw_h2 *h = st->h;
    struct gw_conn *x = st->x;
    if (x) {
        /* an unfinished exchange sees its client leave (499) */
        x->stream = NULL;
        st->x = NULL;
        gw_exch_close(x);
    }
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    h->nstreams--;
    free(st->method);
    free(st->path);
    free(st->authority);
    free(st->cookie);
    free(st->hb);
    free(st->q);
    jn_buf_free(&st->raw);
    jn_buf_free(&st->body);
    free(st);
}

void gw_h2s_kick(struct gw_h2 *h)
{
    for (struct gw_h2s *st = h->streams; st; st = st->next) {
        if (!st->kick || !st->x)
            continue;
        uint32_t ev = st->kick;
        st->kick = 0;
        gw_exch_stream_event(st->x, ev); /* may end x, never st */
    }
}

static void put(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (*len + n > *cap) {
        *cap = JN_MAX(*cap * 2, *len + n + 256);
        *buf = jn_realloc(*buf, *cap);
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = jn_malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static bool name_is(const uint8_t *name, size_t nlen, const char *lit)
{
    return nlen == strlen(lit) && memcmp(name, lit, nlen) == 0;
}

static void append_cookie(struct gw_h2s *st, const uint8_t *value, size_t vlen)
{
    size_t old = st->cookie ? strlen(st->cookie) : 0;
    st->cookie = jn_realloc(st->cookie, old + vlen + 3);
    if (old) {
        memcpy(st->cookie + old, "; ", 2);
        old += 2;
    }
    memcpy(st->cookie + old, value, vlen);
    st->cookie[old + vlen] = 0;
}

bool gw_h2s_header(struct gw_h2s *st, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen)
{
    /* counted like HTTP/1.1's head: "name: value\r\n" */
    st->head_bytes += nlen + vlen + 4;
    if (st->head_bytes > st->h->max_head)
        return false;
    if (nlen > 0 && name[0] == ':') {
        char **slot = NULL;
        if (name_is(name, nlen, ":method"))
            slot = &st->method;
        else if (name_is(name, nlen, ":path"))
            slot = &st->path;
        else if (name_is(name, nlen, ":authority"))
            slot = &st->authority;
        if (slot && !*slot)
            *slot = dup_n(value, vlen);
        return true; /* :scheme: the gateway's own */
    }
    if (name_is(name, nlen, "cookie")) {
        append_cookie(st, value, vlen);
        return true;
    }
    /* nghttp2 already refused connection-specific fields; TE: trailers is
     * the one allowed, and means nothing to an HTTP/1.1 upstream here */
    if (name_is(name, nlen, "te") || name_is(name, nlen, "expect"))
        return true;
    if (name_is(name, nlen, "host")) {
        if (st->authority)
            return true;
        st->authority = dup_n(value, vlen);
        return true;
    }
    if (name_is(name, nlen, "content-length"))
        st->has_cl = true;
    put(&st->hb, &st->hblen, &st->hbcap, name, nlen);
    put(&st->hb, &st->hblen, &st->hbcap, ": ", 2);
    put(&st->hb, &st->hblen, &st->hbcap, value, vlen);
    put(&st->hb, &st->hblen, &st->hbcap, "\r\n", 2);
    return true;
}

static void q_put(struct gw_h2s *st, const void *p, size_t n)
{
    put(&st->q, &st->qlen, &st->qcap, p, n);
}

static void q_str(struct gw_h2s *st, const char *s)
{
    q_put(st, s, strlen(s));
}

static enum jn_http_method method_of(const char *m)
{
    static const struct {
        const char *name;
        enum jn_http_method id;
    } t[] = {{"GET", JN_HTTP_GET},     {"HEAD", JN_HTTP_HEAD},       {"POST", JN_HTTP_POST},
             {"PUT", JN_HTTP_PUT},     {"DELETE", JN_HTTP_DELETE},   {"OPTIONS", JN_HTTP_OPTIONS},
             {"PATCH", JN_HTTP_PATCH}, {"CONNECT", JN_HTTP_CONNECT}, {"TRACE", JN_HTTP_TRACE}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(m, t[i].name) == 0)
            return t[i].id;
    return JN_HTTP_OTHER;
}

static bool path_ok(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

int gw_h2s_request(struct gw_h2s *st, bool end_stream)
{
    struct gw_h2 *h = st->h;
    st->started = true;
    if (!st->method || !st->path || !path_ok(st->path) || strcmp(st->method, "CONNECT") == 0)
        return JN_EBADINPUT; /* CONNECT (RFC 8441 too) is HTTP/1.1's only */
    st->method_id = method_of(st->method);
    q_str(st, st->method);
    q_str(st, " ");
    q_str(st, st->path);
    q_str(st, " HTTP/1.1\r\nHost: ");
    q_str(st, st->authority ? st->authority : "");
    q_str(st, "\r\n");
    if (st->cookie) {
        q_str(st, "Cookie: ");
        q_str(st, st->cookie);
        q_str(st, "\r\n");
    }
    q_put(st, st->hb, st->hblen);
    st->req_end = end_stream;
    if (!end_stream && !st->has_cl) {
        st->chunked = true;
        q_str(st, "Transfer-Encoding: chunked\r\n");
    }
    q_str(st, "Connection: close\r\n\r\n");
    free(st->hb);
    st->hb = NULL;
    st->hblen = st->hbcap = 0;

    jn_buf_init(&st->raw, GW_H2_RAW_CAP);
    jn_buf_init(&st->body, GW_H2_BODY_CAP);
    st->x = gw_exch_open_stream(h->c, &stream_io, st);
    if (!st->x)
        return -ENOMEM;
    st->kick = JN_EV_READ; /* the exchange reads the head in gw_h2s_kick */
    return 0;
}

void gw_h2s_data(struct gw_h2s *st, const uint8_t *data, size_t len)
{
    if (!st->x || st->req_end) {
        nghttp2_session_consume(st->h->s, st->id, len); /* nowhere to go: dropped */
        return;
    }
    if (st->qpos > 0) {
        memmove(st->q, st->q + st->qpos, st->qlen - st->qpos);
        st->qlen -= st->qpos;
        st->qpos = 0;
    }
    st->unconsumed += len;
    if (st->chunked && len > 0) {
        char line[32];
        int n = snprintf(line, sizeof(line), "%zx\r\n", len);
        q_put(st, line, (size_t)n);
    }
    q_put(st, data, len);
    if (st->chunked && len > 0)
        q_str(st, "\r\n");
    st->kick |= JN_EV_READ;
}

void gw_h2s_end(struct gw_h2s *st)
{
    if (st->req_end)
        return;
    st->req_end = true;
    if (st->chunked && st->x)
        q_str(st, "0\r\n\r\n");
    st->kick |= JN_EV_READ;
}

/* stream_io.read: request bytes for the exchange. */
static ssize_t stream_read(struct gw_conn *c, char *buf, size_t cap)
{
    struct gw_h2s *st = c->stream;
    if (!st || st->x_done) {
        c->rd_ready = false;
        return 0; /* answered: what the client still sends is dropped */
    }
    size_t n = JN_MIN(cap, st->qlen - st->qpos);
    if (n == 0) {
        c->rd_ready = false;
        return st->req_end ? 0 : -EAGAIN;
    }
    memcpy(buf, st->q + st->qpos, n);
    st->qpos += n;
    if (st->qpos == st->qlen) {
        st->qpos = st->qlen = 0;
        if (!st->req_end)
            c->rd_ready = false;
    }
    give_back(st, false);
    return (ssize_t)n;
}

/* The response head is complete in raw[0..len): HEADERS to the client. */
static int submit_head(struct gw_h2s *st, const struct jn_http_response *r)
{
    nghttp2_nv nv[JN_HTTP_MAX_HEADERS + 1];
    char names[8192];
    size_t used = 0, n = 0;
    char status[4];
    snprintf(status, sizeof(status), "%03d", r->status);
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct jn_http_header *f = &r->headers[i];
        if (jn_http_token_eq(f->name, f->name_len, "connection") ||
            jn_http_token_eq(f->name, f->name_len, "keep-alive") ||
            jn_http_token_eq(f->name, f->name_len, "proxy-connection") ||
            jn_http_token_eq(f->name, f->name_len, "transfer-encoding") ||
            jn_http_token_eq(f->name, f->name_len, "upgrade"))
            continue;
        if (used + f->name_len > sizeof(names))
            return JN_EBADINPUT;
        for (size_t k = 0; k < f->name_len; k++)
            names[used + k] = (char)jn_http_lower[(uint8_t)f->name[k]];
        nv[n++] = (nghttp2_nv){(uint8_t *)names + used, (uint8_t *)f->value, f->name_len,
                               f->value_len, NGHTTP2_NV_FLAG_NONE};
        used += f->name_len;
    }
    st->framing = r->framing;
    st->remaining = r->content_length;
    jn_chunked_init(&st->ck);
    st->head_done = true;
    st->last_progress = jn_loop_now(st->h->c->w->loop);
    if (r->framing == JN_FRAMING_NONE || (r->framing == JN_FRAMING_LENGTH && !r->content_length)) {
        st->resp_done = st->eof_sent = true;
        return nghttp2_submit_response(st->h->s, st->id, nv, n, NULL);
    }
    nghttp2_data_provider dp = {.source = {.ptr = st}, .read_callback = gw_h2s_read_body};
    return nghttp2_submit_response(st->h->s, st->id, nv, n, &dp);
}

/* Moves body bytes from raw to body (de-chunked), as far as body has room. */
static int decode_body(struct gw_h2s *st, size_t from)
{
    size_t pos = from;
    while (pos < st->raw.len && !st->resp_done) {
        size_t room = st->body.max - st->body.len;
        size_t avail = JN_MIN(st->raw.len - pos, room);
        if (avail == 0)
            break;
        if (st->framing == JN_FRAMING_CHUNKED) {
            const char *data;
            size_t dlen;
            ssize_t n = jn_chunked_decode(&st->ck, st->raw.data + pos, avail, &data, &dlen);
            if (n < 0)
                return JN_EBADINPUT;
            jn_buf_append(&st->body, data, dlen); /* dlen <= avail: fits */
            pos += (size_t)n;
            if (st->ck.done)
                st->resp_done = true;
            if (n == 0)
                break;
            continue;
        }
        if (st->framing == JN_FRAMING_LENGTH)
            avail = (size_t)JN_MIN((uint64_t)avail, st->remaining);
        jn_buf_append(&st->body, st->raw.data + pos, avail);
        pos += avail;
        if (st->framing == JN_FRAMING_LENGTH && (st->remaining -= avail) == 0)
            st->resp_done = true;
    }
    jn_buf_consume(&st->raw, pos);
    if (st->framing == JN_FRAMING_CLOSE && st->x_done && st->raw.len == 0)
        st->resp_done = true; /* a body that ends with the exchange */
    return 0;
}

/* Parses the response head in raw (1xx heads are dropped). */
static int parse_head(struct gw_h2s *st)
{
    for (;;) {
        struct jn_http_response r;
        ssize_t n = jn_http_parse_response(st->raw.data, st->raw.len, NULL, st->method_id, &r);
        if (n == JN_EINCOMPLETE) {
            if (st->raw.len == st->raw.max) {
                if (st->raw.max >= 4 * GW_H2_RAW_CAP)
                    return JN_EBADINPUT;
                st->raw.max *= 2; /* a long head: room to finish it */
            }
            return 0;
        }
        if (n < 0)
            return (int)n;
        if (r.status >= 100 && r.status < 200) {
            jn_buf_consume(&st->raw, (size_t)n);
            continue;
        }
        if (submit_head(st, &r) < 0)
            return JN_EBADINPUT;
        return decode_body(st, (size_t)n);
    }
}

ssize_t gw_h2s_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
    (void)s;
    (void)id;
    (void)arg;
    struct gw_h2s *st = src->ptr;
    if (st->raw.len > 0 && !st->resp_done && decode_body(st, 0) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (st->want_wr && st->x && st->raw.len < st->raw.max) {
        st->want_wr = false;
        st->kick |= JN_EV_WRITE; /* the exchange writes on in gw_h2s_kick */
    }
    size_t n = JN_MIN(len, st->body.len - st->bpos);
    n = JN_MIN(n, (size_t)st->h->chunk);
    if (n > 0)
        memcpy(buf, st->body.data + st->bpos, n);
    st->bpos += n;
    if (st->bpos >= GW_H2_RAW_CAP && st->bpos < st->body.len) {
        jn_buf_consume(&st->body, st->bpos);
        st->bpos = 0;
    }
    if (st->bpos == st->body.len) {
        st->bpos = 0;
        jn_buf_reset(&st->body);
        if (st->resp_done) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            st->eof_sent = true;
        }
    }
    if (n > 0)
        st->last_progress = jn_loop_now(st->h->c->w->loop);
    else if (!st->resp_done) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* After the exchange wrote: DATA frames go on if the body grew or ended. */
static void body_moved(struct gw_h2s *st, size_t before)
{
    if ((st->body.len > before || st->resp_done) && st->deferred) {
        st->deferred = false;
        st->last_progress = jn_loop_now(st->h->c->w->loop);
        nghttp2_session_resume_data(st->h->s, st->id);
    }
    gw_h2_flush(st->h);
}

/* Copies iov[0..cnt) from byte skip on (left bytes) into raw, as far as it
 * has room. */
static size_t take(struct gw_h2s *st, const struct iovec *iov, int cnt, size_t skip, size_t left)
{
    /* one allocation for the whole write, not one per iovec */
    jn_buf_reserve(&st->raw, JN_MIN(left, st->raw.max - st->raw.len));
    size_t took = 0;
    for (int i = 0; i < cnt && st->raw.len < st->raw.max; i++) {
        size_t len = iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t n = JN_MIN(len - skip, st->raw.max - st->raw.len);
        jn_buf_append(&st->raw, (const char *)iov[i].iov_base + skip, n);
        took += n;
        skip = 0;
    }
    return took;
}

/* stream_io.writev: the response as the exchange writes it (an HTTP/1.1
 * head, then the body). Takes what raw has room for. */
static ssize_t stream_writev(void *arg, const struct iovec *iov, int cnt)
{
    struct gw_conn *c = arg;
    struct gw_h2s *st = c->stream;
    if (!st)
        return -EPIPE;
    size_t total = 0, took = 0, before = st->body.len;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    while (took < total) {
        size_t n = take(st, iov, cnt, took, total - took);
        took += n;
        if (n == 0 && st->raw.len == st->raw.max)
            break; /* the client reads slower: back-pressure on the exchange */
        if (st->resp_done) {
            jn_buf_reset(&st->raw); /* nothing follows a complete response */
            continue;
        }
        int rc = st->head_done ? decode_body(st, 0) : parse_head(st);
        if (rc < 0)
            return JN_EBADINPUT; /* the exchange closes, the stream is reset */
    }
    if (took < total)
        st->want_wr = true;
    body_moved(st, before);
    return took > 0 ? (ssize_t)took : -EAGAIN;
}

/* stream_io.shutdown: the exchange is over and wrote all it had. */
static void stream_shutdown(struct gw_conn *c)
{
    struct gw_h2s *st = c->stream;
    if (!st)
        return;
    st->x_done = true;
    size_t before = st->body.len;
    if (st->head_done && !st->resp_done && decode_body(st, 0) < 0)
        stream_fail(st);
    body_moved(st, before);
}

static const struct gw_stream_io stream_io = {
    .read = stream_read,
    .writev = stream_writev,
    .shutdown = stream_shutdown,
};
