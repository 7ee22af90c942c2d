#include "jn_test.h"

#include "net/owner.h"
#include "net/sock.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_free_and_own_addresses_pass(void **state)
{
    struct jn_addr a;
    char err[256] = "";
    assert_int_equal(jn_addr_parse("127.0.0.1:0", 0, &a), 0);
    int lfd = jn_sock_listen(&a, 16, true);
    assert_true(lfd >= 0);
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%d", jn_sock_local_port(lfd));
    assert_int_equal(jn_addr_parse(text, 0, &a), 0);
    /* this process's own listener: a reload keeps it */
    assert_int_equal(jn_sock_check_free(&a, err, sizeof(err)), 0);
    close(lfd);
    assert_int_equal(jn_sock_check_free(&a, err, sizeof(err)), 0);
    assert_int_equal(jn_addr_parse("unix:/tmp/jn-owner-test.sock", 0, &a), 0);
    assert_int_equal(jn_sock_check_free(&a, err, sizeof(err)), 0);
}

static void test_another_process_is_named(void **state)
{
    struct jn_addr a;
    assert_int_equal(jn_addr_parse("127.0.0.1:0", 0, &a), 0);
    int lfd = jn_sock_listen(&a, 16, true);
    assert_true(lfd >= 0);
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%d", jn_sock_local_port(lfd));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* the child keeps the listener; the parent lets go of its copy */
        close(ready[0]);
        assert_int_equal(write(ready[1], "x", 1), 1);
        pause();
        _exit(0);
    }
    close(lfd);
    close(ready[1]);
    char x;
    assert_int_equal(read(ready[0], &x, 1), 1);
    close(ready[0]);
    assert_int_equal(jn_addr_parse(text, 0, &a), 0);
    char err[256] = "", want[128];
    assert_int_equal(jn_sock_check_free(&a, err, sizeof(err)), -EADDRINUSE);
    snprintf(want, sizeof(want), "address %s already in use by pid %d (", text, (int)pid);
    assert_non_null(strstr(err, want));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_and_own_addresses_pass),
        cmocka_unit_test(test_another_process_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
