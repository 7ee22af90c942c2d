/*
 * run.c: child processes for the MariaDB tools. The daemon blocks its
 * signals (signalfd) and ignores SIGPIPE; both are inherited across exec, so
 * every child resets them first, or mariadbd would never see SIGTERM.
 */
#include "core/common.h"

#include "db/run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void child_reset(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
}

static int open_or_null(const char *path, int flags)
{
    return open(path ? path : "/dev/null", flags, 0600);
}

int jn_db_run(char *const argv[], const char *in_path, const char *out_path, const char *log_path,
              int64_t timeout_ms)
{
    int in = open_or_null(in_path, O_RDONLY | O_CLOEXEC);
    int log = open_or_null(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC);
    int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (in < 0 || log < 0 || (out_path && out < 0)) {
        int e = -errno;
        if (in >= 0)
            close(in);
        if (log >= 0)
            close(log);
        if (out >= 0)
            close(out);
        return e;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_reset();
        setpgid(0, 0);
        dup2(in, 0);
        dup2(out >= 0 ? out : log, 1);
        dup2(log, 2);
        execvp(argv[0], argv);
        dprintf(2, "jern: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int e = pid < 0 ? -errno : 0;
    close(in);
    close(log);
    if (out >= 0)
        close(out);
    if (pid < 0)
        return e;
    int64_t deadline = jn_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -errno;
        if (jn_now_ms() > deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return JN_ETIMEDOUT;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

pid_t jn_db_spawn(char *const argv[], const char *log_path, int cgroup_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t mid = fork();
    if (mid == 0) {
        /* The middle child: a new session, then the server, then exit, so the
         * server is re-parented to init and never a zombie of the daemon. */
        setsid();
        pid_t srv = fork();
        if (srv == 0) {
            child_reset();
            int null = open("/dev/null", O_RDONLY);
            int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (null >= 0)
                dup2(null, 0);
            if (log >= 0) {
                dup2(log, 1);
                dup2(log, 2);
            }
            /* Before exec: every page the server touches is charged there. */
            if (cgroup_fd >= 0 && write(cgroup_fd, "0", 1) != 1)
                dprintf(2, "jern: cannot enter the memory cgroup: %s\n", strerror(errno));
            close_range(3, ~0u, 0);
            execvp(argv[0], argv);
            dprintf(2, "jern: cannot run %s: %s\n", argv[0], strerror(errno));
            _exit(127);
        }
        ssize_t w = write(p[1], &srv, sizeof(srv));
        _exit(w == (ssize_t)sizeof(srv) ? 0 : 1);
    }
    close(p[1]);
    if (mid < 0) {
        int e = -errno;
        close(p[0]);
        return e;
    }
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    pid_t srv = -1;
    ssize_t n;
    while ((n = read(p[0], &srv, sizeof(srv))) < 0 && errno == EINTR)
        ;
    close(p[0]);
    return n == (ssize_t)sizeof(srv) && srv > 0 ? srv : -ECHILD;
}

void jn_db_tail(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || n < 2)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)(n - 1) ? end - (off_t)(n - 1) : 0;
    ssize_t got = pread(fd, out, n - 1, from);
    close(fd);
    if (got <= 0)
        return;
    out[got] = '\0';
    /* Start at a line boundary, and drop the trailing newline. */
    char *nl = from > 0 ? strchr(out, '\n') : NULL;
    if (nl)
        memmove(out, nl + 1, strlen(nl + 1) + 1);
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
}
