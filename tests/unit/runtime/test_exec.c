/* The exec driver with real processes: $PORT, logs, stop (TERM, then KILL), exit codes,
 * process groups, limits, pause, and adoption by a new driver over the same state. */
#include "jn_test.h"

#include "rt_helpers.h"
#include "runtime/driver.h"
#include "runtime/exec_int.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char state_dir[256];
static char testapp[PATH_MAX];
static struct jn_driver *drv;

static int setup(void **st)
{
    snprintf(state_dir, sizeof(state_dir), "/tmp/jern-test-exec-XXXXXX");
    if (!mkdtemp(state_dir))
        return -1;
    int err;
    drv = jn_driver_exec_new(state_dir, &err);
    if (!drv)
        return -1;
    /* The monitor program as the daemon finds it beside itself (its build
     * dir's; the in-daemon fork is tested through JERN_MONITOR="" in
     * test_serverless.py). */
    static char mon[PATH_MAX], self[PATH_MAX];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[sn > 0 ? sn : 0] = '\0';
    const char *mine = strstr(self, "/build/asan/") ? "build/asan/jern-monitor"
                                                    : "build/jern-monitor";
    if (!getenv("JERN_MONITOR") && realpath(mine, mon) && access(mon, X_OK) == 0)
        setenv("JERN_MONITOR", mon, 1);
    /* The test app: the sanitizer build's when the suite runs against build/asan. */
    const char *cands[] = {getenv("JERN_TESTAPP"), "build/asan/jern-testapp", "build/jern-testapp"};
    for (size_t i = 0; i < JN_ARRAY_LEN(cands); i++)
        if (cands[i] && realpath(cands[i], testapp) && access(testapp, X_OK) == 0)
            return 0;
    fprintf(stderr, "test_exec: build the test app first (make)\n");
    return -1;
}

static int teardown(void **st)
{
    struct jn_instance *all;
    int n = jn_driver_list(drv, NULL, &all);
    for (int i = 0; i < n; i++)
        jn_driver_remove(drv, all[i].id);
    free(all);
    jn_driver_destroy(drv);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct jn_instance_spec spec_for(const char *name, const char *command, int port)
{
    struct jn_instance_spec s = {.name = name,
                                 .command = command,
                                 .host_port = port,
                                 .app = "web",
                                 .release = "r1",
                                 .instance = name};
    return s;
}

/* Waits until logs of id contain needle (stdout or stderr). */
static bool wait_log(const char *id, const char *needle, int ms)
{
    int64_t deadline = jn_now_ms() + ms;
    do {
        struct rt_logs l = {0};
        if (jn_driver_logs(drv, id, NULL, rt_log_sink, &l) == 0 &&
            (strstr(l.out, needle) || strstr(l.err, needle)))
            return true;
        rt_sleep_ms(20);
    } while (jn_now_ms() < deadline);
    return false;
}

static void wait_stopped(const char *id, struct jn_instance *info, int ms)
{
    int64_t deadline = jn_now_ms() + ms;
    do {
        assert_int_equal(jn_driver_inspect(drv, id, info), 0);
        if (!info->running)
            return;
        rt_sleep_ms(20);
    } while (jn_now_ms() < deadline);
    fail_msg("%s still running after %d ms", id, ms);
}

static void test_start_port_env_logs_stop(void **st)
{
    int port = rt_free_port();
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd), "echo port=$PORT app=$JERN_APP; echo to-stderr >&2; exec '%s'",
             testapp);
    const char *env[] = {"APP_NAME=exe", "GREETING=hi there", "PORT=1", NULL};
    struct jn_instance_spec s = spec_for("web-1", cmd, port);
    s.env = env;
    struct jn_instance info;
    int64_t t0 = time(NULL);
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    assert_true(info.running);
    assert_true(info.pid > 0);
    assert_string_equal(info.id, "web-1");
    assert_string_equal(info.app, "web");
    assert_string_equal(info.release, "r1");
    assert_int_equal(info.host_port, port);
    assert_true(info.started_at >= t0 - 2 && info.started_at <= t0 + 2);

    char body[4096], want[64];
    assert_int_equal(rt_http_get(port, "/", body, sizeof(body), 10000), 200);
    assert_string_equal(body, "hello from exe\n");
    /* $PORT is the allocated port even though env tried to set it. */
    assert_int_equal(rt_http_get(port, "/env/PORT", body, sizeof(body), 1000), 200);
    snprintf(want, sizeof(want), "%d", port);
    assert_string_equal(body, want);
    assert_int_equal(rt_http_get(port, "/env/GREETING", body, sizeof(body), 1000), 200);
    assert_string_equal(body, "hi there");
    /* The app is the process the driver reports. */
    assert_int_equal(rt_http_get(port, "/pid", body, sizeof(body), 1000), 200);
    assert_int_equal(atoi(body), info.pid);

    struct rt_logs l = {0};
    assert_int_equal(jn_driver_logs(drv, "web-1", NULL, rt_log_sink, &l), 0);
    snprintf(want, sizeof(want), "port=%d app=web\n", port);
    assert_non_null(strstr(l.out, want));
    assert_non_null(strstr(l.err, "to-stderr\n"));
    assert_null(strstr(l.out, "to-stderr"));

    int64_t s0 = jn_now_ms();
    assert_int_equal(jn_driver_stop(drv, "web-1", 5000), 0);
    assert_true(jn_now_ms() - s0 < 3000); /* the app exits on SIGTERM at once */
    assert_int_equal(jn_driver_inspect(drv, "web-1", &info), 0);
    assert_false(info.running);
    assert_int_equal(info.exit_code, 0);
    assert_int_equal(info.pid, 0);
    assert_int_equal(rt_http_get(port, "/", body, sizeof(body), 0), -1);
    /* Stopping a stopped instance is fine; logs outlive the process. */
    assert_int_equal(jn_driver_stop(drv, "web-1", 1000), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(jn_driver_logs(drv, "web-1", NULL, rt_log_sink, &l), 0);
    assert_non_null(strstr(l.out, "port="));
    assert_int_equal(jn_driver_remove(drv, "web-1"), 0);
    assert_int_equal(jn_driver_inspect(drv, "web-1", &info), JN_ENOTFOUND);
}

static void test_stop_kills_group_ignoring_term(void **st)
{
    /* The shell and its children ignore SIGTERM; a background child shares the group. */
    struct jn_instance_spec s = spec_for(
        "stubborn", "trap '' TERM; sleep 60 & echo child=$!; while :; do sleep 0.05; done", 0);
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    assert_true(wait_log("stubborn", "child=", 5000));
    struct rt_logs l = {0};
    jn_driver_logs(drv, "stubborn", NULL, rt_log_sink, &l);
    int child = atoi(strstr(l.out, "child=") + 6);
    assert_true(child > 0);
    assert_int_equal(kill(child, 0), 0);

    int64_t t0 = jn_now_ms();
    assert_int_equal(jn_driver_stop(drv, "stubborn", 400), 0);
    int64_t took = jn_now_ms() - t0;
    assert_true(took >= 400); /* it waited for the grace period */
    assert_true(took < 4000); /* ...then killed */
    assert_int_equal(jn_driver_inspect(drv, "stubborn", &info), 0);
    assert_false(info.running);
    assert_int_equal(info.exit_code, 128 + SIGKILL);
    /* The whole group went, not only the leader. */
    int64_t deadline = jn_now_ms() + 2000;
    while (kill(child, 0) == 0 && jn_now_ms() < deadline)
        rt_sleep_ms(10);
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", child);
    FILE *f = fopen(path, "r");
    if (f) { /* a zombie waiting for init to reap it is dead too */
        fgets(stat, sizeof(stat), f);
        fclose(f);
        assert_non_null(strstr(stat, ") Z"));
    }
    assert_int_equal(jn_driver_remove(drv, "stubborn"), 0);
}

static void test_exit_code_and_log_filters(void **st)
{
    struct jn_instance_spec s = spec_for("quick", "echo one; echo two; echo three >&2; exit 3", 0);
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    wait_stopped("quick", &info, 5000);
    assert_int_equal(info.exit_code, 3);

    struct rt_logs l = {0};
    assert_int_equal(jn_driver_logs(drv, "quick", NULL, rt_log_sink, &l), 0);
    assert_string_equal(l.out, "one\ntwo\n");
    assert_string_equal(l.err, "three\n");

    struct jn_logs_opts tail = {.tail = 1};
    memset(&l, 0, sizeof(l));
    assert_int_equal(jn_driver_logs(drv, "quick", &tail, rt_log_sink, &l), 0);
    assert_string_equal(l.out, "");
    assert_string_equal(l.err, "three\n");

    struct jn_logs_opts future = {.since = time(NULL) + 5};
    memset(&l, 0, sizeof(l));
    assert_int_equal(jn_driver_logs(drv, "quick", &future, rt_log_sink, &l), 0);
    assert_int_equal(l.calls, 0);

    struct jn_logs_opts past = {.since = time(NULL) - 60};
    memset(&l, 0, sizeof(l));
    assert_int_equal(jn_driver_logs(drv, "quick", &past, rt_log_sink, &l), 0);
    assert_int_equal(l.calls, 3);

    /* A sink may stop early. */
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    assert_int_equal(jn_driver_logs(drv, "quick", NULL, rt_log_sink, &l), 0);
    assert_int_equal(l.calls, 1);
    assert_int_equal(jn_driver_remove(drv, "quick"), 0);
}

/* An inspect that finds the app gone waits for its monitor's record of the
 * status: asked without pause while the monitor writes it and exits, it
 * never answers "ended, status unknown" (-1). The monitor may end between
 * the inspect's read of the record and its check of the monitor. */
static void test_exit_status_is_never_lost_to_a_race(void **st)
{
    int unknown = 0;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), "race%d", i);
        struct jn_instance_spec s = spec_for(name, "echo x; exit 7", 0);
        struct jn_instance info;
        assert_int_equal(jn_driver_start(drv, &s, &info), 0);
        int64_t deadline = jn_now_ms() + 5000;
        do
            assert_int_equal(jn_driver_inspect(drv, name, &info), 0);
        while (info.running && jn_now_ms() < deadline);
        assert_false(info.running);
        unknown += info.exit_code != 7;
        assert_int_equal(jn_driver_remove(drv, name), 0);
    }
    assert_int_equal(unknown, 0);
}

static void test_follow_until_exit(void **st)
{
    struct jn_instance_spec s =
        spec_for("follow", "for i in 1 2 3; do echo line$i; sleep 0.2; done", 0);
    assert_int_equal(jn_driver_start(drv, &s, NULL), 0);
    struct rt_logs l = {0};
    struct jn_logs_opts o = {.follow = true, .timeout_ms = 10000};
    int64_t t0 = jn_now_ms();
    assert_int_equal(jn_driver_logs(drv, "follow", &o, rt_log_sink, &l), 0);
    int64_t took = jn_now_ms() - t0;
    assert_string_equal(l.out, "line1\nline2\nline3\n");
    assert_true(took >= 300 && took < 5000); /* followed the output, returned at exit */

    /* A bounded follow of a process that keeps running returns at the bound. */
    struct jn_instance_spec s2 = spec_for("forever", "echo start; exec sleep 30", 0);
    assert_int_equal(jn_driver_start(drv, &s2, NULL), 0);
    memset(&l, 0, sizeof(l));
    o.timeout_ms = 500;
    t0 = jn_now_ms();
    assert_int_equal(jn_driver_logs(drv, "forever", &o, rt_log_sink, &l), 0);
    took = jn_now_ms() - t0;
    assert_true(took >= 450 && took < 3000);
    assert_string_equal(l.out, "start\n");
    assert_int_equal(jn_driver_remove(drv, "follow"), 0);
    assert_int_equal(jn_driver_remove(drv, "forever"), 0);
}

static void test_adoption_by_new_driver(void **st)
{
    int port = rt_free_port();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "exec '%s'", testapp);
    struct jn_instance_spec s = spec_for("keep", cmd, port);
    s.app = "adopt";
    s.release = "r7";
    s.instance = "keep-1";
    s.daemon = "jabc123";
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    char body[256];
    assert_int_equal(rt_http_get(port, "/health", body, sizeof(body), 10000), 200);

    /* The daemon "restarts": a fresh driver over the same state directory. */
    jn_driver_destroy(drv);
    int err;
    drv = jn_driver_exec_new(state_dir, &err);
    assert_non_null(drv);
    struct jn_instance *list;
    int n = jn_driver_list(drv, "adopt", &list);
    assert_int_equal(n, 1);
    assert_true(list[0].running);
    assert_int_equal(list[0].pid, info.pid);
    assert_string_equal(list[0].release, "r7");
    assert_string_equal(list[0].instance, "keep-1");
    assert_string_equal(list[0].daemon, "jabc123");
    assert_int_equal(list[0].host_port, port);
    assert_int_equal(list[0].started_at, info.started_at);
    free(list);
    assert_int_equal(jn_driver_list(drv, "nobody", &list), 0);
    free(list);
    /* Still the same process, still serving. */
    assert_int_equal(rt_http_get(port, "/pid", body, sizeof(body), 1000), 200);
    assert_int_equal(atoi(body), info.pid);

    /* A recorded pid whose start time differs is a different process (pid reuse):
     * it must not be adopted. */
    char meta[PATH_MAX], text[1024];
    snprintf(meta, sizeof(meta), "%s/instances/keep/meta", state_dir);
    FILE *f = fopen(meta, "r");
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    char *ticks = strstr(text, "start_ticks=");
    assert_non_null(ticks);
    char orig = ticks[12];
    ticks[12] = orig == '9' ? '8' : '9';
    f = fopen(meta, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    assert_int_equal(jn_driver_inspect(drv, "keep", &info), 0);
    assert_false(info.running);
    /* Restore, then stop through the adopting driver. */
    ticks[12] = orig;
    f = fopen(meta, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    assert_int_equal(jn_driver_inspect(drv, "keep", &info), 0);
    assert_true(info.running);
    assert_int_equal(jn_driver_stop(drv, "keep", 5000), 0);
    assert_int_equal(jn_driver_inspect(drv, "keep", &info), 0);
    assert_false(info.running);
    assert_int_equal(info.exit_code, 0);
    assert_int_equal(jn_driver_remove(drv, "keep"), 0);
}

static void test_memory_limit_and_pause(void **st)
{
    struct jn_instance_spec s =
        spec_for("limited", "ulimit -v; while :; do date +%s%N; sleep 0.05; done", 0);
    s.memory = 256 << 20;
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    assert_true(wait_log("limited", "262144\n", 5000)); /* KiB */

    assert_int_equal(jn_driver_pause(drv, "limited"), 0);
    assert_int_equal(jn_driver_inspect(drv, "limited", &info), 0);
    assert_true(info.running);
    assert_true(info.paused);
    /* Paused: no new output. */
    rt_sleep_ms(150);
    struct rt_logs a = {0}, b = {0};
    jn_driver_logs(drv, "limited", NULL, rt_log_sink, &a);
    rt_sleep_ms(300);
    jn_driver_logs(drv, "limited", NULL, rt_log_sink, &b);
    assert_int_equal(a.calls, b.calls);
    assert_int_equal(jn_driver_unpause(drv, "limited"), 0);
    assert_int_equal(jn_driver_inspect(drv, "limited", &info), 0);
    assert_false(info.paused);
    rt_sleep_ms(300);
    memset(&b, 0, sizeof(b));
    jn_driver_logs(drv, "limited", NULL, rt_log_sink, &b);
    assert_true(b.calls > a.calls);
    /* A paused instance still stops promptly. */
    assert_int_equal(jn_driver_pause(drv, "limited"), 0);
    int64_t t0 = jn_now_ms();
    assert_int_equal(jn_driver_stop(drv, "limited", 3000), 0);
    assert_true(jn_now_ms() - t0 < 2000);
    assert_int_equal(jn_driver_remove(drv, "limited"), 0);
}

static void test_bad_input_is_named(void **st)
{
    struct jn_instance_spec s = spec_for("dup", "exec sleep 30", 0);
    assert_int_equal(jn_driver_start(drv, &s, NULL), 0);
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EEXIST);
    assert_non_null(strstr(jn_driver_errmsg(drv), "dup already exists"));
    assert_int_equal(jn_driver_remove(drv, "dup"), 0);

    s = spec_for("bad name!", "true", 0);
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "instance name"));
    s = spec_for("nocmd", NULL, 0);
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "no command"));
    s = spec_for("cpu", "true", 0);
    s.cpus = 0.5;
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EUNSUPPORTED);
    assert_non_null(strstr(jn_driver_errmsg(drv), "--cpus"));
    struct jn_volume v = {"/tmp", "/data", false};
    s = spec_for("vol", "true", 0);
    s.volumes = &v;
    s.n_volumes = 1;
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EUNSUPPORTED);
    s = spec_for("lbl", "true", 0);
    s.app = "has space";
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "jern.app"));
    s = spec_for("lbl", "true", 0);
    s.daemon = "bad/id";
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "jern.daemon"));
    const char *env[] = {"NOEQUALS", NULL};
    s = spec_for("env", "true", 0);
    s.env = env;
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    s = spec_for("wd", "true", 0);
    s.workdir = "/nonexistent/dir";
    assert_int_equal(jn_driver_start(drv, &s, NULL), JN_EBADINPUT);
    assert_non_null(strstr(jn_driver_errmsg(drv), "/nonexistent/dir"));

    struct jn_instance info;
    assert_int_equal(jn_driver_inspect(drv, "ghost", &info), JN_ENOTFOUND);
    assert_int_equal(jn_driver_stop(drv, "ghost", 10), JN_ENOTFOUND);
    assert_int_equal(jn_driver_remove(drv, "ghost"), JN_ENOTFOUND);
    assert_int_equal(jn_driver_inspect(drv, "../etc", &info), JN_EBADINPUT);
    char id[80];
    assert_int_equal(jn_driver_image_ensure(drv, "alpine", NULL, id, sizeof(id)), JN_EUNSUPPORTED);
    char ver[256];
    assert_int_equal(jn_driver_version(drv, ver, sizeof(ver)), 0);
    assert_string_equal(jn_driver_name(drv), "exec");

    /* Failed starts left nothing behind. */
    struct jn_instance *list;
    assert_int_equal(jn_driver_list(drv, NULL, &list), 0);
    free(list);
}

/* stdin: the caller's pipe when given (its end of input reaches the app, even
 * though the monitor outlives the caller's write end), else /dev/null. */
static void test_stdin_from_a_pipe_or_empty(void **st)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct jn_instance_spec s = spec_for("job-1", "cat; echo end-of-input", 0);
    s.has_stdin = true;
    s.stdin_fd = p[0];
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    close(p[0]);
    assert_int_equal(write(p[1], "typed line\n", 11), 11);
    assert_true(wait_log("job-1", "typed line", 10000));
    jn_driver_inspect(drv, "job-1", &info);
    assert_true(info.running); /* cat still waits for more */
    close(p[1]);
    wait_stopped("job-1", &info, 10000);
    assert_int_equal(info.exit_code, 0);
    assert_true(wait_log("job-1", "end-of-input", 1000));
    assert_int_equal(jn_driver_remove(drv, "job-1"), 0);

    s = spec_for("job-2", "cat; echo nothing-to-read", 0);
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    wait_stopped("job-2", &info, 10000);
    assert_true(wait_log("job-2", "nothing-to-read", 1000));
    assert_int_equal(jn_driver_remove(drv, "job-2"), 0);
}

/* Which commands run without a shell, and how they split. */
static void test_simple_commands_skip_the_shell(void **st)
{
    char *w, *argv[EXEC_ARGS_CAP + 1];
    char *env[] = {"PATH=/usr/bin:/bin", "HOST=127.0.0.1", NULL};
    assert_true(jn_exec_split_simple("  bin/server --port=8080\t-v ", env, &w, argv));
    assert_string_equal(argv[0], "bin/server");
    assert_string_equal(argv[1], "--port=8080");
    assert_string_equal(argv[2], "-v");
    assert_null(argv[3]);
    free(w);
    assert_true(jn_exec_split_simple("python3 app.py", env, &w, argv));
    assert_string_equal(argv[0], "python3");
    free(w);
    const char *shell[] = {"exec sleep 30x;", "echo $PORT", "a 'b c'", "a \"b\"", "a > log",
                           "a | b", "a && b", "ls *.c", "~/bin/x", "FOO=1 app", "a\\ b",
                           "a # note", "cd /x\nrun", "", "   "};
    for (size_t i = 0; i < JN_ARRAY_LEN(shell); i++) {
        assert_false(jn_exec_split_simple(shell[i], env, &w, argv));
        assert_null(w);
    }
    /* Too many words, or the app's own PATH: the shell decides. */
    char many[EXEC_ARGS_CAP * 2 + 8];
    for (int i = 0; i <= EXEC_ARGS_CAP; i++)
        memcpy(many + 2 * i, "a ", 2);
    many[2 * EXEC_ARGS_CAP + 2] = '\0';
    assert_false(jn_exec_split_simple(many, env, &w, argv));
    char *own_path[] = {"PATH=/usr/bin:/bin", "PATH=/opt/app/bin", NULL};
    assert_false(jn_exec_split_simple("server", own_path, &w, argv));
}

/* A command without shell syntax is the instance's process itself (no sh
 * between), and a missing program is named with the shell's exit code 127. */
static void test_direct_exec_is_the_instance(void **st)
{
    struct jn_instance_spec s = spec_for("direct", "sleep 30", 0);
    struct jn_instance info;
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)info.pid);
    FILE *f = NULL;
    for (int i = 0; i < 100 && !strstr(comm, "sleep"); i++) {
        rt_sleep_ms(10);
        if ((f = fopen(path, "re"))) {
            if (!fgets(comm, sizeof(comm), f))
                comm[0] = '\0';
            fclose(f);
        }
    }
    assert_non_null(strstr(comm, "sleep"));
    assert_int_equal(jn_driver_stop(drv, "direct", 2000), 0);
    assert_int_equal(jn_driver_remove(drv, "direct"), 0);

    s = spec_for("missing", "no-such-program-here --flag", 0);
    assert_int_equal(jn_driver_start(drv, &s, &info), 0);
    wait_stopped("missing", &info, 5000);
    assert_int_equal(info.exit_code, 127);
    assert_true(wait_log("missing", "cannot execute no-such-program-here: not found", 1000));
    assert_int_equal(jn_driver_remove(drv, "missing"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_port_env_logs_stop),
        cmocka_unit_test(test_stop_kills_group_ignoring_term),
        cmocka_unit_test(test_exit_code_and_log_filters),
        cmocka_unit_test(test_exit_status_is_never_lost_to_a_race),
        cmocka_unit_test(test_follow_until_exit),
        cmocka_unit_test(test_adoption_by_new_driver),
        cmocka_unit_test(test_memory_limit_and_pause),
        cmocka_unit_test(test_bad_input_is_named),
        cmocka_unit_test(test_stdin_from_a_pipe_or_empty),
        cmocka_unit_test(test_simple_commands_skip_the_shell),
        cmocka_unit_test(test_direct_exec_is_the_instance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
