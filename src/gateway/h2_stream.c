/*
 * h2_stream.c: one HTTP/2 stream as an HTTP/1.1 exchange. The request head
 * is written from the pseudo-headers and fields (Host from :authority,
 * cookies joined, connection-specific fields dropped, Content-Length kept
 * or the body chunked), the body follows as DATA arrives; the response head
 * becomes a HEADERS frame (hop-by-hop fields dropped, names lower-cased)
 * and its body, de-chunked, DATA frames as the client's windows allow.
 *
 * Flow control is per stream: DATA is given back to the client's windows
 * only once the exchange took it, and the response is read from the
 * exchange only while its body buffer has room, so a slow reader stalls its
 * own stream and, behind it, only its own upstream connection.
 */
#include "gateway/h2_int.h"

#include "core/log.h"

#include <sys/socket.h>
#include <unistd.h>

static void stream_event(struct jn_loop *loop, struct jn_io *io, uint32_t events);
static bool write_request(struct gw_h2s *st);

struct gw_h2s *gw_h2s_new(struct gw_h2 *h, int32_t id)
{
    struct gw_h2s *st = jn_calloc(1, sizeof(*st));
    st->h = h;
    st->id = id;
    st->io.fd = -1;
    st->next = h->streams;
    if (h->streams)
        h->streams->prev = st;
    h->streams = st;
    h->nstreams++;
    return st;
}

static void close_exchange(struct gw_h2s *st)
{
    if (st->io.fd < 0)
        return;
    jn_io_del(st->h->c->w->loop, &st->io);
    close(st->io.fd);
    st->io.fd = -1;
}

void gw_h2s_free(struct gw_h2s *st)
{
    struct gw_h2 *h = st->h;
    close_exchange(st); /* an unfinished exchange sees its client leave (499) */
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
    free(st->raw);
    free(st->body);
    free(st);
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

static void set_events(struct gw_h2s *st)
{
    if (st->io.fd < 0)
        return;
    uint32_t ev = 0;
    if (st->qpos < st->qlen)
        ev |= JN_EV_WRITE;
    if (!st->resp_done && st->rawlen < st->rawcap && st->blen + GW_H2_RAW_CAP <= GW_H2_BODY_CAP)
        ev |= JN_EV_READ;
    if (ev != st->io_events) {
        st->io_events = ev;
        jn_io_mod(st->h->c->w->loop, &st->io, ev, true);
    }
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

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    struct gw_worker *w = h->c->w;
    /* the head goes into the pair at once: the exchange finds it on its
     * first event, without a round of the loop for our write */
    st->io.fd = sv[0];
    bool ok = write_request(st);
    st->io_events = JN_EV_READ | (st->qpos < st->qlen ? JN_EV_WRITE : 0);
    if (!ok || jn_io_add(w->loop, &st->io, sv[0], st->io_events, true, stream_event, st) < 0) {
        st->io.fd = -1;
        close(sv[0]);
        close(sv[1]);
        return -EIO;
    }
    st->rawcap = GW_H2_RAW_CAP;
    st->raw = jn_malloc(st->rawcap);
    st->body = jn_malloc(GW_H2_BODY_CAP);
    gw_exch_accept_stream(w, sv[1], h->c);
    return 0;
}

void gw_h2s_data(struct gw_h2s *st, const uint8_t *data, size_t len)
{
    if (st->io.fd < 0 || st->req_end || st->req_dropped) {
        nghttp2_session_consume(st->h->s, st->id, len); /* nowhere to go: dropped */
        return;
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
    set_events(st);
}

void gw_h2s_end(struct gw_h2s *st)
{
    if (st->req_end)
        return;
    st->req_end = true;
    if (st->chunked && st->io.fd >= 0 && !st->req_dropped)
        q_str(st, "0\r\n\r\n");
    set_events(st);
}

/* Writes request bytes to the exchange; gives the DATA back to the windows
 * once what is left is below one preread. */
static bool write_request(struct gw_h2s *st)
{
    while (st->qpos < st->qlen) {
        ssize_t n = send(st->io.fd, st->q + st->qpos, st->qlen - st->qpos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return false;
        }
        st->qpos += (size_t)n;
    }
    if (st->qpos == st->qlen)
        st->qpos = st->qlen = 0;
    if (st->unconsumed && st->qlen - st->qpos < (size_t)st->h->preread) {
        nghttp2_session_consume(st->h->s, st->id, st->unconsumed);
        st->unconsumed = 0;
    }
    return true;
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
    while (pos < st->rawlen && !st->resp_done) {
        size_t room = GW_H2_BODY_CAP - st->blen;
        size_t avail = JN_MIN(st->rawlen - pos, room);
        if (avail == 0)
            break;
        if (st->framing == JN_FRAMING_CHUNKED) {
            const char *data;
            size_t dlen;
            ssize_t n = jn_chunked_decode(&st->ck, st->raw + pos, avail, &data, &dlen);
            if (n < 0)
                return JN_EBADINPUT;
            if (dlen)
                memcpy(st->body + st->blen, data, dlen);
            st->blen += dlen;
            pos += (size_t)n;
            if (st->ck.done)
                st->resp_done = true;
            if (n == 0)
                break;
            continue;
        }
        if (st->framing == JN_FRAMING_LENGTH)
            avail = (size_t)JN_MIN((uint64_t)avail, st->remaining);
        memcpy(st->body + st->blen, st->raw + pos, avail);
        st->blen += avail;
        pos += avail;
        if (st->framing == JN_FRAMING_LENGTH && (st->remaining -= avail) == 0)
            st->resp_done = true;
    }
    memmove(st->raw, st->raw + pos, st->rawlen - pos);
    st->rawlen -= pos;
    return 0;
}

/* Parses the response head in raw (1xx heads are dropped). */
static int parse_head(struct gw_h2s *st)
{
    for (;;) {
        struct jn_http_response r;
        ssize_t n = jn_http_parse_response(st->raw, st->rawlen, NULL, st->method_id, &r);
        if (n == JN_EINCOMPLETE) {
            if (st->rawlen == st->rawcap) {
                if (st->rawcap >= 4 * GW_H2_RAW_CAP)
                    return JN_EBADINPUT;
                st->rawcap *= 2;
                st->raw = jn_realloc(st->raw, st->rawcap);
            }
            return 0;
        }
        if (n < 0)
            return (int)n;
        if (r.status >= 100 && r.status < 200) {
            memmove(st->raw, st->raw + n, st->rawlen - (size_t)n);
            st->rawlen -= (size_t)n;
            continue;
        }
        if (submit_head(st, &r) < 0)
            return JN_EBADINPUT;
        return decode_body(st, (size_t)n);
    }
}

static void stream_fail(struct gw_h2s *st)
{
    st->failed = true;
    close_exchange(st);
    nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* Reads the response from the exchange. */
static void read_response(struct gw_h2s *st)
{
    size_t before = st->blen;
    while (!st->resp_done && st->io.fd >= 0 && st->rawlen < st->rawcap &&
           st->blen + GW_H2_RAW_CAP <= GW_H2_BODY_CAP) {
        ssize_t n = read(st->io.fd, st->raw + st->rawlen, st->rawcap - st->rawlen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            if (st->head_done && st->framing == JN_FRAMING_CLOSE) {
                st->resp_done = true;
                break;
            }
            stream_fail(st); /* the exchange ended before its response did */
            return;
        }
        st->rawlen += (size_t)n;
        int rc = st->head_done ? decode_body(st, 0) : parse_head(st);
        if (rc < 0) {
            stream_fail(st);
            return;
        }
    }
    if (st->resp_done)
        close_exchange(st);
    if ((st->blen > before || st->resp_done) && st->deferred) {
        st->deferred = false;
        st->last_progress = jn_loop_now(st->h->c->w->loop);
        nghttp2_session_resume_data(st->h->s, st->id);
    }
}

ssize_t gw_h2s_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
    (void)s;
    (void)id;
    (void)arg;
    struct gw_h2s *st = src->ptr;
    if (st->rawlen > 0 && !st->resp_done && decode_body(st, 0) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (st->resp_done)
        close_exchange(st);
    size_t n = JN_MIN(len, st->blen - st->bpos);
    n = JN_MIN(n, (size_t)st->h->chunk);
    memcpy(buf, st->body + st->bpos, n);
    st->bpos += n;
    if (st->bpos >= GW_H2_RAW_CAP && st->bpos < st->blen) {
        memmove(st->body, st->body + st->bpos, st->blen - st->bpos);
        st->blen -= st->bpos;
        st->bpos = 0;
    }
    if (st->bpos == st->blen) {
        st->bpos = st->blen = 0;
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
    set_events(st);
    return (ssize_t)n;
}

static void stream_event(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)loop;
    (void)events;
    struct gw_h2s *st = io->data;
    struct gw_h2 *h = st->h;
    if (st->qpos < st->qlen && !write_request(st)) {
        /* the exchange stopped reading the request (413, an error page): the
         * rest of the body is dropped, its answer is still read */
        st->req_dropped = true;
        st->qpos = st->qlen = 0;
        if (st->unconsumed) {
            nghttp2_session_consume(h->s, st->id, st->unconsumed);
            st->unconsumed = 0;
        }
    }
    read_response(st);
    set_events(st);
    gw_h2_flush(h);
}
