/*
 * exec_monitor.c: the monitor process of an exec instance (exec.c forks it):
 * it forks the app into its own process group, timestamps each line of its
 * stdout/stderr into the instance's log, rotates the log past log_size,
 * reaps the app and writes its exit status. It runs after fork in a
 * threaded process, so only async-signal-safe calls: no malloc, no stdio.
 */
#include "core/common.h"

#include "runtime/driver.h"
#include "runtime/exec_int.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- async-signal-safe helpers for the monitor ---- */

static size_t fmt_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        out[o++] = '-';
    while (n > 0)
        out[o++] = tmp[--n];
    return o;
}

static void write_full(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Closes every descriptor >= 3 except those in keep (kept sorted here). */
static void close_others(int *keep, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < 3)
            continue;
        if ((unsigned)keep[i] > lo)
            close_range(lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    close_range(lo, ~0U, 0);
}

static void reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);
}

/* "PATH.k" into out (async-signal-safe; k is 1-9). */
void exec_rotated_name(char *out, const char *path, int k)
{
    size_t n = strlen(path);
    memcpy(out, path, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + k);
    out[n + 2] = '\0';
}

/* log -> log.1 -> ... -> log.N (the oldest falls off), then a new log on the
 * same descriptor number. With no rotated files kept, the log starts over. */
static void rotate_log(struct mon_args *a)
{
    a->log_bytes = 0;
    if (a->log_files <= 0) {
        if (ftruncate(a->log_fd, 0) < 0) {
            /* nothing better to do: the next records still append */
        }
        return;
    }
    char from[PATH_CAP + 4], to[PATH_CAP + 4];
    for (int k = a->log_files; k >= 1; k--) {
        exec_rotated_name(to, a->log_path, k);
        if (k == 1)
            memcpy(from, a->log_path, strlen(a->log_path) + 1);
        else
            exec_rotated_name(from, a->log_path, k - 1);
        rename(from, to);
    }
    int fd = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, a->log_fd);
        close(fd);
    }
}

/* Writes one log record "UNIX_MS s TEXT\n" with a single writev (O_APPEND keeps
 * records whole). Returns the bytes written. */
static ssize_t log_record(int fd, char stream, const char *text, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char prefix[40];
    size_t n = fmt_i64(prefix, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    prefix[n++] = ' ';
    prefix[n++] = stream;
    prefix[n++] = ' ';
    struct iovec iov[3] = {{prefix, n}, {(void *)text, len}, {"\n", 1}};
    ssize_t w;
    do
        w = writev(fd, iov, 3);
    while (w < 0 && errno == EINTR);
    return w;
}

static void log_write(struct mon_args *a, char stream, const char *text, size_t len)
{
    ssize_t w = log_record(a->log_fd, stream, text, len);
    if (w > 0)
        a->log_bytes += w;
    if (a->log_size > 0 && a->log_bytes >= a->log_size)
        rotate_log(a);
}

struct line_buf {
    char data[LINE_CAP];
    size_t len;
};

/* Splits new output into records; a line longer than LINE_CAP is cut. */
static void take_output(struct mon_args *a, char stream, struct line_buf *lb, const char *p,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            log_write(a, stream, lb->data, lb->len);
            lb->len = 0;
            continue;
        }
        lb->data[lb->len++] = p[i];
        if (lb->len == LINE_CAP) {
            log_write(a, stream, lb->data, lb->len);
            lb->len = 0;
        }
    }
}

/* execve of path; a file without #! or ELF header runs under /bin/sh, as a
 * shell would run it. Returns only on failure, with errno. */
static void exec_file(const char *path, char *const *argv, char *const *envp)
{
    execve(path, argv, envp);
    if (errno != ENOEXEC)
        return;
    char *sh[EXEC_ARGS_CAP + 3] = {"sh", (char *)path};
    for (int i = 1; argv[i] && i <= EXEC_ARGS_CAP; i++)
        sh[i + 1] = argv[i];
    execve("/bin/sh", sh, envp);
}

/* Runs argv[0] the way sh looks a command up: a name with a slash as it is,
 * else the first regular file of that name in envp's PATH that the app's user
 * can see (directories it cannot search are skipped, as sh does). Returns
 * only on failure: ENOENT when there is no such file, else the error of the
 * last one that would not run. Async-signal-safe: stack buffers only. */
static int exec_search(char *const *argv, char *const *envp)
{
    const char *file = argv[0], *path = "/usr/local/bin:/usr/bin:/bin";
    if (strchr(file, '/')) {
        exec_file(file, argv, envp);
        return errno;
    }
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) {
            path = *e + 5;
            break;
        }
    int err = ENOENT;
    size_t flen = strlen(file);
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        char buf[PATH_CAP];
        if (dlen + flen + 2 <= sizeof(buf)) {
            memcpy(buf, dlen ? p : ".", dlen ? dlen : 1);
            size_t n = dlen ? dlen : 1;
            buf[n] = '/';
            memcpy(buf + n + 1, file, flen + 1);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
                exec_file(buf, argv, envp);
                err = errno;
            }
        }
        if (!end)
            break;
        p = end;
    }
    return err;
}

static __attribute__((noreturn)) void run_app(const struct mon_args *a)
{
    setpgid(0, 0);
    if (a->stdin_fd >= 0)
        dup2(a->stdin_fd, 0); /* else /dev/null, the monitor's */
    dup2(a->out_w, 1);
    dup2(a->err_w, 2);
    if (a->listen_fd >= 0) {
        /* systemd's convention: the socket is fd 3, LISTEN_PID is this
         * process (the shell execs the command: exec.c prefixes "exec ") */
        if (a->listen_fd != 3)
            dup2(a->listen_fd, 3);
        else
            fcntl(3, F_SETFD, 0);
        close_range(4, ~0U, 0);
        for (char *const *e = a->envp; *e; e++)
            if (strncmp(*e, "LISTEN_PID=", 11) == 0)
                (*e)[11 + fmt_i64(*e + 11, getpid())] = '\0';
    } else {
        close_range(3, ~0U, 0);
    }
    if (a->fresh) { /* only what the monitor changed */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
    } else {
        reset_signals();
    }
    if (a->memory > 0) {
        struct rlimit rl = {(rlim_t)a->memory, (rlim_t)a->memory};
        setrlimit(RLIMIT_AS, &rl);
    }
    if (a->as->drop && (setgroups(0, NULL) < 0 || setgid(a->as->gid) < 0 ||
                        setuid(a->as->uid) < 0 || setuid(0) == 0)) {
        static const char msg[] = "jern exec: cannot switch to the user " JN_EXEC_USER "\n";
        write_full(2, msg, sizeof(msg) - 1);
        _exit(126);
    }
    if (chdir(a->workdir) < 0) {
        static const char msg[] = "jern exec: cannot enter the working directory ";
        write_full(2, msg, sizeof(msg) - 1);
        write_full(2, a->workdir, strlen(a->workdir));
        static const char hint[] = " (the app's user must be able to search every directory "
                                   "on the path)\n";
        write_full(2, hint, sizeof(hint) - 1);
        _exit(126);
    }
    if (a->shell) {
        execve("/bin/sh", a->argv, a->envp);
        static const char msg[] = "jern exec: cannot execute /bin/sh\n";
        write_full(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    int e = exec_search(a->argv, a->envp);
    static const char msg[] = "jern exec: cannot execute ";
    write_full(2, msg, sizeof(msg) - 1);
    write_full(2, a->argv[0], strlen(a->argv[0]));
    const char *why = e == ENOENT ? ": not found\n" : ": permission denied\n";
    write_full(2, why, strlen(why));
    _exit(e == ENOENT ? 127 : 126);
}

void exec_run_monitor(struct mon_args *a)
{
    prctl(PR_SET_NAME, "jern-monitor", 0, 0, 0);
    if (!a->fresh)
        reset_signals(); /* jern-monitor's were reset by posix_spawn */
    /* The monitor must outlive terminal hangups and ^C aimed at the daemon; SIGTERM
     * sent to it directly still ends it. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    dup2(a->devnull, 0);
    dup2(a->devnull, 1);
    dup2(a->devnull, 2);
    int keep[] = {a->log_fd, a->out_r,   a->out_w,     a->err_r,
                  a->err_w,  a->ready_w, a->listen_fd, a->stdin_fd};
    close_others(keep, (int)JN_ARRAY_LEN(keep));

    /* vfork: the app's process runs at once on this CPU, which is awake,
     * and the monitor writes the pids and tells the daemon once it execs
     * (after fork the child waited for a CPU while the monitor went on, up
     * to a millisecond of a cold start); in a fork of the daemon, nothing
     * of its memory is copied again. The child only makes system calls and
     * writes LISTEN_PID into envp, which the monitor does not read. */
    pid_t app = vfork();
    if (app == 0)
        run_app(a);
    if (app > 0)
        setpgid(app, app); /* also here: no window where stop() could miss the group */
    if (a->listen_fd >= 0)
        close(a->listen_fd); /* the app's now: the port is free when it exits */
    if (a->stdin_fd >= 0)
        close(a->stdin_fd); /* the app's alone */
    close(a->out_w);
    close(a->err_w);
    if (app > 0) {
        int pf = open(a->pids_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (pf >= 0) {
            char text[56];
            size_t n = fmt_i64(text, app);
            text[n++] = ' ';
            n += fmt_i64(text + n, getpid());
            text[n++] = '\n';
            write_full(pf, text, n); /* no fsync: see write_meta in exec.c */
            close(pf);
            rename(a->pids_tmp, a->pids_path);
        }
    }
    struct ready_msg msg = {(int32_t)getpid(), (int32_t)app};
    write_full(a->ready_w, &msg, sizeof(msg));
    close(a->ready_w);
    if (app < 0)
        _exit(1);

    static struct line_buf lb[2];
    struct pollfd pfd[2] = {{a->out_r, POLLIN, 0}, {a->err_r, POLLIN, 0}};
    int status = 0, open_fds = 2;
    bool reaped = false;
    struct timespec deadline = {0, 0};
    char chunk[16384];
    for (;;) {
        int timeout = reaped ? 50 : 1000;
        if (open_fds > 0 && poll(pfd, 2, timeout) > 0) {
            for (int i = 0; i < 2; i++) {
                if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t n = read(pfd[i].fd, chunk, sizeof(chunk));
                if (n > 0) {
                    take_output(a, i == 0 ? 'o' : 'e', &lb[i], chunk, (size_t)n);
                } else if (n == 0 || errno != EINTR) {
                    close(pfd[i].fd);
                    pfd[i].fd = -1;
                    open_fds--;
                }
            }
        }
        if (!reaped) {
            pid_t w = waitpid(app, &status, open_fds > 0 ? WNOHANG : 0);
            if (w == app || (w < 0 && errno == ECHILD)) {
                reaped = true;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += 1;
            }
        }
        if (reaped) {
            /* Drain what is left; stop waiting for descendants that keep the pipes open. */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (open_fds == 0 || now.tv_sec > deadline.tv_sec ||
                (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
                break;
        }
    }
    for (int i = 0; i < 2; i++)
        if (lb[i].len > 0)
            log_write(a, i == 0 ? 'o' : 'e', lb[i].data, lb[i].len);
    int code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : -1;
    int fd = open(a->exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        char text[24];
        size_t n = fmt_i64(text, code);
        text[n++] = '\n';
        write_full(fd, text, n);
        close(fd);
        rename(a->exit_tmp, a->exit_path);
    }
    _exit(0);
}
