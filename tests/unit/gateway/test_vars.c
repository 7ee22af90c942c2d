#include "jn_test.h"

#include "config/conf.h"
#include "gateway/vars.h"

#include <time.h>

/* A hand-built request, as the parser would produce it. */
static void request(struct jn_http_request *r, const char *method, const char *target,
                    const char *const *hdrs)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->method_len = strlen(method);
    r->target = target;
    r->target_len = strlen(target);
    r->path = target;
    r->path_len = strlen(target);
    r->minor_version = 1;
    for (size_t i = 0; hdrs && hdrs[i]; i += 2) {
        struct jn_http_header *h = &r->headers[r->nheaders++];
        h->name = hdrs[i];
        h->name_len = strlen(hdrs[i]);
        h->value = hdrs[i + 1];
        h->value_len = strlen(hdrs[i + 1]);
        if (strcasecmp(hdrs[i], "host") == 0) {
            r->host = h->value;
            r->host_len = h->value_len;
        }
    }
}

/* Evaluates text against ctx into a static buffer (NUL-terminated), or
 * returns the error code as text. */
static const char *eval(const char *text, const struct jn_var_ctx *ctx, bool log_mode)
{
    static char out[4096];
    struct jn_template t;
    char err[256];
    assert_int_equal(jn_template_compile(text, &t, err, sizeof(err)), 0);
    ssize_t n = jn_template_eval(&t, ctx, log_mode, out, sizeof(out) - 1);
    jn_template_free(&t);
    if (n < 0)
        snprintf(out, sizeof(out), "error %zd", n);
    else
        out[n] = '\0';
    return out;
}

static void test_compile_errors(void **state)
{
    struct jn_template t;
    char err[256];
    assert_int_equal(jn_template_compile("$hots", &t, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "unknown variable \"$hots\""));
    assert_non_null(strstr(err, "did you mean \"$host\"?"));
    assert_int_equal(jn_template_compile("x ${host y", &t, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "missing \"}\""));
    assert_int_equal(jn_template_compile("cost: $", &t, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "invalid variable name"));
    assert_int_equal(jn_template_compile("$zzzzzzzz", &t, err, sizeof(err)), JN_ECONFIG);
    assert_string_equal(err, "unknown variable \"$zzzzzzzz\"");
    assert_null(t.parts);

    assert_int_equal(jn_template_compile("plain text", &t, err, sizeof(err)), 0);
    assert_false(t.has_vars);
    assert_int_equal(t.nparts, 1);
    jn_template_free(&t);
    assert_int_equal(
        jn_template_compile("${host}:$remote_addr-$http_X_Real_IP", &t, err, sizeof(err)), 0);
    assert_true(t.has_vars);
    assert_int_equal(t.nparts, 5);
    assert_int_equal(t.parts[4].id, JN_VAR_HTTP_HEADER);
    assert_int_equal(t.parts[4].len, 9);
    assert_memory_equal(t.parts[4].text, "x-real-ip", 9);
    jn_template_free(&t);
}

static void test_tls_variables(void **state)
{
    (void)state;
    const char *t = "$https|$ssl_protocol|$ssl_cipher|$ssl_server_name|$scheme";
    struct jn_var_ctx plain = {.scheme = "http"};
    assert_string_equal(eval(t, &plain, true), "|-|-|-|http");
    assert_string_equal(eval(t, &plain, false), "||||http");
    struct jn_var_ctx tls = {.scheme = "https",
                             .ssl_protocol = "TLSv1.3",
                             .ssl_cipher = "TLS_AES_128_GCM_SHA256",
                             .ssl_server_name = "shop.test"};
    assert_string_equal(eval(t, &tls, false), "on|TLSv1.3|TLS_AES_128_GCM_SHA256|shop.test|https");
    tls.ssl_server_name = ""; /* the client sent no SNI */
    assert_string_equal(eval("$ssl_server_name", &tls, true), "-");
}

static void test_host(void **state)
{
    struct jn_http_request r;
    struct jn_var_ctx c = {.req = &r, .server_name = "default.example"};
    request(&r, "GET", "/", (const char *const[]){"Host", "WWW.Example.COM:8080", NULL});
    assert_string_equal(eval("$host", &c, false), "www.example.com");
    request(&r, "GET", "/", (const char *const[]){"Host", "[::1]:8080", NULL});
    assert_string_equal(eval("$host", &c, false), "[::1]");
    request(&r, "GET", "/", NULL);
    assert_string_equal(eval("$host", &c, false), "default.example");
    c.server_name = NULL;
    assert_string_equal(eval("<$host>", &c, false), "<>");
    assert_string_equal(eval("<$host>", &c, true), "<->");
}

static void test_http_headers(void **state)
{
    struct jn_http_request r;
    struct jn_var_ctx c = {.req = &r, .remote_addr = "10.0.0.9"};
    request(&r, "GET", "/",
            (const char *const[]){"user-AGENT", "curl/8", "X-Custom-Thing", "v1", "X-Forwarded-For",
                                  "1.1.1.1", "x-forwarded-for", "2.2.2.2", "Cookie", "a=1",
                                  "Cookie", "b=2", NULL});
    assert_string_equal(eval("$http_user_agent", &c, false), "curl/8");
    assert_string_equal(eval("$http_USER_AGENT", &c, false), "curl/8");
    assert_string_equal(eval("[$http_x_custom_thing]", &c, false), "[v1]");
    assert_string_equal(eval("[$http_x_missing]", &c, false), "[]");
    assert_string_equal(eval("[$http_x_missing]", &c, true), "[-]");
    assert_string_equal(eval("$http_x_forwarded_for", &c, false), "1.1.1.1, 2.2.2.2");
    assert_string_equal(eval("$http_cookie", &c, false), "a=1; b=2");
    assert_string_equal(eval("$proxy_add_x_forwarded_for", &c, false),
                        "1.1.1.1, 2.2.2.2, 10.0.0.9");
    request(&r, "GET", "/", NULL);
    assert_string_equal(eval("$proxy_add_x_forwarded_for", &c, false), "10.0.0.9");
    assert_string_equal(eval("$remote_addr", &c, false), "10.0.0.9");
}

static void test_request_parts(void **state)
{
    struct jn_http_request r;
    struct jn_var_ctx c = {.req = &r,
                           .scheme = "http",
                           .server_port = "8080",
                           .proxy_host = "backend",
                           .remote_port = 51000};
    request(&r, "POST", "/api/x?b=1&c=2", NULL);
    assert_string_equal(eval("$request", &c, true), "POST /api/x?b=1&c=2 HTTP/1.1");
    assert_string_equal(eval("$request_uri|$uri|$args|$is_args|$query_string", &c, false),
                        "/api/x?b=1&c=2|/api/x|b=1&c=2|?|b=1&c=2");
    assert_string_equal(eval("$request_method $server_protocol $scheme $server_port", &c, false),
                        "POST HTTP/1.1 http 8080");
    assert_string_equal(eval("$proxy_host:$remote_port", &c, false), "backend:51000");
    request(&r, "GET", "/plain", NULL);
    r.minor_version = 0;
    assert_string_equal(eval("$uri|$args|$is_args|$request", &c, true),
                        "/plain|-||GET /plain HTTP/1.0");
    assert_string_equal(eval("$uri|$args|$is_args", &c, false), "/plain||");
    /* no request at all (an error before parsing) */
    c.req = NULL;
    assert_string_equal(eval("$request|$uri|$http_host|$remote_user", &c, true), "-|-|-|-");
    assert_string_equal(eval("$request|$uri|$http_host|$remote_user", &c, false), "|||");
}

static void test_numbers_and_times(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct jn_var_ctx c = {.status = 502,
                           .body_bytes_sent = 0,
                           .bytes_sent = 1234567890123ull,
                           .request_length = 77,
                           .upstream_addr = "127.0.0.1:8081, 127.0.0.1:8082",
                           .upstream_status = "502, 200",
                           .upstream_response_time_us = 12345,
                           .request_time_us = 1500000,
                           .time_sec = 1795792200,
                           .time_msec = 7,
                           .connection = 42,
                           .connection_requests = 3};
    assert_string_equal(eval("$status $body_bytes_sent $bytes_sent $request_length", &c, true),
                        "502 0 1234567890123 77");
    assert_string_equal(eval("$upstream_addr|$upstream_status", &c, true),
                        "127.0.0.1:8081, 127.0.0.1:8082|502, 200");
    assert_string_equal(eval("$upstream_response_time $request_time", &c, true), "0.012 1.500");
    assert_string_equal(eval("[$time_local] $time_iso8601 $msec", &c, true),
                        "[27/Nov/2026:15:10:00 +0000] 2026-11-27T15:10:00+00:00 1795792200.007");
    assert_string_equal(eval("$connection/$connection_requests", &c, true), "42/3");
    /* the per-thread cache follows the clock */
    c.time_sec += 61;
    assert_string_equal(eval("$time_local", &c, true), "27/Nov/2026:15:11:01 +0000");

    setenv("TZ", "EST5EDT", 1); /* a zone west of UTC: negative offset */
    tzset();
    c.time_sec += 3600;
    assert_string_equal(eval("$time_local", &c, true), "27/Nov/2026:11:11:01 -0500");
    setenv("TZ", "UTC", 1);
    tzset();

    struct jn_var_ctx none = {.upstream_response_time_us = -1, .request_time_us = -1};
    assert_string_equal(eval("$status $upstream_addr $upstream_status $upstream_response_time "
                             "$request_time $time_local $msec",
                             &none, true),
                        "000 - - - - - -");
}

static void test_combined_format(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct jn_http_request r;
    request(&r, "GET", "/index.html",
            (const char *const[]){"Host", "a.example", "Referer", "http://ref/", "User-Agent",
                                  "Mozilla/5.0", NULL});
    struct jn_var_ctx c = {.req = &r,
                           .remote_addr = "127.0.0.1",
                           .status = 200,
                           .body_bytes_sent = 612,
                           .time_sec = 1795792200};
    assert_string_equal(eval(JN_LOG_FORMAT_COMBINED, &c, true),
                        "127.0.0.1 - - [27/Nov/2026:15:10:00 +0000] \"GET /index.html HTTP/1.1\" "
                        "200 612 \"http://ref/\" \"Mozilla/5.0\"");
    request(&r, "GET", "/", NULL);
    assert_string_equal(eval(JN_LOG_FORMAT_COMBINED, &c, true),
                        "127.0.0.1 - - [27/Nov/2026:15:10:00 +0000] \"GET / HTTP/1.1\" 200 612 "
                        "\"-\" \"-\"");
}

static void test_no_header_injection(void **state)
{
    struct jn_http_request r;
    struct jn_var_ctx c = {.req = &r, .remote_addr = "127.0.0.1"};
    /* the parser refuses these; eval must hold even if something slips through */
    request(&r, "GET", "/",
            (const char *const[]){"X-Evil", "a\r\nInjected: 1", "User-Agent",
                                  "say \"hi\"\\\x01\xff", "X-Forwarded-For", "1.2.3.4\n", NULL});
    assert_string_equal(eval("$http_x_evil", &c, false), "error -10002");
    assert_string_equal(eval("$proxy_add_x_forwarded_for", &c, false), "error -10002");
    struct jn_var_ctx bad = {.remote_addr = "1.2.3.4\r\nX: y"};
    assert_string_equal(eval("$remote_addr", &bad, false), "error -10002");
    /* log mode escapes instead, as nginx's escape=default */
    assert_string_equal(eval("$http_x_evil", &c, true), "a\\x0D\\x0AInjected: 1");
    assert_string_equal(eval("\"$http_user_agent\"", &c, true),
                        "\"say \\x22hi\\x22\\x5C\\x01\\xFF\"");
    /* literal text from the config is written as is */
    assert_string_equal(eval("\"quoted\" $remote_addr", &c, true), "\"quoted\" 127.0.0.1");
}

static void test_too_big(void **state)
{
    struct jn_var_ctx c = {.remote_addr = "127.0.0.1"};
    struct jn_template t;
    char err[64], out[16];
    assert_int_equal(
        jn_template_compile("addr=$remote_addr;addr=$remote_addr", &t, err, sizeof(err)), 0);
    memset(out, '#', sizeof(out));
    assert_int_equal(jn_template_eval(&t, &c, false, out, 10), JN_ETOOBIG);
    /* the prefix that fit, and not a byte past the cap */
    assert_memory_equal(out, "addr=127.0", 10);
    assert_int_equal(out[10], '#');
    assert_int_equal(jn_template_eval(&t, &c, false, out, 0), JN_ETOOBIG);
    char big[64];
    assert_int_equal(jn_template_eval(&t, &c, false, big, sizeof(big)), 29);
    assert_int_equal(jn_template_eval(&t, &c, false, big, 29), 29);
    assert_int_equal(jn_template_eval(&t, &c, false, big, 28), JN_ETOOBIG);
    jn_template_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_tls_variables),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_http_headers),
        cmocka_unit_test(test_request_parts),
        cmocka_unit_test(test_numbers_and_times),
        cmocka_unit_test(test_combined_format),
        cmocka_unit_test(test_no_header_injection),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
