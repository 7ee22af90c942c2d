/*
 * server.c: a managed mariadbd as a plain process. Identity is the
 * --defaults-file argument: a process is "this database's server" only when
 * /proc says it is mariadbd started on this my.cnf, so a recycled pid in a
 * stale pid file is never mistaken for it.
 */
#include "core/common.h"

#include "core/log.h"
#include "db/cgroup.h"
#include "db/run.h"
#include "db/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SOCK_MAX 100 /* sun_path is 108 bytes */

static void path(char *out, const char *dir, const char *leaf)
{
    snprintf(out, JN_DB_PATH_MAX, "%.960s/%s", dir, leaf);
}

void jn_db_paths(const char *state_dir, const char *name, struct jn_db_paths *p)
{
    char abs[PATH_MAX];
    if (!realpath(state_dir, abs))
        snprintf(abs, sizeof(abs), "%s", state_dir);
    snprintf(p->dir, sizeof(p->dir), "%.900s/db/%s", abs, name);
    path(p->cnf, p->dir, "my.cnf");
    path(p->data, p->dir, "data");
    path(p->pid, p->dir, "mariadbd.pid");
    path(p->log, p->dir, "mariadbd.err");
    path(p->client, p->dir, "client.cnf");
    path(p->secrets, p->dir, "secrets");
    path(p->backups, p->dir, "backups");
    path(p->tmp, p->dir, "tmp");
    path(p->run, p->dir, "run");
    path(p->sock, p->run, "mariadbd.sock");
    if (strlen(p->sock) >= SOCK_MAX) {
        /* A short, stable name derived from the directory. */
        uint64_t h = 1469598103934665603ull;
        for (const char *c = p->dir; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        snprintf(p->run, sizeof(p->run), "/tmp/jern-db-%016llx", (unsigned long long)h);
        path(p->sock, p->run, "mariadbd.sock");
    }
    jn_db_image_load(p);
}

int jn_db_server_init(const struct jn_db_paths *p, char *err, size_t errlen)
{
    char datadir[JN_DB_PATH_MAX + 16], tmpdir[JN_DB_PATH_MAX + 16], log[JN_DB_PATH_MAX + 16];
    snprintf(datadir, sizeof(datadir), "--datadir=%s", p->data);
    snprintf(tmpdir, sizeof(tmpdir), "--tmpdir=%s", p->tmp);
    path(log, p->dir, "install.log");
    if (mkdir(p->tmp, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", p->tmp, strerror(errno));
        return -errno;
    }
    /* The bootstrap's temporary tables go to the database's own tmpdir, not
     * /tmp, where other servers and tools come and go. */
    char *argv[] = {"mariadb-install-db",
                    "--no-defaults",
                    datadir,
                    tmpdir,
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    geteuid() == 0 ? "--user=root" : "--skip-name-resolve",
                    NULL};
    int r = jn_db_run(argv, NULL, NULL, log, 120000);
    if (r != 0) {
        /* the server's first error says why; the script's last lines only
         * where to report it */
        char tail[400] = "";
        FILE *f = fopen(log, "re");
        char line[400];
        while (f && !tail[0] && fgets(line, sizeof(line), f))
            if (strstr(line, "[ERROR]") || strstr(line, "ERROR:")) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(tail, sizeof(tail), "%s", line);
            }
        if (f)
            fclose(f);
        if (!tail[0])
            jn_db_tail(log, tail, sizeof(tail));
        snprintf(err, errlen, "mariadb-install-db failed (%s): %s",
                 r == 127 ? "is mariadb-server installed? apt-get install mariadb-server"
                 : r < 0  ? jn_strerror(r)
                          : "exit status",
                 tail);
        return r < 0 ? r : JN_EBASE;
    }
    return 0;
}

pid_t jn_db_server_start(const struct jn_db_paths *p, const char *init_file, int64_t memory_mb,
                         char *err, size_t errlen)
{
    pid_t running = jn_db_server_find(p);
    if (running > 0) {
        snprintf(err, errlen, "mariadbd (pid %d) already runs on %s", (int)running, p->data);
        return -EEXIST;
    }
    /* my.cnf names it; a database made before it had one gets it here */
    if (mkdir(p->tmp, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", p->tmp, strerror(errno));
        return -errno;
    }
    if (p->image[0])
        return jn_db_container_start(p, init_file, memory_mb, err, errlen);
    char defaults[JN_DB_PATH_MAX + 32], init[JN_DB_PATH_MAX + 32];
    snprintf(defaults, sizeof(defaults), "--defaults-file=%s", p->cnf);
    char *argv[4] = {"mariadbd", defaults, NULL, NULL};
    if (init_file) {
        snprintf(init, sizeof(init), "--init-file=%s", init_file);
        argv[2] = init;
    }
    char cerr[512];
    int cg = jn_db_cgroup_prepare(p->dir, memory_mb << 20, cerr, sizeof(cerr));
    if (cg < 0)
        jn_warn("database %s: --memory is not enforced (it sizes the configuration only): %s",
                strrchr(p->dir, '/') + 1, cerr);
    pid_t pid = jn_db_spawn(argv, p->log, cg);
    if (cg >= 0)
        close(cg);
    if (pid < 0)
        snprintf(err, errlen, "cannot start mariadbd: %s", jn_strerror(pid));
    return pid;
}

/* argv of pid from /proc into buf (NUL-separated); returns its length or -1. */
static ssize_t read_cmdline(pid_t pid, char *buf, size_t n)
{
    char f[64];
    snprintf(f, sizeof(f), "/proc/%d/cmdline", (int)pid);
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    return got;
}

static bool is_zombie(pid_t pid)
{
    char f[64], buf[256];
    snprintf(f, sizeof(f), "/proc/%d/stat", (int)pid);
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0)
        return true;
    buf[got] = '\0';
    const char *rp = strrchr(buf, ')'); /* the name may hold spaces */
    return !rp || rp[1] == '\0' || rp[2] == 'Z' || rp[2] == 'X';
}

bool jn_db_pid_alive(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0 && !is_zombie(pid);
}

bool jn_db_server_is(pid_t pid, const struct jn_db_paths *p)
{
    if (pid <= 0)
        return false;
    char buf[4096];
    ssize_t n = read_cmdline(pid, buf, sizeof(buf));
    if (n < 0)
        return false;
    const char *argv0 = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    if (strcmp(argv0, "mariadbd") != 0 && strcmp(argv0, "mysqld") != 0)
        return false;
    char want[JN_DB_PATH_MAX + 32];
    snprintf(want, sizeof(want), "--defaults-file=%s", p->cnf);
    bool found = false;
    for (const char *a = buf + strlen(buf) + 1; a < buf + n && !found; a += strlen(a) + 1)
        found = strcmp(a, want) == 0;
    return found && !is_zombie(pid);
}

pid_t jn_db_server_find(const struct jn_db_paths *p)
{
    FILE *f = fopen(p->pid, "re");
    if (f) {
        int pid = 0;
        bool ok = fscanf(f, "%d", &pid) == 1;
        fclose(f);
        if (ok && jn_db_server_is(pid, p))
            return pid;
    }
    /* The pid file is written once InnoDB is up; a server still recovering,
     * or one whose file was lost, is found by scanning. */
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && jn_db_server_is((pid_t)pid, p))
            found = (pid_t)pid;
    }
    closedir(d);
    return found;
}

static int stop_pid(pid_t pid, const struct jn_db_paths *p, int64_t timeout_ms)
{
    if (!jn_db_server_is(pid, p))
        return 0;
    kill(pid, SIGTERM);
    int64_t deadline = jn_now_ms() + timeout_ms;
    while (jn_db_server_is(pid, p)) {
        if (jn_now_ms() > deadline) {
            kill(pid, SIGKILL);
            deadline = jn_now_ms() + 5000;
            timeout_ms = -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (timeout_ms < 0 && jn_now_ms() > deadline)
            return JN_ETIMEDOUT;
    }
    return 0;
}

int jn_db_server_stop(pid_t pid, const struct jn_db_paths *p, int64_t timeout_ms)
{
    /* A container's mariadbd too: the engine's stop would give it a fixed
     * grace time; this one waits for InnoDB's shutdown the same way. */
    int r = stop_pid(pid, p, timeout_ms);
    if (r == 0 && p->image[0]) {
        char err[512];
        if (jn_db_container_remove(p, err, sizeof(err)) < 0)
            jn_warn("database %s: %s", strrchr(p->dir, '/') + 1, err);
    }
    return r;
}

bool jn_db_port_busy(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A bind test, not a connect: a port taken by a listener on any address
     * (0.0.0.0 too) fails here as it would for mariadbd. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool busy = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0;
    close(fd);
    return busy;
}
