/*
 * conn_io.c: client connection I/O over a plain socket or TLS (tls/tls.h).
 */
#include "gateway/conn_io.h"

#include "net/sock.h"

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

ssize_t gw_conn_read(struct gw_conn *c, char *buf, size_t *len, size_t cap)
{
    return gw_read_into(c->io.fd, buf, len, cap, &c->rd_ready, c->hup);
}

ssize_t gw_conn_flush(struct gw_conn *c, struct jn_pipe *p, bool *full)
{
    return jn_pipe_flush(p, c->io.fd, full);
}

ssize_t gw_conn_send(struct gw_conn *c, const void *buf, size_t len)
{
    return jn_sock_send(c->io.fd, buf, len);
}

int gw_conn_shutdown(struct gw_conn *c)
{
    return shutdown(c->io.fd, SHUT_WR) < 0 ? -errno : 0;
}
