/*
 * proxy_head.c: the heads of a proxied exchange: the request head sent to the
 * upstream (request line with the proxy_pass URI, proxy_set_header, hop-by-hop
 * headers and those named in Connection dropped) and the response head sent
 * to the client (re-framed for its HTTP version and keep-alive). Worker thread.
 */
#include "gateway/proxy.h"

#include "core/log.h"
#include "gateway/conn_io.h"

#include <arpa/inet.h>

static const char CRLF[] = "\r\n";

/* Writes v in decimal at dst (room for 10 digits); returns the length. */
size_t gw_put_uint(char *dst, unsigned v)
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

bool gw_is_idempotent(enum jn_http_method m)
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
    gw_conn_vars(r->c, &ctx);
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
    gw_conn_vars(r->c, ctx);
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
int gw_proxy_request_head(struct gw_req *r)
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

/* Queues the response head for the client. Returns false when the response
 * must go to another peer instead (proxy_next_upstream http_xxx). */
void gw_proxy_response_head(struct gw_req *r, size_t head_len)
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
    n += gw_put_uint(r->rscratch + n, h->status < 0 ? 0 : (unsigned)h->status);
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
