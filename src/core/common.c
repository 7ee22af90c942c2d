#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static const char *const jn_errstr[] = {
    [0] = "internal failure (the daemon's log says what failed)",
    [1] = "incomplete input",
    [2] = "malformed input",
    [3] = "size limit exceeded",
    [4] = "invalid configuration",
    [5] = "not found",
    [6] = "already exists",
    [7] = "timed out",
    [8] = "upstream failed",
    [9] = "not supported",
    [10] = "connection closed by peer",
};

const char *jn_strerror(int err)
{
    if (err >= 0)
        return "success";
    if (err <= JN_EBASE && err > JN_ELAST)
        return jn_errstr[JN_EBASE - err];
    if (err > -4096)
        return strerror(-err);
    return "unknown error";
}

static void *oom(size_t n)
{
    fprintf(stderr, "jern: out of memory allocating %zu bytes\n", n);
    abort();
}

void *jn_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *jn_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *jn_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *jn_strdup(const char *s)
{
    return jn_strndup(s, strlen(s));
}

char *jn_strndup(const char *s, size_t n)
{
    char *d = jn_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int64_t jn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jn_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int64_t jn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int jn_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
