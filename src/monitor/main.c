/*
 * monitor/main.c: jern-monitor, the small static program that watches one
 * exec instance (its body is runtime/exec_monitor.c). The exec driver starts
 * it with posix_spawn in a new session, so nothing of the daemon's memory is
 * copied for it (a fork of the daemon cost 2-5 ms each on a small VM, most of
 * a cold start). It forks once so that init adopts the monitor, and the
 * daemon reaps only the short-lived parent.
 *
 *   jern-monitor KEY=VALUE... -- ARGV...
 *   jern-monitor spare FD      (waits for one start's arguments on socket FD)
 *
 * Keys (all required unless marked): log out_r out_w err_r err_w ready null:
 * the descriptors it inherits; listen, stdin (-1: none); memory, uid, gid,
 * drop (0/1), shell (0/1), log_size, log_files; workdir, log, exit, pids
 * (paths; exit.tmp and pids.tmp are those with ".tmp"); env: a descriptor
 * (a memfd) with the app's environment, NUL-separated (this program's own
 * environment is empty: it is not one of the app's processes). Not meant to be run by hand: on bad
 * arguments it says so on stderr and exits 2 (the daemon reports that the start failed).
 */
#include "core/common.h"

#include "runtime/exec_int.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] = "jern-monitor: started by jern serve's exec driver, not by hand "
                            "(bad or missing arguments)\n";

static bool num(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return false;
    *out = n;
    return true;
}

static bool path(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

/* "PATH.tmp" into out (PATH_CAP bytes; path is at most PATH_CAP - 5 long). */
static void with_tmp(char *out, const char *path)
{
    size_t n = strlen(path);
    memcpy(out, path, n);
    memcpy(out + n, ".tmp", 5);
}

/* Fills a and as from the KEY=VALUE arguments before "--"; returns the
 * index of the app's argv[0], or 0 when an argument is wrong or missing. */
static int parse(int argc, char **argv, struct mon_args *a, struct run_as *as, int *env_fd)
{
    int64_t v[16];
    static const char *const keys[] = {"log",  "out_r",  "out_w",    "err_r",  "err_w", "ready",
                                       "null", "listen", "stdin",    "memory", "uid",   "gid",
                                       "drop", "shell",  "log_size", "env"};
    bool seen[16] = {false}, seen_files = false, seen_paths[4] = {false};
    int64_t files = 0;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return 0;
        size_t klen = (size_t)(eq - argv[i]);
        const char *val = eq + 1;
        bool known = false;
        for (size_t k = 0; k < JN_ARRAY_LEN(keys) && !known; k++)
            if (strlen(keys[k]) == klen && memcmp(argv[i], keys[k], klen) == 0) {
                if (!num(val, &v[k]))
                    return 0;
                seen[k] = known = true;
            }
        if (known)
            continue;
        if (klen == 9 && memcmp(argv[i], "log_files", 9) == 0)
            known = seen_files = num(val, &files);
        else if (klen == 7 && memcmp(argv[i], "workdir", 7) == 0)
            known = seen_paths[0] = path(a->workdir_buf, sizeof(a->workdir_buf), val);
        else if (klen == 4 && memcmp(argv[i], "exit", 4) == 0)
            known = seen_paths[1] = path(a->exit_path, sizeof(a->exit_path) - 4, val);
        else if (klen == 4 && memcmp(argv[i], "pids", 4) == 0)
            known = seen_paths[2] = path(a->pids_path, sizeof(a->pids_path) - 4, val);
        else if (klen == 8 && memcmp(argv[i], "log_path", 8) == 0)
            known = seen_paths[3] = path(a->log_path, sizeof(a->log_path) - 4, val);
        if (!known)
            return 0;
    }
    for (size_t k = 0; k < JN_ARRAY_LEN(seen); k++)
        if (!seen[k])
            return 0;
    for (size_t k = 0; k < JN_ARRAY_LEN(seen_paths); k++)
        if (!seen_paths[k])
            return 0;
    if (!seen_files || i + 1 >= argc)
        return 0;
    a->log_fd = (int)v[0];
    a->out_r = (int)v[1];
    a->out_w = (int)v[2];
    a->err_r = (int)v[3];
    a->err_w = (int)v[4];
    a->ready_w = (int)v[5];
    a->devnull = (int)v[6];
    a->listen_fd = (int)v[7];
    a->stdin_fd = (int)v[8];
    a->memory = v[9];
    as->uid = (uid_t)v[10];
    as->gid = (gid_t)v[11];
    as->drop = v[12] != 0;
    a->shell = v[13] != 0;
    a->log_size = v[14];
    *env_fd = (int)v[15];
    a->log_files = (int)JN_MIN(JN_MAX(files, 0), 9);
    a->workdir = a->workdir_buf;
    with_tmp(a->exit_tmp, a->exit_path); /* both fit: path() kept 4 bytes */
    with_tmp(a->pids_tmp, a->pids_path);
    return i + 1;
}

/* The app's environment from fd (NUL-separated strings), as an envp; NULL
 * when it cannot be read. The monitor is a fresh single-threaded program
 * here: malloc is fine until it forks. */
static char **read_env(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < 0 || st.st_size > (1 << 24))
        return NULL;
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (!buf)
        return NULL;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        got += (size_t)n;
    }
    buf[len] = '\0';
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += buf[i] == '\0';
    char **env = calloc(count + 1, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len && k < count; i += strlen(buf + i) + 1)
        env[k++] = buf + i;
    env[k] = NULL;
    close(fd);
    return env;
}

/* Runs the monitor of the KEY=VALUE... -- ARGV... in argv. fds: in a spare,
 * the descriptors received (the arguments give their index among them); NULL
 * when they were inherited under their own numbers. detached: the caller left
 * the daemon's session already (a spare did, before it waited). */
static int run(int argc, char **argv, const int *fds, int nfds, bool detached)
{
    static struct mon_args a;
    static struct run_as as;
    int env_fd = -1;
    int first = parse(argc, argv, &a, &as, &env_fd);
    if (first && fds) {
        int *fdp[] = {&a.log_fd,  &a.out_r,   &a.out_w,     &a.err_r,    &a.err_w,
                      &a.ready_w, &a.devnull, &a.listen_fd, &a.stdin_fd, &env_fd};
        for (size_t i = 0; i < JN_ARRAY_LEN(fdp) && first; i++) {
            if (*fdp[i] >= nfds)
                first = 0;
            else if (*fdp[i] >= 0)
                *fdp[i] = fds[*fdp[i]];
        }
    }
    char **env = first ? read_env(env_fd) : NULL;
    if (!first || !env) {
        if (write(2, usage, sizeof(usage) - 1) < 0) {
            /* nothing else to tell */
        }
        return 2;
    }
    a.as = &as;
    a.fresh = true;
    a.argv = argv + first;
    a.envp = env;
    if (detached)
        exec_run_monitor(&a);
    /* posix_spawn made this process a session leader; its child is not,
     * and init adopts it when this one exits. */
    pid_t mon = fork();
    if (mon == 0)
        exec_run_monitor(&a);
    _exit(mon < 0 ? 1 : 0);
}

#define SPARE_MSG_CAP (64 * 1024) /* as runtime/exec_spawn.c sends */
#define SPARE_FDS 10

/* jern-monitor spare FD: leaves the daemon's session (the daemon reaps this
 * process, init adopts its child), then waits on the socket FD for one
 * start: its arguments, NUL-separated, and its descriptors (SCM_RIGHTS).
 * Ends without a word when the daemon's end closes first. */
static int spare(const char *sock_arg)
{
    int64_t sock;
    if (!num(sock_arg, &sock) || sock < 3 || sock > 1 << 20)
        return 2;
    pid_t child = fork();
    if (child != 0)
        _exit(child < 0 ? 1 : 0);
    prctl(PR_SET_NAME, "jern-monitor", 0, 0, 0);
    /* Nothing of the daemon's stays open here while it waits, whatever a
     * thread of the daemon had opened without close-on-exec at the spawn:
     * its output, its sockets. */
    if (sock > 3)
        close_range(3, (unsigned)sock - 1, 0);
    close_range((unsigned)sock + 1, ~0U, 0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    static char buf[SPARE_MSG_CAP + 1];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * SPARE_FDS)];
    } c;
    struct iovec iov = {buf, SPARE_MSG_CAP};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
    ssize_t n;
    do
        n = recvmsg((int)sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        _exit(0); /* the daemon is gone, or made no use of this spare */
    close((int)sock);
    int fds[SPARE_FDS], nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && nfds < SPARE_FDS; i++)
                memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || buf[n - 1] != '\0')
        _exit(2); /* the daemon sees its ready pipe close: the start failed */
    static char *argv[EXEC_ARGS_CAP + 40];
    int argc = 0;
    argv[argc++] = "jern-monitor";
    for (ssize_t i = 0; i < n && argc < (int)JN_ARRAY_LEN(argv) - 1;
         i += (ssize_t)strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    argv[argc] = NULL;
    return run(argc, argv, fds, nfds, true);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "spare") == 0)
        return spare(argv[2]);
    return run(argc, argv, NULL, 0, false);
}
