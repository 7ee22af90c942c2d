#include "jn_test.h"

#include "control/deploy/deploy_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A one-connection server on 127.0.0.1 (or a unix socket) answering `reply` (NULL: accept and
 * stay silent; "" : close at once). */
struct srv {
    int fd, port;
    char addr[64]; /* "127.0.0.1:PORT", as jn_store_instance_addr writes it */
    const char *reply;
    char got[512];
    pthread_t th;
};

static void *serve(void *arg)
{
    struct srv *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    ssize_t n = recv(c, s->got, sizeof(s->got) - 1, 0);
    if (n > 0)
        s->got[n] = '\0';
    if (s->reply && *s->reply)
        send(c, s->reply, strlen(s->reply), MSG_NOSIGNAL);
    if (!s->reply)
        usleep(400 * 1000);
    close(c);
    return NULL;
}

static void srv_start(struct srv *s, const char *reply)
{
    memset(s, 0, sizeof(*s));
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t l = sizeof(sa);
    getsockname(s->fd, (struct sockaddr *)&sa, &l);
    s->port = ntohs(sa.sin_port);
    snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
    assert_int_equal(listen(s->fd, 4), 0);
    pthread_create(&s->th, NULL, serve, s);
}

static void srv_stop(struct srv *s)
{
    pthread_join(s->th, NULL);
    close(s->fd);
}

static void test_2xx_is_healthy(void **state)
{
    struct srv s;
    char msg[256] = "";
    srv_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(jn_health_probe(s.addr, "/health", 1000, msg, sizeof(msg)), 0);
    srv_stop(&s);
    assert_non_null(strstr(s.got, "GET /health HTTP/1.1\r\n"));
}

static void test_5xx_names_the_status(void **state)
{
    struct srv s;
    char msg[256] = "";
    srv_start(&s, "HTTP/1.1 500 Internal Server Error\r\n\r\n");
    assert_int_equal(jn_health_probe(s.addr, "/health", 1000, msg, sizeof(msg)), JN_EUPSTREAM);
    srv_stop(&s);
    assert_non_null(strstr(msg, "answered 500"));
}

static void test_silence_times_out(void **state)
{
    struct srv s;
    char msg[256] = "";
    srv_start(&s, NULL);
    int64_t t = jn_now_ms();
    assert_int_equal(jn_health_probe(s.addr, "/h", 150, msg, sizeof(msg)), JN_ETIMEDOUT);
    assert_true(jn_now_ms() - t < 1000);
    assert_non_null(strstr(msg, "no answer in time"));
    srv_stop(&s);
}

static void test_close_and_garbage_fail(void **state)
{
    struct srv s;
    char msg[256] = "";
    srv_start(&s, "");
    assert_true(jn_health_probe(s.addr, "/h", 1000, msg, sizeof(msg)) < 0);
    srv_stop(&s);
    srv_start(&s, "SSH-2.0-OpenSSH_9.2p1 Debian\r\n");
    assert_int_equal(jn_health_probe(s.addr, "/h", 1000, msg, sizeof(msg)), JN_EUPSTREAM);
    assert_non_null(strstr(msg, "not an HTTP answer"));
    srv_stop(&s);
}

static void test_tcp_only_and_refused(void **state)
{
    struct srv s;
    char msg[256] = "";
    srv_start(&s, "");
    char addr[64];
    snprintf(addr, sizeof(addr), "%s", s.addr);
    assert_int_equal(jn_health_probe(addr, NULL, 1000, msg, sizeof(msg)), 0);
    srv_stop(&s);
    /* nothing listens there any more */
    assert_int_equal(jn_health_probe(addr, "/h", 1000, msg, sizeof(msg)), -ECONNREFUSED);
    assert_non_null(strstr(msg, "connect to 127.0.0.1:"));
}

/* deploy --socket unix: the same probe over a unix socket. */
static void test_unix_socket(void **state)
{
    struct srv s;
    char msg[256] = "", dir[] = "/tmp/jn-health-XXXXXX", addr[64], *path = addr + 5;
    assert_non_null(mkdtemp(dir));
    snprintf(addr, sizeof(addr), "unix:%s/app.sock", dir);
    memset(&s, 0, sizeof(s));
    s.reply = "HTTP/1.1 204 No Content\r\n\r\n";
    s.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s.fd, 4), 0);
    pthread_create(&s.th, NULL, serve, &s);
    assert_int_equal(jn_health_probe(addr, "/up", 1000, msg, sizeof(msg)), 0);
    srv_stop(&s);
    assert_non_null(strstr(s.got, "GET /up HTTP/1.1\r\nHost: localhost\r\n"));
    unlink(path);
    assert_int_equal(jn_health_probe(addr, "/up", 1000, msg, sizeof(msg)), -ENOENT);
    assert_non_null(strstr(msg, "connect to unix:/tmp/jn-health-"));
    rmdir(dir);
    assert_int_equal(jn_health_probe("nowhere", "/up", 1000, msg, sizeof(msg)), JN_EBADINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2xx_is_healthy),
        cmocka_unit_test(test_5xx_names_the_status),
        cmocka_unit_test(test_silence_times_out),
        cmocka_unit_test(test_close_and_garbage_fail),
        cmocka_unit_test(test_tcp_only_and_refused),
        cmocka_unit_test(test_unix_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
