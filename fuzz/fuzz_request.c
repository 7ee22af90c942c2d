/*
 * fuzz_request.c: the request-head parser. Invariants beyond "no crash":
 * results are in range, every field points into the head, a prefix gives
 * JN_EINCOMPLETE or the whole input's result, the head alone parses the same,
 * and tighter limits never accept what the defaults reject.
 */
#include "fuzz/check.h"

#include "http/parse.h"

/* Tight limits that vary with the input's length (not its content, so seeds
 * stay plain messages): every limit boundary is reachable with short inputs. */
static struct jn_http_limits small;

static void set_small_limits(size_t size)
{
    small.max_request_line = size % 61 + 1;
    small.max_head = small.max_request_line + size % 199;
    small.max_headers = size % 9;
}

static void check_one(const char *buf, size_t len, const struct jn_http_limits *lim, ssize_t r,
                      const struct jn_http_request *q)
{
    const size_t max_headers = lim ? lim->max_headers : jn_http_default_limits.max_headers;
    if (r == JN_EINCOMPLETE)
        return;
    if (r == JN_EBADINPUT) {
        int s = q->error_status;
        FUZZ_CHECK(s == 400 || s == 414 || s == 431 || s == 501 || s == 505);
        FUZZ_CHECK(q->error_reason != NULL && q->error_reason[0] != '\0');
        return;
    }
    FUZZ_CHECK(r > 0 && (size_t)r <= len);
    size_t n = (size_t)r;
    FUZZ_CHECK(buf[n - 1] == '\n' && buf[n - 2] == '\r');
    FUZZ_CHECK(fuzz_inside(q->method, q->method_len, buf, n) && q->method_len > 0);
    FUZZ_CHECK(fuzz_inside(q->target, q->target_len, buf, n) && q->target_len > 0);
    FUZZ_CHECK(q->path != NULL && q->path_len > 0);
    FUZZ_CHECK(fuzz_inside(q->path, q->path_len, buf, n) ||
               (q->path_len == 1 && q->path[0] == '/'));
    if (q->host)
        FUZZ_CHECK(fuzz_inside(q->host, q->host_len, buf, n));
    else
        FUZZ_CHECK(q->minor_version == 0);
    FUZZ_CHECK(q->minor_version == 0 || q->minor_version == 1);
    FUZZ_CHECK(q->nheaders <= max_headers && q->nheaders <= JN_HTTP_MAX_HEADERS);
    for (size_t i = 0; i < q->nheaders; i++) {
        const struct jn_http_header *h = &q->headers[i];
        FUZZ_CHECK(fuzz_inside(h->name, h->name_len, buf, n) && h->name_len > 0);
        FUZZ_CHECK(fuzz_inside(h->value, h->value_len, buf, n));
        FUZZ_CHECK(memchr(h->value, '\r', h->value_len) == NULL);
        FUZZ_CHECK(memchr(h->value, '\n', h->value_len) == NULL);
        FUZZ_CHECK(memchr(h->name, ':', h->name_len) == NULL);
        if (h->value_len)
            FUZZ_CHECK(h->value[0] != ' ' && h->value[h->value_len - 1] != ' ');
    }
    FUZZ_CHECK(q->framing == JN_FRAMING_NONE || q->framing == JN_FRAMING_LENGTH ||
               q->framing == JN_FRAMING_CHUNKED);
    if (q->framing == JN_FRAMING_CHUNKED)
        FUZZ_CHECK(q->minor_version == 1);
    if (q->framing != JN_FRAMING_LENGTH)
        FUZZ_CHECK(q->content_length == 0);
    if (q->conn_flags & JN_HTTP_CONN_CLOSE)
        FUZZ_CHECK(!q->keep_alive);
    if (q->upgrade)
        FUZZ_CHECK(q->conn_flags & JN_HTTP_CONN_UPGRADE);
}

static ssize_t parse(const uint8_t *data, size_t len, const struct jn_http_limits *lim,
                     struct jn_http_request *q)
{
    char *buf = fuzz_copy(data, len);
    ssize_t r = jn_http_parse_request(buf, len, lim, q);
    check_one(buf, len, lim, r, q);
    free(buf);
    return r;
}

static struct jn_http_request whole, part;

/* Caps that end right at the end of the buffer are where over-reads hide: for
 * each cap c below 64, parse buffers of c, c + 1 and c + 2 bytes with the
 * line cap, then the head cap, at c. Whatever comes out must be consistent,
 * and a success must be what the default limits also accept. */
static void cap_sweep(const uint8_t *data, size_t size)
{
    for (size_t c = 0; c < 64 && c < size; c++) {
        for (int which = 0; which < 2; which++) {
            struct jn_http_limits capped = jn_http_default_limits;
            if (which == 0)
                capped.max_request_line = c;
            else
                capped.max_head = c;
            for (size_t k = c; k <= c + 2 && k <= size; k++) {
                ssize_t r = parse(data, k, &capped, &part);
                if (r > 0) {
                    ssize_t d = parse(data, k, NULL, &part);
                    FUZZ_CHECK(d == r);
                }
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    set_small_limits(size);
    cap_sweep(data, size);
    for (int pass = 0; pass < 2; pass++) {
        const struct jn_http_limits *lim = pass ? &small : NULL;
        ssize_t r = parse(data, size, lim, &whole);
        int status = whole.error_status;
        const char *reason = whole.error_reason;

        const size_t cuts[] = {0, 1, size / 3, size / 2, size - 1, r > 0 ? (size_t)r - 1 : 0};
        for (size_t i = 0; i < JN_ARRAY_LEN(cuts); i++) {
            size_t k = cuts[i];
            if (k >= size)
                continue;
            ssize_t pr = parse(data, k, lim, &part);
            if (pr == JN_EINCOMPLETE)
                continue;
            FUZZ_CHECK(pr == r);
            if (pr == JN_EBADINPUT) {
                FUZZ_CHECK(part.error_status == status);
                FUZZ_CHECK(strcmp(part.error_reason, reason) == 0);
            }
        }
        if (r > 0) {
            /* The bytes after the head (a body, the next request) change nothing. */
            ssize_t hr = parse(data, (size_t)r, lim, &part);
            FUZZ_CHECK(hr == r);
            FUZZ_CHECK(part.nheaders == whole.nheaders && part.framing == whole.framing);
            FUZZ_CHECK(part.content_length == whole.content_length);
            FUZZ_CHECK(part.keep_alive == whole.keep_alive);
        }
        if (pass == 1) {
            struct jn_http_request *dflt = &part;
            ssize_t dr = parse(data, size, NULL, dflt);
            if (r > 0)
                FUZZ_CHECK(dr == r);
            else if (r == JN_EBADINPUT && status != 414 && status != 431) {
                /* Errors are positional: larger limits reach the same one. */
                FUZZ_CHECK(dr == JN_EBADINPUT && dflt->error_status == status);
            }
        }
    }
    return 0;
}
