/*
 * jern-testapp: the small HTTP/1.1 backend jern ships. It is the demo backend,
 * the backend of the integration tests and the app inside the test container
 * image, so it is one plain C file that links statically (no getaddrinfo/NSS).
 * One thread per connection: simple, and fast enough on loopback keep-alive.
 *
 * Environment: PORT (or argv[1]), HOST (default 0.0.0.0; an IPv6 literal
 * works), APP_NAME (default "testapp"), APP_VERSION, FAIL_HEALTH, FILE_ROOT.
 *
 * Endpoints (every response carries "X-App: NAME"):
 *   /                 "hello from NAME VERSION\n" (any unknown path answers the same,
 *                     so routing tests can use any path)
 *   /health           200 "ok", or 500 "unhealthy" when $FAIL_HEALTH is set
 *   /echo             echoes the request body, streamed: Content-Length in, the same
 *                     Content-Length out; chunked in, chunked out
 *   /sink             reads the body, answers its byte count in decimal
 *   /slow?ms=N        sleeps N ms (at most 600000), then answers "slept N ms\n"
 *   /status/N         answers status N (200..599); 204 and 304 carry no body
 *   /chunked?n=K&size=S  K chunks of S bytes; chunk i is the letter 'a' + i % 26
 *   /big?bytes=N      N bytes; byte i is PATTERN[i % 62] (see below)
 *   /close            a close-delimited body (no Content-Length, Connection: close)
 *   /headers          the request head received, verbatim (through the blank line)
 *   /conn             "ID ACCEPTED\n": this TCP connection's number (1 = first accepted)
 *                     and how many connections the process accepted so far
 *   /pid              the process id
 *   /env/NAME         the value of $NAME, or 404
 *   /file?path=P      the content of $FILE_ROOT/P (at most 1 MiB): 403 without
 *                     $FILE_ROOT or when P holds a ".." segment, 404 when missing
 *   /mysql            connects to the unix socket $MYSQL_UNIX_PORT and answers the
 *                     server version from MariaDB's greeting (what a client in the
 *                     container would reach); 502 when it cannot
 *   /ws               WebSocket echo (RFC 6455): text, binary, fragments, ping/pong, close
 *   /crash            exits the process at once with status 1, without answering
 *
 * Keep-alive and pipelining: requests on one connection are answered in order;
 * Connection: close (or HTTP/1.0 without keep-alive) closes after the response.
 * SIGTERM and SIGINT exit 0 at once.
 */
/* Built alone by `gcc -static` too, without the project's CPPFLAGS. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 32768       /* request head cap: larger heads get 431 */
#define BUF_SIZE (64 * 1024) /* per-connection input buffer */
#define PATTERN "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define PATTERN_LEN 62

static const char *app_name = "testapp";
static const char *app_version = "";
static atomic_ulong accepted;
static char big_block[PATTERN_LEN * 1024]; /* whole repetitions of PATTERN */

struct conn {
    int fd;
    unsigned long id;
    char *buf; /* BUF_SIZE bytes; [start, end) unread */
    size_t start, end;
};

struct req {
    char method[16];
    char *target; /* points into the head copy */
    char *path, *query;
    int minor;  /* HTTP/1.minor */
    char *head; /* copy of the head, NUL-terminated, tokens cut into it */
    char *raw;  /* verbatim copy of the head */
    size_t head_len;
    int has_cl, chunked, keepalive, expect_continue, upgrade_ws;
    uint64_t cl;
    char ws_key[64];
};

/* Request body reader state: Content-Length or chunked. */
struct body {
    int chunked;
    int done;
    int need_crlf;      /* chunked: CRLF after chunk data still to read */
    uint64_t remaining; /* bytes left in the body (CL) or in the current chunk */
};

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static int write_all(int fd, const void *p, size_t n)
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

static int writev_all(int fd, struct iovec *iov, int cnt)
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
static ssize_t fill(struct conn *c)
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

static const char *reason(int status)
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
static int send_head(struct conn *c, struct req *r, int status, long long body_len,
                     const char *extra)
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
static int respond(struct conn *c, struct req *r, int status, const char *ctype, const void *body,
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

static int respond_text(struct conn *c, struct req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int respond_text(struct conn *c, struct req *r, int status, const char *fmt, ...)
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
static ssize_t buffered_line(struct conn *c, size_t max)
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

static int body_init(struct body *b, const struct req *r)
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
static ssize_t body_read(struct conn *c, struct body *b, char *dst, size_t cap)
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
static int body_discard(struct conn *c, struct body *b)
{
    char scratch[16384];
    ssize_t n;
    while ((n = body_read(c, b, scratch, sizeof(scratch))) > 0)
        ;
    return n < 0 ? -1 : 0;
}

static void maybe_continue(struct conn *c, struct req *r)
{
    if (r->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        write_all(c->fd, cont, sizeof(cont) - 1);
        r->expect_continue = 0;
    }
}

/* Value of query parameter key, or def. */
static long long qparam(const char *query, const char *key, long long def)
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

static int header_has_token(const char *value, const char *token)
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
static int parse_head(struct req *r)
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

/* ---- SHA-1 and base64, for the WebSocket handshake (RFC 3174, RFC 4648) ---- */

static uint32_t rol(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char block[64];
    for (size_t off = 0; off < total; off += 64) {
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            if (k < len)
                block[i] = msg[k];
            else if (k == len)
                block[i] = 0x80;
            else if (k >= total - 8)
                block[i] = (unsigned char)(((uint64_t)len * 8) >> (8 * (total - 1 - k)));
            else
                block[i] = 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
                   (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* ---- WebSocket echo ---- */

/* Copies exactly n bytes from the connection (buffer first). Returns 0 or -1. */
static int read_exact(struct conn *c, void *dst, size_t n)
{
    char *d = dst;
    while (n > 0) {
        if (c->end == c->start && fill(c) <= 0)
            return -1;
        size_t k = c->end - c->start < n ? c->end - c->start : n;
        memcpy(d, c->buf + c->start, k);
        c->start += k;
        d += k;
        n -= k;
    }
    return 0;
}

static int ws_frame_head(unsigned char *h, int fin, int opcode, uint64_t len)
{
    int n = 0;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        h[n++] = (unsigned char)len;
    } else if (len <= 0xFFFF) {
        h[n++] = 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)(len >> (8 * i));
    }
    return n;
}

/* Echoes frames until close or error. Data frames are streamed back unmasked, with
 * their opcode and FIN bit, so fragmented messages come back fragmented the same way. */
static void ws_echo(struct conn *c)
{
    char chunk[16384];
    for (;;) {
        unsigned char h[14];
        if (read_exact(c, h, 2) < 0)
            return;
        int fin = h[0] & 0x80, opcode = h[0] & 0x0F, masked = h[1] & 0x80;
        uint64_t len = h[1] & 0x7F;
        if ((h[0] & 0x70) || !masked) /* no extensions; clients must mask (RFC 6455 5.1) */
            goto protocol_error;
        if (len == 126) {
            if (read_exact(c, h, 2) < 0)
                return;
            len = (uint64_t)h[0] << 8 | h[1];
        } else if (len == 127) {
            if (read_exact(c, h, 8) < 0)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[i];
        }
        unsigned char mask[4];
        if (read_exact(c, mask, 4) < 0)
            return;
        int control = opcode & 0x8;
        if (control && (len > 125 || !fin))
            goto protocol_error;
        if (opcode != 0 && opcode != 1 && opcode != 2 && opcode != 8 && opcode != 9 && opcode != 10)
            goto protocol_error;
        if (control) {
            unsigned char payload[125], out[2 + 125];
            if (read_exact(c, payload, (size_t)len) < 0)
                return;
            for (uint64_t i = 0; i < len; i++)
                payload[i] ^= mask[i & 3];
            if (opcode == 10) /* pong: nothing to do */
                continue;
            int reply = opcode == 9 ? 10 : 8;
            out[0] = (unsigned char)(0x80 | reply);
            out[1] = (unsigned char)len;
            memcpy(out + 2, payload, (size_t)len);
            if (write_all(c->fd, out, 2 + (size_t)len) < 0 || opcode == 8)
                return;
            continue;
        }
        int hl = ws_frame_head(h, fin, opcode, len);
        if (write_all(c->fd, h, (size_t)hl) < 0)
            return;
        uint64_t off = 0;
        while (off < len) {
            size_t k = len - off < sizeof(chunk) ? (size_t)(len - off) : sizeof(chunk);
            if (read_exact(c, chunk, k) < 0)
                return;
            for (size_t i = 0; i < k; i++)
                chunk[i] ^= (char)mask[(off + i) & 3];
            if (write_all(c->fd, chunk, k) < 0)
                return;
            off += k;
        }
    }
protocol_error : {
    static const unsigned char close1002[] = {0x88, 2, 0x03, 0xEA};
    write_all(c->fd, close1002, sizeof(close1002));
}
}

static int handle_ws(struct conn *c, struct req *r)
{
    if (!r->upgrade_ws)
        return respond_text(c, r, 400, "/ws needs a WebSocket upgrade request\n");
    char cat[128];
    unsigned char digest[20];
    char accept[32];
    int n = snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", r->ws_key);
    sha1((unsigned char *)cat, (size_t)n, digest);
    base64(digest, 20, accept);
    char h[256];
    n = snprintf(h, sizeof(h),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-App: %s\r\n\r\n",
                 accept, app_name);
    if (n >= (int)sizeof(h) || write_all(c->fd, h, (size_t)n) < 0)
        return -1;
    ws_echo(c);
    return -1; /* the connection is done either way */
}

/* ---- endpoints ---- */

static int handle_echo(struct conn *c, struct req *r, struct body *b)
{
    char chunk[65536];
    maybe_continue(c, r);
    int head = strcmp(r->method, "HEAD") == 0;
    if (!r->chunked) {
        if (send_head(c, r, 200, (long long)(r->has_cl ? r->cl : 0),
                      "Content-Type: application/octet-stream\r\n") < 0)
            return -1;
        ssize_t n;
        while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0)
            if (!head && write_all(c->fd, chunk, (size_t)n) < 0)
                return -1;
        return n < 0 ? -1 : 0;
    }
    if (send_head(c, r, 200, -1,
                  "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n") < 0)
        return -1;
    ssize_t n;
    while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0) {
        char sz[32];
        int sl = snprintf(sz, sizeof(sz), "%zx\r\n", (size_t)n);
        struct iovec iov[3] = {{sz, (size_t)sl}, {chunk, (size_t)n}, {"\r\n", 2}};
        if (!head && writev_all(c->fd, iov, 3) < 0)
            return -1;
    }
    if (n < 0)
        return -1;
    return head ? 0 : write_all(c->fd, "0\r\n\r\n", 5);
}

static int handle_sink(struct conn *c, struct req *r, struct body *b)
{
    char chunk[65536];
    uint64_t total = 0;
    ssize_t n;
    maybe_continue(c, r);
    while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0)
        total += (uint64_t)n;
    if (n < 0)
        return -1;
    return respond_text(c, r, 200, "%" PRIu64 "\n", total);
}

static int handle_chunked(struct conn *c, struct req *r)
{
    long long k = qparam(r->query, "n", 3), size = qparam(r->query, "size", 16);
    if (k < 0 || k > 1000000 || size < 1 || size > (1 << 24))
        return respond_text(c, r, 400, "/chunked: need 0 <= n <= 1000000, 1 <= size <= 16777216\n");
    int head = strcmp(r->method, "HEAD") == 0;
    /* HTTP/1.0 has no chunked encoding: fall back to a close-delimited body. */
    if (r->minor == 0) {
        r->keepalive = 0;
        if (send_head(c, r, 200, -1, "Content-Type: text/plain\r\n") < 0)
            return -1;
    } else if (send_head(c, r, 200, -1,
                         "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n") < 0) {
        return -1;
    }
    if (head)
        return 0;
    char block[16384];
    for (long long i = 0; i < k; i++) {
        memset(block, 'a' + (int)(i % 26), sizeof(block));
        char sz[32];
        int sl = snprintf(sz, sizeof(sz), "%llx\r\n", size);
        if (r->minor == 1 && write_all(c->fd, sz, (size_t)sl) < 0)
            return -1;
        for (long long left = size; left > 0;) {
            size_t w = left < (long long)sizeof(block) ? (size_t)left : sizeof(block);
            if (write_all(c->fd, block, w) < 0)
                return -1;
            left -= (long long)w;
        }
        if (r->minor == 1 && write_all(c->fd, "\r\n", 2) < 0)
            return -1;
    }
    return r->minor == 1 ? write_all(c->fd, "0\r\n\r\n", 5) : 0;
}

static int handle_big(struct conn *c, struct req *r)
{
    long long bytes = qparam(r->query, "bytes", 1024);
    if (bytes < 0)
        return respond_text(c, r, 400, "/big: bytes must be >= 0\n");
    if (send_head(c, r, 200, bytes, "Content-Type: application/octet-stream\r\n") < 0)
        return -1;
    if (strcmp(r->method, "HEAD") == 0)
        return 0;
    for (long long left = bytes; left > 0;) {
        size_t w = left < (long long)sizeof(big_block) ? (size_t)left : sizeof(big_block);
        if (write_all(c->fd, big_block, w) < 0)
            return -1;
        left -= (long long)w;
    }
    return 0;
}

#define FILE_MAX (1 << 20)

/* /file?path=P: lets tests see what a deployed app sees on its filesystem
 * (a container's bind mount), confined to $FILE_ROOT. */
/* The MySQL protocol's first packet (the server speaks first): a 4-byte
 * header, protocol version 10, then the NUL-terminated server version. */
static int handle_mysql(struct conn *c, struct req *r)
{
    const char *path = getenv("MYSQL_UNIX_PORT");
    if (!path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return respond_text(c, r, 502, "MYSQL_UNIX_PORT is not set\n");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    char buf[256];
    ssize_t n = -1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            n = read(fd, buf, sizeof(buf) - 1);
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n < 6 || buf[4] != 10)
        return respond_text(c, r, 502, "no MySQL greeting on %s: %s\n", path,
                            n < 0 ? strerror(e) : "short or unknown packet");
    buf[n] = '\0';
    return respond_text(c, r, 200, "%s\n", buf + 5);
}

static int handle_file(struct conn *c, struct req *r)
{
    const char *root = getenv("FILE_ROOT");
    const char *q = r->query ? strstr(r->query, "path=") : NULL;
    if (q && q != r->query && q[-1] != '&')
        q = NULL;
    char rel[512];
    size_t n = q ? strcspn(q + 5, "&") : 0;
    if (!root || !*root)
        return respond_text(c, r, 403, "/file: $FILE_ROOT is not set\n");
    if (!q || n == 0 || n >= sizeof(rel))
        return respond_text(c, r, 400, "/file: need ?path=P (at most 511 bytes)\n");
    memcpy(rel, q + 5, n);
    rel[n] = '\0';
    for (const char *p = rel; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return respond_text(c, r, 403, "/file: \"..\" is not allowed in path\n");
    char full[1024];
    snprintf(full, sizeof(full), "%s/%s", root, rel);
    FILE *f = fopen(full, "rb");
    if (!f)
        return respond_text(c, r, errno == ENOENT ? 404 : 403, "/file: %s: %s\n", rel,
                            strerror(errno));
    char *body = malloc(FILE_MAX);
    size_t len = body ? fread(body, 1, FILE_MAX, f) : 0;
    fclose(f);
    int rc = body ? respond(c, r, 200, "application/octet-stream", body, len)
                  : respond_text(c, r, 500, "/file: out of memory\n");
    free(body);
    return rc;
}

static int handle_close(struct conn *c, struct req *r)
{
    r->keepalive = 0;
    if (send_head(c, r, 200, -1, "Content-Type: text/plain\r\n") < 0)
        return -1;
    if (strcmp(r->method, "HEAD") == 0)
        return 0;
    char body[256];
    int n = snprintf(body, sizeof(body), "close-delimited body from %s\n", app_name);
    return write_all(c->fd, body, (size_t)n);
}

/* Serves one request whose head is parsed. Returns 0 to keep the connection, -1 to
 * close it. */
static int dispatch(struct conn *c, struct req *r)
{
    struct body b;
    body_init(&b, r);
    const char *p = r->path;
    int rc;
    if (strcmp(p, "/echo") == 0)
        return handle_echo(c, r, &b) < 0 || !r->keepalive ? -1 : 0;
    if (strcmp(p, "/sink") == 0)
        return handle_sink(c, r, &b) < 0 || !r->keepalive ? -1 : 0;
    if (strcmp(p, "/ws") == 0 && r->upgrade_ws)
        return handle_ws(c, r);
    if (strcmp(p, "/crash") == 0) {
        fprintf(stderr, "jern-testapp %s: /crash requested, exiting\n", app_name);
        _exit(1);
    }
    /* Every other endpoint ignores the body, but it must be consumed to find the next
     * pipelined request. Without 100-continue the client sends it anyway. */
    if (r->expect_continue && !b.done) {
        r->keepalive = 0;
    } else if (body_discard(c, &b) < 0) {
        return -1;
    }
    if (strcmp(p, "/health") == 0) {
        rc = getenv("FAIL_HEALTH") ? respond_text(c, r, 500, "unhealthy\n")
                                   : respond(c, r, 200, "text/plain", "ok", 2);
    } else if (strcmp(p, "/slow") == 0) {
        long long ms = qparam(r->query, "ms", 100);
        if (ms < 0 || ms > 600000) {
            rc = respond_text(c, r, 400, "/slow: ms must be 0..600000\n");
        } else {
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
            rc = respond_text(c, r, 200, "slept %lld ms\n", ms);
        }
    } else if (strncmp(p, "/status/", 8) == 0) {
        char *end;
        long st = strtol(p + 8, &end, 10);
        if (*end || st < 200 || st > 599)
            rc = respond_text(c, r, 400, "/status/N: N must be 200..599\n");
        else
            rc = respond_text(c, r, (int)st, "status %ld\n", st);
    } else if (strcmp(p, "/chunked") == 0) {
        rc = handle_chunked(c, r);
    } else if (strcmp(p, "/big") == 0) {
        rc = handle_big(c, r);
    } else if (strcmp(p, "/close") == 0) {
        rc = handle_close(c, r);
    } else if (strcmp(p, "/headers") == 0) {
        rc = respond(c, r, 200, "text/plain", r->raw, r->head_len);
    } else if (strcmp(p, "/conn") == 0) {
        rc = respond_text(c, r, 200, "%lu %lu\n", c->id, (unsigned long)atomic_load(&accepted));
    } else if (strcmp(p, "/pid") == 0) {
        rc = respond_text(c, r, 200, "%d\n", (int)getpid());
    } else if (strncmp(p, "/env/", 5) == 0) {
        const char *v = getenv(p + 5);
        rc = v ? respond(c, r, 200, "text/plain", v, strlen(v))
               : respond_text(c, r, 404, "env %s is not set\n", p + 5);
    } else if (strcmp(p, "/file") == 0) {
        rc = handle_file(c, r);
    } else if (strcmp(p, "/mysql") == 0) {
        rc = handle_mysql(c, r);
    } else if (strcmp(p, "/ws") == 0) {
        rc = respond_text(c, r, 400, "/ws needs a WebSocket upgrade request\n");
    } else if (app_version[0]) {
        rc = respond_text(c, r, 200, "hello from %s %s\n", app_name, app_version);
    } else {
        rc = respond_text(c, r, 200, "hello from %s\n", app_name);
    }
    return rc < 0 || !r->keepalive ? -1 : 0;
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    char *head = malloc(HEAD_MAX + 1), *raw = malloc(HEAD_MAX + 1);
    if (!head || !raw)
        goto out;
    for (;;) {
        /* Find the end of the head, reading more as needed. */
        char *end;
        size_t scanned = 0;
        while (!(end = memmem(c->buf + c->start + scanned, c->end - c->start - scanned, "\r\n\r\n",
                              4))) {
            size_t have = c->end - c->start;
            scanned = have > 3 ? have - 3 : 0;
            if (have > HEAD_MAX) {
                struct req r = {.keepalive = 0, .minor = 1};
                snprintf(r.method, sizeof(r.method), "GET");
                respond_text(c, &r, 431, "request head larger than %d bytes\n", HEAD_MAX);
                goto out;
            }
            if (fill(c) <= 0)
                goto out;
        }
        size_t hl = (size_t)(end + 4 - (c->buf + c->start));
        if (hl > HEAD_MAX) {
            struct req r = {.keepalive = 0, .minor = 1};
            snprintf(r.method, sizeof(r.method), "GET");
            respond_text(c, &r, 431, "request head larger than %d bytes\n", HEAD_MAX);
            goto out;
        }
        struct req r;
        memset(&r, 0, sizeof(r));
        memcpy(head, c->buf + c->start, hl);
        memcpy(raw, head, hl);
        head[hl] = raw[hl] = '\0';
        r.head = head;
        r.raw = raw;
        r.head_len = hl;
        c->start += hl;
        int bad = parse_head(&r);
        if (bad) {
            r.keepalive = 0;
            if (!r.method[0])
                snprintf(r.method, sizeof(r.method), "GET");
            respond_text(c, &r, bad, "malformed request (status %d)\n", bad);
            goto out;
        }
        if (dispatch(c, &r) < 0)
            goto out;
    }
out:
    free(head);
    free(raw);
    close(c->fd);
    free(c->buf);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : getenv("PORT");
    const char *host = getenv("HOST") ? getenv("HOST") : "0.0.0.0";
    if (getenv("APP_NAME"))
        app_name = getenv("APP_NAME");
    if (getenv("APP_VERSION"))
        app_version = getenv("APP_VERSION");
    char *pend = NULL;
    long portnum = port ? strtol(port, &pend, 10) : -1;
    if (!port || *pend || portnum < 0 || portnum > 65535) {
        fprintf(stderr, "jern-testapp: give a port 0..65535 as argv[1] or $PORT (got %s)\n",
                port ? port : "nothing");
        return 2;
    }
    for (size_t i = 0; i < sizeof(big_block); i++)
        big_block[i] = PATTERN[i % PATTERN_LEN];

    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        slen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        slen = sizeof(*sin6);
    } else {
        fprintf(stderr, "jern-testapp: $HOST must be an IPv4 or IPv6 literal (got %s)\n", host);
        return 2;
    }
    int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (lfd < 0) {
        perror("jern-testapp: socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&ss, slen) < 0 || listen(lfd, 4096) < 0) {
        fprintf(stderr, "jern-testapp: cannot listen on %s:%ld: %s\n", host, portnum,
                strerror(errno));
        return 1;
    }
    fprintf(stderr, "jern-testapp %s %s listening on %s:%ld\n", app_name, app_version, host,
            portnum);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(10000); /* out of descriptors: back off instead of spinning */
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        char *buf = malloc(BUF_SIZE);
        if (!c || !buf) {
            free(c);
            free(buf);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->buf = buf;
        c->id = atomic_fetch_add(&accepted, 1) + 1;
        pthread_t t;
        if (pthread_create(&t, &attr, serve, c) != 0) {
            close(fd);
            free(buf);
            free(c);
        }
    }
}
