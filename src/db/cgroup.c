/*
 * cgroup.c: a memory cgroup per managed mariadbd (see cgroup.h). The cgroup
 * is a child of the daemon's own memory cgroup, named from the database's
 * directory (two daemons with a database of the same name never share one),
 * and its path is kept in DIR/cgroup so a later daemon removes it.
 */
#include "core/common.h"

#include "db/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT "/sys/fs/cgroup"

static void cgroup_name(const char *dir, char *out, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = dir; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    snprintf(out, n, "jern-db-%016llx", (unsigned long long)h);
}

/* True when the comma-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, word, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

/* The memory cgroup path of pid (self when 0), as /proc/PID/cgroup says:
 * the v1 "memory" hierarchy when mounted, else the v2 one. */
static int proc_cgroup(pid_t pid, char *out, size_t n, bool *v2)
{
    char f[64], line[JN_DB_CGROUP_MAX + 64], unified[JN_DB_CGROUP_MAX] = "";
    if (pid)
        snprintf(f, sizeof(f), "/proc/%d/cgroup", (int)pid);
    else
        snprintf(f, sizeof(f), "/proc/self/cgroup");
    FILE *fp = fopen(f, "re");
    if (!fp)
        return -errno;
    int r = JN_ENOTFOUND;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        if (has_word(c1 + 1, "memory")) {
            snprintf(out, n, "%s/memory%s", ROOT, c2 + 1);
            *v2 = false;
            r = 0;
            break;
        }
        if (c1[1] == '\0')
            snprintf(unified, sizeof(unified), "%s", c2 + 1);
    }
    fclose(fp);
    if (r < 0 && unified[0] && access(ROOT "/cgroup.controllers", F_OK) == 0) {
        snprintf(out, n, "%s%s", ROOT, strcmp(unified, "/") == 0 ? "" : unified);
        *v2 = true;
        r = 0;
    }
    return r;
}

static int write_str(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, text, strlen(text));
    int e = w == (ssize_t)strlen(text) ? 0 : w < 0 ? -errno : -EIO;
    close(fd);
    return e;
}

int jn_db_cgroup_prepare(const char *dir, int64_t bytes, char *err, size_t errlen)
{
    char base[JN_DB_CGROUP_MAX], name[32], cg[JN_DB_CGROUP_MAX + 48], f[JN_DB_CGROUP_MAX + 96];
    bool v2;
    int r = proc_cgroup(0, base, sizeof(base), &v2);
    if (r < 0) {
        snprintf(err, errlen, "no memory cgroup hierarchy is mounted");
        return r;
    }
    cgroup_name(dir, name, sizeof(name));
    snprintf(cg, sizeof(cg), "%s/%s", base, name);
    if (mkdir(cg, 0755) < 0 && errno != EEXIST) {
        r = -errno;
        snprintf(err, errlen, "cannot make the memory cgroup %s: %s", cg, strerror(errno));
        return r;
    }
    const char *limit = v2 ? "memory.max" : "memory.limit_in_bytes";
    snprintf(f, sizeof(f), "%s/%s", cg, limit);
    if (v2 && access(f, F_OK) < 0) {
        /* Refused (EBUSY) when the daemon's cgroup holds processes itself:
         * the controller must be delegated (systemd Delegate=yes). */
        char ctl[JN_DB_CGROUP_MAX + 32];
        snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", base);
        write_str(ctl, "+memory");
    }
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)bytes);
    if ((r = write_str(f, num)) < 0) {
        snprintf(err, errlen, "cannot set %s: %s%s", f, strerror(-r),
                 v2 ? " (cgroup v2: the memory controller is not delegated to jern's cgroup)"
                    : "");
        rmdir(cg);
        return r;
    }
    snprintf(f, sizeof(f), "%s/cgroup", dir);
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%s\n", cg);
        close(fd);
    }
    snprintf(f, sizeof(f), "%s/cgroup.procs", cg);
    fd = open(f, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot open %s: %s", f, strerror(errno));
        return r;
    }
    return fd;
}

int64_t jn_db_cgroup_limit(const char *dir, pid_t pid)
{
    char cg[JN_DB_CGROUP_MAX], name[32], f[JN_DB_CGROUP_MAX + 32];
    bool v2;
    if (pid <= 0 || proc_cgroup(pid, cg, sizeof(cg), &v2) < 0)
        return 0;
    cgroup_name(dir, name, sizeof(name));
    const char *leaf = strrchr(cg, '/');
    if (!leaf || strcmp(leaf + 1, name) != 0)
        return 0;
    snprintf(f, sizeof(f), "%s/%s", cg, v2 ? "memory.max" : "memory.limit_in_bytes");
    FILE *fp = fopen(f, "re");
    long long v = 0;
    if (fp) {
        if (fscanf(fp, "%lld", &v) != 1)
            v = 0;
        fclose(fp);
    }
    return v;
}

void jn_db_cgroup_remove(const char *dir)
{
    char f[JN_DB_CGROUP_MAX + 32], cg[JN_DB_CGROUP_MAX];
    snprintf(f, sizeof(f), "%s/cgroup", dir);
    FILE *fp = fopen(f, "re");
    if (!fp)
        return;
    if (fgets(cg, sizeof(cg), fp)) {
        cg[strcspn(cg, "\n")] = '\0';
        /* Only a cgroup jern made: a damaged file never removes another. */
        if (strncmp(cg, ROOT "/", strlen(ROOT) + 1) == 0 && strstr(cg, "/jern-db-"))
            rmdir(cg);
    }
    fclose(fp);
    unlink(f);
}
