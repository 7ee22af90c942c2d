/* rt_helpers.h: small helpers the runtime driver tests share (include after jn_test.h). */
#ifndef JN_TEST_RT_HELPERS_H
#define JN_TEST_RT_HELPERS_H

#include "runtime/driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A TCP port on 127.0.0.1 nothing listens on right now. */
static inline int rt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        return -1;
    close(fd);
    return ntohs(sin.sin_port);
}

static inline void rt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* GET path from 127.0.0.1:port with Connection: close, retrying connects for up to
 * wait_ms. Writes the body (NUL-terminated) into body; returns the status or -1. */
static inline int rt_http_get(int port, const char *path, char *body, size_t len, int wait_ms)
{
    int64_t deadline = jn_now_ms() + wait_ms;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
            char req[512], resp[65536];
            int n =
                snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
            size_t have = 0;
            if (write(fd, req, (size_t)n) == n) {
                ssize_t r;
                while (have < sizeof(resp) - 1 &&
                       (r = read(fd, resp + have, sizeof(resp) - 1 - have)) > 0)
                    have += (size_t)r;
            }
            close(fd);
            resp[have] = '\0';
            char *sep = strstr(resp, "\r\n\r\n");
            int status = 0;
            if (sep && sscanf(resp, "HTTP/1.%*d %d", &status) == 1) {
                snprintf(body, len, "%s", sep + 4);
                return status;
            }
        } else {
            close(fd);
        }
        if (jn_now_ms() >= deadline)
            return -1;
        rt_sleep_ms(50);
    }
}

/* Collects log output into a fixed buffer: stdout and stderr separately. */
struct rt_logs {
    char out[8192];
    char err[8192];
    size_t out_len, err_len;
    int calls;
    int stop_after; /* > 0: ask to stop after this many calls */
};

static inline int rt_log_sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct rt_logs *l = arg;
    char *dst = stream == JN_STREAM_STDERR ? l->err : l->out;
    size_t *dl = stream == JN_STREAM_STDERR ? &l->err_len : &l->out_len;
    size_t room = sizeof(l->out) - 1 - *dl;
    size_t k = len < room ? len : room;
    memcpy(dst + *dl, data, k);
    *dl += k;
    dst[*dl] = '\0';
    l->calls++;
    return l->stop_after > 0 && l->calls >= l->stop_after;
}

#endif
