/* cpus.c: jn_conf_usable_cpus: affinity mask capped by the cgroup CPU quota. */
#include "config/conf.h"

#include "config/cpus.h"

#include <sched.h>
#include <unistd.h>

int jn_cpus_from_cpu_max(const char *text)
{
    char quota[32];
    long period;
    if (sscanf(text, "%31s %ld", quota, &period) != 2 || period <= 0)
        return JN_EBADINPUT;
    if (strcmp(quota, "max") == 0)
        return 0;
    char *end;
    long q = strtol(quota, &end, 10);
    if (*end || q <= 0)
        return JN_EBADINPUT;
    return jn_cpus_from_cfs(q, period);
}

int jn_cpus_from_cfs(long quota_us, long period_us)
{
    if (quota_us <= 0 || period_us <= 0)
        return 0;
    long n = (quota_us + period_us - 1) / period_us;
    return n > 4096 ? 4096 : (int)n;
}

static bool read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

static int min_limit(int a, int b)
{
    if (a <= 0)
        return b;
    if (b <= 0)
        return a;
    return a < b ? a : b;
}

/* The tightest quota on dir and its ancestors up to root (limits of a parent
 * cgroup bind its children too). v1 reads two files, v2 one. */
static int quota_up(const char *root, const char *cg_path, bool v2)
{
    char path[512], text[128], dir[400];
    int best = 0;
    snprintf(dir, sizeof(dir), "%s", cg_path);
    for (;;) {
        if (v2) {
            snprintf(path, sizeof(path), "%s%s/cpu.max", root, dir);
            if (read_small(path, text, sizeof(text)))
                best = min_limit(best, jn_cpus_from_cpu_max(text));
        } else {
            long q = 0, p = 0;
            snprintf(path, sizeof(path), "%s%s/cpu.cfs_quota_us", root, dir);
            if (read_small(path, text, sizeof(text)))
                q = strtol(text, NULL, 10);
            snprintf(path, sizeof(path), "%s%s/cpu.cfs_period_us", root, dir);
            if (read_small(path, text, sizeof(text)))
                p = strtol(text, NULL, 10);
            best = min_limit(best, jn_cpus_from_cfs(q, p));
        }
        char *slash = strrchr(dir, '/');
        if (!slash || dir[0] == '\0')
            break;
        *slash = '\0'; /* "/a/b" -> "/a" -> "" (the mount root itself) */
    }
    return best;
}

static int cgroup_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    char line[512];
    int best = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *controllers = c1 + 1, *path = c2 + 1;
        if (strcmp(path, "/") == 0)
            path = "";
        if (controllers[0] == '\0') {
            best = min_limit(best, quota_up("/sys/fs/cgroup", path, true));
        } else {
            /* v1: the line whose controller list holds "cpu" */
            char list[128];
            snprintf(list, sizeof(list), ",%s,", controllers);
            if (!strstr(list, ",cpu,"))
                continue;
            char root[160];
            snprintf(root, sizeof(root), "/sys/fs/cgroup/%s", controllers);
            int l = quota_up(root, path, false);
            if (l == 0)
                l = quota_up("/sys/fs/cgroup/cpu", path, false);
            best = min_limit(best, l);
        }
    }
    fclose(f);
    return best;
}

int jn_conf_usable_cpus(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)online : 1;
    }
    int quota = cgroup_limit();
    if (quota > 0 && quota < n)
        n = quota;
    return n < 1 ? 1 : n;
}
