/*
 * proxy_head.c: the heads of a proxied exchange: the request head sent to the
 * upstream (request line with the proxy_pass URI, proxy_set_header, hop-by-hop
 * headers and those named in Connection dropped) and the response head sent
 * to the client (re-framed for its HTTP version and keep-alive). Worker thread.
 */
#include "gateway/proxy.h"

#include "core/log.h"
#include "gateway/conn_io.h"
#include "gateway/date.h"

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
    ctx.user = &r->snap->routes->uvars;
    ctx.sets = r->loc->sets;
    ctx.nsets = r->loc->nsets;
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
    ctx->user = &r->snap->routes->uvars;
    ctx->sets = r->loc->sets;
    ctx->nsets = r->loc->nsets;
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
    if (loc->s->proxy_method)
        jn_pipe_push(p, loc->s->proxy_method, strlen(loc->s->proxy_method));
    else
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
    if (loc->s->no_pass_headers) {
        /* proxy_pass_request_headers off: only what jern sets, and the
         * body's length (the body still goes, as nginx) */
        if (h->framing == JN_FRAMING_LENGTH) {
            char *cl = r->scratch + r->scratch_len;
            int k = snprintf(cl, sizeof(r->scratch) - r->scratch_len, "Content-Length: %llu\r\n",
                             (unsigned long long)h->content_length);
            if (k < 0 || (size_t)k >= sizeof(r->scratch) - r->scratch_len)
                return JN_ETOOBIG;
            r->scratch_len += (size_t)k;
            jn_pipe_push(p, cl, (size_t)k);
        }
        jn_pipe_push(p, CRLF, 2);
        return jn_pipe_has_room(p) ? 0 : JN_ETOOBIG;
    }
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

/* Makes a redirect target absolute as nginx's absolute_redirect does:
 * scheme://host[:port] before a target that starts with '/'. The host is
 * $host (server_name_in_redirect off; without a Host, the local address the
 * client reached), the port the listen address's unless
 * it is the scheme's default (port_in_redirect on). Returns the length in
 * out, or -1 when it does not fit. */
ssize_t gw_absolute_location(struct gw_req *r, const char *t, size_t tl, char *out, size_t cap)
{
    if (tl == 0 || t[0] != '/')
        return tl < cap ? (memcpy(out, t, tl), out[tl] = '\0', (ssize_t)tl) : -1;
    struct jn_var_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    gw_conn_vars(r->c, &ctx);
    const struct jn_http_request *h = &r->hreq;
    const char *host = "localhost";
    size_t hl = 9;
    char ip[INET6_ADDRSTRLEN + 2];
    if (h->host && h->host_len) {
        host = h->host;
        hl = h->host_len;
        const char *end = host[0] == '[' ? memchr(host, ']', hl) : NULL;
        const char *colon = memchr(end ? end : host, ':', hl - (size_t)((end ? end : host) - host));
        if (colon)
            hl = (size_t)(colon - host);
        if (hl && host[hl - 1] == '.')
            hl--;
    } else {
        /* no Host (HTTP/1.0): the address the client reached, as nginx */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(r->c->io.fd, (struct sockaddr *)&ss, &sl) == 0 &&
            (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
            bool v6 = ss.ss_family == AF_INET6;
            ip[0] = '[';
            const void *a = v6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                               : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
            if (inet_ntop(ss.ss_family, a, ip + 1, sizeof(ip) - 2)) {
                host = v6 ? ip : ip + 1;
                hl = strlen(host);
                if (v6) {
                    ip[hl] = ']';
                    hl++;
                }
            }
        } else if (r->loc && r->loc->server_name[0]) {
            host = r->loc->server_name;
            hl = strlen(host);
        }
    }
    bool https = strcmp(ctx.scheme, "https") == 0;
    int port = 0;
    if (r->listen) {
        const struct sockaddr *sa = (const struct sockaddr *)&r->listen->addr.ss;
        if (sa->sa_family == AF_INET)
            port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        else if (sa->sa_family == AF_INET6)
            port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    char ps[8] = "";
    if (port && port != (https ? 443 : 80))
        snprintf(ps, sizeof(ps), ":%d", port);
    int n = snprintf(out, cap, "%s://%.*s%s%.*s", ctx.scheme, (int)hl, host, ps, (int)tl, t);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    char *hp = out + strlen(ctx.scheme) + 3; /* $host is lower-case */
    for (size_t i = 0; i < hl; i++)
        hp[i] = (char)jn_http_lower[(uint8_t)hp[i]];
    return n;
}

size_t gw_add_headers(struct gw_req *r, int status, char *out, size_t cap)
{
    const struct jn_gw_location *loc = r->loc;
    if (!loc || !loc->nadds)
        return 0;
    /* nginx adds them to these codes only, unless "always" */
    bool ok = status == 200 || status == 201 || status == 204 || status == 206 || status == 301 ||
              status == 302 || status == 303 || status == 304 || status == 307 || status == 308;
    struct jn_var_ctx ctx;
    bool ctx_ready = false;
    size_t n = 0;
    for (size_t i = 0; i < loc->nadds; i++) {
        const struct jn_gw_add_header *h = &loc->adds[i];
        if (!ok && !h->always)
            continue;
        if (cap - n < h->name_len + 5)
            break;
        if (!ctx_ready) {
            memset(&ctx, 0, sizeof(ctx));
            ctx.req = &r->hreq;
            ctx.remote_addr = remote_text(r);
            gw_conn_vars(r->c, &ctx);
            ctx.proxy_host = loc->proxy_host;
            ctx.server_name = loc->server_name;
            ctx.user = &r->snap->routes->uvars;
            ctx.sets = loc->sets;
            ctx.nsets = loc->nsets;
            ctx.status = status;
            ctx.upstream_response_time_us = -1;
            ctx.connection = r->c->serial;
            ctx.connection_requests = r->c->nreqs + 1;
            ctx.upstream_addr = r->up_addrs[0] ? r->up_addrs : NULL;
            ctx.upstream_status = r->up_statuses[0] ? r->up_statuses : NULL;
            ctx_ready = true;
        }
        char *o = out + n;
        memcpy(o, h->name, h->name_len);
        memcpy(o + h->name_len, ": ", 2);
        ssize_t v = jn_template_eval(&h->value, &ctx, false, o + h->name_len + 2,
                                     cap - n - h->name_len - 4);
        if (v <= 0)
            continue; /* empty: not sent, as nginx; too long: dropped */
        size_t k = h->name_len + 2 + (size_t)v;
        memcpy(o + k, "\r\n", 2);
        n += k + 2;
    }
    return n;
}

/* proxy_redirect: the first rule whose prefix starts v replaces it; then a
 * Location that is a path is made absolute (nginx's header filter does that
 * to every Location). Writes "Name: value\r\n" at out and returns its
 * length, or 0 when the header goes as it came. */
static size_t rewrite_redirect(struct gw_req *r, const struct jn_http_header *hd, bool location,
                               char *out, size_t cap)
{
    const struct jn_gw_location *loc = r->loc;
    const char *v = hd->value;
    size_t vl = hd->value_len;
    size_t skip = 0; /* Refresh: the part before "url=" stays */
    if (!location) {
        for (size_t i = 0; i + 4 <= vl; i++)
            if (strncasecmp(v + i, "url=", 4) == 0) {
                skip = i + 4;
                break;
            }
        if (!skip)
            return 0;
    }
    const char *u = v + skip;
    size_t ul = vl - skip;
    char tmp[1536];
    const char *res = u;
    size_t rl = ul;
    for (size_t i = 0; loc && i < loc->nredirects; i++) {
        const struct jn_gw_redirect *rd = &loc->redirects[i];
        if (ul < rd->from_len || memcmp(u, rd->from, rd->from_len) != 0)
            continue;
        if (rd->to_len + ul - rd->from_len >= sizeof(tmp))
            return 0;
        memcpy(tmp, rd->to, rd->to_len);
        memcpy(tmp + rd->to_len, u + rd->from_len, ul - rd->from_len);
        res = tmp;
        rl = rd->to_len + ul - rd->from_len;
        break;
    }
    char abs[1792];
    /* as nginx: only a Location a rule rewrote is made absolute */
    if (location && res != u && rl && res[0] == '/') {
        ssize_t k = gw_absolute_location(r, res, rl, abs, sizeof(abs));
        if (k < 0)
            return 0;
        res = abs;
        rl = (size_t)k;
    }
    if (res == u)
        return 0;
    size_t need = hd->name_len + 2 + skip + rl + 2;
    if (need > cap)
        return 0;
    char *o = out;
    memcpy(o, hd->name, hd->name_len);
    o += hd->name_len;
    memcpy(o, ": ", 2);
    o += 2;
    memcpy(o, v, skip);
    o += skip;
    memcpy(o, res, rl);
    o += rl;
    memcpy(o, "\r\n", 2);
    return need;
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
    /* the Date is jern's, as nginx replaces the upstream's */
    memcpy(r->rscratch + n, gw_date_line(&r->c->w->date), GW_DATE_LEN);
    n += GW_DATE_LEN;
    jn_pipe_push(p, r->rscratch, n);
    size_t used = n;
    const char *end = r->rbuf + head_len;
    struct conn_names cn;
    conn_names_collect(h->headers, h->nheaders, h->conn_flags, &cn);
    bool expires = false;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct jn_http_header *hd = &h->headers[i];
        if (tunnel && jn_http_token_eq(hd->name, hd->name_len, "upgrade")) {
            push_header(p, hd, end);
            continue;
        }
        if (is_hop_by_hop(hd) || conn_names_has(&cn, h->headers, h->nheaders, hd))
            continue;
        /* by length first: most headers are none of these */
        switch (hd->name_len) {
        case 4:
            if (jn_http_token_eq(hd->name, 4, "date"))
                continue;
            break;
        case 7:
            if (jn_http_token_eq(hd->name, 7, "expires")) {
                if (expires)
                    continue; /* a repeated Expires: the first wins, as nginx */
                expires = true;
            } else if (jn_http_token_eq(hd->name, 7, "refresh")) {
                size_t k = rewrite_redirect(r, hd, false, r->rscratch + used,
                                            sizeof(r->rscratch) - used);
                if (k) {
                    jn_pipe_push(p, r->rscratch + used, k);
                    used += k;
                    continue;
                }
            }
            break;
        case 8:
            if (jn_http_token_eq(hd->name, 8, "location")) {
                size_t k = rewrite_redirect(r, hd, true, r->rscratch + used,
                                            sizeof(r->rscratch) - used);
                if (k) {
                    jn_pipe_push(p, r->rscratch + used, k);
                    used += k;
                    continue;
                }
            }
            break;
        default:
            break;
        }
        push_header(p, hd, end);
    }
    if (r->loc->nadds) {
        size_t k = gw_add_headers(r, h->status, r->rscratch + used, sizeof(r->rscratch) - used);
        if (k)
            jn_pipe_push(p, r->rscratch + used, k);
        used += k;
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
    size_t hb = 0;
    for (int i = 0; i < p->niov; i++)
        hb += p->iov[i].iov_len;
    r->head_bytes = hb;
    r->client_started = true;
    r->status = h->status;
    jn_pipe_start(p, tunnel ? JN_FRAMING_CLOSE : h->framing, h->content_length, out_chunked);
}
