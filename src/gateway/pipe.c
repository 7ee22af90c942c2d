#include "gateway/pipe.h"

#include "net/sock.h"

#include <limits.h>
#include <string.h>
#include <sys/socket.h>

static const char CRLF[] = "\r\n";
static const char LAST_CHUNK[] = "0\r\n\r\n";

static void push(struct jn_pipe *p, const void *data, size_t len)
{
    if (len == 0)
        return;
    p->iov[p->niov].iov_base = (void *)data;
    p->iov[p->niov].iov_len = len;
    p->niov++;
}

static void finish(struct jn_pipe *p)
{
    p->body_done = true;
    if (p->out_chunked)
        push(p, LAST_CHUNK, sizeof(LAST_CHUNK) - 1);
}

void jn_pipe_start(struct jn_pipe *p, enum jn_http_framing in, uint64_t content_length,
                   bool out_chunked)
{
    p->in = in;
    p->out_chunked = out_chunked;
    p->body_done = false;
    p->remaining = in == JN_FRAMING_LENGTH ? content_length : 0;
    p->body_out = 0;
    jn_chunked_init(&p->dec);
    if (in == JN_FRAMING_NONE || (in == JN_FRAMING_LENGTH && content_length == 0))
        finish(p);
}

int jn_pipe_push(struct jn_pipe *p, const void *data, size_t len)
{
    if (p->niov >= JN_PIPE_IOV)
        return JN_ETOOBIG;
    push(p, data, len);
    return 0;
}

static void payload(struct jn_pipe *p, const char *data, size_t len)
{
    if (len == 0)
        return;
    if (p->out_chunked) {
        char *line = p->lines[p->nlines++];
        int n = snprintf(line, sizeof(p->lines[0]), "%zx\r\n", len);
        push(p, line, (size_t)n);
        push(p, data, len);
        push(p, CRLF, 2);
    } else {
        push(p, data, len);
    }
    p->body_out += len;
}

ssize_t jn_pipe_fill(struct jn_pipe *p, const char *src, size_t len)
{
    size_t used = 0;
    while (!p->body_done && used < len && jn_pipe_has_room(p)) {
        switch (p->in) {
        case JN_FRAMING_LENGTH: {
            size_t n = (size_t)JN_MIN((uint64_t)(len - used), p->remaining);
            payload(p, src + used, n);
            used += n;
            p->remaining -= n;
            if (p->remaining == 0)
                finish(p);
            break;
        }
        case JN_FRAMING_CLOSE:
            payload(p, src + used, len - used);
            used = len;
            break;
        case JN_FRAMING_CHUNKED: {
            const char *data;
            size_t dlen;
            ssize_t n = jn_chunked_decode(&p->dec, src + used, len - used, &data, &dlen);
            if (n < 0)
                return JN_EBADINPUT;
            used += (size_t)n;
            payload(p, data, dlen);
            if (p->dec.done)
                finish(p);
            else if (n == 0)
                return (ssize_t)used;
            break;
        }
        default:
            finish(p);
        }
    }
    return (ssize_t)used;
}

int jn_pipe_eof(struct jn_pipe *p)
{
    if (p->body_done)
        return 0;
    if (p->in == JN_FRAMING_CLOSE) {
        finish(p);
        return 0;
    }
    return JN_ECLOSED;
}

size_t jn_pipe_gather(const struct iovec *iov, int cnt, char *dst)
{
    size_t bytes = 0;
    for (int i = 0; i < cnt && bytes <= JN_PIPE_GATHER_MAX; i++)
        bytes += iov[i].iov_len;
    if (bytes > JN_PIPE_GATHER_MAX)
        return 0;
    size_t off = 0;
    for (int i = 0; i < cnt; i++) {
        memcpy(dst + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    return off;
}

/* Socket calls, not read/writev: send(2) and sendmsg(2) skip the VFS layer
 * (rw_verify_area, fsnotify, the iter wrappers) that writev(2) crosses on
 * every call. */
static ssize_t sock_writev(int fd, const struct iovec *iov, int cnt)
{
    if (cnt == 1)
        return jn_sock_send(fd, iov[0].iov_base, iov[0].iov_len);
    char tmp[JN_PIPE_GATHER_MAX];
    size_t n = jn_pipe_gather(iov, cnt, tmp);
    if (n > 0)
        return jn_sock_send(fd, tmp, n);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
    return jn_sock_sendmsg(fd, &msg);
}

static ssize_t fd_writev(void *arg, const struct iovec *iov, int cnt)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        ssize_t n = sock_writev(fd, iov, cnt);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t jn_pipe_flush(struct jn_pipe *p, int fd, bool *full)
{
    return jn_pipe_flush_with(p, fd_writev, (void *)(intptr_t)fd, full);
}

size_t jn_pipe_unsent(const struct jn_pipe *p, const struct iovec **iov, int *cnt)
{
    *iov = p->iov + p->iov_i;
    *cnt = JN_MIN((jn_pipe_sealed(p) ? p->raw_end : p->niov) - p->iov_i, IOV_MAX);
    size_t bytes = 0;
    for (int i = 0; i < *cnt; i++)
        bytes += (*iov)[i].iov_len;
    return bytes;
}

void jn_pipe_sent_ahead(struct jn_pipe *p, size_t len, ssize_t res)
{
    p->ahead = true;
    p->ahead_len = len;
    p->ahead_res = res;
}

/* n bytes of the queue went out. */
static void advance(struct jn_pipe *p, size_t n)
{
    while (n && p->iov_i < p->niov) {
        struct iovec *v = &p->iov[p->iov_i];
        if (n >= v->iov_len) {
            n -= v->iov_len;
            p->iov_i++;
        } else {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= n;
            n = 0;
        }
    }
}

ssize_t jn_pipe_flush_with(struct jn_pipe *p, jn_pipe_writev_fn wv, void *arg, bool *full)
{
    size_t total = 0;
    *full = false;
    if (p->ahead) {
        /* The first write was made ahead: taken as if made now. */
        p->ahead = false;
        ssize_t n = p->ahead_res;
        if (n < 0 && n != -EAGAIN)
            return n;
        if (n > 0)
            advance(p, (size_t)n);
        total = n > 0 ? (size_t)n : 0;
        if (n < 0 || (size_t)n < p->ahead_len)
            *full = true; /* the socket took less than it was given */
    }
    while (!*full && p->iov_i < p->niov) {
        /* a sealed span goes to the socket as it is, the rest through wv */
        bool raw = jn_pipe_sealed(p);
        int end = raw ? p->raw_end : p->niov;
        int cnt = JN_MIN(end - p->iov_i, IOV_MAX);
        ssize_t n = raw ? fd_writev((void *)(intptr_t)p->raw_fd, p->iov + p->iov_i, cnt)
                        : wv(arg, p->iov + p->iov_i, cnt);
        if (n < 0) {
            if (n == -EAGAIN) {
                *full = true;
                break;
            }
            return n;
        }
        total += (size_t)n;
        advance(p, (size_t)n);
        /* A short write means the socket buffer is full: no need to ask again. */
        if (p->iov_i < end)
            *full = true;
    }
    if (p->iov_i == p->niov)
        jn_pipe_clear(p);
    return (ssize_t)total;
}

bool jn_pipe_can_seal(const struct jn_pipe *p)
{
    /* a slot at the end to shift into, whatever the seal takes */
    return !jn_pipe_sealed(p) && !jn_pipe_empty(p) && p->niov < JN_PIPE_IOV;
}

bool jn_pipe_seal_head(struct jn_pipe *p, size_t n, void *buf, size_t len, int fd)
{
    if (!jn_pipe_can_seal(p))
        return false;
    advance(p, n);
    if (p->iov_i == 0) {
        memmove(p->iov + 1, p->iov, (size_t)p->niov * sizeof(p->iov[0]));
        p->niov++;
    } else {
        p->iov_i--;
    }
    p->iov[p->iov_i] = (struct iovec){.iov_base = buf, .iov_len = len};
    p->raw_end = p->iov_i + 1;
    p->raw_fd = fd;
    return true;
}

void jn_pipe_clear(struct jn_pipe *p)
{
    p->niov = p->iov_i = 0;
    p->raw_end = 0;
    p->nlines = 0;
    p->ahead = false;
}
