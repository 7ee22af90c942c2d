/*
 * http_parse.c: micro-benchmark of the HTTP/1.x head parsers and the chunked
 * decoder (a benchmark, never a test: it asserts nothing about time).
 *
 *   make && cc -O2 -Isrc -o build/bench-http-parse bench/http_parse.c build/libjern.a
 *   build/bench-http-parse [SECONDS_PER_CASE]      (default 1)
 *
 * Prints, per case, parses per second, ns per parse and MB/s of input.
 */
#include "core/common.h"

#include "http/parse.h"

static const char browser_req[] =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_8; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/"
    "|utmcmd=referral\r\n"
    "\r\n";

static const char small_req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

static const char api_resp[] = "HTTP/1.1 200 OK\r\n"
                               "Server: nginx/1.22.1\r\n"
                               "Date: Fri, 27 Nov 2026 15:00:00 GMT\r\n"
                               "Content-Type: application/json; charset=utf-8\r\n"
                               "Content-Length: 1234\r\n"
                               "Connection: keep-alive\r\n"
                               "Cache-Control: no-cache, no-store, must-revalidate\r\n"
                               "X-Request-Id: 7f1c0e9a-3b1d-4c47-9a55-2b0c8f1e6d42\r\n"
                               "\r\n";

static volatile size_t sink;

static double now_s(void)
{
    return (double)jn_now_ns() / 1e9;
}

static void report(const char *name, size_t iters, size_t bytes, double secs)
{
    printf("%-22s %10.0f /s %8.1f ns %8.0f MB/s\n", name, (double)iters / secs,
           secs * 1e9 / (double)iters, (double)bytes * (double)iters / secs / 1e6);
}

static void bench_request(const char *name, const char *in, size_t len, double secs)
{
    static struct jn_http_request req;
    size_t iters = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            if (jn_http_parse_request(in, len, NULL, &req) != (ssize_t)len)
                abort();
            sink += req.nheaders;
        }
        iters += 1000;
    } while ((t = now_s() - t0) < secs);
    report(name, iters, len, t);
}

static void bench_response(double secs)
{
    static struct jn_http_response resp;
    size_t len = sizeof(api_resp) - 1, iters = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            if (jn_http_parse_response(api_resp, len, NULL, JN_HTTP_GET, &resp) != (ssize_t)len)
                abort();
            sink += resp.nheaders;
        }
        iters += 1000;
    } while ((t = now_s() - t0) < secs);
    report("response (9 fields)", iters, len, t);
}

static void bench_chunked(double secs)
{
    /* 64 KiB of payload in 4 KiB chunks with their framing. */
    static char body[70000];
    size_t len = 0;
    for (int c = 0; c < 16; c++) {
        len += (size_t)snprintf(body + len, sizeof(body) - len, "1000\r\n");
        memset(body + len, 'x', 4096);
        len += 4096;
        memcpy(body + len, "\r\n", 2);
        len += 2;
    }
    memcpy(body + len, "0\r\n\r\n", 5);
    len += 5;
    size_t iters = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 100; i++) {
            struct jn_chunked d;
            jn_chunked_init(&d);
            size_t off = 0;
            while (!d.done) {
                const char *data;
                size_t n;
                ssize_t r = jn_chunked_decode(&d, body + off, len - off, &data, &n);
                if (r <= 0)
                    abort();
                off += (size_t)r;
                sink += n;
            }
        }
        iters += 100;
    } while ((t = now_s() - t0) < secs);
    report("chunked 64 KiB body", iters, len, t);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    bench_request("request (browser)", browser_req, sizeof(browser_req) - 1, secs);
    bench_request("request (minimal)", small_req, sizeof(small_req) - 1, secs);
    bench_response(secs);
    bench_chunked(secs);
    return 0;
}
