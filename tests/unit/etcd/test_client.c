/* The etcd client against a real etcd (Debian's etcd-server), started here on
 * a free loopback port; skipped when /usr/bin/etcd is missing. */
#include "jn_test.h"

#include "etcd/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t etcd_pid;
static char dir[64], url[64];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static int start_etcd(void **state)
{
    if (access("/usr/bin/etcd", X_OK) != 0)
        return 0;
    snprintf(dir, sizeof(dir), "/tmp/jn-etcd-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int cp = free_port(), pp = free_port();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", cp);
    char peer[64], data[96], cluster[96];
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", pp);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(cluster, sizeof(cluster), "default=%s", peer);
    etcd_pid = fork();
    if (etcd_pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/usr/bin/etcd", "etcd", "--data-dir", data, "--listen-client-urls", url,
              "--advertise-client-urls", url, "--listen-peer-urls", peer,
              "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster, (char *)NULL);
        _exit(127);
    }
    char msg[256];
    struct jn_etcd *e = jn_etcd_new(url, 500, msg, sizeof(msg));
    for (int i = 0; i < 100; i++) { /* up to 10 s under load */
        struct jn_etcd_kv *kvs;
        size_t n;
        if (jn_etcd_range(e, "/", true, &kvs, &n, NULL) == 0) {
            jn_etcd_kvs_free(kvs, n);
            break;
        }
        usleep(100 * 1000);
    }
    jn_etcd_free(e);
    return 0;
}

static int stop_etcd(void **state)
{
    if (etcd_pid > 0) {
        kill(etcd_pid, SIGKILL);
        waitpid(etcd_pid, NULL, 0);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 0;
    }
    return 0;
}

static struct jn_etcd *client(void)
{
    if (etcd_pid <= 0)
        skip();
    char msg[256];
    struct jn_etcd *e = jn_etcd_new(url, 2000, msg, sizeof(msg));
    assert_non_null(e);
    return e;
}

static void test_bad_endpoints_are_refused(void **state)
{
    char msg[256];
    assert_null(jn_etcd_new("127.0.0.1:2379", 0, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "http://HOST:PORT"));
    assert_null(jn_etcd_new("", 0, msg, sizeof(msg)));
}

static void test_put_range_delete(void **state)
{
    struct jn_etcd *e = client();
    assert_int_equal(jn_etcd_put(e, "/t/a/1", "one", 0), 0);
    assert_int_equal(jn_etcd_put(e, "/t/a/2", "two", 0), 0);
    assert_int_equal(jn_etcd_put(e, "/t/b", "other", 0), 0);
    struct jn_etcd_kv *kvs;
    size_t n;
    int64_t rev = 0;
    assert_int_equal(jn_etcd_range(e, "/t/a/", true, &kvs, &n, &rev), 0);
    assert_int_equal(n, 2);
    assert_true(rev > 0);
    assert_string_equal(kvs[0].key, "/t/a/1");
    assert_string_equal(kvs[1].value, "two");
    jn_etcd_kvs_free(kvs, n);
    assert_int_equal(jn_etcd_delete(e, "/t/a/", true), 0);
    assert_int_equal(jn_etcd_range(e, "/t/", true, &kvs, &n, NULL), 0);
    assert_int_equal(n, 1);
    jn_etcd_kvs_free(kvs, n);
    jn_etcd_free(e);
}

static void test_create_and_cas(void **state)
{
    struct jn_etcd *e = client();
    struct jn_etcd_kv cur;
    assert_int_equal(jn_etcd_create(e, "/t/leader", "n1", 0, &cur), 1);
    assert_int_equal(jn_etcd_create(e, "/t/leader", "n2", 0, &cur), 0);
    assert_string_equal(cur.value, "n1");
    assert_int_equal(jn_etcd_cas(e, "/t/leader", cur.mod_revision + 1, "n3"), 0);
    assert_int_equal(jn_etcd_cas(e, "/t/leader", cur.mod_revision, "n3"), 1);
    free(cur.key);
    free(cur.value);
    jn_etcd_free(e);
}

static void test_lease_keepalive_and_revoke_drop_keys(void **state)
{
    struct jn_etcd *e = client();
    int64_t id = 0;
    int ttl = 0;
    assert_int_equal(jn_etcd_lease_grant(e, 5, &id), 0);
    assert_int_equal(jn_etcd_put(e, "/t/node", "up", id), 0);
    assert_int_equal(jn_etcd_lease_keepalive(e, id, &ttl), 0);
    assert_true(ttl > 0);
    assert_int_equal(jn_etcd_lease_revoke(e, id), 0);
    assert_int_equal(jn_etcd_lease_keepalive(e, id, &ttl), 0);
    assert_int_equal(ttl, 0);
    struct jn_etcd_kv *kvs;
    size_t n;
    assert_int_equal(jn_etcd_range(e, "/t/node", false, &kvs, &n, NULL), 0);
    assert_int_equal(n, 0);
    jn_etcd_kvs_free(kvs, n);
    assert_int_equal(jn_etcd_put(e, "/t/node", "up", id), JN_EUPSTREAM);
    assert_non_null(strstr(jn_etcd_errmsg(e), "lease not found"));
    jn_etcd_free(e);
}

static int seen;

static int on_event(void *arg, const struct jn_etcd_kv *kvs, size_t n, int64_t rev)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kvs[i].key, "/t/w/x") == 0 && kvs[i].value &&
            strcmp(kvs[i].value, "v") == 0)
            seen++;
    return seen > 0;
}

static void test_watch_sees_a_put_made_after_its_revision(void **state)
{
    struct jn_etcd *e = client();
    struct jn_etcd_kv *kvs;
    size_t n;
    int64_t rev;
    assert_int_equal(jn_etcd_range(e, "/t/w/", true, &kvs, &n, &rev), 0);
    jn_etcd_kvs_free(kvs, n);
    assert_int_equal(jn_etcd_put(e, "/t/w/x", "v", 0), 0);
    seen = 0;
    assert_int_equal(jn_etcd_watch(e, "/t/w/", rev + 1, 5000, on_event, NULL), 0);
    assert_int_equal(seen, 1);
    jn_etcd_free(e);
}

static void test_unreachable_etcd_fails_fast_with_a_message(void **state)
{
    char msg[256], u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d", free_port());
    struct jn_etcd *e = jn_etcd_new(u, 500, msg, sizeof(msg));
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(jn_etcd_put(e, "/x", "y", 0), JN_ECLOSED);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec < 2);
    assert_non_null(strstr(jn_etcd_errmsg(e), "etcd is unreachable"));
    jn_etcd_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_endpoints_are_refused),
        cmocka_unit_test(test_put_range_delete),
        cmocka_unit_test(test_create_and_cas),
        cmocka_unit_test(test_lease_keepalive_and_revoke_drop_keys),
        cmocka_unit_test(test_watch_sees_a_put_made_after_its_revision),
        cmocka_unit_test(test_unreachable_etcd_fails_fast_with_a_message),
    };
    return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
