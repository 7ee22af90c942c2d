#include "jn_test.h"

#include "http/parse.h"

/* Literals may hold NUL bytes: carry their length with them. */
#define S(lit) lit, sizeof(lit) - 1

static struct jn_http_request req;
static struct jn_http_request preq;
static struct jn_http_response resp;
static struct jn_http_response presp;

/*
 * Parses buf[0..len) as a request, and checks on the way that every prefix,
 * each in its own exactly-sized allocation so that ASan sees any over-read,
 * gives JN_EINCOMPLETE or the very same result as the whole input.
 */
static ssize_t parse_req_lim(const char *buf, size_t len, const struct jn_http_limits *lim)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    ssize_t whole = jn_http_parse_request(copy, len, lim, &req);
    for (size_t k = 0; k < len; k++) {
        char *pre = malloc(k ? k : 1);
        memcpy(pre, buf, k);
        ssize_t r = jn_http_parse_request(pre, k, lim, &preq);
        if (r != JN_EINCOMPLETE) {
            assert_int_equal(r, whole);
            if (r == JN_EBADINPUT) {
                assert_int_equal(preq.error_status, req.error_status);
                assert_string_equal(preq.error_reason, req.error_reason);
            }
        }
        if (whole > 0 && k < (size_t)whole)
            assert_int_equal(r, JN_EINCOMPLETE);
        free(pre);
    }
    /* Fields point into the caller's buffer: rebase them onto buf for the asserts. */
    if (whole > 0) {
        ptrdiff_t d = buf - copy;
#define REBASE(f)                                                                                  \
    if (req.f && req.f >= copy && req.f < copy + len)                                              \
    req.f += d
        REBASE(method);
        REBASE(target);
        REBASE(path);
        REBASE(host);
        for (size_t i = 0; i < req.nheaders; i++) {
            req.headers[i].name += d;
            req.headers[i].value += d;
        }
#undef REBASE
    }
    free(copy);
    return whole;
}

static ssize_t parse_req(const char *buf, size_t len)
{
    return parse_req_lim(buf, len, NULL);
}

static ssize_t parse_resp_m(const char *buf, size_t len, enum jn_http_method m)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    ssize_t whole = jn_http_parse_response(copy, len, NULL, m, &resp);
    for (size_t k = 0; k < len; k++) {
        char *pre = malloc(k ? k : 1);
        memcpy(pre, buf, k);
        ssize_t r = jn_http_parse_response(pre, k, NULL, m, &presp);
        if (r != JN_EINCOMPLETE) {
            assert_int_equal(r, whole);
            if (r == JN_EBADINPUT)
                assert_string_equal(presp.error_reason, resp.error_reason);
        }
        if (whole > 0 && k < (size_t)whole)
            assert_int_equal(r, JN_EINCOMPLETE);
        free(pre);
    }
    if (whole > 0) {
        ptrdiff_t d = buf - copy;
        if (resp.reason)
            resp.reason += d;
        for (size_t i = 0; i < resp.nheaders; i++) {
            resp.headers[i].name += d;
            resp.headers[i].value += d;
        }
    }
    free(copy);
    return whole;
}

static ssize_t parse_resp(const char *buf, size_t len)
{
    return parse_resp_m(buf, len, JN_HTTP_GET);
}

static bool span_is(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

#define assert_span(p, n, lit)                                                                     \
    do {                                                                                           \
        if (!span_is(p, n, lit))                                                                   \
            fail_msg("expected \"%s\", got \"%.*s\"", lit, (int)(n), (p) ? (p) : "");             \
    } while (0)

/* ---- valid requests ---- */

static void test_simple_get(void **state)
{
    static const char in[] = "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n"
                             "User-Agent:  curl/8 \t\r\nX-Empty:\r\n\r\n";
    assert_int_equal(parse_req(S(in)), sizeof(in) - 1);
    assert_span(req.method, req.method_len, "GET");
    assert_int_equal(req.method_id, JN_HTTP_GET);
    assert_span(req.target, req.target_len, "/a/b?c=d");
    assert_span(req.path, req.path_len, "/a/b?c=d");
    assert_int_equal(req.minor_version, 1);
    assert_span(req.host, req.host_len, "example.com");
    assert_int_equal(req.nheaders, 3);
    assert_span(req.headers[1].name, req.headers[1].name_len, "User-Agent");
    assert_span(req.headers[1].value, req.headers[1].value_len, "curl/8");
    assert_int_equal(req.headers[2].value_len, 0);
    assert_int_equal(req.framing, JN_FRAMING_NONE);
    assert_true(req.keep_alive);
    assert_false(req.expect_continue);
    assert_false(req.upgrade);
    assert_int_equal(req.error_status, 0);
    assert_int_equal(jn_http_find_header(req.headers, req.nheaders, S("user-agent")), 1);
    assert_int_equal(jn_http_find_header(req.headers, req.nheaders, S("x-nope")), -1);
}

static void test_methods(void **state)
{
    static const struct {
        const char *in;
        enum jn_http_method id;
    } cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", JN_HTTP_GET},
        {"HEAD / HTTP/1.0\r\n\r\n", JN_HTTP_HEAD},
        {"POST / HTTP/1.0\r\n\r\n", JN_HTTP_POST},
        {"PUT / HTTP/1.0\r\n\r\n", JN_HTTP_PUT},
        {"DELETE / HTTP/1.0\r\n\r\n", JN_HTTP_DELETE},
        {"OPTIONS / HTTP/1.0\r\n\r\n", JN_HTTP_OPTIONS},
        {"PATCH / HTTP/1.0\r\n\r\n", JN_HTTP_PATCH},
        {"TRACE / HTTP/1.0\r\n\r\n", JN_HTTP_TRACE},
        {"PURGE / HTTP/1.0\r\n\r\n", JN_HTTP_OTHER},
        {"get / HTTP/1.0\r\n\r\n", JN_HTTP_OTHER}, /* methods are case-sensitive */
        {"GETS / HTTP/1.0\r\n\r\n", JN_HTTP_OTHER},
        {"M-SEARCH / HTTP/1.0\r\n\r\n", JN_HTTP_OTHER},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        assert_int_equal(parse_req(cases[i].in, strlen(cases[i].in)), strlen(cases[i].in));
        assert_int_equal(req.method_id, cases[i].id);
    }
}

static void test_http10_keepalive(void **state)
{
    assert_true(parse_req(S("GET / HTTP/1.0\r\n\r\n")) > 0);
    assert_int_equal(req.minor_version, 0);
    assert_null(req.host);
    assert_false(req.keep_alive);
    assert_true(parse_req(S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")) > 0);
    assert_true(req.keep_alive);
    assert_int_equal(req.conn_flags, JN_HTTP_CONN_KEEPALIVE);
    assert_true(parse_req(S("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")) > 0);
    assert_false(req.keep_alive);
}

static void test_connection_tokens(void **state)
{
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive ,, UPGRADE\r\n"
                            "Upgrade: websocket\r\nConnection: foo, Close\r\n\r\n")) > 0);
    assert_int_equal(req.conn_flags, JN_HTTP_CONN_CLOSE | JN_HTTP_CONN_KEEPALIVE |
                                         JN_HTTP_CONN_UPGRADE | JN_HTTP_CONN_OTHER); /* foo */
    assert_false(req.keep_alive);
    assert_true(req.upgrade);
    /* Upgrade without the connection option is not an upgrade, and vice versa. */
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")) > 0);
    assert_false(req.upgrade);
    assert_true(req.keep_alive);
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n")) > 0);
    assert_false(req.upgrade);
    assert_true(parse_req(S("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")) >
                0);
    assert_false(req.upgrade); /* RFC 9110 7.8: ignored in HTTP/1.0 */
    /* "closed" is a different token */
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n")) > 0);
    assert_true(req.keep_alive);
    assert_int_equal(req.conn_flags, JN_HTTP_CONN_OTHER);
    /* only the three options: nothing named that a proxy must also drop */
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                            "Connection: close\r\n\r\n")) > 0);
    assert_int_equal(req.conn_flags,
                     JN_HTTP_CONN_CLOSE | JN_HTTP_CONN_KEEPALIVE | JN_HTTP_CONN_UPGRADE);
}

static void test_expect_continue(void **state)
{
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                            "Expect: 100-Continue\r\n\r\n")) > 0);
    assert_true(req.expect_continue);
    /* RFC 9110 10.1.1: ignored in HTTP/1.0 */
    assert_true(parse_req(S("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")) >
                0);
    assert_false(req.expect_continue);
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n")) > 0);
    assert_false(req.expect_continue);
}

static void test_framing(void **state)
{
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n")) > 0);
    assert_int_equal(req.framing, JN_FRAMING_LENGTH);
    assert_int_equal(req.content_length, 42);
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")) > 0);
    assert_int_equal(req.framing, JN_FRAMING_LENGTH);
    assert_int_equal(req.content_length, 0);
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0042\r\n\r\n")) > 0);
    assert_int_equal(req.content_length, 42);
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\n"
                            "Content-Length: 9223372036854775807\r\n\r\n")) > 0);
    assert_true(req.content_length == UINT64_C(9223372036854775807));
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")) > 0);
    assert_int_equal(req.framing, JN_FRAMING_CHUNKED);
    assert_true(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n")) > 0);
    assert_int_equal(req.framing, JN_FRAMING_CHUNKED);
    /* jern relays chunked only: other codings would reach the upstream undeclared */
    /* two Transfer-Encoding fields: 400 before their codings are judged, as nginx */
    assert_int_equal(parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n")),
                     JN_EBADINPUT);
    assert_int_equal(req.error_status, 400);
    assert_int_equal(
        parse_req(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip ,chunked\r\n\r\n")),
        JN_EBADINPUT);
    assert_int_equal(req.error_status, 501);
}

static void test_absolute_form(void **state)
{
    assert_true(parse_req(S("GET http://Example.com:80/p?q=1 HTTP/1.1\r\nHost: example.COM\r\n\r\n")) >
                0);
    assert_span(req.host, req.host_len, "Example.com:80");
    assert_span(req.path, req.path_len, "/p?q=1");
    assert_span(req.target, req.target_len, "http://Example.com:80/p?q=1");
    assert_true(parse_req(S("GET http://a HTTP/1.1\r\nHost: a:80\r\n\r\n")) > 0);
    assert_span(req.path, req.path_len, "/");
    assert_span(req.host, req.host_len, "a");
    assert_true(parse_req(S("GET HTTPS://a:443/x HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
    assert_span(req.path, req.path_len, "/x");
    assert_true(parse_req(S("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")) > 0);
    assert_span(req.host, req.host_len, "[::1]:8080");
    /* HTTP/1.0 may omit Host: the authority is the host. */
    assert_true(parse_req(S("GET http://b.example/ HTTP/1.0\r\n\r\n")) > 0);
    assert_span(req.host, req.host_len, "b.example");
}

static void test_other_forms(void **state)
{
    assert_true(parse_req(S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
    assert_span(req.path, req.path_len, "*");
    assert_true(parse_req(S("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")) > 0);
    assert_int_equal(req.method_id, JN_HTTP_CONNECT);
    assert_span(req.host, req.host_len, "a.example:443");
    assert_true(parse_req(S("GET /%7e\xc3\xa9?x=[1] HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
    /* the query is not decoded: a stray % there passes, as in nginx */
    assert_true(parse_req(S("GET /a?q=%zz HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
    /* a fragment is dropped from the target */
    assert_true(parse_req(S("GET /a?b#c#d HTTP/1.1\r\nHost: a\r\n\r\n")) > 0);
    assert_span(req.path, req.path_len, "/a?b");
    assert_span(req.target, req.target_len, "/a?b");
}

static void test_host_values(void **state)
{
    static const char *ok[] = {"a", "a.b-c_d~e", "a:8080", "[::1]", "[2001:db8::1]:443",
                               "127.0.0.1:80", "xn--bcher-kva.example", "a.example.",
                               ".a.example"};
    char in[256];
    for (size_t i = 0; i < JN_ARRAY_LEN(ok); i++) {
        int n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ok[i]);
        assert_int_equal(parse_req(in, (size_t)n), n);
        assert_span(req.host, req.host_len, ok[i]);
    }
}

static void test_leading_crlf_and_pipelining(void **state)
{
    static const char in[] = "\r\n\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                             "GET /2 HTTP/1.1\r\nHost: b\r\n\r\nGET /3 HT";
    ssize_t r = parse_req(S(in));
    assert_int_equal(r, strlen("\r\n\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_span(req.path, req.path_len, "/1");
    const char *rest = in + r;
    ssize_t r2 = parse_req(rest, sizeof(in) - 1 - (size_t)r);
    assert_int_equal(r2, strlen("GET /2 HTTP/1.1\r\nHost: b\r\n\r\n"));
    assert_span(req.host, req.host_len, "b");
    rest += r2;
    assert_int_equal(parse_req(rest, strlen(rest)), JN_EINCOMPLETE);
}

static void test_obs_text_and_tabs_in_values(void **state)
{
    assert_true(parse_req(S("GET / HTTP/1.1\r\nHost: a\r\nX-A: \xff\xfe\tz\t\r\n\r\n")) > 0);
    assert_span(req.headers[1].value, req.headers[1].value_len, "\xff\xfe\tz");
    /* A long value exercises the 16-byte scan, tabs inside it included. */
    char in[400];
    int n = snprintf(in, sizeof(in),
                     "GET / HTTP/1.1\r\nHost: a\r\nX-Long: %s\r\n\r\n",
                     "0123456789abcdef\t0123456789abcdef0123456789abcdef\t\t0123456789abcdefXYZ");
    assert_int_equal(parse_req(in, (size_t)n), n);
    assert_int_equal(req.headers[1].value_len, 70);
}

static void test_byte_by_byte_equals_whole(void **state)
{
    /* Also covered by every parse_req() call; here the last result is compared field by field. */
    static const char in[] = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n"
                             "Connection: keep-alive\r\n\r\nbodybody";
    struct jn_http_request whole;
    assert_int_equal(jn_http_parse_request(S(in), NULL, &whole), sizeof(in) - 1 - 8);
    for (size_t k = 1; k <= sizeof(in) - 1; k++) {
        ssize_t r = jn_http_parse_request(in, k, NULL, &req);
        if (k < sizeof(in) - 1 - 8) {
            assert_int_equal(r, JN_EINCOMPLETE);
            continue;
        }
        assert_int_equal(r, sizeof(in) - 1 - 8);
        assert_int_equal(req.nheaders, whole.nheaders);
        assert_ptr_equal(req.path, whole.path);
        assert_ptr_equal(req.host, whole.host);
        assert_int_equal(req.content_length, 7);
        assert_int_equal(req.conn_flags, whole.conn_flags);
        for (size_t i = 0; i < req.nheaders; i++) {
            assert_ptr_equal(req.headers[i].value, whole.headers[i].value);
            assert_int_equal(req.headers[i].value_len, whole.headers[i].value_len);
        }
    }
}

/* ---- invalid requests ---- */

struct bad_case {
    const char *in;
    size_t len;
    int status;
};
#define B(status, lit) {lit, sizeof(lit) - 1, status}
#define GET11 "GET / HTTP/1.1\r\nHost: a\r\n"
#define POST11 "POST / HTTP/1.1\r\nHost: a\r\n"

static const struct bad_case bad_requests[] = {
    /* smuggling: framing */
    B(400, POST11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
    B(400, POST11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
    B(400, POST11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    B(400, POST11 "Content-Length: 5, 5\r\n\r\n"),
    B(400, POST11 "Content-Length: +5\r\n\r\n"),
    B(400, POST11 "Content-Length: -5\r\n\r\n"),
    B(400, POST11 "Content-Length: 0x5\r\n\r\n"),
    B(400, POST11 "Content-Length: 5 5\r\n\r\n"),
    B(400, POST11 "Content-Length: 5a\r\n\r\n"),
    B(400, POST11 "Content-Length: 1_000\r\n\r\n"),
    B(400, POST11 "Content-Length:\r\n\r\n"),
    B(400, POST11 "Content-Length: 9223372036854775808\r\n\r\n"),
    B(400, POST11 "Content-Length: 99999999999999999999999\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: gzip\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked, gzip\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked, chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked;q=1\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: \"chunked\"\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding:\r\n\r\n"),
    B(501, POST11 "Transfer-Encoding: foo\r\n\r\n"),
    B(501, POST11 "Transfer-Encoding: foo, chunked\r\n\r\n"),
    B(501, POST11 "Transfer-Encoding: identity, chunked\r\n\r\n"),
    B(400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding : chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding\t: chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding:\r\n chunked\r\n\r\n"),
    B(400, POST11 "X: y\r\n\tTransfer-Encoding: chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: \x0b" "chunked\r\n\r\n"),
    B(400, POST11 "Transfer-Encoding: chunked\r\r\n\r\n"),
    /* obs-fold, whitespace before colon, bad characters */
    B(400, GET11 "X-A: b\r\n c\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
    B(400, GET11 "X-A : b\r\n\r\n"),
    B(400, GET11 ": b\r\n\r\n"),
    B(400, GET11 "X(A: b\r\n\r\n"),
    B(400, GET11 "X-A\x01: b\r\n\r\n"),
    B(400, GET11 "X-\0A: b\r\n\r\n"),
    B(400, GET11 "X\x80: b\r\n\r\n"),
    B(400, GET11 "X-A: b\x01" "c\r\n\r\n"),
    B(400, GET11 "X-A: b\0c\r\n\r\n"),
    B(400, GET11 "X-A: b\x7f" "c\r\n\r\n"),
    B(400, GET11 "X-A: b\rc\r\n\r\n"),
    B(400, GET11 "X-A: 0123456789abcdef0123\x1f" "456789abcdef\r\n\r\n"),
    B(400, GET11 "X-A b\r\n\r\n"),
    /* bare LF and bare CR */
    B(400, "GET / HTTP/1.1\nHost: a\n\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a\r\n\n"),
    B(400, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.1\rHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a\r\n\rX"),
    /* Host */
    B(400, "GET / HTTP/1.1\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
    B(400, "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
    B(400, "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"),
    B(400, "GET http://a:81/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET https://a/ HTTP/1.1\r\nHost: a:80\r\n\r\n"),
    B(400, "GET http://a/ HTTP/1.1\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: :80\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: [x]\r\n\r\n"),
    /* method */
    B(400, " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET\r\n\r\n"),
    /* target */
    B(400, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
    /* nginx's host checks: an empty name, an empty label, a lone dot */
    B(400, "GET / HTTP/1.1\r\nHost: \r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: example..com\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: .\r\n\r\n"),
    B(400, "GET / HTTP/1.1\r\nHost: :80\r\n\r\n"),
    B(400, "GET http://a..b/ HTTP/1.1\r\nHost: a..b\r\n\r\n"),
    /* invalid percent-encoding in the path */
    B(400, "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET #a HTTP/1.1\r\nHost: a\r\n\r\n"),
    /* single-valued fields repeated */
    B(400, GET11 "Authorization: a\r\nAuthorization: b\r\n\r\n"),
    B(400, GET11 "If-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n"),
    B(400, GET11 "If-Unmodified-Since: a\r\nIf-Unmodified-Since: b\r\n\r\n"),
    B(400, GET11 "If-Match: a\r\nif-match: b\r\n\r\n"),
    B(400, GET11 "If-None-Match: a\r\nIf-None-Match: b\r\n\r\n"),
    B(400, GET11 "Content-Range: a\r\nContent-Range: b\r\n\r\n"),
    B(400, GET11 "If-Range: a\r\nIf-Range: b\r\n\r\n"),
    B(400, GET11 "Expect: a\r\nExpect: b\r\n\r\n"),
    B(400, "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET a HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET http:/a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET / \r\nHost: a\r\n\r\n"),
    B(400, "GET /\r\n\r\n"),
    /* version */
    B(400, "GET / HTTP/1.1x\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/11\r\nHost: a\r\n\r\n"),
    B(400, "GET / http/1.1\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/a.1\r\nHost: a\r\n\r\n"),
    B(400, "GET / HTTP/1.\r\n\r\n"),
    B(400, "GET / HTTPS/1.1\r\nHost: a\r\n\r\n"),
    B(505, "GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    B(505, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    B(505, "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    B(505, "GET / HTTP/1.9\r\nHost: a\r\n\r\n"),
    B(505, "GET / HTTP/3.0\r\nHost: a\r\n\r\n"),
    B(505, "GET / HTTP/0.9\r\nHost: a\r\n\r\n"),
    /* Connection */
    B(400, GET11 "Connection: close;x\r\n\r\n"),
    B(400, GET11 "Connection: \"close\"\r\n\r\n"),
};

static void test_bad_requests(void **state)
{
    for (size_t i = 0; i < JN_ARRAY_LEN(bad_requests); i++) {
        const struct bad_case *c = &bad_requests[i];
        ssize_t r = parse_req(c->in, c->len);
        if (r != JN_EBADINPUT || req.error_status != c->status)
            fail_msg("case %zu: %.*s: got %zd status %d (%s), want %d", i, (int)c->len, c->in, r,
                     req.error_status, req.error_reason ? req.error_reason : "-", c->status);
        assert_non_null(req.error_reason);
    }
}

static void test_error_detected_before_head_complete(void **state)
{
    /* Garbage is refused at once, not after the client sent (or failed to send) a whole head. */
    assert_int_equal(jn_http_parse_request(S("G\x01"), NULL, &req), JN_EBADINPUT);
    assert_int_equal(jn_http_parse_request(S("GET / HTTP/1.1\n"), NULL, &req), JN_EBADINPUT);
    assert_int_equal(jn_http_parse_request(S("GET / HTTP/1.1\r\nX : "), NULL, &req),
                     JN_EBADINPUT);
    assert_int_equal(jn_http_parse_request(S("GET / HTTP/2.0\r"), NULL, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 505);
}

/* ---- limits ---- */

static char *make_line(size_t target_len, const char *tail)
{
    size_t n = 4 + target_len + strlen(tail);
    char *b = malloc(n + 1);
    memcpy(b, "GET ", 4);
    b[4] = '/';
    memset(b + 5, 'a', target_len - 1);
    memcpy(b + 4 + target_len, tail, strlen(tail) + 1);
    return b;
}

static void test_request_line_limit(void **state)
{
    const struct jn_http_limits lim = {.max_request_line = 100, .max_head = 400, .max_headers = 4};
    /* "GET " + target + " HTTP/1.1" is exactly 100 bytes: accepted. */
    char *ok = make_line(100 - 4 - 9, " HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(parse_req_lim(ok, strlen(ok), &lim), strlen(ok));
    free(ok);
    char *big = make_line(100 - 4 - 9 + 1, " HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(parse_req_lim(big, strlen(big), &lim), JN_EBADINPUT);
    assert_int_equal(req.error_status, 414);
    /* known as soon as byte 101 of the line is there, complete or not */
    assert_int_equal(jn_http_parse_request(big, 101, &lim, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 414);
    assert_int_equal(jn_http_parse_request(big, 100, &lim, &req), JN_EINCOMPLETE);
    free(big);

    /* defaults: 8 KiB */
    char *huge = make_line(9000, "");
    assert_int_equal(jn_http_parse_request(huge, strlen(huge), NULL, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 414);
    free(huge);
    char *edge = make_line(8192 - 4 - 9, " HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(jn_http_parse_request(edge, strlen(edge), NULL, &req), strlen(edge));
    free(edge);
}

static void test_head_limits(void **state)
{
    const struct jn_http_limits lim = {.max_request_line = 100, .max_head = 120, .max_headers = 3};
    static const char three[] = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n";
    assert_int_equal(parse_req_lim(S(three), &lim), sizeof(three) - 1);
    static const char four[] = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n";
    assert_int_equal(parse_req_lim(S(four), &lim), JN_EBADINPUT);
    assert_int_equal(req.error_status, 431);
    /* too many fields is known before the head ends */
    assert_int_equal(jn_http_parse_request(four, 38, &lim, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 431);

    char big[300];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: %0100d\r\n\r\n", 7);
    assert_int_equal(parse_req_lim(big, (size_t)n, &lim), JN_EBADINPUT);
    assert_int_equal(req.error_status, 431);
    assert_int_equal(jn_http_parse_request(big, 121, &lim, &req), JN_EBADINPUT);
    assert_int_equal(jn_http_parse_request(big, 120, &lim, &req), JN_EINCOMPLETE);
    /* a head of exactly max_head bytes is fine */
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n", 120 - 32, 7);
    assert_int_equal(n, 120);
    assert_int_equal(parse_req_lim(big, (size_t)n, &lim), 120);

    /* defaults: 100 fields, 32 KiB */
    size_t cap = 40000, len = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(h + len, cap - len, "X-%d: v\r\n", i);
    assert_int_equal(jn_http_parse_request(h, len, NULL, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 431);
    len = (size_t)snprintf(h, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (len < 33000)
        len += (size_t)snprintf(h + len, cap - len, "X-Filler: %0200d\r\n", 0);
    assert_int_equal(jn_http_parse_request(h, len, NULL, &req), JN_EBADINPUT);
    assert_int_equal(req.error_status, 431);
    free(h);
}

/* ---- responses ---- */

static void test_response_ok(void **state)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
    assert_int_equal(parse_resp(S(in)), sizeof(in) - 1 - 5);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.minor_version, 1);
    assert_span(resp.reason, resp.reason_len, "OK");
    assert_int_equal(resp.nheaders, 2);
    assert_int_equal(resp.framing, JN_FRAMING_LENGTH);
    assert_int_equal(resp.content_length, 5);
    assert_true(resp.keep_alive);

    assert_true(parse_resp(S("HTTP/1.1 404 Not \xc3\x9f Found\t!\r\nContent-Length: 0\r\n\r\n")) > 0);
    assert_span(resp.reason, resp.reason_len, "Not \xc3\x9f Found\t!");
    assert_true(parse_resp(S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")) > 0);
    assert_int_equal(resp.reason_len, 0);
    assert_true(parse_resp(S("HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n")) > 0);
    assert_int_equal(resp.status, 299);
    assert_true(parse_resp(S("HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n")) > 0);
}

static void test_response_framing(void **state)
{
    static const struct {
        const char *in;
        enum jn_http_method m;
        enum jn_http_framing f;
        bool keep_alive;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", JN_HTTP_HEAD, JN_FRAMING_NONE, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", JN_HTTP_HEAD, JN_FRAMING_NONE,
         true},
        {"HTTP/1.1 204 No Content\r\n\r\n", JN_HTTP_GET, JN_FRAMING_NONE, true},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", JN_HTTP_GET, JN_FRAMING_NONE,
         true},
        {"HTTP/1.1 100 Continue\r\n\r\n", JN_HTTP_POST, JN_FRAMING_NONE, true},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
         JN_HTTP_GET, JN_FRAMING_NONE, true},
        {"HTTP/1.1 200 Connection established\r\n\r\n", JN_HTTP_CONNECT, JN_FRAMING_NONE, true},
        {"HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", JN_HTTP_CONNECT, JN_FRAMING_LENGTH,
         true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", JN_HTTP_GET,
         JN_FRAMING_CHUNKED, true},
        {"HTTP/1.1 200 OK\r\n\r\n", JN_HTTP_GET, JN_FRAMING_CLOSE, false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", JN_HTTP_GET,
         JN_FRAMING_LENGTH, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", JN_HTTP_GET, JN_FRAMING_LENGTH, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", JN_HTTP_GET,
         JN_FRAMING_LENGTH, true},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        size_t n = strlen(cases[i].in);
        if (parse_resp_m(cases[i].in, n, cases[i].m) != (ssize_t)n)
            fail_msg("case %zu: %s (%s)", i, cases[i].in, resp.error_reason);
        if (resp.framing != cases[i].f || resp.keep_alive != cases[i].keep_alive)
            fail_msg("case %zu: framing %d keep_alive %d", i, resp.framing, resp.keep_alive);
    }
    assert_true(parse_resp(S("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")) > 0);
    assert_int_equal(resp.conn_flags, JN_HTTP_CONN_UPGRADE);
}

static const struct bad_case bad_responses[] = {
    B(502, "HTTP/1.1 20 OK\r\n\r\n"),
    B(502, "HTTP/1.1 2000 OK\r\n\r\n"),
    B(502, "HTTP/1.1 abc OK\r\n\r\n"),
    B(502, "HTTP/1.1 099 Low\r\n\r\n"),
    B(502, "HTTP/1.1 -20 OK\r\n\r\n"),
    B(502, "HTTP/1.1  200 OK\r\n\r\n"),
    B(502, "HTTP/1.1\r\n\r\n"),
    B(502, "HTTP/2 200 OK\r\n\r\n"),
    B(502, "HTTP/2.0 200 OK\r\n\r\n"),
    B(502, "HTTP/1.2 200 OK\r\n\r\n"),
    B(502, "http/1.1 200 OK\r\n\r\n"),
    B(502, "ICY 200 OK\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\n\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\n"),
    B(502, "HTTP/1.1 200 O\x01K\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\rX\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
    B(502, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nX : a\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n"),
    B(502, "HTTP/1.1 204 No Content\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
    B(502, "HTTP/1.1 200 OK\r\nConnection: a b\r\n\r\n"),
};

static void test_bad_responses(void **state)
{
    for (size_t i = 0; i < JN_ARRAY_LEN(bad_responses); i++) {
        const struct bad_case *c = &bad_responses[i];
        ssize_t r = parse_resp(c->in, c->len);
        if (r != JN_EBADINPUT || resp.error_status != 502)
            fail_msg("case %zu: %.*s: got %zd status %d", i, (int)c->len, c->in, r,
                     resp.error_status);
        assert_non_null(resp.error_reason);
    }
}

static void test_response_limits(void **state)
{
    const struct jn_http_limits lim = {.max_request_line = 50, .max_head = 100, .max_headers = 2};
    char b[300];
    int n = snprintf(b, sizeof(b), "HTTP/1.1 200 %060d\r\n\r\n", 0);
    assert_int_equal(jn_http_parse_response(b, (size_t)n, &lim, JN_HTTP_GET, &resp), JN_EBADINPUT);
    assert_int_equal(resp.error_status, 502);
    n = snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    assert_int_equal(jn_http_parse_response(b, (size_t)n, &lim, JN_HTTP_GET, &resp), JN_EBADINPUT);
    assert_int_equal(resp.error_status, 502);
    n = snprintf(b, sizeof(b), "HTTP/1.1 200 OK\r\nA: %0100d\r\n\r\n", 1);
    assert_int_equal(jn_http_parse_response(b, 101, &lim, JN_HTTP_GET, &resp), JN_EBADINPUT);
    assert_int_equal(resp.error_status, 502);
    /* The SP after the version sitting right at the cap (found by fuzz_response's cap sweep). */
    const struct jn_http_limits lim8 = {.max_request_line = 8, .max_head = 100, .max_headers = 2};
    for (size_t k = 8; k <= 10; k++) {
        char *c = malloc(k);
        memcpy(c, "HTTP/1.1 200 OK\r\n\r\n", k);
        assert_int_equal(jn_http_parse_response(c, k, &lim8, JN_HTTP_GET, &resp),
                         k == 8 ? JN_EINCOMPLETE : JN_EBADINPUT);
        free(c);
    }
    /* The SP before the reason sitting right at the cap: too long, and nothing
     * past the buffer is read (ASan checks the exactly-sized copy). */
    const struct jn_http_limits lim12 = {.max_request_line = 12, .max_head = 100, .max_headers = 2};
    for (size_t k = 12; k <= 13; k++) {
        char *c = malloc(k);
        memcpy(c, "HTTP/1.1 200 OK\r\n\r\n", k);
        assert_int_equal(jn_http_parse_response(c, k, &lim12, JN_HTTP_GET, &resp),
                         k == 12 ? JN_EINCOMPLETE : JN_EBADINPUT);
        free(c);
    }
    assert_int_equal(jn_http_parse_response(S("HTTP/1.1 200\r\n\r\n"), &lim12, JN_HTTP_GET, &resp),
                     16);
    /* A status line of exactly the cap, its CR at the cap, is fine. */
    n = snprintf(b, sizeof(b), "HTTP/1.1 200 %037d\r\n\r\n", 0);
    assert_int_equal(jn_http_parse_response(b, (size_t)n, &lim, JN_HTTP_GET, &resp), n);
}

static void test_token_eq_and_lower_table(void **state)
{
    assert_true(jn_http_token_eq(S("Keep-ALIVE"), "keep-alive"));
    assert_false(jn_http_token_eq(S("keep-aliv"), "keep-alive"));
    assert_false(jn_http_token_eq(S("keep-alivee"), "keep-alive"));
    assert_false(jn_http_token_eq(S("@"), "`"));
    assert_false(jn_http_token_eq(S("["), "{"));
    /* Header lookup is case-insensitive for every byte, and only for letters. */
    for (int c = 0; c < 256; c++) {
        char a = (char)c;
        char lo = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        struct jn_http_header h = {.name = &a, .name_len = 1};
        assert_int_equal(jn_http_find_header(&h, 1, &lo, 1), 0);
        for (int d = 0; d < 256; d++) {
            char b = (char)d;
            bool same = (c >= 'A' && c <= 'Z' ? c + 32 : c) == (d >= 'A' && d <= 'Z' ? d + 32 : d);
            assert_int_equal(jn_http_find_header(&h, 1, &b, 1) == 0, same);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_http10_keepalive),
        cmocka_unit_test(test_connection_tokens),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_absolute_form),
        cmocka_unit_test(test_other_forms),
        cmocka_unit_test(test_host_values),
        cmocka_unit_test(test_leading_crlf_and_pipelining),
        cmocka_unit_test(test_obs_text_and_tabs_in_values),
        cmocka_unit_test(test_byte_by_byte_equals_whole),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_error_detected_before_head_complete),
        cmocka_unit_test(test_request_line_limit),
        cmocka_unit_test(test_head_limits),
        cmocka_unit_test(test_response_ok),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_response_limits),
        cmocka_unit_test(test_token_eq_and_lower_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
