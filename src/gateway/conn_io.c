/*
 * conn_io.c: client connection I/O over a plain socket or TLS (tls/tls.h).
 */
#include "gateway/conn_io.h"

#include "gateway/freelist.h"
#include "gateway/vars.h"
#include "net/sock.h"
#include "tls/tls.h"

#include <sys/socket.h>

ssize_t gw_read_into(int fd, char *buf, size_t *len, size_t cap, bool *ready, bool hup)
{
    for (;;) {
        size_t room = cap - *len;
        ssize_t n = jn_sock_recv(fd, buf + *len, room);
        if (n > 0) {
            *len += (size_t)n;
            if ((size_t)n < room && !hup)
                *ready = false;
            return n;
        }
        if (n == 0) {
            *ready = false;
            return 0;
        }
        if (errno == EINTR)
            continue;
        *ready = false;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static ssize_t tls_read(struct gw_conn *c, char *buf, size_t *len, size_t cap)
{
    size_t room = cap - *len;
    ssize_t n = jn_tls_read(c->tls, buf + *len, room);
    if (n > 0) {
        *len += (size_t)n;
        if (jn_tls_drained(c->tls) && !c->hup)
            c->rd_ready = false;
        return n;
    }
    c->rd_ready = false;
    if (n == JN_TLS_WANT_WRITE) {
        /* OpenSSL must send before it can read on: retry when writable */
        c->tls_rd_wants_wr = true;
        return -EAGAIN;
    }
    return n;
}

static ssize_t stream_read(struct gw_conn *c, char *buf, size_t *len, size_t cap)
{
    ssize_t n = c->sio->read(c, buf + *len, cap - *len);
    if (n > 0)
        *len += (size_t)n;
    return n;
}

ssize_t gw_conn_read(struct gw_conn *c, char *buf, size_t *len, size_t cap)
{
    if (c->sio)
        return stream_read(c, buf, len, cap);
    if (c->tls)
        return tls_read(c, buf, len, cap);
    return gw_read_into(c->io.fd, buf, len, cap, &c->rd_ready, c->hup);
}

static ssize_t tls_writev(void *arg, const struct iovec *iov, int cnt)
{
    ssize_t n = jn_tls_writev(arg, iov, cnt);
    /* a write that has to read first (a handshake message) waits like a
     * full socket; the read event that completes it also wakes the writer */
    return n == JN_TLS_WANT_WRITE || n == JN_TLS_WANT_READ ? -EAGAIN : n;
}

ssize_t gw_conn_flush(struct gw_conn *c, struct jn_pipe *p, bool *full)
{
    if (c->sio)
        return jn_pipe_flush_with(p, c->sio->writev, c, full);
    if (c->tls) {
        ssize_t n = jn_pipe_flush_with(p, tls_writev, c->tls, full);
        if (c->sealed && !jn_pipe_sealed(p)) {
            gw_buf_put(c->w, c->sealed, GW_CLIENT_BUF);
            c->sealed = NULL;
        }
        return n;
    }
    return jn_pipe_flush(p, c->io.fd, full);
}

char *gw_conn_seal_buf(struct gw_conn *c, const struct iovec *iov, int cnt, size_t *taken,
                       size_t *len)
{
    /* the first GW_SEAL_MAX bytes: one record (no copy here: jn_tls_writev
     * gathers small spans itself) */
    struct iovec head[JN_PIPE_IOV];
    int k = 0;
    for (size_t n = 0; k < cnt && k < JN_PIPE_IOV && n < GW_SEAL_MAX; k++) {
        head[k] = iov[k];
        head[k].iov_len = JN_MIN(iov[k].iov_len, GW_SEAL_MAX - n);
        n += head[k].iov_len;
    }
    *taken = *len = 0;
    if (k == 0)
        return NULL;
    size_t cap;
    char *buf = gw_buf_get(c->w, &cap);
    ssize_t r = jn_tls_seal(c->tls, head, k, buf, cap, len);
    if (*len == 0) {
        gw_buf_put(c->w, buf, cap);
        return NULL; /* the next write meets the same state (or error) itself */
    }
    *taken = r > 0 ? (size_t)r : 0;
    return buf;
}

bool gw_conn_seal(struct gw_conn *c, struct jn_pipe *p)
{
    if (!c->tls || c->sio || c->sealed || !jn_pipe_can_seal(p))
        return false;
    const struct iovec *iov;
    int cnt;
    jn_pipe_unsent(p, &iov, &cnt);
    size_t taken, len;
    char *buf = gw_conn_seal_buf(c, iov, cnt, &taken, &len);
    if (!buf)
        return false;
    jn_pipe_seal_head(p, taken, buf, len, c->io.fd);
    c->sealed = buf;
    return true;
}

ssize_t gw_conn_send(struct gw_conn *c, const void *buf, size_t len)
{
    if (c->sio)
        return (ssize_t)len; /* 100 Continue: HTTP/2 has its own flow control */
    if (c->tls) {
        struct iovec v = {.iov_base = (void *)buf, .iov_len = len};
        return jn_tls_writev(c->tls, &v, 1);
    }
    return jn_sock_send(c->io.fd, buf, len);
}

int gw_conn_shutdown(struct gw_conn *c)
{
    if (c->sio) {
        c->sio->shutdown(c);
        return 0;
    }
    if (c->tls)
        jn_tls_shutdown(c->tls);
    return shutdown(c->io.fd, SHUT_WR) < 0 ? -errno : 0;
}

void gw_conn_vars(const struct gw_conn *c, struct jn_var_ctx *ctx)
{
    if (c->session) {
        gw_conn_vars(c->session, ctx); /* $scheme and $ssl_*: the session's */
        ctx->protocol = "HTTP/2.0";
        return;
    }
    if (!c->tls) {
        ctx->scheme = "http";
        return;
    }
    ctx->scheme = "https";
    ctx->ssl_protocol = jn_tls_protocol(c->tls);
    ctx->ssl_cipher = jn_tls_cipher(c->tls);
    ctx->ssl_server_name = jn_tls_server_name(c->tls);
}
