/*
 * health.c: the health probe of app instances: one blocking HTTP/1.1 GET on
 * loopback with a deadline. Deploy and supervisor threads only (it blocks).
 */
#include "core/common.h"

#include "control/deploy/deploy_int.h"

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

int jn_health_probe(int port, const char *path, int timeout_ms, char *msg, size_t msglen)
{
    int64_t deadline = jn_now_ms() + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, msglen, "socket: %s", strerror(errno));
        return -errno;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        r = -errno;
    } else if ((r = wait_fd(fd, POLLOUT, deadline)) == 0) {
        int e = 0;
        socklen_t el = sizeof(e);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        r = e ? -e : 0;
    }
    if (r < 0) {
        snprintf(msg, msglen, "connect to 127.0.0.1:%d: %s", port,
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
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: jern-health\r\n"
                     "Connection: close\r\n\r\n",
                     path, port);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(msg, msglen, "GET %s on 127.0.0.1:%d: cannot send the request", path, port);
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
        snprintf(msg, msglen, "GET %s on 127.0.0.1:%d: %s", path, port,
                 r == JN_ETIMEDOUT ? "no answer in time"
                 : r == JN_ECLOSED ? "connection closed without an answer"
                                   : "read failed");
        return r < 0 ? r : JN_EUPSTREAM;
    }
    head[got] = '\0';
    int status = 0;
    if (strncmp(head, "HTTP/1.", 7) != 0 || sscanf(head + 9, "%3d", &status) != 1) {
        snprintf(msg, msglen, "GET %s on 127.0.0.1:%d: not an HTTP answer", path, port);
        return JN_EUPSTREAM;
    }
    if (status < 200 || status >= 400) {
        snprintf(msg, msglen, "GET %s on 127.0.0.1:%d answered %d", path, port, status);
        return JN_EUPSTREAM;
    }
    return 0;
}
