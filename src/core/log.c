#include "core/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "notice", "warn", "error", "crit"};

static _Atomic int log_level = JN_LOG_NOTICE;
static _Atomic int log_fd = 2;
static char log_path[4096];

void jn_log_set_level(enum jn_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum jn_log_level jn_log_get_level(void)
{
    return (enum jn_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int jn_log_level_parse(const char *name)
{
    for (size_t i = 0; i < JN_ARRAY_LEN(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "warning") == 0)
        return JN_LOG_WARN;
    if (strcmp(name, "crit") == 0 || strcmp(name, "alert") == 0 || strcmp(name, "emerg") == 0)
        return JN_LOG_CRIT;
    return -1;
}

static int open_path(const char *path)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, "stderr") == 0)
        return 2;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int jn_log_open(const char *path)
{
    int fd = open_path(path);
    if (fd < 0)
        return fd;
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    if (path && fd != 2)
        snprintf(log_path, sizeof(log_path), "%s", path);
    else
        log_path[0] = '\0';
    return 0;
}

int jn_log_reopen(void)
{
    if (log_path[0] == '\0')
        return 0;
    return jn_log_open(log_path);
}

void jn_log(enum jn_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " [%s] %d#%ld: ", level_names[level],
                  (int)getpid(), (long)syscall(SYS_gettid));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, (size_t)n);
    (void)w;
}
