/*
 * parse.c: HTTP/1.x request and response heads (RFC 9112), strict and one-pass.
 *
 * The head is scanned left to right exactly once; every check is positional, so
 * the first error found in a prefix of the input is the first error of the
 * whole input. That makes feeding byte by byte and feeding at once agree, and
 * lets limits (414/431) fire as soon as the offending byte is in the buffer.
 * Fields that need the whole head (Host, Content-Length, Transfer-Encoding,
 * Connection) are checked once the final CRLF has arrived.
 */
#include "http/parse.h"

#include "http/chars.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

const struct jn_http_limits jn_http_default_limits = {
    .max_request_line = 8192,
    .max_head = 32768,
    .max_headers = 100,
};

/* Per-call scan state: bounds and where errors go. */
struct scan {
    const char *buf;
    const char *end;  /* buf + len */
    const char *hend; /* buf + min(len, max_head): bytes the head may occupy */
    const char *line; /* start of the request or status line */
    const char *lend; /* min(hend, line + max_request_line) */
    size_t max_line;
    size_t max_headers;
    bool response;
    int *status;
    const char **reason;
};

static ssize_t bad(struct scan *s, int status, const char *reason)
{
    *s->status = s->response ? 502 : status;
    *s->reason = reason;
    return JN_EBADINPUT;
}

/* The scan needs a byte at or past `at` that it may not or cannot see. */
static ssize_t out_of_bytes(struct scan *s, const char *at)
{
    if (at < s->end) {
        if (s->lend && (size_t)(at - s->line) == s->max_line)
            return bad(s, 414, s->response ? "status line too long" : "request line too long");
        return bad(s, 431, "header section too large");
    }
    return JN_EINCOMPLETE;
}

/* First byte in [p, end) that is a CTL, DEL, or (when stop_sp) SP or '#'; HTAB
 * passes when !stop_sp. SSE2 checks 16 bytes per step as picohttpparser does. */
static inline const char *scan_until_ctl(const char *p, const char *end, bool stop_sp)
{
#ifdef __SSE2__
    const __m128i lim = _mm_set1_epi8(stop_sp ? 0x20 : 0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    const __m128i hash = _mm_set1_epi8(stop_sp ? '#' : 0x7f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* unsigned v <= lim  <=>  min(v, lim) == v */
        __m128i hit = _mm_cmpeq_epi8(_mm_min_epu8(v, lim), v);
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, del));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, hash));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m) {
            p += __builtin_ctz(m);
            if (stop_sp || *p != '\t')
                return p;
            p++;
            continue;
        }
        p += 16;
    }
#endif
    if (stop_sp) {
        while (p < end && (uint8_t)*p > 0x20 && *p != 0x7f && *p != '#')
            p++;
    } else {
        while (p < end && jn_http_vchar[(uint8_t)*p])
            p++;
    }
    return p;
}

static bool ieq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (jn_http_lower[(uint8_t)a[i]] != jn_http_lower[(uint8_t)b[i]])
            return false;
    }
    return true;
}

ssize_t jn_http_find_header(const struct jn_http_header *h, size_t n, const char *name,
                            size_t name_len)
{
    for (size_t i = 0; i < n; i++) {
        if (ieq(h[i].name, h[i].name_len, name, name_len))
            return (ssize_t)i;
    }
    return -1;
}

/* "HTTP/" DIGIT "." DIGIT, then the byte `term`. Returns bytes consumed with
 * major and minor set, or an error. The version is judged only after the
 * terminator is seen, so "HTTP/1.10" is garbage (400), not 1.1. */
static ssize_t parse_version(struct scan *s, const char *p, const char *lim, char term, int *major,
                             int *minor)
{
    static const char proto[] = "HTTP/";
    const char *start = p;
    for (int i = 0; i < 5; i++, p++) {
        if (p == lim)
            return out_of_bytes(s, p);
        if (*p != proto[i])
            return bad(s, 400, "invalid HTTP version");
    }
    if (p == lim)
        return out_of_bytes(s, p);
    if (*p < '0' || *p > '9')
        return bad(s, 400, "invalid HTTP version");
    *major = *p++ - '0';
    if (p == lim)
        return out_of_bytes(s, p);
    if (*p++ != '.')
        return bad(s, 400, "invalid HTTP version");
    if (p == lim)
        return out_of_bytes(s, p);
    if (*p < '0' || *p > '9')
        return bad(s, 400, "invalid HTTP version");
    *minor = *p++ - '0';
    /* The terminator may sit just past the line cap (a CR ends the line). */
    if (p == s->hend)
        return out_of_bytes(s, p);
    if (*p != term)
        return bad(s, 400, *p == '\n' ? "bare LF line ending (CRLF required)" : "invalid HTTP version");
    if (*major != 1 || *minor > 1)
        return bad(s, 505, "HTTP version not supported");
    return p - start;
}

static enum jn_http_method method_id(const char *m, size_t n)
{
#define M(lit, id)                                                                                 \
    if (n == sizeof(lit) - 1 && memcmp(m, lit, n) == 0)                                            \
        return id;
    switch (m[0]) {
    case 'G': M("GET", JN_HTTP_GET); break;
    case 'H': M("HEAD", JN_HTTP_HEAD); break;
    case 'P':
        M("POST", JN_HTTP_POST);
        M("PUT", JN_HTTP_PUT);
        M("PATCH", JN_HTTP_PATCH);
        break;
    case 'D': M("DELETE", JN_HTTP_DELETE); break;
    case 'O': M("OPTIONS", JN_HTTP_OPTIONS); break;
    case 'C': M("CONNECT", JN_HTTP_CONNECT); break;
    case 'T': M("TRACE", JN_HTTP_TRACE); break;
    default: break;
    }
#undef M
    return JN_HTTP_OTHER;
}

/* Field lines up to and including the empty line. p is the start of the first
 * field line. Returns the head length or an error. */
static ssize_t parse_fields(struct scan *s, const char *p, struct jn_http_header *hdr,
                            size_t *nheaders)
{
    const char *hend = s->hend;
    size_t n = 0;
    for (;;) {
        if (p == hend)
            return out_of_bytes(s, p);
        if (*p == '\r') {
            if (p + 1 == hend)
                return out_of_bytes(s, p + 1);
            if (p[1] != '\n')
                return bad(s, 400, "bare CR in header section");
            *nheaders = n;
            return p + 2 - s->buf;
        }
        if (*p == '\n')
            return bad(s, 400, "bare LF line ending (CRLF required)");
        if (*p == ' ' || *p == '\t')
            return bad(s, 400, "obsolete line folding in header section");
        if (n == s->max_headers)
            return bad(s, 431, "too many header fields");

        const char *name = p;
        while (p < hend && jn_http_tchar[(uint8_t)*p])
            p++;
        if (p == hend)
            return out_of_bytes(s, p);
        if (*p != ':') {
            if (p == name)
                return bad(s, 400, "invalid character in header name");
            if (*p == ' ' || *p == '\t')
                return bad(s, 400, "whitespace between header name and colon");
            return bad(s, 400, "invalid character in header name");
        }
        if (p == name)
            return bad(s, 400, "empty header name");
        hdr[n].name = name;
        hdr[n].name_len = (size_t)(p - name);
        p++;
        while (p < hend && (*p == ' ' || *p == '\t'))
            p++;
        const char *value = p;
        p = scan_until_ctl(p, hend, false);
        if (p == hend)
            return out_of_bytes(s, p);
        if (*p != '\r') {
            if (*p == '\n')
                return bad(s, 400, "bare LF line ending (CRLF required)");
            return bad(s, 400, "invalid character in header value");
        }
        if (p + 1 == hend)
            return out_of_bytes(s, p + 1);
        if (p[1] != '\n')
            return bad(s, 400, "bare CR in header value");
        const char *vend = p;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        hdr[n].value = value;
        hdr[n].value_len = (size_t)(vend - value);
        n++;
        p += 2;
    }
}

/* One element of a comma-separated list (RFC 9110 5.6.1), empty elements
 * skipped. Returns 1 with the element, 0 at the end, -1 if an element is not a
 * single token. */
static int list_next(const char **pp, const char *end, const char **elem, size_t *elem_len)
{
    const char *p = *pp;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end) {
            *pp = p;
            return 0;
        }
        const char *start = p;
        while (p < end && jn_http_tchar[(uint8_t)*p])
            p++;
        if (p == start)
            return -1;
        *elem = start;
        *elem_len = (size_t)(p - start);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p != ',')
            return -1;
        *pp = p;
        return 1;
    }
}

/* Content-Length: 1*DIGIT, fitting in 63 bits so that it also fits off_t. */
static bool parse_length(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(uint8_t)p[i] - '0';
        if (d > 9)
            return false;
        if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Header fields that drive framing and connection handling, found in one pass. */
struct head_info {
    int nhost;
    size_t host; /* index of the (last) Host field */
    int ncl;
    size_t cl;
    int nte;
    unsigned unique_seen; /* single-valued fields seen (UNIQ_*) */
    bool unique_repeated; /* one of them twice */
    bool expect_continue;
    bool has_upgrade;
    unsigned conn_flags;
    bool conn_malformed;
    bool te_chunked_last;  /* the final coding is chunked */
    bool te_chunked_not_last; /* chunked appears before another coding */
    bool te_unknown;
    bool te_other; /* a registered coding besides chunked (gzip, ...) */
    bool te_malformed;
};

static void te_scan(struct head_info *hi, const struct jn_http_header *h)
{
    const char *p = h->value, *end = h->value + h->value_len;
    const char *e;
    size_t en;
    int r;
    while ((r = list_next(&p, end, &e, &en)) == 1) {
        if (hi->te_chunked_last)
            hi->te_chunked_not_last = true;
        hi->te_chunked_last = false;
        if (jn_http_token_eq(e, en, "chunked"))
            hi->te_chunked_last = true;
        else if (!jn_http_token_eq(e, en, "gzip") && !jn_http_token_eq(e, en, "x-gzip") &&
                 !jn_http_token_eq(e, en, "deflate") && !jn_http_token_eq(e, en, "compress") &&
                 !jn_http_token_eq(e, en, "x-compress"))
            hi->te_unknown = true;
        else
            hi->te_other = true;
    }
    if (r < 0)
        hi->te_malformed = true;
}

static void conn_scan(struct head_info *hi, const struct jn_http_header *h)
{
    const char *p = h->value, *end = h->value + h->value_len;
    const char *e;
    size_t en;
    int r;
    while ((r = list_next(&p, end, &e, &en)) == 1) {
        if (jn_http_token_eq(e, en, "close"))
            hi->conn_flags |= JN_HTTP_CONN_CLOSE;
        else if (jn_http_token_eq(e, en, "keep-alive"))
            hi->conn_flags |= JN_HTTP_CONN_KEEPALIVE;
        else if (jn_http_token_eq(e, en, "upgrade"))
            hi->conn_flags |= JN_HTTP_CONN_UPGRADE;
        else
            hi->conn_flags |= JN_HTTP_CONN_OTHER;
    }
    if (r < 0) {
        hi->conn_malformed = true;
        hi->conn_flags |= JN_HTTP_CONN_OTHER;
    }
}

/* Fields nginx refuses to see twice in a request (400): repeating them
 * makes the request mean different things to different readers. */
enum {
    UNIQ_EXPECT = 1u << 0,
    UNIQ_IF_MATCH = 1u << 1,
    UNIQ_IF_RANGE = 1u << 2,
    UNIQ_AUTHORIZATION = 1u << 3,
    UNIQ_IF_NONE_MATCH = 1u << 4,
    UNIQ_CONTENT_RANGE = 1u << 5,
    UNIQ_IF_MODIFIED_SINCE = 1u << 6,
    UNIQ_IF_UNMODIFIED_SINCE = 1u << 7,
};

static void unique_seen(struct head_info *hi, unsigned bit)
{
    if (hi->unique_seen & bit)
        hi->unique_repeated = true;
    hi->unique_seen |= bit;
}

static void head_scan(struct head_info *hi, const struct jn_http_header *h, size_t n)
{
    memset(hi, 0, sizeof(*hi));
    for (size_t i = 0; i < n; i++) {
        const char *nm = h[i].name;
        /* Dispatch on length first: most fields are none of these. */
        switch (h[i].name_len) {
        case 4:
            if (jn_http_token_eq(nm, 4, "host")) {
                hi->nhost++;
                hi->host = i;
            }
            break;
        case 6:
            if (jn_http_token_eq(nm, 6, "expect")) {
                unique_seen(hi, UNIQ_EXPECT);
                if (jn_http_token_eq(h[i].value, h[i].value_len, "100-continue"))
                    hi->expect_continue = true;
            }
            break;
        case 8:
            if (jn_http_token_eq(nm, 8, "if-match"))
                unique_seen(hi, UNIQ_IF_MATCH);
            else if (jn_http_token_eq(nm, 8, "if-range"))
                unique_seen(hi, UNIQ_IF_RANGE);
            break;
        case 13:
            if (jn_http_token_eq(nm, 13, "authorization"))
                unique_seen(hi, UNIQ_AUTHORIZATION);
            else if (jn_http_token_eq(nm, 13, "if-none-match"))
                unique_seen(hi, UNIQ_IF_NONE_MATCH);
            else if (jn_http_token_eq(nm, 13, "content-range"))
                unique_seen(hi, UNIQ_CONTENT_RANGE);
            break;
        case 19:
            if (jn_http_token_eq(nm, 19, "if-unmodified-since"))
                unique_seen(hi, UNIQ_IF_UNMODIFIED_SINCE);
            break;
        case 7:
            if (jn_http_token_eq(nm, 7, "upgrade"))
                hi->has_upgrade = true;
            break;
        case 10:
            if (jn_http_token_eq(nm, 10, "connection"))
                conn_scan(hi, &h[i]);
            break;
        case 14:
            if (jn_http_token_eq(nm, 14, "content-length")) {
                hi->ncl++;
                hi->cl = i;
            }
            break;
        case 17:
            if (jn_http_token_eq(nm, 17, "transfer-encoding")) {
                hi->nte++;
                te_scan(hi, &h[i]);
            } else if (jn_http_token_eq(nm, 17, "if-modified-since")) {
                unique_seen(hi, UNIQ_IF_MODIFIED_SINCE);
            }
            break;
        default:
            break;
        }
    }
}

static const uint8_t host_char[256] = {
    /* unreserved, sub-delims and '%' of RFC 3986 reg-name */
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1,
    ['~'] = 1,         ['%'] = 1,         ['!'] = 1,         ['$'] = 1, ['&'] = 1, ['\''] = 1,
    ['('] = 1,         [')'] = 1,         ['*'] = 1,         ['+'] = 1, [','] = 1, [';'] = 1,
    ['='] = 1,
};

/* uri-host [":" port] (RFC 9110 7.2). Splits it; returns false if malformed.
 * An empty value is valid (and yields empty host and port). */
static bool split_host(const char *p, size_t n, const char **host, size_t *host_len,
                       const char **port, size_t *port_len)
{
    size_t i = 0;
    if (n > 0 && p[0] == '[') {
        for (i = 1; i < n && p[i] != ']'; i++) {
            if (!jn_http_hexval[(uint8_t)p[i]] && p[i] != ':' && p[i] != '.')
                return false;
        }
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n && host_char[(uint8_t)p[i]])
            i++;
    }
    *host = p;
    *host_len = i;
    *port = p + i;
    *port_len = 0;
    if (i == n)
        return true;
    if (p[i] != ':' || (i == 0 && n > 0))
        return false;
    for (size_t j = i + 1; j < n; j++) {
        if (p[j] < '0' || p[j] > '9' || j - i > 5)
            return false;
    }
    *port = p + i + 1;
    *port_len = n - i - 1;
    return true;
}

/* nginx's host checks beyond the syntax: no empty label ("a..b"), and a
 * name left empty once a trailing dot is dropped ("" or ".") is invalid.
 * host is the name part (no port). */
static bool host_name_ok(const char *h, size_t n)
{
    if (n && h[0] == '[')
        return true;
    for (size_t i = 1; i < n; i++)
        if (h[i] == '.' && h[i - 1] == '.')
            return false;
    if (n && h[n - 1] == '.')
        n--;
    return n > 0;
}

static long port_num(const char *p, size_t n, long dflt)
{
    long v = 0;
    if (n == 0)
        return dflt;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* Every '%' in the path (the query is not decoded) starts %XX, as nginx
 * requires: a proxy that passes "%zz" lets each backend guess. */
static bool percent_ok(const char *p, size_t n)
{
    const char *q = memchr(p, '?', n);
    const char *end = q ? q : p + n;
    for (const char *c = memchr(p, '%', (size_t)(end - p)); c;
         c = memchr(c + 1, '%', (size_t)(end - c - 1))) {
        if (end - c < 3 || !jn_http_hexval[(uint8_t)c[1]] || !jn_http_hexval[(uint8_t)c[2]])
            return false;
        if (end - c == 3)
            break;
    }
    return true;
}

/* The request target's form (RFC 9112 3.2) decides path and, for the
 * absolute form, the host. */
static ssize_t parse_target(struct scan *s, struct jn_http_request *req, long *dflt_port)
{
    const char *t = req->target;
    size_t n = req->target_len;
    *dflt_port = 80;
    if (t[0] == '/') {
        if (req->method_id == JN_HTTP_CONNECT)
            return bad(s, 400, "CONNECT needs an authority-form target");
        if (!percent_ok(t, n))
            return bad(s, 400, "invalid percent-encoding in request target");
        req->path = t;
        req->path_len = n;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (req->method_id != JN_HTTP_OPTIONS)
            return bad(s, 400, "asterisk-form target is only valid for OPTIONS");
        req->path = t;
        req->path_len = 1;
        return 0;
    }
    if (req->method_id == JN_HTTP_CONNECT) {
        const char *h, *port;
        size_t hn, pn;
        if (!split_host(t, n, &h, &hn, &port, &pn) || hn == 0 || pn == 0)
            return bad(s, 400, "invalid CONNECT target (expected host:port)");
        req->path = t;
        req->path_len = n;
        req->host = t;
        req->host_len = n;
        return 0;
    }
    /* absolute-form: scheme "://" authority [path-abempty] ["?" query] */
    size_t i = 0;
    while (i < n && t[i] != ':' && t[i] != '/')
        i++;
    if (i + 3 > n || t[i] != ':' || t[i + 1] != '/' || t[i + 2] != '/')
        return bad(s, 400, "invalid request target");
    if (jn_http_token_eq(t, i, "https"))
        *dflt_port = 443;
    else if (!jn_http_token_eq(t, i, "http"))
        return bad(s, 400, "unsupported scheme in absolute-form target");
    const char *auth = t + i + 3;
    const char *end = t + n;
    const char *a = auth;
    while (a < end && *a != '/' && *a != '?')
        a++;
    if (a == auth)
        return bad(s, 400, "empty authority in absolute-form target");
    if (memchr(auth, '@', (size_t)(a - auth)))
        return bad(s, 400, "userinfo in request target");
    const char *h, *port;
    size_t hn, pn;
    if (!split_host(auth, (size_t)(a - auth), &h, &hn, &port, &pn) || hn == 0 ||
        !host_name_ok(h, hn))
        return bad(s, 400, "invalid authority in absolute-form target");
    req->host = auth;
    req->host_len = (size_t)(a - auth);
    if (a == end) {
        req->path = "/";
        req->path_len = 1;
    } else if (*a == '?') {
        /* The path must point into the caller's buffer, and "/?q" is not there. */
        return bad(s, 400, "absolute-form target needs a path before the query");
    } else {
        if (!percent_ok(a, (size_t)(end - a)))
            return bad(s, 400, "invalid percent-encoding in request target");
        req->path = a;
        req->path_len = (size_t)(end - a);
    }
    return 0;
}

/* Same authority? Host names compare case-insensitively, an absent port is
 * the scheme's default. Both values were validated by split_host. */
static bool same_authority(const char *a, size_t an, const char *b, size_t bn, long dflt)
{
    const char *ah, *ap, *bh, *bp;
    size_t ahn, apn, bhn, bpn;
    if (!split_host(a, an, &ah, &ahn, &ap, &apn) || !split_host(b, bn, &bh, &bhn, &bp, &bpn))
        return false;
    return ieq(ah, ahn, bh, bhn) && port_num(ap, apn, dflt) == port_num(bp, bpn, dflt);
}

static void init_scan(struct scan *s, const char *buf, size_t len,
                      const struct jn_http_limits *lim, bool response, int *status,
                      const char **reason)
{
    if (!lim)
        lim = &jn_http_default_limits;
    s->buf = buf;
    s->end = buf + len;
    s->hend = buf + JN_MIN(len, lim->max_head);
    s->line = NULL;
    s->lend = NULL;
    s->max_line = lim->max_request_line;
    s->max_headers = JN_MIN(lim->max_headers, (size_t)JN_HTTP_MAX_HEADERS);
    s->response = response;
    s->status = status;
    s->reason = reason;
    *status = 0;
    *reason = NULL;
}

static void start_line(struct scan *s, const char *p)
{
    s->line = p;
    s->lend = (size_t)(s->hend - p) > s->max_line ? p + s->max_line : s->hend;
}

ssize_t jn_http_parse_request(const char *buf, size_t len, const struct jn_http_limits *lim,
                              struct jn_http_request *req)
{
    struct scan s;
    ssize_t r;
    init_scan(&s, buf, len, lim, false, &req->error_status, &req->error_reason);
    req->nheaders = 0;
    req->host = NULL;
    req->host_len = 0;
    req->path = NULL;
    req->path_len = 0;
    req->framing = JN_FRAMING_NONE;
    req->content_length = 0;
    req->conn_flags = 0;
    req->keep_alive = false;
    req->expect_continue = false;
    req->upgrade = false;

    const char *p = buf;
    /* RFC 9112 2.2: empty lines before the request line are ignored (clients
     * may send a stray CRLF after a body); bare LF is still an error. */
    while (p < s.hend && *p == '\r') {
        if (p + 1 == s.hend)
            return out_of_bytes(&s, p + 1);
        if (p[1] != '\n')
            return bad(&s, 400, "bare CR before request line");
        p += 2;
    }
    start_line(&s, p);

    /* method SP */
    const char *m = p;
    while (p < s.lend && jn_http_tchar[(uint8_t)*p])
        p++;
    if (p == s.lend)
        return out_of_bytes(&s, p);
    if (p == m)
        return bad(&s, 400, *p == '\n' ? "bare LF line ending (CRLF required)" : "invalid method");
    if (*p != ' ')
        return bad(&s, 400, *p == '\r' || *p == '\n' ? "incomplete request line"
                                                   : "invalid character in method");
    req->method = m;
    req->method_len = (size_t)(p - m);
    req->method_id = method_id(m, req->method_len);
    p++;

    /* request-target SP */
    const char *t = p;
    const char *frag = NULL;
    p = scan_until_ctl(p, s.lend, true);
    /* A fragment is not sent on the wire (RFC 9112 3.2); nginx ignores one
     * when a client does, and so does jern: the target ends before '#'. */
    while (p < s.lend && *p == '#') {
        if (!frag)
            frag = p;
        p = scan_until_ctl(p + 1, s.lend, true);
    }
    if (p == s.lend)
        return out_of_bytes(&s, p);
    if (*p != ' ') {
        if (*p == '\r' || *p == '\n')
            return bad(&s, 400, "missing HTTP version in request line");
        return bad(&s, 400, "invalid character in request target");
    }
    if ((frag ? frag : p) == t)
        return bad(&s, 400, "empty request target");
    req->target = t;
    req->target_len = (size_t)((frag ? frag : p) - t);
    p++;

    int major, minor;
    r = parse_version(&s, p, s.lend, '\r', &major, &minor);
    if (r < 0)
        return r;
    p += r;
    req->minor_version = minor;
    if (p + 1 == s.hend)
        return out_of_bytes(&s, p + 1);
    if (p[1] != '\n')
        return bad(&s, 400, "bare CR in request line");
    p += 2;
    s.lend = NULL; /* past the request line: only the head cap applies */

    r = parse_fields(&s, p, req->headers, &req->nheaders);
    if (r < 0)
        return r;

    long dflt_port;
    ssize_t tr = parse_target(&s, req, &dflt_port);
    if (tr < 0)
        return tr;

    struct head_info hi;
    head_scan(&hi, req->headers, req->nheaders);
    if (hi.unique_repeated)
        return bad(&s, 400, "a header that may appear once is repeated");
    if (hi.nte > 1)
        return bad(&s, 400, "more than one Transfer-Encoding header");
    if (hi.nhost > 1)
        return bad(&s, 400, "more than one Host header");
    if (hi.nhost == 0 && minor == 1)
        return bad(&s, 400, "missing Host header (required in HTTP/1.1)");
    if (hi.nhost == 1) {
        const struct jn_http_header *h = &req->headers[hi.host];
        const char *hh, *hp;
        size_t hhn, hpn;
        if (!split_host(h->value, h->value_len, &hh, &hhn, &hp, &hpn) || !host_name_ok(hh, hhn))
            return bad(&s, 400, "invalid Host header");
        if (req->host) {
            if (req->method_id != JN_HTTP_CONNECT &&
                !same_authority(req->host, req->host_len, h->value, h->value_len, dflt_port))
                return bad(&s, 400, "Host header disagrees with the request target");
        } else {
            req->host = h->value;
            req->host_len = h->value_len;
        }
    }
    if (hi.conn_malformed)
        return bad(&s, 400, "malformed Connection header");
    if (hi.nte > 0) {
        if (minor == 0)
            return bad(&s, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (hi.ncl > 0)
            return bad(&s, 400, "both Content-Length and Transfer-Encoding");
        if (hi.te_malformed)
            return bad(&s, 400, "malformed Transfer-Encoding");
        if (hi.te_unknown)
            return bad(&s, 501, "unsupported transfer coding");
        if (!hi.te_chunked_last || hi.te_chunked_not_last)
            return bad(&s, 400, "Transfer-Encoding must end with a single chunked");
        /* Transfer-Encoding is hop-by-hop and jern re-frames bodies itself: it
         * relays chunked only, or gzip etc. would reach the next hop undeclared. */
        if (hi.te_other)
            return bad(&s, 501, "only the chunked transfer coding is supported");
        req->framing = JN_FRAMING_CHUNKED;
    } else if (hi.ncl > 1) {
        return bad(&s, 400, "more than one Content-Length");
    } else if (hi.ncl == 1) {
        const struct jn_http_header *h = &req->headers[hi.cl];
        if (!parse_length(h->value, h->value_len, &req->content_length))
            return bad(&s, 400, "invalid Content-Length");
        req->framing = JN_FRAMING_LENGTH;
    }
    req->conn_flags = hi.conn_flags;
    if (minor == 1)
        req->keep_alive = !(hi.conn_flags & JN_HTTP_CONN_CLOSE);
    else
        req->keep_alive =
            (hi.conn_flags & (JN_HTTP_CONN_KEEPALIVE | JN_HTTP_CONN_CLOSE)) == JN_HTTP_CONN_KEEPALIVE;
    /* RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 is ignored. */
    req->expect_continue = hi.expect_continue && minor == 1;
    /* RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored. */
    req->upgrade = hi.has_upgrade && (hi.conn_flags & JN_HTTP_CONN_UPGRADE) && minor == 1;
    return r;
}

ssize_t jn_http_parse_response(const char *buf, size_t len, const struct jn_http_limits *lim,
                               enum jn_http_method req_method, struct jn_http_response *resp)
{
    struct scan s;
    ssize_t r;
    init_scan(&s, buf, len, lim, true, &resp->error_status, &resp->error_reason);
    resp->nheaders = 0;
    resp->status = 0;
    resp->reason = NULL;
    resp->reason_len = 0;
    resp->framing = JN_FRAMING_NONE;
    resp->content_length = 0;
    resp->conn_flags = 0;
    resp->keep_alive = false;

    const char *p = buf;
    start_line(&s, p);
    int major, minor;
    r = parse_version(&s, p, s.lend, ' ', &major, &minor);
    if (r < 0)
        return r;
    p += r;
    /* parse_version lets the terminator sit at the cap (a request's CR may);
     * a status line's SP there means the line goes on past it. */
    if (p == s.lend)
        return out_of_bytes(&s, p);
    p++;
    resp->minor_version = minor;

    /* status-code: 3DIGIT, 100..999 */
    int status = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (p == s.lend)
            return out_of_bytes(&s, p);
        if (*p < '0' || *p > '9')
            return bad(&s, 502, "invalid status code");
        status = status * 10 + (*p - '0');
    }
    if (status < 100)
        return bad(&s, 502, "invalid status code");
    resp->status = status;
    /* SP reason-phrase; RFC 9112 4 says to ignore the reason, and many servers
     * omit the SP with an empty one, which is unambiguous, so it is accepted.
     * At the line cap only the CR may follow. */
    if (p == s.lend && (p == s.hend || *p != '\r'))
        return out_of_bytes(&s, p);
    if (*p == ' ') {
        p++;
        const char *rs = p;
        p = scan_until_ctl(p, s.lend, false);
        if (p == s.lend && (p == s.hend || *p != '\r'))
            return out_of_bytes(&s, p);
        resp->reason = rs;
        resp->reason_len = (size_t)(p - rs);
    }
    if (*p != '\r') {
        if (*p == '\n')
            return bad(&s, 502, "bare LF in status line");
        return bad(&s, 502, resp->reason ? "invalid character in reason phrase"
                                         : "invalid status line");
    }
    if (p + 1 == s.hend)
        return out_of_bytes(&s, p + 1);
    if (p[1] != '\n')
        return bad(&s, 502, "bare CR in status line");
    p += 2;
    s.lend = NULL;

    r = parse_fields(&s, p, resp->headers, &resp->nheaders);
    if (r < 0)
        return r;

    struct head_info hi;
    head_scan(&hi, resp->headers, resp->nheaders);
    if (hi.conn_malformed)
        return bad(&s, 502, "malformed Connection header");
    /* Framing headers are validated even where they do not frame a body
     * (HEAD, 1xx, 204, 304): an upstream that sends ambiguous ones is broken. */
    if (hi.nte > 0) {
        if (minor == 0)
            return bad(&s, 502, "Transfer-Encoding in an HTTP/1.0 response");
        if (hi.ncl > 0)
            return bad(&s, 502, "both Content-Length and Transfer-Encoding");
        if (hi.te_malformed)
            return bad(&s, 502, "malformed Transfer-Encoding");
        if (hi.te_unknown)
            return bad(&s, 502, "unsupported transfer coding");
        if (hi.te_chunked_not_last)
            return bad(&s, 502, "chunked is not the final transfer coding");
        if (hi.te_other)
            return bad(&s, 502, "a transfer coding other than chunked (jern relays chunked only)");
        resp->framing = hi.te_chunked_last ? JN_FRAMING_CHUNKED : JN_FRAMING_CLOSE;
    } else if (hi.ncl > 1) {
        return bad(&s, 502, "more than one Content-Length");
    } else if (hi.ncl == 1) {
        const struct jn_http_header *h = &resp->headers[hi.cl];
        if (!parse_length(h->value, h->value_len, &resp->content_length))
            return bad(&s, 502, "invalid Content-Length");
        resp->framing = JN_FRAMING_LENGTH;
    } else {
        resp->framing = JN_FRAMING_CLOSE;
    }
    /* RFC 9112 6.3 items 1 and 2. */
    if (req_method == JN_HTTP_HEAD || status < 200 || status == 204 || status == 304 ||
        (req_method == JN_HTTP_CONNECT && status < 300))
        resp->framing = JN_FRAMING_NONE;

    resp->conn_flags = hi.conn_flags;
    if (minor == 1)
        resp->keep_alive = !(hi.conn_flags & JN_HTTP_CONN_CLOSE);
    else
        resp->keep_alive = (hi.conn_flags & (JN_HTTP_CONN_KEEPALIVE | JN_HTTP_CONN_CLOSE)) ==
                           JN_HTTP_CONN_KEEPALIVE;
    if (resp->framing == JN_FRAMING_CLOSE)
        resp->keep_alive = false;
    return r;
}
