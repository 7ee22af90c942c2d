/* wire.c: reading requests (heads, bodies) and writing responses. */
#include "testapp.h"

int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (cnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads more input into the buffer, compacting it first. Returns bytes read, 0 at EOF,
 * -1 on error or when the buffer is full. */
ssize_t fill(struct conn *c)
{
    if (c->start > 0 && c->start == c->end)
        c->start = c->end = 0;
    if (c->end == BUF_SIZE && c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == BUF_SIZE)
        return -1;
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->end, BUF_SIZE - c->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            c->end += (size_t)n;
        return n;
    }
}

const char *reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* Writes a response head. body_len < 0: no Content-Length (chunked or close-delimited,
 * given in extra). */
int send_head(struct conn *c, struct req *r, int status, long long body_len, const char *extra)
{
    char h[1024];
    int n =
        snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nX-App: %s\r\n", status, reason(status), app_name);
    if (body_len >= 0)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Length: %lld\r\n", body_len);
    if (!r->keepalive)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: close\r\n");
    else if (r->minor == 0)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: keep-alive\r\n");
    n += snprintf(h + n, sizeof(h) - (size_t)n, "%s\r\n", extra ? extra : "");
    if (n >= (int)sizeof(h))
        return -1;
    return write_all(c->fd, h, (size_t)n);
}

/* A complete response with a small in-memory body (omitted for HEAD, 1xx, 204, 304). */
int respond(struct conn *c, struct req *r, int status, const char *ctype, const void *body,
            size_t len)
{
    char h[1024];
    int nobody = status == 204 || status == 304;
    int n =
        snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nX-App: %s\r\n", status, reason(status), app_name);
    if (!nobody)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      ctype, len);
    if (!r->keepalive)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: close\r\n");
    else if (r->minor == 0)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: keep-alive\r\n");
    n += snprintf(h + n, sizeof(h) - (size_t)n, "\r\n");
    if (n >= (int)sizeof(h))
        return -1;
    struct iovec iov[2] = {{h, (size_t)n}, {(void *)body, len}};
    int send_body = !nobody && strcmp(r->method, "HEAD") != 0 && len > 0;
    return writev_all(c->fd, iov, send_body ? 2 : 1);
}

int respond_text(struct conn *c, struct req *r, int status, const char *fmt, ...)
{
    char body[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n >= (int)sizeof(body))
        n = (int)sizeof(body) - 1;
    return respond(c, r, status, "text/plain", body, (size_t)n);
}

/* Ensures a full line ("...\n") is buffered; returns its length including "\n", 0 at
 * EOF, -1 on error or an over-long line. */
ssize_t buffered_line(struct conn *c, size_t max)
{
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl)
            return nl - (c->buf + c->start) + 1;
        if (c->end - c->start > max)
            return -1;
        ssize_t n = fill(c);
        if (n <= 0)
            return n;
    }
}

int body_init(struct body *b, const struct req *r)
{
    memset(b, 0, sizeof(*b));
    if (r->chunked) {
        b->chunked = 1;
    } else if (r->has_cl) {
        b->remaining = r->cl;
        b->done = r->cl == 0;
    } else {
        b->done = 1;
    }
    return 0;
}

/* Reads up to cap body bytes into dst (taking buffered bytes first, then reading the
 * socket directly so large bodies are never buffered). Returns bytes, 0 at the end of
 * the body, -1 on a broken body or connection. */
ssize_t body_read(struct conn *c, struct body *b, char *dst, size_t cap)
{
    while (!b->done) {
        if (b->chunked && b->need_crlf) {
            ssize_t l = buffered_line(c, 2);
            if (l != 2 || c->buf[c->start] != '\r')
                return -1;
            c->start += 2;
            b->need_crlf = 0;
        }
        if (b->chunked && b->remaining == 0) {
            ssize_t l = buffered_line(c, 1024);
            if (l <= 0)
                return -1;
            char *p = c->buf + c->start, *end;
            if (!isxdigit((unsigned char)*p))
                return -1;
            errno = 0;
            unsigned long long sz = strtoull(p, &end, 16);
            if (errno || (*end != '\r' && *end != ';' && *end != '\n'))
                return -1;
            c->start += (size_t)l;
            if (sz == 0) {
                /* Trailers, up to the blank line. */
                for (;;) {
                    l = buffered_line(c, HEAD_MAX);
                    if (l <= 0)
                        return -1;
                    int blank = (l == 2 && c->buf[c->start] == '\r') || l == 1;
                    c->start += (size_t)l;
                    if (blank)
                        break;
                }
                b->done = 1;
                return 0;
            }
            b->remaining = sz;
        }
        size_t want = cap < b->remaining ? cap : (size_t)b->remaining;
        ssize_t got;
        if (c->end > c->start) {
            got = (ssize_t)(c->end - c->start < want ? c->end - c->start : want);
            memcpy(dst, c->buf + c->start, (size_t)got);
            c->start += (size_t)got;
        } else {
            do
                got = read(c->fd, dst, want);
            while (got < 0 && errno == EINTR);
            if (got <= 0)
                return -1;
        }
        b->remaining -= (uint64_t)got;
        if (b->remaining == 0) {
            if (b->chunked)
                b->need_crlf = 1;
            else
                b->done = 1;
        }
        return got;
    }
    return 0;
}

/* Reads and drops whatever body remains. Returns 0 or -1. */
int body_discard(struct conn *c, struct body *b)
{
    char scratch[16384];
    ssize_t n;
    while ((n = body_read(c, b, scratch, sizeof(scratch))) > 0)
        ;
    return n < 0 ? -1 : 0;
}

void maybe_continue(struct conn *c, struct req *r)
{
    if (r->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        write_all(c->fd, cont, sizeof(cont) - 1);
        r->expect_continue = 0;
    }
}

/* Value of query parameter key, or def. */
long long qparam(const char *query, const char *key, long long def)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            return strtoll(p + kl + 1, NULL, 10);
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return def;
}

int header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncasecmp(p, token, tl) == 0 &&
            (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' ' || p[tl] == '\t'))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/* Parses the head in r->head (NUL-terminated copy). Returns 0, or an HTTP status for
 * a malformed request. */
int parse_head(struct req *r)
{
    char *line = r->head, *eol = strstr(line, "\r\n");
    if (!eol)
        return 400;
    *eol = '\0';
    char *sp1 = strchr(line, ' ');
    if (!sp1 || (size_t)(sp1 - line) >= sizeof(r->method) || sp1 == line)
        return 400;
    memcpy(r->method, line, (size_t)(sp1 - line));
    r->method[sp1 - line] = '\0';
    char *sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || sp2 == sp1 + 1)
        return 400;
    *sp2 = '\0';
    r->target = sp1 + 1;
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
        r->minor = 1;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        r->minor = 0;
    else
        return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
    r->keepalive = r->minor == 1;
    int conn_upgrade = 0, upgrade_ws = 0;
    for (char *h = eol + 2; *h && !(h[0] == '\r' && h[1] == '\n');) {
        char *e = strstr(h, "\r\n");
        if (!e)
            return 400;
        *e = '\0';
        char *colon = strchr(h, ':');
        if (!colon || colon == h)
            return 400;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        for (char *t = v + strlen(v); t > v && (t[-1] == ' ' || t[-1] == '\t');)
            *--t = '\0';
        if (strcasecmp(h, "content-length") == 0) {
            char *end;
            if (!isdigit((unsigned char)*v))
                return 400;
            errno = 0;
            unsigned long long cl = strtoull(v, &end, 10);
            if (errno || *end || (r->has_cl && r->cl != cl))
                return 400;
            r->has_cl = 1;
            r->cl = cl;
        } else if (strcasecmp(h, "transfer-encoding") == 0) {
            if (strcasecmp(v, "chunked") != 0)
                return 501;
            r->chunked = 1;
        } else if (strcasecmp(h, "connection") == 0) {
            if (header_has_token(v, "close"))
                r->keepalive = 0;
            else if (header_has_token(v, "keep-alive") && r->minor == 0)
                r->keepalive = 1;
            if (header_has_token(v, "upgrade"))
                conn_upgrade = 1;
        } else if (strcasecmp(h, "expect") == 0) {
            r->expect_continue = strcasecmp(v, "100-continue") == 0;
        } else if (strcasecmp(h, "upgrade") == 0) {
            upgrade_ws = strcasecmp(v, "websocket") == 0;
        } else if (strcasecmp(h, "sec-websocket-key") == 0) {
            snprintf(r->ws_key, sizeof(r->ws_key), "%s", v);
        }
        h = e + 2;
    }
    /* RFC 9112 6.1: both framings at once is a smuggling vector; refuse it. */
    if (r->chunked && r->has_cl)
        return 400;
    if (r->chunked && r->minor == 0)
        return 400;
    r->upgrade_ws = conn_upgrade && upgrade_ws && r->ws_key[0];
    r->path = r->target;
    r->query = strchr(r->target, '?');
    if (r->query)
        *r->query++ = '\0';
    return 0;
}
