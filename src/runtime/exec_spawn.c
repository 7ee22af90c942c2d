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
#include <sys/socket.h>
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

/* The descriptors a monitor is handed, in the order of its keys. */
#define MON_FDS 10
static const char *const fd_keys[MON_FDS] = {"log",   "out_r", "out_w",  "err_r", "err_w",
                                             "ready", "null",  "listen", "stdin", "env"};

static void mon_fds(const struct mon_args *a, int envfd, int out[MON_FDS])
{
    const int v[MON_FDS] = {a->log_fd,  a->out_r,   a->out_w,     a->err_r,    a->err_w,
                            a->ready_w, a->devnull, a->listen_fd, a->stdin_fd, envfd};
    memcpy(out, v, sizeof(v));
}

/* jern-monitor's arguments for a (src/monitor/main.c), "jern-monitor" first,
 * NULL last; fdv[i] is the value given for fd_keys[i] (a descriptor's number,
 * or for a spare its index among those sent). The strings live in kv.
 * Returns argc. */
static size_t mon_argv(const struct mon_args *a, const int fdv[MON_FDS], char kv[][PATH_CAP + 16],
                       char **argv, size_t cap)
{
    const struct {
        const char *key;
        int64_t v;
    } nums[] = {{"memory", a->memory},      {"uid", a->as->uid}, {"gid", a->as->gid},
                {"drop", a->as->drop},      {"shell", a->shell}, {"log_size", a->log_size},
                {"log_files", a->log_files}};
    size_t k = 0, n = 0;
    argv[n++] = "jern-monitor";
    for (size_t i = 0; i < MON_FDS; i++, k++) {
        snprintf(kv[k], sizeof(kv[k]), "%s=%d", fd_keys[i], fdv[i]);
        argv[n++] = kv[k];
    }
    for (size_t i = 0; i < JN_ARRAY_LEN(nums); i++, k++) {
        snprintf(kv[k], sizeof(kv[k]), "%s=%lld", nums[i].key, (long long)nums[i].v);
        argv[n++] = kv[k];
    }
    const struct {
        const char *key, *v;
    } paths[] = {{"workdir", a->workdir},
                 {"exit", a->exit_path},
                 {"pids", a->pids_path},
                 {"log_path", a->log_path}};
    for (size_t i = 0; i < JN_ARRAY_LEN(paths); i++, k++) {
        snprintf(kv[k], sizeof(kv[k]), "%s=%s", paths[i].key, paths[i].v);
        argv[n++] = kv[k];
    }
    argv[n++] = "--";
    for (size_t i = 0; a->argv[i] && n < cap - 1; i++)
        argv[n++] = a->argv[i];
    argv[n] = NULL;
    return n;
}

/* The app's environment in a memfd (NUL-separated): the monitor's own
 * environment stays empty, so it never passes for one of the app's
 * processes, and the app's secrets never appear on its command line.
 * Returns the descriptor, or -1 with errno. */
static int env_memfd(char *const *envp)
{
    int envfd = memfd_create("jern-app-env", MFD_CLOEXEC);
    if (envfd < 0)
        return -1;
    size_t total = 0;
    for (char *const *e = envp; *e; e++)
        total += strlen(*e) + 1;
    char *buf = jn_malloc(total + 1), *p = buf; /* one write: a cold start waits for it */
    for (char *const *e = envp; *e; e++) {
        size_t len = strlen(*e) + 1;
        memcpy(p, *e, len);
        p += len;
    }
    size_t done = 0;
    while (done < total) {
        ssize_t w = write(envfd, buf + done, total - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            free(buf);
            close(envfd);
            errno = err;
            return -1;
        }
        done += (size_t)w;
    }
    free(buf);
    return envfd;
}

/* posix_spawn of exe with argv in a new session, every signal at its default
 * and none blocked, an empty environment, the descriptors in keep (n of
 * them, -1 skipped) kept open: a dup2 onto itself clears close-on-exec.
 * Returns the pid, or -1 with errno. */
static pid_t spawn_detached(const char *exe, char **argv, const int *keep, size_t n)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (size_t i = 0; i < n; i++)
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
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return pid;
}

/* posix_spawn of jern-monitor for a, with a->argv after "--". Returns the
 * pid to reap (it exits once the monitor forked), or -1 with errno. Control
 * thread or job thread (default 8 MB stacks): kv takes ~100 KB. */
static pid_t spawn_monitor_exe(const char *exe, struct mon_args *a)
{
    int envfd = env_memfd(a->envp);
    if (envfd < 0)
        return -1;
    int fdv[MON_FDS];
    mon_fds(a, envfd, fdv);
    char kv[24][PATH_CAP + 16];
    char *argv[JN_ARRAY_LEN(kv) + EXEC_ARGS_CAP + 8];
    mon_argv(a, fdv, kv, argv, JN_ARRAY_LEN(argv));
    pid_t pid = spawn_detached(exe, argv, fdv, MON_FDS);
    int e = errno;
    close(envfd);
    errno = e;
    return pid;
}

/* ---- the spare monitor ----
 *
 * A cold start waits for its monitor: posix_spawn of jern-monitor, its exec,
 * and its fork to leave the daemon's session cost 2-3 ms on a small VM,
 * as much as a small app's own start. So one jern-monitor waits ready,
 * already detached ("jern-monitor spare FD", src/monitor/main.c), on a
 * socket to the daemon; a start hands it its arguments and descriptors
 * (SCM_RIGHTS) in one message, and the spare forks the app at once. A new
 * spare is made shortly after one is used, off the start's path. The spare
 * ends when the daemon's end of its socket closes (the daemon exits, or
 * execs: the end is close-on-exec). */

#define SPARE_DELAY_NS (100 * 1000 * 1000) /* after a start, before the next spare */
#define SPARE_MSG_CAP (64 * 1024)          /* as src/monitor/main.c reads */

static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static int spare_sock = -1; /* the daemon's end of the waiting spare's socket */
static bool spare_coming;   /* a thread is making one */

static void *spare_make(void *arg)
{
    const char *exe = arg;
    struct timespec pause = {0, SPARE_DELAY_NS};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
        ;
    int sv[2], fd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
        char num[16];
        snprintf(num, sizeof(num), "%d", sv[1]);
        char *argv[] = {"jern-monitor", "spare", num, NULL};
        pid_t pid = spawn_detached(exe, argv, &sv[1], 1);
        close(sv[1]);
        if (pid > 0) {
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            fd = sv[0];
        } else {
            close(sv[0]);
        }
    }
    pthread_mutex_lock(&spare_mu);
    spare_sock = fd;
    spare_coming = false;
    pthread_mutex_unlock(&spare_mu);
    return NULL;
}

/* Makes a spare in the background unless one waits or is being made. */
static void spare_refill(const char *exe)
{
    pthread_mutex_lock(&spare_mu);
    bool start = spare_sock < 0 && !spare_coming;
    spare_coming |= start;
    pthread_mutex_unlock(&spare_mu);
    if (!start)
        return;
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, spare_make, (void *)exe) != 0) {
        pthread_mutex_lock(&spare_mu);
        spare_coming = false;
        pthread_mutex_unlock(&spare_mu);
    }
    pthread_attr_destroy(&at);
}

/* Hands a to the waiting spare: its arguments (descriptors given as their
 * index among those sent) and descriptors in one message. true when the
 * spare has it; false (no spare, it died, a message too long) leaves a
 * to posix_spawn. */
static bool spare_hand(struct mon_args *a)
{
    pthread_mutex_lock(&spare_mu);
    int sock = spare_sock;
    spare_sock = -1;
    pthread_mutex_unlock(&spare_mu);
    if (sock < 0)
        return false;
    bool sent = false;
    int envfd = env_memfd(a->envp);
    if (envfd >= 0) {
        int fds[MON_FDS], idx[MON_FDS], n = 0;
        mon_fds(a, envfd, fds);
        for (size_t i = 0; i < MON_FDS; i++)
            idx[i] = fds[i] >= 0 ? n++ : -1;
        for (size_t i = 0, k = 0; i < MON_FDS; i++)
            if (fds[i] >= 0)
                fds[k++] = fds[i];
        char kv[24][PATH_CAP + 16];
        char *argv[JN_ARRAY_LEN(kv) + EXEC_ARGS_CAP + 8];
        size_t argc = mon_argv(a, idx, kv, argv, JN_ARRAY_LEN(argv));
        char *msg = jn_malloc(SPARE_MSG_CAP);
        size_t len = 0;
        bool fits = true;
        for (size_t i = 1; i < argc && fits; i++) {
            size_t l = strlen(argv[i]) + 1;
            fits = len + l <= SPARE_MSG_CAP;
            if (fits)
                memcpy(msg + len, argv[i], l);
            len += l;
        }
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * MON_FDS)];
        } c;
        memset(&c, 0, sizeof(c));
        struct iovec iov = {msg, len};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = c.b,
                            .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
        if (fits) {
            ssize_t w;
            do
                w = sendmsg(sock, &mh, MSG_NOSIGNAL);
            while (w < 0 && errno == EINTR);
            sent = w == (ssize_t)len;
        }
        free(msg);
        close(envfd);
    }
    close(sock); /* the spare has what it needs: the message is queued */
    return sent;
}

/* Starts the monitor detached from the daemon: jern-monitor when there is one
 * (the spare, else spawn_monitor_exe), else a vfork'd child (it shares the
 * daemon's memory, so nothing is copied for it) makes a new session, forks
 * the monitor (one copy of the daemon's memory; the monitor vforks the app)
 * and exits, so init adopts the monitor. Returns the child to reap (0: none,
 * the spare took a), or -1 with errno. The vfork'd child makes only raw
 * system calls (_Fork runs no atfork handlers), with every signal blocked
 * until the monitor resets them. */
pid_t exec_spawn_monitor(struct mon_args *a)
{
    const char *exe = monitor_program();
    if (*exe) {
        bool handed = spare_hand(a);
        pid_t pid = handed ? 0 : spawn_monitor_exe(exe, a);
        int e = errno;
        spare_refill(exe);
        errno = e;
        return pid;
    }
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

/* The monitor's word that the app's process runs: false when the pipe
 * closed first (the monitor died) or it could not make one. */
bool exec_read_ready(int fd, struct ready_msg *msg)
{
    size_t got = 0;
    while (got < sizeof(*msg)) {
        ssize_t n = read(fd, (char *)msg + got, sizeof(*msg) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got == sizeof(*msg) && msg->app > 0;
}
