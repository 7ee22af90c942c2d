/*
 * exec_spawn.c: how the exec driver starts an instance's monitor, detached
 * from the daemon (its own session, adopted by init): the jern-monitor
 * program when it is installed, else a fork of the daemon. See exec_int.h.
 */
#include "core/common.h"

#include "runtime/exec_int.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* The jern-monitor program (src/monitor/main.c): $JERN_MONITOR when set
 * (empty: none), else beside this executable, else ../lib/jern/ from it (the
 * package's layout). "" when there is none: the monitor then runs in a fork
 * of the daemon (fork_monitor). */
static char monitor_exe[PATH_CAP];

static void find_monitor(void)
{
    const char *env = getenv("JERN_MONITOR");
    if (env) {
        if (*env && access(env, X_OK) == 0)
            snprintf(monitor_exe, sizeof(monitor_exe), "%s", env);
        return;
    }
    char self[PATH_CAP];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    const char *rel[] = {"/jern-monitor", "/../lib/jern/jern-monitor"};
    for (size_t i = 0; i < JN_ARRAY_LEN(rel); i++) {
        char p[PATH_CAP + 32];
        snprintf(p, sizeof(p), "%s%s", self, rel[i]);
        size_t len = strlen(p);
        if (len < sizeof(monitor_exe) && access(p, X_OK) == 0) {
            memcpy(monitor_exe, p, len + 1);
            return;
        }
    }
}

static const char *monitor_program(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_monitor);
    return monitor_exe;
}

/* posix_spawn of jern-monitor in a new session, its descriptors kept (a
 * dup2 onto itself clears close-on-exec), a->argv after "--", the app's
 * environment in a memfd (env=FD): the monitor's own environment stays
 * empty, so it never passes for one of the app's processes, and the app's
 * secrets never appear on its command line. Returns the pid to reap (it
 * exits once the monitor forked), or -1 with errno. Control thread or job
 * thread (default 8 MB stacks): kv takes ~100 KB. */
static pid_t spawn_monitor_exe(const char *exe, struct mon_args *a)
{
    int envfd = memfd_create("jern-app-env", MFD_CLOEXEC);
    if (envfd < 0)
        return -1;
    for (char *const *e = a->envp; *e; e++) {
        size_t len = strlen(*e) + 1;
        if (write(envfd, *e, len) != (ssize_t)len) {
            int err = errno ? errno : EIO;
            close(envfd);
            errno = err;
            return -1;
        }
    }
    char kv[24][PATH_CAP + 16];
    const struct {
        const char *key;
        int64_t v;
    } nums[] = {{"log", a->log_fd},
                {"out_r", a->out_r},
                {"out_w", a->out_w},
                {"err_r", a->err_r},
                {"err_w", a->err_w},
                {"ready", a->ready_w},
                {"null", a->devnull},
                {"listen", a->listen_fd},
                {"stdin", a->stdin_fd},
                {"memory", a->memory},
                {"uid", a->as->uid},
                {"gid", a->as->gid},
                {"drop", a->as->drop},
                {"shell", a->shell},
                {"log_size", a->log_size},
                {"log_files", a->log_files},
                {"env", envfd}};
    char *argv[JN_ARRAY_LEN(kv) + EXEC_ARGS_CAP + 8];
    size_t k = 0, n = 0;
    argv[n++] = "jern-monitor";
    for (size_t i = 0; i < JN_ARRAY_LEN(nums); i++, k++) {
        snprintf(kv[k], sizeof(kv[k]), "%s=%lld", nums[i].key, (long long)nums[i].v);
        argv[n++] = kv[k];
    }
    snprintf(kv[k], sizeof(kv[k]), "workdir=%s", a->workdir);
    argv[n++] = kv[k++];
    snprintf(kv[k], sizeof(kv[k]), "exit=%s", a->exit_path);
    argv[n++] = kv[k++];
    snprintf(kv[k], sizeof(kv[k]), "pids=%s", a->pids_path);
    argv[n++] = kv[k++];
    snprintf(kv[k], sizeof(kv[k]), "log_path=%s", a->log_path);
    argv[n++] = kv[k++];
    argv[n++] = "--";
    for (size_t i = 0; a->argv[i] && n < JN_ARRAY_LEN(argv) - 1; i++)
        argv[n++] = a->argv[i];
    argv[n] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int keep[] = {a->log_fd,  a->out_r,   a->out_w,     a->err_r,    a->err_w,
                  a->ready_w, a->devnull, a->listen_fd, a->stdin_fd, envfd};
    for (size_t i = 0; i < JN_ARRAY_LEN(keep); i++)
        if (keep[i] >= 0)
            posix_spawn_file_actions_adddup2(&fa, keep[i], keep[i]);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    char *no_env[] = {NULL};
    int e = posix_spawn(&pid, exe, &fa, &at, argv, no_env);
    close(envfd);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return pid;
}

/* Starts the monitor detached from the daemon: jern-monitor when there is one
 * (spawn_monitor_exe), else a vfork'd child (it shares the daemon's memory,
 * so nothing is copied for it) makes a new session, forks the monitor (one
 * copy of the daemon's memory; the monitor vforks the app) and exits, so
 * init adopts the monitor. Returns the child to reap, or -1 with errno. The
 * vfork'd child makes only raw system calls (_Fork runs no atfork handlers),
 * with every signal blocked until the monitor resets them. */
pid_t exec_spawn_monitor(struct mon_args *a)
{
    const char *exe = monitor_program();
    if (*exe)
        return spawn_monitor_exe(exe, a);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = vfork();
    if (child == 0) {
        setsid();
        pid_t mon = _Fork();
        if (mon == 0)
            exec_run_monitor(a);
        _exit(mon < 0 ? 1 : 0);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return child;
}
