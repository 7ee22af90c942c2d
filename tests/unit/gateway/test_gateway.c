/* The daemon API (gateway.h) in-process: a real gateway on a loopback port, real
 * backend threads, and the control calls set_app / set_upstream / remove_app with
 * "wait for ready" (an app scaled to zero). */
#include "jn_test.h"

#include "config/conf.h"
#include "ev/loop.h"
#include "gateway/gateway.h"
#include "net/sock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* A backend answering every request with its name. */
struct backend {
    int lfd, port;
    const char *name;
    pthread_t t;
};

static void *backend_main(void *arg)
{
    struct backend *b = arg;
    for (;;) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        char buf[4096];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0) {
            n += (size_t)r;
            if (memmem(buf, n, "\r\n\r\n", 4))
                break;
        }
        char resp[256];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(b->name), b->name);
        ssize_t w = write(fd, resp, (size_t)len);
        (void)w;
        close(fd);
    }
}

static void backend_start(struct backend *b, const char *name)
{
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(b->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(b->lfd, 64), 0);
    b->port = jn_sock_local_port(b->lfd);
    b->name = name;
    pthread_create(&b->t, NULL, backend_main, b);
}

static void backend_stop(struct backend *b)
{
    shutdown(b->lfd, SHUT_RDWR);
    close(b->lfd);
    pthread_join(b->t, NULL);
}

static struct jn_upstream *upstream_of(const char *name, const struct backend *b)
{
    if (!b)
        return jn_upstream_with_peers(name, JN_BALANCE_RR, NULL, 0, 0, 60000, 100);
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%d", b->port);
    struct jn_conf_upstream_server s = {
        .text = text, .weight = 1, .max_fails = 1, .fail_timeout_ms = 10000};
    assert_int_equal(jn_addr_parse(text, 0, &s.addr), 0);
    struct jn_peer *p = jn_peer_new(&s);
    struct jn_upstream *u = jn_upstream_with_peers(name, JN_BALANCE_RR, &p, 1, 0, 60000, 100);
    jn_peer_unref(p);
    return u;
}

/* One blocking HTTP/1.1 request; returns the status, the body in body. */
struct get {
    int port;
    const char *host;
    int status;
    char body[512];
    char head[1024];
    int64_t ms;
};

static void *do_get(void *arg)
{
    struct get *g = arg;
    int64_t t0 = jn_now_ms();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)g->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    g->status = -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
        char req[256];
        int n = snprintf(req, sizeof(req),
                         "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", g->host);
        ssize_t w = write(fd, req, (size_t)n);
        (void)w;
        char buf[4096];
        size_t got = 0;
        ssize_t r;
        while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && sscanf(buf, "HTTP/1.%*d %d", &g->status) == 1) {
            snprintf(g->head, sizeof(g->head), "%.*s", (int)(end - buf), buf);
            snprintf(g->body, sizeof(g->body), "%s", end + 4);
        }
    }
    close(fd);
    g->ms = jn_now_ms() - t0;
    return NULL;
}

static struct get get(int port, const char *host)
{
    struct get g = {.port = port, .host = host};
    do_get(&g);
    return g;
}

static void test_apps_upstreams_and_wait_for_ready(void **state)
{
    (void)state;
    struct backend a, b;
    backend_start(&a, "A");
    backend_start(&b, "B");
    char text[512];
    int n = snprintf(text, sizeof(text),
                     "events {} http { upstream cfg { server 127.0.0.1:%d; }\n"
                     "server { listen 127.0.0.1:0; server_name known.test; access_log off;\n"
                     "  location / { proxy_pass http://cfg; } } }\n",
                     a.port);
    struct jn_conf *conf;
    char err[512];
    assert_int_equal(jn_conf_load_string("api.conf", text, (size_t)n, &conf, err, sizeof(err)), 0);
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    struct jn_gateway *g;
    int rc = jn_gateway_start(loop, conf, &g, err, sizeof(err));
    assert_int_equal(rc, 0);
    int port = jn_gateway_listen_port(g, 0);
    assert_true(port > 0);

    struct get r = get(port, "known.test");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "A");
    r = get(port, "app.test"); /* no app yet: the default server */
    assert_string_equal(r.body, "A");

    /* set_upstream: the config upstream now points at B, visible at once */
    struct jn_upstream *ub = upstream_of("cfg", &b);
    assert_int_equal(jn_gateway_set_upstream(g, "cfg", ub, false, 0), 0);
    usleep(20000);
    assert_string_equal(get(port, "known.test").body, "B");
    assert_int_equal(jn_gateway_set_upstream(g, "nope", ub, false, 0), JN_ENOTFOUND);

    /* an app scaled to zero: the request waits until the control plane
     * publishes a ready upstream */
    struct jn_upstream *empty = upstream_of("app", NULL);
    assert_int_equal(jn_gateway_set_app(g, "App.Test", empty, true, 3000), 0);
    struct get waiting = {.port = port, .host = "app.test:80"};
    pthread_t t;
    pthread_create(&t, NULL, do_get, &waiting);
    usleep(300000);
    struct jn_upstream *ua = upstream_of("app", &a);
    assert_int_equal(jn_gateway_set_app(g, "app.test", ua, true, 3000), 0);
    pthread_join(t, NULL);
    assert_int_equal(waiting.status, 200);
    assert_string_equal(waiting.body, "A");
    assert_true(waiting.ms >= 250 && waiting.ms < 2000);

    /* never ready: 503 with Retry-After after the wait timeout */
    assert_int_equal(jn_gateway_set_app(g, "cold.test", empty, true, 200), 0);
    r = get(port, "cold.test");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.head, "Retry-After:"));
    assert_true(r.ms >= 150);
    /* not flagged wait_ready: 502 at once, as a static upstream */
    assert_int_equal(jn_gateway_set_app(g, "static.test", empty, false, 0), 0);
    r = get(port, "static.test");
    assert_int_equal(r.status, 502);
    assert_true(r.ms < 150);

    assert_int_equal(jn_gateway_remove_app(g, "app.test"), 0);
    assert_int_equal(jn_gateway_remove_app(g, "app.test"), JN_ENOTFOUND);
    usleep(20000);
    assert_string_equal(get(port, "app.test").body, "B"); /* the default server again */
    assert_int_equal(jn_gateway_set_app(g, "bad host", ua, false, 0), JN_EBADINPUT);

    jn_upstream_unref(ub);
    jn_upstream_unref(empty);
    jn_upstream_unref(ua);
    jn_gateway_free(g);
    jn_loop_free(loop);
    backend_stop(&a);
    backend_stop(&b);
}

/* A deploy drains the old peers and publishes their successors: a worker that
 * sees the drain before the new snapshot waits for it instead of failing. */
static void test_drained_upstream_waits_for_its_successor(void **state)
{
    (void)state;
    struct backend a, b;
    backend_start(&a, "A");
    backend_start(&b, "B");
    const char *text = "events {} http { server { listen 127.0.0.1:0; access_log off;\n"
                       "  location / { return 404; } } }\n";
    struct jn_conf *conf;
    char err[512];
    assert_int_equal(jn_conf_load_string("t.conf", text, strlen(text), &conf, err, sizeof(err)), 0);
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    struct jn_gateway *g;
    assert_int_equal(jn_gateway_start(loop, conf, &g, err, sizeof(err)), 0);
    int port = jn_gateway_listen_port(g, 0);
    struct jn_upstream *ua = upstream_of("swap", &a);
    assert_int_equal(jn_gateway_set_app(g, "swap.test", ua, false, 0), 0);
    usleep(20000);
    assert_string_equal(get(port, "swap.test").body, "A");

    /* the old peer drains first (peer state is shared by every snapshot) ... */
    atomic_store(&ua->peers[0]->state, JN_PEER_DRAIN);
    struct get waiting = {.port = port, .host = "swap.test"};
    pthread_t t;
    pthread_create(&t, NULL, do_get, &waiting);
    usleep(200000);
    /* ... and its successor arrives later: the request is served by it */
    struct jn_upstream *ub = upstream_of("swap", &b);
    assert_int_equal(jn_gateway_set_app(g, "swap.test", ub, false, 0), 0);
    pthread_join(t, NULL);
    assert_int_equal(waiting.status, 200);
    assert_string_equal(waiting.body, "B");

    /* drained with no successor: 502 after the short transition wait */
    atomic_store(&ub->peers[0]->state, JN_PEER_DRAIN);
    struct get r = get(port, "swap.test");
    assert_int_equal(r.status, 502);
    assert_true(r.ms >= 900 && r.ms < 3000);

    jn_upstream_unref(ua);
    jn_upstream_unref(ub);
    jn_gateway_free(g);
    jn_loop_free(loop);
    backend_stop(&a);
    backend_stop(&b);
}

static void test_start_fails_cleanly_on_a_busy_address(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 1), 0);
    char text[256];
    int n =
        snprintf(text, sizeof(text),
                 "events {} http { server { listen 127.0.0.1:%d; location / { return 200; } } }\n",
                 jn_sock_local_port(fd));
    struct jn_conf *conf;
    char err[512];
    assert_int_equal(jn_conf_load_string("busy.conf", text, (size_t)n, &conf, err, sizeof(err)), 0);
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    struct jn_gateway *g = NULL;
    assert_true(jn_gateway_start(loop, conf, &g, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "listen 127.0.0.1:"));
    jn_loop_free(loop);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apps_upstreams_and_wait_for_ready),
        cmocka_unit_test(test_drained_upstream_waits_for_its_successor),
        cmocka_unit_test(test_start_fails_cleanly_on_a_busy_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
