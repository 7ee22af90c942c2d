/*
 * exec.c: the plain-process driver. Each instance is its command (run directly
 * when it has no shell syntax, else `/bin/sh -c COMMAND`) in its own process
 * group, with $PORT set, under a small monitor process (exec_spawn.c):
 *
 *   daemon --posix_spawn--> jern-monitor (new session; fork, exit)
 *          --> monitor --fork--> COMMAND (pgid = pid; vfork in the fallback)
 *   without jern-monitor: daemon --vfork--> (setsid, _Fork, exit) --> monitor ...
 *
 * The monitor is detached from the daemon (its own session, reparented to init), so
 * instances survive a daemon restart. It timestamps each line of stdout/stderr into
 * the instance's log file, reaps the app and writes its exit status, so a restarted
 * daemon still learns exit codes and reads logs "since T".
 *
 * State, one directory per instance under STATE/instances/NAME/:
 *   meta      key=value lines: labels, pid, start time (/proc starttime ticks), port;
 *             written once before the fork (pid=0) so that an instance is never
 *             started without a record, and again with the pids once it runs
 *   pids      "APP_PID MONITOR_PID", written by the monitor itself right after it
 *             forked the app: with the first meta, it finds an instance whose
 *             daemon died between the fork and the second meta
 *   command   the command line
 *   log       "UNIX_MS o|e TEXT\n" per line of output; past spec->log_size bytes the
 *             monitor renames it to log.1 (log.1 to log.2, ... up to log_files) and
 *             starts a new one, so an instance's output never takes more than
 *             about (log_files + 1) * log_size
 *   exit      the exit status ("0", "137" for SIGKILL), written when the app ended
 *   paused    present while the instance is paused (SIGSTOP to the group)
 * An instance is running when `exit` is absent and /proc/PID/stat still shows the
 * recorded start time (a reused pid is not mistaken for it): that is the adoption rule.
 *
 * Who the app runs as: when jern is root, the app (not its monitor, which writes the
 * log and exit files) drops to the unprivileged user JN_EXEC_USER before it runs, so
 * it can read neither the state dir nor the admin socket; when jern is not root, the
 * app runs as jern's own user. Every app gets HOST=127.0.0.1 (unless its env sets
 * HOST): apps that follow the $PORT convention then listen on loopback only, behind
 * the gateway.
 *
 * The monitor's code is in exec_monitor.c.
 *
 * Everything here blocks: control thread only (see driver.h).
 */
#include "core/common.h"

#include "core/fault.h"
#include "runtime/driver.h"
#include "core/log.h"
#include "runtime/exec_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct execd {
    struct jn_driver base;
    char *dir; /* STATE/instances */
};

/* ---- /proc ---- */

/* Reads state and starttime (clock ticks since boot) of pid. Returns 0 or -errno. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    /* comm may contain spaces and parentheses: fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    p += 2;
    *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

/* True when pid still is the process that started at start ticks (and is not a zombie). */
static bool same_process(pid_t pid, unsigned long long start, char *state)
{
    char st = 0;
    unsigned long long s = 0;
    if (pid <= 0 || proc_stat(pid, &st, &s) < 0)
        return false;
    if (state)
        *state = st;
    return s == start && st != 'Z' && st != 'X';
}

static int64_t boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    char line[256];
    int64_t bt = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0)
            bt = strtoll(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return bt;
}

/* ---- instance state files ---- */

struct meta {
    char name[128], app[64], release[64], instance[64], daemon[64];
    pid_t pid, monitor;
    unsigned long long start_ticks, monitor_ticks;
    int host_port;
};

static int inst_path(struct execd *x, const char *name, const char *file, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s%s%s", x->dir, name, file ? "/" : "", file ? file : "");
    return n >= (int)len ? JN_ETOOBIG : 0;
}

/* fopen(path, "we") with mode 0600 for a new file: the state dir's files may
 * hold secrets. */
static FILE *fopen_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

static int write_meta(struct execd *x, const struct meta *m)
{
    char path[PATH_CAP], tmp[PATH_CAP];
    if (inst_path(x, m->name, "meta", path, sizeof(path)) < 0 ||
        inst_path(x, m->name, "meta.tmp", tmp, sizeof(tmp)) < 0)
        return JN_ETOOBIG;
    FILE *f = fopen_private(tmp);
    if (!f)
        return -errno;
    fprintf(f,
            "name=%s\napp=%s\nrelease=%s\ninstance=%s\npid=%d\nstart_ticks=%llu\n"
            "monitor=%d\nmonitor_ticks=%llu\nhost_port=%d\ndaemon=%s\n",
            m->name, m->app, m->release, m->instance, (int)m->pid, m->start_ticks, (int)m->monitor,
            m->monitor_ticks, m->host_port, m->daemon);
    /* No fsync: the record describes processes, which a crash of the machine
     * ends as well, and the page cache outlives any crash of the daemon; the
     * rename keeps it whole. An fsync here cost ~1 ms twice per start. */
    int rc = fflush(f) == 0 ? 0 : -errno;
    fclose(f);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    return rc;
}

static int read_meta(struct execd *x, const char *name, struct meta *m)
{
    char path[PATH_CAP], line[512];
    memset(m, 0, sizeof(*m));
    if (inst_path(x, name, "meta", path, sizeof(path)) < 0)
        return JN_ETOOBIG;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? JN_ENOTFOUND : -errno;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strchr(line, '=');
        if (!v)
            continue;
        *v++ = '\0';
        if (strcmp(line, "name") == 0)
            snprintf(m->name, sizeof(m->name), "%s", v);
        else if (strcmp(line, "app") == 0)
            snprintf(m->app, sizeof(m->app), "%s", v);
        else if (strcmp(line, "release") == 0)
            snprintf(m->release, sizeof(m->release), "%s", v);
        else if (strcmp(line, "instance") == 0)
            snprintf(m->instance, sizeof(m->instance), "%s", v);
        else if (strcmp(line, "pid") == 0)
            m->pid = (pid_t)atoi(v);
        else if (strcmp(line, "start_ticks") == 0)
            m->start_ticks = strtoull(v, NULL, 10);
        else if (strcmp(line, "monitor") == 0)
            m->monitor = (pid_t)atoi(v);
        else if (strcmp(line, "monitor_ticks") == 0)
            m->monitor_ticks = strtoull(v, NULL, 10);
        else if (strcmp(line, "host_port") == 0)
            m->host_port = atoi(v);
        else if (strcmp(line, "daemon") == 0)
            snprintf(m->daemon, sizeof(m->daemon), "%s", v);
    }
    fclose(f);
    if (!m->name[0]) /* cut short when the machine stopped: still removable */
        snprintf(m->name, sizeof(m->name), "%s", name);
    if (m->pid == 0) {
        /* Only the record written before the fork: the monitor's pids file
         * says which processes it started (the daemon died before it could). */
        char pids[PATH_CAP], text[64] = "";
        if (inst_path(x, name, "pids", pids, sizeof(pids)) == 0 && (f = fopen(pids, "re"))) {
            int app = 0, mon = 0;
            if (fgets(text, sizeof(text), f) && sscanf(text, "%d %d", &app, &mon) == 2) {
                char st;
                m->pid = app;
                m->monitor = mon;
                proc_stat(app, &st, &m->start_ticks);
                proc_stat(mon, &st, &m->monitor_ticks);
            }
            fclose(f);
        }
    }
    return 0;
}

/* The exit status the monitor recorded, or -1 when there is none yet. */
static int read_exit(struct execd *x, const char *name, bool *present)
{
    char path[PATH_CAP], text[32] = "";
    *present = false;
    if (inst_path(x, name, "exit", path, sizeof(path)) < 0)
        return -1;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    *present = fgets(text, sizeof(text), f) != NULL;
    fclose(f);
    return *present ? atoi(text) : -1;
}

static int fill_instance(struct execd *x, const struct meta *m, struct jn_instance *out,
                         bool wait_exit)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", m->name);
    snprintf(out->name, sizeof(out->name), "%s", m->name);
    snprintf(out->app, sizeof(out->app), "%s", m->app);
    snprintf(out->release, sizeof(out->release), "%s", m->release);
    snprintf(out->instance, sizeof(out->instance), "%s", m->instance);
    snprintf(out->daemon, sizeof(out->daemon), "%s", m->daemon);
    out->host_port = m->host_port;
    long hz = sysconf(_SC_CLK_TCK);
    out->started_at =
        boot_time() + (int64_t)(m->start_ticks / (unsigned long long)(hz > 0 ? hz : 100));
    bool present;
    int code = read_exit(x, m->name, &present);
    char state = 0;
    if (!present && same_process(m->pid, m->start_ticks, &state)) {
        char path[PATH_CAP];
        out->running = true;
        out->paused =
            inst_path(x, m->name, "paused", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
        out->pid = m->pid;
        return 0;
    }
    /* The app is gone; its monitor writes the status after draining output,
     * then exits. The record is read after each look at the monitor: one
     * found gone may have written it since the last read. */
    for (int i = 0; !present && wait_exit && i < 100; i++) {
        bool alive = same_process(m->monitor, m->monitor_ticks, NULL);
        code = read_exit(x, m->name, &present);
        if (present || !alive)
            break;
        jn_sleep_ms(20);
    }
    out->exit_code = present ? code : -1;
    return 0;
}

/* ---- operations ---- */

static int ex_version(struct jn_driver *d, char *out, size_t len)
{
    struct execd *x = (struct execd *)d;
    if (access(x->dir, W_OK) < 0)
        return jn_driver_fail(d, -errno, "exec: state directory %s is not writable: %s", x->dir,
                              strerror(errno));
    if (access("/bin/sh", X_OK) < 0)
        return jn_driver_fail(d, -errno, "exec: /bin/sh is missing: %s", strerror(errno));
    snprintf(out, len, "exec (plain processes, state in %s)", x->dir);
    return 0;
}

static int ex_image_ensure(struct jn_driver *d, const char *image,
                           const struct jn_registry_auth *auth, char *id, size_t idlen)
{
    return jn_driver_fail(d, JN_EUNSUPPORTED,
                          "exec: plain processes have no images; deploy with --cmd, or use the "
                          "docker driver for --image %s",
                          image);
}

static int ex_inspect(struct jn_driver *d, const char *id, struct jn_instance *out)
{
    struct execd *x = (struct execd *)d;
    struct meta m;
    int rc = read_meta(x, id, &m);
    if (rc == JN_ENOTFOUND)
        return jn_driver_fail(d, rc, "exec: no instance %s", id);
    if (rc < 0)
        return jn_driver_fail(d, rc, "exec: cannot read the state of %s: %s", id, jn_strerror(rc));
    return fill_instance(x, &m, out, true);
}

static void say_own_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    jn_notice("exec: jern is not root, so apps run as its own user %s (uid %d); as root they "
              "would run as " JN_EXEC_USER,
              pw ? pw->pw_name : "?", (int)geteuid());
}

/* The identity apps run as: 0, JN_ENOTFOUND (jern is root and JN_EXEC_USER
 * does not exist) or JN_EBADINPUT (that user is root). */
static int run_as_lookup(struct run_as *as)
{
    memset(as, 0, sizeof(*as));
    if (geteuid() != 0) {
        const char *home = getenv("HOME");
        snprintf(as->home, sizeof(as->home), "%s", home && *home ? home : "/");
        return 0;
    }
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(JN_EXEC_USER, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return JN_ENOTFOUND;
    if (pw.pw_uid == 0)
        return JN_EBADINPUT;
    as->drop = true;
    as->uid = pw.pw_uid;
    as->gid = pw.pw_gid;
    struct stat st;
    bool home_ok = pw.pw_dir && stat(pw.pw_dir, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(as->home, sizeof(as->home), "%s", home_ok ? pw.pw_dir : "/");
    return 0;
}

/* Fills as for this start, or fails with the fix in the driver's message. */
static int run_as_get(struct jn_driver *d, struct run_as *as)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int r = run_as_lookup(as);
    if (r == JN_ENOTFOUND)
        return jn_driver_fail(d, r,
                              "exec: jern runs as root and apps must not: the user " JN_EXEC_USER
                              " does not exist (create it: useradd --system --user-group "
                              "--home-dir /var/lib/" JN_EXEC_USER " --create-home --shell "
                              "/usr/sbin/nologin " JN_EXEC_USER
                              ", as scripts/install-deps.sh does)");
    if (r < 0)
        return jn_driver_fail(d, r,
                              "exec: the user " JN_EXEC_USER " has uid 0; give it its own uid");
    if (!as->drop)
        pthread_once(&once, say_own_user);
    return 0;
}

/* May as do what bits (01 execute/search, 04 read) asks on the file st? By
 * mode bits, with the primary group only: the app runs with no other group. */
static bool may(const struct stat *st, const struct run_as *as, mode_t bits)
{
    if (st->st_uid == as->uid)
        return (st->st_mode & (bits << 6)) == (bits << 6);
    if (st->st_gid == as->gid)
        return (st->st_mode & (bits << 3)) == (bits << 3);
    return (st->st_mode & bits) == bits;
}

bool jn_exec_can_use(const char *path, bool want_dir, char *why, size_t len)
{
    struct run_as as;
    if (run_as_lookup(&as) < 0 || path[0] != '/')
        return true; /* the start says what is wrong */
    if (!as.drop) {
        if (access(path, X_OK) == 0)
            return true;
        snprintf(why, len, "%s: %s", path, strerror(errno));
        return false;
    }
    char p[PATH_CAP];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
        return true;
    struct stat st;
    for (char *s = p + 1;; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last)
            continue;
        char c = *s;
        *s = '\0';
        if (stat(p, &st) < 0) {
            snprintf(why, len, "%s: %s", p, strerror(errno));
            return false;
        }
        bool dir = !last || want_dir;
        if (!may(&st, &as, dir ? 01 : 05)) {
            snprintf(why, len,
                     "the user " JN_EXEC_USER " that apps run as cannot %s %s (mode %04o, owner "
                     "uid %d): move it, or give others %s",
                     dir ? "enter" : "read and execute", p, (unsigned)(st.st_mode & 07777),
                     (int)st.st_uid, dir ? "search (chmod o+x)" : "read and execute (chmod o+rx)");
            return false;
        }
        if (last)
            return true;
        *s = c;
    }
}

/* Records the instance's command in its directory. */
static void write_command(const char *path, const char *command)
{
    FILE *cf = fopen_private(path);
    if (cf) {
        fprintf(cf, "%s\n", command);
        fclose(cf);
    }
}

/* Socket activation (driver.h listen_fds): *fd = a listening socket on
 * bind_host:host_port (127.0.0.1 unless the spec says) or unix_path,
 * *cmdline = "exec COMMAND" (the app keeps the shell's pid, which LISTEN_PID
 * names). Returns 0 or the driver's error. */
static int listen_on(struct in_addr host, int port);
static int listen_unix(const char *path);
static int activation_setup(struct jn_driver *d, const struct jn_instance_spec *spec, int *fd,
                            char **cmdline)
{
    size_t len = strlen(spec->command) + 6;
    *cmdline = jn_calloc(1, len);
    snprintf(*cmdline, len, "exec %s", spec->command);
    struct in_addr host = {.s_addr = htonl(INADDR_LOOPBACK)};
    if (spec->bind_host && inet_pton(AF_INET, spec->bind_host, &host) != 1)
        return jn_driver_fail(d, JN_EBADINPUT, "exec: %s: not an IPv4 address to listen on",
                              spec->bind_host);
    *fd = spec->unix_path ? listen_unix(spec->unix_path) : listen_on(host, spec->host_port);
    if (*fd < 0) {
        int e = *fd;
        *fd = -1;
        if (spec->unix_path)
            return jn_driver_fail(d, e, "exec: cannot listen on unix:%s for %s: %s",
                                  spec->unix_path, spec->name, jn_strerror(e));
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &host, ip, sizeof(ip));
        return jn_driver_fail(d, e, "exec: cannot listen on %s:%d for %s: %s", ip, spec->host_port,
                              spec->name, jn_strerror(e));
    }
    return 0;
}

/* A listening unix socket at path (its directory made 0700 when missing; a
 * file left there by an instance that died is replaced), or -errno. */
static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, n + 1);
    char dir[sizeof(sa.sun_path)];
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* A listening TCP socket on host:port (close-on-exec), or -errno. */
static int listen_on(struct in_addr host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = host};
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static char **build_env(const struct jn_instance_spec *s, const struct run_as *as)
{
    size_t n = 0;
    for (const char *const *e = s->env; e && *e; e++)
        n++;
    char **env = jn_calloc(n + 10, sizeof(char *));
    size_t k = 0;
    const char *path = getenv("PATH");
    char tmp[PATH_CAP + 16];
    snprintf(tmp, sizeof(tmp), "PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
    env[k++] = jn_strdup(tmp);
    snprintf(tmp, sizeof(tmp), "HOME=%s", as->home);
    env[k++] = jn_strdup(tmp);
    bool host = false;
    for (const char *const *e = s->env; e && *e; e++) {
        host |= strncmp(*e, "HOST=", 5) == 0;
        if (strncmp(*e, "PORT=", 5) != 0) /* $PORT is the port jern allocated */
            env[k++] = jn_strdup(*e);
    }
    if (!host)
        env[k++] = jn_strdup("HOST=127.0.0.1");
    if (s->host_port > 0 && !s->unix_path) {
        snprintf(tmp, sizeof(tmp), "PORT=%d", s->host_port);
        env[k++] = jn_strdup(tmp);
    }
    snprintf(tmp, sizeof(tmp), "JERN_APP=%s", s->app);
    env[k++] = jn_strdup(tmp);
    snprintf(tmp, sizeof(tmp), "JERN_RELEASE=%s", s->release);
    env[k++] = jn_strdup(tmp);
    snprintf(tmp, sizeof(tmp), "JERN_INSTANCE=%s", s->instance);
    env[k++] = jn_strdup(tmp);
    if (s->listen_fds) {
        env[k++] = jn_strdup("LISTEN_FDS=1");
        /* the app's pid is written in here after the fork (exec_monitor.c) */
        env[k++] = jn_strdup("LISTEN_PID=                    ");
    }
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (char **e = env; *e; e++)
        free(*e);
    free(env);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int ex_start(struct jn_driver *d, const struct jn_instance_spec *spec,
                    struct jn_instance *out)
{
    struct execd *x = (struct execd *)d;
    if (!spec->command || !*spec->command)
        return jn_driver_fail(d, JN_EBADINPUT, "exec: instance %s has no command", spec->name);
    if (spec->n_volumes > 0)
        return jn_driver_fail(d, JN_EUNSUPPORTED,
                              "exec: plain processes see the host's files directly; --volume "
                              "needs the docker driver");
    if (spec->cpus > 0)
        return jn_driver_fail(d, JN_EUNSUPPORTED,
                              "exec: --cpus needs cgroups, which the exec driver does not manage; "
                              "drop --cpus or use the docker driver");
    char dir[PATH_CAP], logp[PATH_CAP], cmdp[PATH_CAP];
    struct mon_args a = {.log_fd = -1,
                         .devnull = -1,
                         .listen_fd = -1,
                         .stdin_fd = spec->has_stdin ? spec->stdin_fd : -1,
                         .memory = spec->memory,
                         .log_size = spec->log_size,
                         .log_files = JN_MIN(JN_MAX(spec->log_files, 0), 9)};
    if (inst_path(x, spec->name, NULL, dir, sizeof(dir)) < 0 ||
        inst_path(x, spec->name, "log", logp, sizeof(logp)) < 0 ||
        inst_path(x, spec->name, "log", a.log_path, sizeof(a.log_path) - 4) < 0 ||
        inst_path(x, spec->name, "command", cmdp, sizeof(cmdp)) < 0 ||
        inst_path(x, spec->name, "exit", a.exit_path, sizeof(a.exit_path)) < 0 ||
        inst_path(x, spec->name, "exit.tmp", a.exit_tmp, sizeof(a.exit_tmp)) < 0 ||
        inst_path(x, spec->name, "pids", a.pids_path, sizeof(a.pids_path)) < 0 ||
        inst_path(x, spec->name, "pids.tmp", a.pids_tmp, sizeof(a.pids_tmp)) < 0)
        return jn_driver_fail(d, JN_ETOOBIG, "exec: state path for %s too long", spec->name);
    struct run_as as;
    int rc = run_as_get(d, &as);
    if (rc < 0)
        return rc;
    a.as = &as;
    /* The instance's own directory is inside the state dir, which an app
     * running as JN_EXEC_USER cannot enter: its home is the default then. */
    a.workdir = spec->workdir ? spec->workdir : as.drop ? as.home : dir;
    if (mkdir(dir, 0700) < 0) {
        if (errno == EEXIST)
            return jn_driver_fail(d, JN_EEXIST,
                                  "exec: an instance named %s already exists (remove it or pick "
                                  "another name)",
                                  spec->name);
        return jn_driver_fail(d, -errno, "exec: cannot create %s: %s", dir, strerror(errno));
    }
    struct stat st;
    if (stat(a.workdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rm_tree(dir);
        return jn_driver_fail(d, JN_EBADINPUT, "exec: working directory %s is not a directory",
                              a.workdir);
    }
    write_command(cmdp, spec->command);
    /* The record comes first: whatever happens after the fork, a restarted
     * daemon finds this instance by its labels (and its pids file). */
    struct meta m = {.host_port = spec->host_port};
    snprintf(m.name, sizeof(m.name), "%s", spec->name);
    snprintf(m.app, sizeof(m.app), "%s", spec->app);
    snprintf(m.release, sizeof(m.release), "%s", spec->release);
    snprintf(m.instance, sizeof(m.instance), "%s", spec->instance);
    snprintf(m.daemon, sizeof(m.daemon), "%s", spec->daemon ? spec->daemon : "");
    rc = write_meta(x, &m);
    if (rc < 0) {
        rm_tree(dir);
        return jn_driver_fail(d, rc, "exec: cannot record the state of %s: %s", spec->name,
                              jn_strerror(rc));
    }

    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, readyp[2] = {-1, -1};
    a.log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    a.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (a.log_fd < 0 || a.devnull < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        pipe2(readyp, O_CLOEXEC) < 0)
        rc = jn_driver_fail(d, -errno, "exec: cannot set up %s: %s", spec->name, strerror(errno));
    char **env = build_env(spec, &as);
    char *cmdline = NULL, *words = NULL, *argv[EXEC_ARGS_CAP + 1];
    if (rc == 0 && spec->listen_fds)
        rc = activation_setup(d, spec, &a.listen_fd, &cmdline);
    if (!jn_exec_split_simple(spec->command, env, &words, argv)) {
        argv[0] = "sh";
        argv[1] = "-c";
        argv[2] = cmdline ? cmdline : (char *)spec->command;
        argv[3] = NULL;
        a.shell = true;
    }
    a.argv = argv;
    a.envp = env;
    a.out_r = outp[0];
    a.out_w = outp[1];
    a.err_r = errp[0];
    a.err_w = errp[1];
    a.ready_w = readyp[1];

    struct ready_msg msg = {0, 0};
    if (rc == 0) {
        pid_t child = exec_spawn_monitor(&a);
        if (child < 0) {
            rc = jn_driver_fail(d, -errno, "exec: fork: %s", strerror(errno));
        } else if (child > 0) {
            while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        if (rc == 0 && a.listen_fd >= 0 && spec->on_listening)
            spec->on_listening(spec->on_listening_arg);
    }
    int fds[] = {a.log_fd, a.devnull, outp[0], outp[1], errp[0], errp[1], readyp[1], a.listen_fd};
    for (size_t i = 0; i < JN_ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free_env(env);
    free(cmdline);
    free(words);
    if (rc == 0) {
        if (!exec_read_ready(readyp[0], &msg))
            rc = jn_driver_fail(d, -EAGAIN,
                                "exec: could not start %s: its monitor did not start it (out "
                                "of processes or memory, or a jern-monitor of another version "
                                "beside jern?)",
                                spec->name);
    }
    if (readyp[0] >= 0)
        close(readyp[0]);
    if (rc < 0) {
        rm_tree(dir);
        return rc;
    }

    jn_fault_point("exec:after-fork");
    m.pid = msg.app;
    m.monitor = msg.monitor;
    char state;
    proc_stat(m.pid, &state, &m.start_ticks);
    proc_stat(m.monitor, &state, &m.monitor_ticks);
    rc = write_meta(x, &m);
    if (rc < 0) {
        kill(-m.pid, SIGKILL);
        rm_tree(dir);
        return jn_driver_fail(d, rc, "exec: cannot record the state of %s: %s", spec->name,
                              jn_strerror(rc));
    }
    return fill_instance(x, &m, out, false);
}

static int ex_stop(struct jn_driver *d, const char *id, int timeout_ms)
{
    struct execd *x = (struct execd *)d;
    struct meta m;
    int rc = read_meta(x, id, &m);
    if (rc < 0)
        return jn_driver_fail(d, rc, "exec: no instance %s", id);
    bool present;
    read_exit(x, id, &present);
    if (!present && same_process(m.pid, m.start_ticks, NULL)) {
        /* The app leads its own group: signal all of it. SIGCONT wakes a paused one so
         * the SIGTERM is delivered. */
        kill(-m.pid, SIGTERM);
        kill(-m.pid, SIGCONT);
        int64_t deadline = jn_now_ms() + timeout_ms;
        while (same_process(m.pid, m.start_ticks, NULL) && jn_now_ms() < deadline)
            jn_sleep_ms(10);
        if (same_process(m.pid, m.start_ticks, NULL))
            kill(-m.pid, SIGKILL);
        for (int i = 0; i < 500 && same_process(m.pid, m.start_ticks, NULL); i++)
            jn_sleep_ms(10);
        if (same_process(m.pid, m.start_ticks, NULL))
            return jn_driver_fail(d, JN_ETIMEDOUT, "exec: %s (pid %d) survived SIGKILL", id,
                                  (int)m.pid);
    }
    /* Descendants that outlived the leader (an app under `sh -c` whose shell was
     * killed) must not linger holding the port. A process group id cannot be reused
     * while the group has members, so the group is still ours unless the leader's pid
     * now belongs to another process (a different start time): then our group is
     * empty and the id may name an unrelated group, which is never signalled. */
    char st;
    unsigned long long ticks;
    bool reused = proc_stat(m.pid, &st, &ticks) == 0 && ticks != m.start_ticks;
    if (m.pid > 0 && !reused)
        kill(-m.pid, SIGKILL);
    struct jn_instance info;
    fill_instance(x, &m, &info, true);
    return 0;
}

static int ex_remove(struct jn_driver *d, const char *id)
{
    struct execd *x = (struct execd *)d;
    struct meta m;
    char dir[PATH_CAP];
    int rc = read_meta(x, id, &m);
    if (rc == JN_ENOTFOUND) {
        /* A half-created directory (crash during start) is removable too. */
        if (inst_path(x, id, NULL, dir, sizeof(dir)) == 0 && access(dir, F_OK) == 0) {
            rm_tree(dir);
            return 0;
        }
        return jn_driver_fail(d, rc, "exec: no instance %s", id);
    }
    rc = ex_stop(d, id, 0);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 200 && same_process(m.monitor, m.monitor_ticks, NULL); i++)
        jn_sleep_ms(10);
    if (inst_path(x, id, NULL, dir, sizeof(dir)) == 0)
        rm_tree(dir);
    return 0;
}

static int ex_pause(struct jn_driver *d, const char *id, bool pause)
{
    struct execd *x = (struct execd *)d;
    struct jn_instance info;
    int rc = ex_inspect(d, id, &info);
    if (rc < 0)
        return rc;
    if (!info.running)
        return jn_driver_fail(d, JN_EBADINPUT, "exec: %s is not running", id);
    if (kill(-info.pid, pause ? SIGSTOP : SIGCONT) < 0)
        return jn_driver_fail(d, -errno, "exec: %s %s: %s", pause ? "pause" : "unpause", id,
                              strerror(errno));
    /* The state is recorded rather than read back from /proc: a leader blocked in
     * vfork (dash uses it) never shows 'T' although its group is stopped. */
    char path[PATH_CAP];
    inst_path(x, id, "paused", path, sizeof(path));
    if (pause) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    } else {
        unlink(path);
    }
    return 0;
}

static int ex_list(struct jn_driver *d, const char *app, struct jn_instance **out)
{
    struct execd *x = (struct execd *)d;
    DIR *dir = opendir(x->dir);
    if (!dir)
        return jn_driver_fail(d, -errno, "exec: cannot read %s: %s", x->dir, strerror(errno));
    size_t cap = 8, n = 0;
    struct jn_instance *arr = jn_calloc(cap, sizeof(*arr));
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        struct meta m;
        if (read_meta(x, e->d_name, &m) < 0)
            continue;
        if (app && strcmp(m.app, app) != 0)
            continue;
        if (n == cap) {
            cap *= 2;
            arr = jn_realloc(arr, cap * sizeof(*arr));
        }
        fill_instance(x, &m, &arr[n++], false);
    }
    closedir(dir);
    *out = arr;
    return (int)n;
}

/* A place in an instance's output: file index (oldest rotated file first, the
 * live log last) and offset. */
struct log_pos {
    int file;
    long off;
};

static int ex_logs(struct jn_driver *d, const char *id, const struct jn_logs_opts *o,
                   jn_log_sink sink, void *arg)
{
    struct execd *x = (struct execd *)d;
    struct meta m;
    char path[PATH_CAP];
    int rc = read_meta(x, id, &m);
    if (rc < 0)
        return jn_driver_fail(d, rc, "exec: no instance %s", id);
    inst_path(x, id, "log", path, sizeof(path) - 4);
    /* The rotated files, oldest first, then the live log. */
    char(*files)[PATH_CAP + 4] = jn_calloc(10, sizeof(*files));
    int nfiles = 0;
    for (int k = 9; k >= 1; k--) {
        exec_rotated_name(files[nfiles], path, k);
        if (access(files[nfiles], R_OK) == 0)
            nfiles++;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        free(files);
        return jn_driver_fail(d, -errno, "exec: cannot read the log of %s: %s", id,
                              strerror(errno));
    }
    int64_t since_ms = o->since * 1000;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t ms;
    char stream;
    const char *text;

    /* With tail: a first pass finds where the last N matching records start. */
    struct log_pos start = {nfiles, 0};
    if (o->tail > 0) {
        struct log_pos *ring = jn_calloc((size_t)o->tail, sizeof(*ring));
        size_t seen = 0;
        for (int i = 0; i <= nfiles; i++) {
            FILE *g = i < nfiles ? fopen(files[i], "re") : f;
            if (!g)
                continue;
            long off = ftell(g);
            while ((len = getline(&line, &cap, g)) > 0) {
                if (jn_exec_parse_record(line, &ms, &stream, &text) && ms >= since_ms)
                    ring[seen++ % (size_t)o->tail] = (struct log_pos){i, off};
                off = ftell(g);
            }
            if (g != f)
                fclose(g);
            else
                start = (struct log_pos){nfiles, off};
        }
        if (seen > 0)
            start = seen <= (size_t)o->tail ? ring[0] : ring[seen % (size_t)o->tail];
        free(ring);
    }
    for (int i = start.file; i < nfiles; i++) {
        if (jn_exec_emit_file(files[i], i == start.file ? start.off : 0, since_ms, o->timestamps,
                              sink, arg)) {
            free(files);
            fclose(f);
            return 0;
        }
    }
    free(files);
    fseek(f, start.file == nfiles ? start.off : 0, SEEK_SET);

    int64_t deadline = o->timeout_ms > 0 ? jn_now_ms() + o->timeout_ms : INT64_MAX;
    for (;;) {
        while ((len = getline(&line, &cap, f)) > 0) {
            if (line[len - 1] != '\n') {
                /* A record still being written: read it again whole. */
                fseek(f, -(long)len, SEEK_CUR);
                break;
            }
            if (!jn_exec_parse_record(line, &ms, &stream, &text) || ms < since_ms)
                continue;
            if (jn_exec_emit(sink, arg, o->timestamps, line, (size_t)len, stream, text) != 0)
                goto out;
        }
        clearerr(f);
        if (!o->follow || jn_now_ms() >= deadline || (o->stop && *o->stop))
            break;
        bool present;
        read_exit(x, id, &present);
        if (present || !same_process(m.monitor, m.monitor_ticks, NULL)) {
            /* Ended: one more pass picks up the last lines, then stop. */
            while ((len = getline(&line, &cap, f)) > 0)
                if (line[len - 1] == '\n' && jn_exec_parse_record(line, &ms, &stream, &text) &&
                    ms >= since_ms &&
                    jn_exec_emit(sink, arg, o->timestamps, line, (size_t)len, stream, text) != 0)
                    break;
            break;
        }
        jn_sleep_ms(50);
    }
out:
    free(line);
    fclose(f);
    return 0;
}

static void ex_destroy(struct jn_driver *d)
{
    struct execd *x = (struct execd *)d;
    free(x->dir);
    free(x);
}

static const struct jn_driver_ops exec_ops = {
    .name = "exec",
    .version = ex_version,
    .image_ensure = ex_image_ensure,
    .start = ex_start,
    .stop = ex_stop,
    .remove = ex_remove,
    .inspect = ex_inspect,
    .list = ex_list,
    .logs = ex_logs,
    .pause = ex_pause,
    .destroy = ex_destroy,
};

struct jn_driver *jn_driver_exec_new(const char *state_dir, int *err)
{
    char dir[PATH_CAP];
    if (snprintf(dir, sizeof(dir), "%s/instances", state_dir) >= (int)sizeof(dir) - 300) {
        *err = JN_ETOOBIG;
        return NULL;
    }
    int rc = jn_mkdirs(dir);
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    struct execd *x = jn_calloc(1, sizeof(*x));
    x->base.ops = &exec_ops;
    x->dir = jn_strdup(dir);
    *err = 0;
    return &x->base;
}
