/*
 * stream.c: a streamed answer's connection (api.h): HTTP/1.1 chunks written
 * from any thread under one lock, the reader's hang-up noticed by poll.
 */
#include "core/common.h"

#include "control/api/api.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

struct jn_api_stream {
    int fd;
    pthread_mutex_t mu;
    bool broken;
};

struct jn_api_stream *jn_api_stream_new(int fd)
{
    struct jn_api_stream *s = jn_calloc(1, sizeof(*s));
    s->fd = fd;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false; /* gone, or not reading for the send timeout */
        p += w;
        n -= (size_t)w;
    }
    return true;
}

int jn_api_stream_write(struct jn_api_stream *s, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    char head[24];
    int hl = snprintf(head, sizeof(head), "%zx\r\n", len);
    pthread_mutex_lock(&s->mu);
    if (!s->broken)
        s->broken = !send_all(s->fd, head, (size_t)hl) || !send_all(s->fd, data, len) ||
                    !send_all(s->fd, "\r\n", 2);
    bool broken = s->broken;
    pthread_mutex_unlock(&s->mu);
    return broken ? -EPIPE : 0;
}

bool jn_api_stream_gone(struct jn_api_stream *s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN | POLLRDHUP};
    pthread_mutex_lock(&s->mu);
    bool gone = s->broken;
    if (!gone && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        gone = s->broken = true;
    pthread_mutex_unlock(&s->mu);
    return gone;
}

void jn_api_stream_end(struct jn_api_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (!s->broken)
        send_all(s->fd, "0\r\n\r\n", 5);
    pthread_mutex_unlock(&s->mu);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
