/*
 * health.c: the health probe of app instances: one blocking HTTP/1.1 GET on
 * loopback or a unix socket, with a deadline. Deploy and supervisor threads
 * only (it blocks).
 */
#include "core/common.h"

#include "control/deploy/deploy_int.h"
#include "net/sock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Waits for fd to be ready for events until deadline (jn_now_ms). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - jn_now_ms();
        if (left <= 0)
            return JN_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int jn_health_probe(const char *addr, const char *path, int timeout_ms, char *msg, size_t msglen)
{
    int64_t deadline = jn_now_ms() + timeout_ms;
    struct jn_addr sa;
    if (jn_addr_parse(addr, 80, &sa) < 0) {
        snprintf(msg, msglen, "not an address: %s", addr);
        return JN_EBADINPUT;
    }
    int fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, msglen, "socket: %s", strerror(errno));
        return -errno;
    }
    int r = 0;
    /* A unix socket's connect answers at once (EAGAIN: its queue is full). */
    if (connect(fd, (struct sockaddr *)&sa.ss, sa.len) < 0 && errno != EINPROGRESS) {
        r = -errno;
    } else if ((r = wait_fd(fd, POLLOUT, deadline)) == 0) {
        int e = 0;
        socklen_t el = sizeof(e);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        r = e ? -e : 0;
    }
    if (r < 0) {
        snprintf(msg, msglen, "connect to %s: %s", addr,
                 r == JN_ETIMEDOUT ? "timed out" : strerror(-r));
        close(fd);
        return r;
    }
    if (!path || !*path) {
        close(fd);
        return 0;
    }
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: jern-health\r\n"
                     "Connection: close\r\n\r\n",
                     path, sa.ss.ss_family == AF_UNIX ? "localhost" : addr);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(msg, msglen, "GET %s on %s: cannot send the request", path, addr);
        close(fd);
        return JN_EUPSTREAM;
    }
    /* Only the status line matters; 12 bytes hold "HTTP/1.1 200". */
    char head[64];
    size_t got = 0;
    while (got < 12) {
        if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
            break;
        ssize_t k = recv(fd, head + got, sizeof(head) - 1 - got, 0);
        if (k <= 0) {
            r = k == 0 ? JN_ECLOSED : (errno == EAGAIN ? 0 : -errno);
            if (r == 0)
                continue;
            break;
        }
        got += (size_t)k;
    }
    close(fd);
    if (got < 12) {
        snprintf(msg, msglen, "GET %s on %s: %s", path, addr,
                 r == JN_ETIMEDOUT ? "no answer in time"
                 : r == JN_ECLOSED ? "connection closed without an answer"
                                   : "read failed");
        return r < 0 ? r : JN_EUPSTREAM;
    }
    head[got] = '\0';
    int status = 0;
    if (strncmp(head, "HTTP/1.", 7) != 0 || sscanf(head + 9, "%3d", &status) != 1) {
        snprintf(msg, msglen, "GET %s on %s: not an HTTP answer", path, addr);
        return JN_EUPSTREAM;
    }
    if (status < 200 || status >= 400) {
        snprintf(msg, msglen, "GET %s on %s answered %d", path, addr, status);
        return JN_EUPSTREAM;
    }
    return 0;
}
