/* The docker driver against the real Podman service (scripts/podman-service.sh) and a
 * real private registry (Debian's docker-registry with htpasswd on loopback). Skips,
 * saying so, only when podman is not installed. */
#include "jn_test.h"

#include "rt_helpers.h"
#include "runtime/docker_attach.h"
#include "runtime/driver.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static bool have_podman;
static char dir[256];
static char sock[320];
static char tag[32];
static char image[128];
static char app[64];
static pid_t registry_pid;
static struct jn_driver *drv;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int setup(void **st)
{
    have_podman = sh("command -v podman >/dev/null 2>&1") == 0;
    if (!have_podman) {
        fprintf(stderr, "test_docker: SKIPPED: podman is not installed "
                        "(scripts/install-deps.sh installs it)\n");
        return 0;
    }
    snprintf(dir, sizeof(dir), "/tmp/jern-test-docker-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(sock, sizeof(sock), "%s/podman.sock", dir);
    snprintf(tag, sizeof(tag), "t%d", (int)getpid());
    snprintf(image, sizeof(image), "localhost/jern-testapp:%s", tag);
    snprintf(app, sizeof(app), "dkt-%d", (int)getpid());
    if (sh("scripts/podman-service.sh start '%s'", dir) != 0)
        return -1;
    char conf[320];
    snprintf(conf, sizeof(conf), "%s/containers.conf", dir);
    setenv("CONTAINERS_CONF", conf, 1);
    if (sh("scripts/build-testapp-image.sh %s >/dev/null", tag) != 0)
        return -1;
    drv = jn_driver_docker_new(sock);
    return 0;
}

static int teardown(void **st)
{
    if (!have_podman)
        return 0;
    struct jn_instance *all;
    int n = jn_driver_list(drv, app, &all);
    for (int i = 0; i < n; i++)
        jn_driver_remove(drv, all[i].id);
    free(all);
    jn_driver_destroy(drv);
    if (registry_pid > 0) {
        kill(registry_pid, SIGTERM);
        waitpid(registry_pid, NULL, 0);
    }
    sh("podman rmi -f %s >/dev/null 2>&1", image);
    sh("scripts/podman-service.sh stop '%s'", dir);
    /* The service may still be letting go of files in dir as it exits: retry the
     * removal for a while; a leftover temp dir is not a failure of the driver. */
    for (int i = 0; i < 50; i++) {
        if (sh("rm -rf '%s' 2>/dev/null", dir) == 0)
            return 0;
        usleep(100000);
    }
    fprintf(stderr, "test_docker: warning: could not remove %s\n", dir);
    return 0;
}

#define NEED_PODMAN()                                                                              \
    do {                                                                                           \
        if (!have_podman)                                                                          \
            skip();                                                                                \
    } while (0)

static void test_version_negotiated(void **st)
{
    NEED_PODMAN();
    char ver[256];
    assert_int_equal(jn_driver_version(drv, ver, sizeof(ver)), 0);
    assert_non_null(strstr(ver, "API 1."));
    assert_string_equal(jn_driver_name(drv), "docker");
}

static void test_lifecycle(void **st)
{
    NEED_PODMAN();
    char id[128];
    assert_int_equal(jn_driver_image_ensure(drv, image, NULL, id, sizeof(id)), 0);
    assert_memory_equal(id, "sha256:", 7);
    assert_int_equal(strlen(id), 7 + 64);

    int port = rt_free_port();
    char name[96];
    snprintf(name, sizeof(name), "%s-web-1", app);
    const char *env[] = {"APP_NAME=dk", "SECRET=s3 cr3t", NULL};
    struct jn_instance_spec s = {.name = name,
                                 .image = id,
                                 .env = env,
                                 .app_port = 8080,
                                 .host_port = port,
                                 .memory = 128 << 20,
                                 .cpus = 0.5,
                                 .app = app,
                                 .release = "r3",
                                 .instance = "web-1",
                                 .daemon = "jdk42"};
    struct jn_instance info;
    int64_t t0 = time(NULL);
    int rc = jn_driver_start(drv, &s, &info);
    if (rc)
        fail_msg("start: %s", jn_driver_errmsg(drv));
    assert_true(info.running);
    assert_true(info.pid > 0);
    assert_int_equal(strlen(info.id), 64);
    assert_string_equal(info.name, name);
    assert_string_equal(info.app, app);
    assert_string_equal(info.release, "r3");
    assert_string_equal(info.instance, "web-1");
    assert_int_equal(info.host_port, port);
    assert_true(info.started_at >= t0 - 2 && info.started_at <= t0 + 5);

    /* The container answers on its published 127.0.0.1 port. */
    char body[4096], want[128];
    assert_int_equal(rt_http_get(port, "/", body, sizeof(body), 15000), 200);
    snprintf(want, sizeof(want), "hello from dk %s\n", tag);
    assert_string_equal(body, want);
    assert_int_equal(rt_http_get(port, "/env/PORT", body, sizeof(body), 1000), 200);
    assert_string_equal(body, "8080");
    assert_int_equal(rt_http_get(port, "/env/SECRET", body, sizeof(body), 1000), 200);
    assert_string_equal(body, "s3 cr3t");

    /* Listed by label, by ID or by name. */
    struct jn_instance *list;
    assert_int_equal(jn_driver_list(drv, app, &list), 1);
    assert_string_equal(list[0].id, info.id);
    assert_true(list[0].running);
    assert_string_equal(list[0].release, "r3");
    assert_string_equal(list[0].daemon, "jdk42");
    free(list);
    assert_int_equal(jn_driver_list(drv, "dkt-nobody", &list), 0);
    free(list);
    struct jn_instance by_name;
    assert_int_equal(jn_driver_inspect(drv, name, &by_name), 0);
    assert_string_equal(by_name.id, info.id);

    /* Logs: the app's startup line, on stderr. */
    struct rt_logs l = {0};
    assert_int_equal(jn_driver_logs(drv, info.id, NULL, rt_log_sink, &l), 0);
    assert_non_null(strstr(l.err, "listening on 0.0.0.0:8080"));
    struct jn_logs_opts future = {.since = time(NULL) + 60};
    memset(&l, 0, sizeof(l));
    assert_int_equal(jn_driver_logs(drv, info.id, &future, rt_log_sink, &l), 0);
    assert_int_equal(l.calls, 0);

    /* Pause and unpause (the cgroup freezer). */
    rc = jn_driver_pause(drv, info.id);
    if (rc)
        fail_msg("pause: %s", jn_driver_errmsg(drv));
    assert_int_equal(jn_driver_inspect(drv, info.id, &by_name), 0);
    assert_true(by_name.paused);
    assert_int_equal(jn_driver_unpause(drv, info.id), 0);
    assert_int_equal(rt_http_get(port, "/health", body, sizeof(body), 5000), 200);

    /* A bounded follow returns at its bound while the container runs. */
    struct jn_logs_opts follow = {.follow = true, .timeout_ms = 700};
    memset(&l, 0, sizeof(l));
    int64_t f0 = jn_now_ms();
    assert_int_equal(jn_driver_logs(drv, info.id, &follow, rt_log_sink, &l), 0);
    assert_true(jn_now_ms() - f0 >= 600);
    assert_non_null(strstr(l.err, "listening"));

    /* Stop: the app exits 0 on SIGTERM, well before the timeout. */
    int64_t s0 = jn_now_ms();
    assert_int_equal(jn_driver_stop(drv, info.id, 10000), 0);
    assert_true(jn_now_ms() - s0 < 8000);
    assert_int_equal(jn_driver_inspect(drv, info.id, &by_name), 0);
    assert_false(by_name.running);
    assert_int_equal(by_name.exit_code, 0);
    assert_int_equal(rt_http_get(port, "/", body, sizeof(body), 0), -1);
    assert_int_equal(jn_driver_stop(drv, info.id, 1000), 0); /* already stopped: fine */
    /* Logs outlive the stop; a stopped instance is still listed. */
    assert_int_equal(jn_driver_list(drv, app, &list), 1);
    assert_false(list[0].running);
    free(list);

    assert_int_equal(jn_driver_remove(drv, info.id), 0);
    assert_int_equal(jn_driver_inspect(drv, info.id, &by_name), JN_ENOTFOUND);
    assert_int_equal(jn_driver_list(drv, app, &list), 0);
    free(list);
}

static void test_crash_exit_code(void **st)
{
    NEED_PODMAN();
    int port = rt_free_port();
    char name[96], body[256];
    snprintf(name, sizeof(name), "%s-crash", app);
    struct jn_instance_spec s = {.name = name,
                                 .image = image,
                                 .app_port = 8080,
                                 .host_port = port,
                                 .app = app,
                                 .release = "r1",
                                 .instance = "crash"};
    struct jn_instance info;
    if (jn_driver_start(drv, &s, &info))
        fail_msg("start: %s", jn_driver_errmsg(drv));
    assert_int_equal(rt_http_get(port, "/health", body, sizeof(body), 15000), 200);
    rt_http_get(port, "/crash", body, sizeof(body), 0);
    int64_t deadline = jn_now_ms() + 10000;
    do {
        assert_int_equal(jn_driver_inspect(drv, info.id, &info), 0);
        if (!info.running)
            break;
        rt_sleep_ms(50);
    } while (jn_now_ms() < deadline);
    assert_false(info.running);
    assert_int_equal(info.exit_code, 1);
    assert_int_equal(jn_driver_remove(drv, info.id), 0);
}

static void test_errors_are_named(void **st)
{
    NEED_PODMAN();
    char name[96], id[128];
    int rc;
    snprintf(name, sizeof(name), "%s-dup", app);
    struct jn_instance_spec s = {.name = name,
                                 .image = image,
                                 .app_port = 8080,
                                 .app = app,
                                 .release = "r1",
                                 .instance = "dup"};
    struct jn_instance info;
    if (jn_driver_start(drv, &s, &info))
        fail_msg("start: %s", jn_driver_errmsg(drv));
    rc = jn_driver_start(drv, &s, NULL);
    if (rc != JN_EEXIST)
        fail_msg("duplicate start: %d %s", rc, jn_driver_errmsg(drv));
    assert_non_null(strstr(jn_driver_errmsg(drv), "already exists"));
    assert_int_equal(jn_driver_remove(drv, info.id), 0);

    s.image = "localhost/jern-no-such-image:none";
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_ENOTFOUND);
    assert_non_null(strstr(jn_driver_errmsg(drv), "jern-no-such-image"));
    s.image = "bad image ref";
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_int_equal(jn_driver_image_ensure(drv, "Bad Ref!", NULL, id, sizeof(id)), JN_EBADINPUT);
    assert_int_equal(jn_driver_inspect(drv, "0123456789ab", &info), JN_ENOTFOUND);
    assert_int_equal(jn_driver_stop(drv, "jern-never-existed", 10), JN_ENOTFOUND);
    assert_int_equal(jn_driver_remove(drv, "jern-never-existed"), JN_ENOTFOUND);
    /* Nothing was left behind by the failed starts. */
    struct jn_instance *list;
    assert_int_equal(jn_driver_list(drv, app, &list), 0);
    free(list);

    /* An engine that is not there: a message naming the socket and the fix. */
    struct jn_driver *none = jn_driver_docker_new("/nonexistent/podman.sock");
    char ver[128];
    assert_int_equal(jn_driver_version(none, ver, sizeof(ver)), -ECONNREFUSED);
    assert_non_null(strstr(jn_driver_errmsg(none), "/nonexistent/podman.sock"));
    assert_non_null(strstr(jn_driver_errmsg(none), "podman-service.sh"));
    jn_driver_destroy(none);
}

static int until_listening(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct rt_logs *l = arg;
    return rt_log_sink(arg, stream, data, len) || strstr(l->err, "listening") != NULL;
}

static void test_attached_stdin_and_output(void **st)
{
    NEED_PODMAN();
    char name[96], msg[512];
    snprintf(name, sizeof(name), "%s-attached", app);
    int in = -1, out = -1;
    struct jn_instance_spec s = {.name = name,
                                 .image = image,
                                 .app_port = 8080,
                                 .app = app,
                                 .release = "r1",
                                 .instance = "run",
                                 .has_stdin = true};
    /* Stdin asked for without a place to put its connection: refused. */
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "stdin_conn"));
    s.stdin_conn = &in;
    s.output_conn = &out;
    struct jn_instance info;
    if (jn_driver_start(drv, &s, &info))
        fail_msg("start: %s", jn_driver_errmsg(drv));
    assert_true(in >= 0 && out >= 0);
    /* The output connection has the app's first line, from its first byte. */
    struct rt_logs l = {0};
    volatile bool stop = false, ended = false;
    assert_int_equal(jn_driver_attached_output(out, &stop, &ended, until_listening, &l), 0);
    assert_non_null(strstr(l.err, "listening on 0.0.0.0:8080"));
    /* The stdin connection takes bytes and an end (the app reads none). */
    assert_int_equal(send(in, "ignored\n", 8, MSG_NOSIGNAL), 8);
    assert_int_equal(shutdown(in, SHUT_WR), 0);
    close(in);
    assert_int_equal(jn_driver_remove(drv, info.id), 0);
    /* Removed: the output connection ends. */
    memset(&l, 0, sizeof(l));
    ended = true;
    int64_t t0 = jn_now_ms();
    assert_int_equal(jn_driver_attached_output(out, &stop, &ended, rt_log_sink, &l), 0);
    assert_true(jn_now_ms() - t0 < 15000);
    close(out);

    /* An attach to what is not there names it. */
    assert_int_equal(jn_dk_attach(sock, "1.41", "jern-never-existed", true, 5000, msg,
                                  sizeof(msg)),
                     JN_ENOTFOUND);
    assert_non_null(strstr(msg, "attach jern-never-existed: 404"));
    assert_true(jn_dk_attach("/nonexistent/podman.sock", "1.41", "x", false, 1000, msg,
                             sizeof(msg)) < 0);
    assert_non_null(strstr(msg, "/nonexistent/podman.sock"));
}

/* Starts docker-registry with htpasswd auth on 127.0.0.1:port. */
static pid_t start_registry(int port)
{
    if (sh("htpasswd -Bbn jern s3cret > '%s/htpasswd'", dir) != 0)
        return -1;
    char conf[320], logp[320];
    snprintf(conf, sizeof(conf), "%s/registry.yml", dir);
    snprintf(logp, sizeof(logp), "%s/registry.log", dir);
    FILE *f = fopen(conf, "w");
    fprintf(
        f,
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s/reg\n"
        "  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n  secret: jern-test\n"
        "auth:\n  htpasswd:\n    realm: jern-test\n    path: %s/htpasswd\n",
        dir, port, dir);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("docker-registry", "docker-registry", "serve", conf, (char *)NULL);
        _exit(127);
    }
    char body[256];
    if (rt_http_get(port, "/v2/", body, sizeof(body), 10000) != 401)
        return -1;
    return pid;
}

static void test_private_registry_pull_with_credentials(void **st)
{
    NEED_PODMAN();
    if (sh("command -v docker-registry >/dev/null && command -v htpasswd >/dev/null") != 0)
        fail_msg("docker-registry and htpasswd are needed (scripts/install-deps.sh)");
    /* The service was told at start that 127.0.0.1:PORT is a plain-HTTP registry. */
    int port = rt_free_port();
    char conf[320];
    snprintf(conf, sizeof(conf), "%s/registries.conf", dir);
    assert_int_equal(sh("scripts/podman-service.sh stop '%s'", dir), 0);
    char reg[64];
    snprintf(reg, sizeof(reg), "127.0.0.1:%d", port);
    setenv("JERN_INSECURE_REGISTRIES", reg, 1);
    assert_int_equal(sh("scripts/podman-service.sh start '%s'", dir), 0);
    unsetenv("JERN_INSECURE_REGISTRIES");
    registry_pid = start_registry(port);
    assert_true(registry_pid > 0);

    /* Build a release only the registry has: push it, then delete the local copy. */
    char ref[160], rtag[64];
    snprintf(rtag, sizeof(rtag), "%s-reg", tag);
    snprintf(ref, sizeof(ref), "%s/jern-testapp:%s", reg, rtag);
    assert_int_equal(sh("scripts/build-testapp-image.sh %s %s/jern-testapp >/dev/null", rtag, reg),
                     0);
    assert_int_equal(sh("podman push -q --tls-verify=false --creds jern:s3cret %s", ref), 0);
    assert_int_equal(sh("podman rmi %s >/dev/null", ref), 0);
    assert_int_not_equal(sh("podman image exists %s", ref), 0);

    char id[128];
    int rc = jn_driver_image_ensure(drv, ref, NULL, id, sizeof(id));
    assert_true(rc < 0);
    assert_non_null(strstr(jn_driver_errmsg(drv), "unauthorized"));
    struct jn_registry_auth wrong = {"jern", "wrong", NULL};
    assert_true(jn_driver_image_ensure(drv, ref, &wrong, id, sizeof(id)) < 0);
    assert_non_null(strstr(jn_driver_errmsg(drv), ref));

    struct jn_registry_auth right = {"jern", "s3cret", NULL};
    rc = jn_driver_image_ensure(drv, ref, &right, id, sizeof(id));
    if (rc)
        fail_msg("pull: %s", jn_driver_errmsg(drv));
    assert_memory_equal(id, "sha256:", 7);
    assert_int_equal(sh("podman image exists %s", ref), 0);
    /* Present now: no second pull, even without credentials. */
    char id2[128];
    assert_int_equal(jn_driver_image_ensure(drv, ref, NULL, id2, sizeof(id2)), 0);
    assert_string_equal(id, id2);

    /* And it runs. */
    int hport = rt_free_port();
    char name[96], body[256], want[128];
    snprintf(name, sizeof(name), "%s-pulled", app);
    struct jn_instance_spec s = {.name = name,
                                 .image = ref,
                                 .app_port = 8080,
                                 .host_port = hport,
                                 .app = app,
                                 .release = "r9",
                                 .instance = "pulled"};
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    assert_int_equal(rt_http_get(hport, "/", body, sizeof(body), 15000), 200);
    snprintf(want, sizeof(want), "hello from testapp %s\n", rtag);
    assert_string_equal(body, want);
    assert_int_equal(jn_driver_remove(drv, info.id), 0);
    sh("podman rmi -f %s >/dev/null 2>&1", ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_negotiated),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_crash_exit_code),
        cmocka_unit_test(test_errors_are_named),
        cmocka_unit_test(test_attached_stdin_and_output),
        cmocka_unit_test(test_private_registry_pull_with_credentials),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
