#include "jn_test.h"

#include "net/sock.h"

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

static void test_addr_parse(void **state)
{
    struct jn_addr a;
    char buf[128];
    assert_int_equal(jn_addr_parse("127.0.0.1:8080", 0, &a), 0);
    assert_string_equal(jn_addr_format(&a, buf, sizeof(buf)), "127.0.0.1:8080");
    assert_int_equal(jn_addr_parse("[::1]:80", 0, &a), 0);
    assert_string_equal(jn_addr_format(&a, buf, sizeof(buf)), "[::1]:80");
    assert_int_equal(jn_addr_parse("8080", 0, &a), 0);
    assert_string_equal(jn_addr_format(&a, buf, sizeof(buf)), "0.0.0.0:8080");
    assert_int_equal(jn_addr_parse("localhost", 80, &a), 0);
    assert_string_equal(jn_addr_format(&a, buf, sizeof(buf)), "127.0.0.1:80");
    assert_int_equal(jn_addr_parse("unix:/tmp/x.sock", 0, &a), 0);
    assert_string_equal(jn_addr_format(&a, buf, sizeof(buf)), "unix:/tmp/x.sock");
    assert_int_equal(jn_addr_parse("127.0.0.1", 0, &a), JN_EBADINPUT);
    assert_int_equal(jn_addr_parse("127.0.0.1:99999", 0, &a), JN_EBADINPUT);
    assert_int_equal(jn_addr_parse("::1:80", 0, &a), JN_EBADINPUT);
    assert_int_equal(jn_addr_parse("example.com:80", 0, &a), JN_EBADINPUT);
    assert_int_equal(jn_addr_parse("1.2.3.4:8x", 0, &a), JN_EBADINPUT);
}

static void test_listen_connect_accept(void **state)
{
    struct jn_addr a;
    assert_int_equal(jn_addr_parse("127.0.0.1:0", 0, &a), 0);
    int lfd = jn_sock_listen(&a, 16, true);
    assert_true(lfd >= 0);
    int port = jn_sock_local_port(lfd);
    assert_true(port > 0);
    struct jn_addr to;
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%d", port);
    assert_int_equal(jn_addr_parse(text, 0, &to), 0);
    int cfd = jn_sock_connect(&to);
    assert_true(cfd >= 0);
    struct pollfd p = {.fd = cfd, .events = POLLOUT};
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(jn_sock_error(cfd), 0);
    struct pollfd pl = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 1000), 1);
    struct jn_addr peer;
    int afd = jn_sock_accept(lfd, &peer);
    assert_true(afd >= 0);
    assert_int_equal(jn_sock_accept(lfd, NULL), -EAGAIN);
    close(afd);
    close(cfd);
    close(lfd);
}

static void test_connect_refused(void **state)
{
    struct jn_addr a;
    /* bind then close to get a port nobody listens on */
    assert_int_equal(jn_addr_parse("127.0.0.1:0", 0, &a), 0);
    int lfd = jn_sock_listen(&a, 1, false);
    int port = jn_sock_local_port(lfd);
    close(lfd);
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%d", port);
    assert_int_equal(jn_addr_parse(text, 0, &a), 0);
    int fd = jn_sock_connect(&a);
    assert_true(fd >= 0);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(jn_sock_error(fd), -ECONNREFUSED);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_listen_connect_accept),
        cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
