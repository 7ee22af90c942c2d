/*
 * fuzz_response.c: the response-head parser, for each request method that
 * changes framing. Invariants: validity and head length do not depend on the
 * method, fields point into the head, framing follows RFC 9112 6.3, errors
 * are always 502, and a prefix gives JN_EINCOMPLETE or the whole's result.
 */
#include "fuzz/check.h"

#include "http/parse.h"

static const enum jn_http_method methods[] = {JN_HTTP_GET, JN_HTTP_HEAD, JN_HTTP_CONNECT,
                                              JN_HTTP_POST};

/* Tight limits that vary with the input's length (not its content, so seeds
 * stay plain messages): every limit boundary is reachable with short inputs. */
static struct jn_http_limits small;

static void set_small_limits(size_t size)
{
    small.max_request_line = size % 61 + 1;
    small.max_head = small.max_request_line + size % 199;
    small.max_headers = size % 9;
}

static void check_one(const char *buf, size_t len, enum jn_http_method m, ssize_t r,
                      const struct jn_http_response *p)
{
    if (r == JN_EINCOMPLETE)
        return;
    if (r == JN_EBADINPUT) {
        FUZZ_CHECK(p->error_status == 502);
        FUZZ_CHECK(p->error_reason != NULL && p->error_reason[0] != '\0');
        return;
    }
    FUZZ_CHECK(r > 0 && (size_t)r <= len);
    size_t n = (size_t)r;
    FUZZ_CHECK(buf[n - 1] == '\n' && buf[n - 2] == '\r');
    FUZZ_CHECK(p->status >= 100 && p->status <= 999);
    FUZZ_CHECK(p->minor_version == 0 || p->minor_version == 1);
    if (p->reason_len)
        FUZZ_CHECK(fuzz_inside(p->reason, p->reason_len, buf, n));
    FUZZ_CHECK(p->nheaders <= jn_http_default_limits.max_headers);
    for (size_t i = 0; i < p->nheaders; i++) {
        const struct jn_http_header *h = &p->headers[i];
        FUZZ_CHECK(fuzz_inside(h->name, h->name_len, buf, n) && h->name_len > 0);
        FUZZ_CHECK(fuzz_inside(h->value, h->value_len, buf, n));
        FUZZ_CHECK(memchr(h->value, '\n', h->value_len) == NULL);
    }
    bool no_body = m == JN_HTTP_HEAD || p->status < 200 || p->status == 204 ||
                   p->status == 304 || (m == JN_HTTP_CONNECT && p->status < 300);
    if (no_body)
        FUZZ_CHECK(p->framing == JN_FRAMING_NONE);
    else
        FUZZ_CHECK(p->framing != JN_FRAMING_NONE);
    if (p->framing == JN_FRAMING_CLOSE)
        FUZZ_CHECK(!p->keep_alive);
}

static ssize_t parse(const uint8_t *data, size_t len, const struct jn_http_limits *lim,
                     enum jn_http_method m, struct jn_http_response *p)
{
    char *buf = fuzz_copy(data, len);
    ssize_t r = jn_http_parse_response(buf, len, lim, m, p);
    check_one(buf, len, m, r, p);
    free(buf);
    return r;
}

static struct jn_http_response whole, part;

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
                ssize_t r = parse(data, k, &capped, JN_HTTP_GET, &part);
                if (r > 0) {
                    ssize_t d = parse(data, k, NULL, JN_HTTP_GET, &part);
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
    ssize_t first = 0;
    /* Tight limits reach the 414/431 paths with small inputs; they never
     * accept what the defaults refuse. */
    ssize_t sr = parse(data, size, &small, JN_HTTP_GET, &part);
    for (size_t mi = 0; mi < JN_ARRAY_LEN(methods); mi++) {
        ssize_t r = parse(data, size, NULL, methods[mi], &whole);
        if (mi == 0 && sr > 0)
            FUZZ_CHECK(r == sr);
        if (mi == 0)
            first = r;
        FUZZ_CHECK(r == first);
        if (mi > 0)
            continue;
        const size_t cuts[] = {1, size / 2, size - 1, r > 0 ? (size_t)r - 1 : 0};
        for (size_t i = 0; i < JN_ARRAY_LEN(cuts); i++) {
            if (cuts[i] >= size)
                continue;
            ssize_t pr = parse(data, cuts[i], NULL, methods[mi], &part);
            FUZZ_CHECK(pr == JN_EINCOMPLETE || pr == r);
            if (pr == JN_EBADINPUT)
                FUZZ_CHECK(strcmp(part.error_reason, whole.error_reason) == 0);
        }
    }
    return 0;
}
