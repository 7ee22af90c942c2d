/*
 * monitor/main.c: jern-monitor, the small static program that watches one
 * exec instance (its body is runtime/exec_monitor.c). The exec driver starts
 * it with posix_spawn in a new session, so nothing of the daemon's memory is
 * copied for it (a fork of the daemon cost 2-5 ms each on a small VM, most of
 * a cold start). It forks once so that init adopts the monitor, and the
 * daemon reaps only the short-lived parent.
 *
 *   jern-monitor KEY=VALUE... -- ARGV...
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

int main(int argc, char **argv)
{
    static struct mon_args a;
    static struct run_as as;
    int env_fd = -1;
    int first = parse(argc, argv, &a, &as, &env_fd);
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
    /* posix_spawn made this process a session leader; its child is not,
     * and init adopts it when this one exits. */
    pid_t mon = fork();
    if (mon == 0)
        exec_run_monitor(&a);
    _exit(mon < 0 ? 1 : 0);
}
