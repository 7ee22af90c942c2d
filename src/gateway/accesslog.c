/*
 * accesslog.c: buffered, per-worker access log lines (see accesslog.h).
 */
#include "gateway/accesslog.h"
#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int jn_accesslog_open(const char *path, size_t cap, struct jn_accesslog **out)
{
    int fd = open_log(path);
    if (fd < 0)
        return fd;
    struct jn_accesslog *l = jn_calloc(1, sizeof(*l));
    l->path = jn_strdup(path);
    l->fd = fd;
    l->cap = cap == 0 ? JN_ACCESSLOG_BUF_DEFAULT : JN_MAX(cap, (size_t)256);
    l->buf = jn_malloc(l->cap);
    *out = l;
    return 0;
}

int jn_accesslog_flush(struct jn_accesslog *l)
{
    size_t off = 0;
    int rc = 0;
    while (off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            l->dropped_bytes += l->len - off;
            /* one error line per failing flush at most: the log must not
             * become the error log's flood */
            if (rc != l->last_error)
                jn_error("access log \"%s\": write failed: %s; lines are dropped until it "
                         "works again",
                         l->path, jn_strerror(rc));
            l->last_error = rc;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0)
        l->last_error = 0;
    l->len = 0;
    return rc;
}

int jn_accesslog_write(struct jn_accesslog *l, const struct jn_template *fmt,
                       const struct jn_var_ctx *ctx)
{
    int rc = 0;
    if (l->cap - l->len < 2) /* a cut line filled it to the brim */
        rc = jn_accesslog_flush(l);
    /* the last byte of the room is kept for the '\n' */
    ssize_t n = jn_template_eval(fmt, ctx, true, l->buf + l->len, l->cap - l->len - 1);
    if (n == JN_ETOOBIG && l->len > 0) {
        int frc = jn_accesslog_flush(l);
        rc = rc ? rc : frc;
        n = jn_template_eval(fmt, ctx, true, l->buf, l->cap - 1);
    }
    if (n == JN_ETOOBIG)
        n = (ssize_t)(l->cap - 1 - l->len); /* longer than the whole buffer: cut */
    else if (n < 0)
        return (int)n; /* cannot happen in log mode; kept for the contract */
    l->len += (size_t)n;
    l->buf[l->len++] = '\n';
    l->lines++;
    return rc;
}

int jn_accesslog_reopen(struct jn_accesslog *l)
{
    jn_accesslog_flush(l);
    int fd = open_log(l->path);
    if (fd < 0) {
        jn_error("access log \"%s\": reopen failed: %s; still writing to the old file", l->path,
                 jn_strerror(fd));
        l->last_error = fd;
        return fd;
    }
    close(l->fd);
    l->fd = fd;
    return 0;
}

void jn_accesslog_close(struct jn_accesslog *l)
{
    if (l == NULL)
        return;
    jn_accesslog_flush(l);
    close(l->fd);
    free(l->buf);
    free(l->path);
    free(l);
}
