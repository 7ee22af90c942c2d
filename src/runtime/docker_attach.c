/*
 * docker_attach.c: a container's stdin through the Engine API's attach
 * (POST /containers/ID/attach), the one request of the driver libcurl does
 * not make: the engine answers it by taking the connection over (101
 * UPGRADED, or 200 from older engines) and the socket then carries the raw
 * stream. So a plain AF_UNIX socket of its own: the request, the answer's
 * head read within a deadline (http/parse.h), then the socket is the
 * caller's. A one-off (jern run) has two: one for its stdin alone, one for
 * its output alone, both made before the start. The output one exists
 * because the engine's follow of a log may skip lines under a fast writer
 * (Podman 4.3 does), where an attached stream holds the writer back instead.
 */
#include "core/common.h"

#include "http/parse.h"
#include "runtime/docker_attach.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX 16384

/* Each blocking call waits at most what is left until deadline. */
static int set_timeout(int fd, int64_t deadline)
{
    int64_t left = deadline - jn_now_ms();
    if (left <= 0)
        return JN_ETIMEDOUT;
    struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    return 0;
}

/* Closes fd (when >= 0) and says why in msg. */
static int fail(int fd, int err, char *msg, size_t msglen, const char *id, const char *why)
{
    if (fd >= 0)
        close(fd);
    snprintf(msg, msglen, "docker: attach %.80s: %s", id, why);
    return err;
}

static int io_error(int fd, int err, char *msg, size_t msglen, const char *id, const char *sock)
{
    char what[300];
    if (err == -EAGAIN || err == -EWOULDBLOCK || err == JN_ETIMEDOUT) {
        snprintf(what, sizeof(what), "the engine at %.200s did not answer in time", sock);
        err = JN_ETIMEDOUT;
    } else if (err == JN_ECLOSED) {
        snprintf(what, sizeof(what), "the engine at %.200s closed the connection", sock);
    } else {
        snprintf(what, sizeof(what), "%.200s: %s", sock, strerror(-err));
    }
    return fail(fd, err, msg, msglen, id, what);
}

/* The engine's reason from what follows a refusing answer's head. */
static void refusal(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
    if (m)
        snprintf(out, outlen, "%s", m);
    else
        snprintf(out, outlen, "%.*s", (int)JN_MIN(len, 200), body);
    cJSON_Delete(j);
    size_t l = strlen(out);
    while (l > 0 && (out[l - 1] == '\n' || out[l - 1] == '\r'))
        out[--l] = '\0';
}

int jn_dk_attach(const char *sock, const char *api, const char *id, bool input, int timeout_ms,
                 char *msg, size_t msglen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path))
        return fail(-1, JN_EBADINPUT, msg, msglen, id,
                    "the engine's socket path is too long for a unix socket");
    memcpy(sa.sun_path, sock, strlen(sock));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return io_error(-1, -errno, msg, msglen, id, sock);
    int64_t deadline = jn_now_ms() + timeout_ms;
    int rc = set_timeout(fd, deadline);
    if (rc == 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        rc = -errno;
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v%s/containers/%s/attach?stream=1&%s HTTP/1.1\r\nHost: docker\r\n"
                     "Upgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n",
                     api, id, input ? "stdin=1&stdout=0&stderr=0" : "stdin=0&stdout=1&stderr=1");
    if (n >= (int)sizeof(req))
        return fail(fd, JN_EBADINPUT, msg, msglen, id, "container id too long");
    for (int off = 0; rc == 0 && off < n;) {
        ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w > 0)
            off += (int)w;
        else if (w < 0 && errno != EINTR)
            rc = -errno;
    }
    /* The head, and what of the body comes with it (a refusal's reason). */
    char buf[HEAD_MAX];
    size_t have = 0;
    struct jn_http_response resp;
    ssize_t head = JN_EINCOMPLETE;
    while (rc == 0 && head == JN_EINCOMPLETE) {
        if (have == sizeof(buf))
            return fail(fd, JN_EUPSTREAM, msg, msglen, id,
                        "the engine's answer has a head over 16 KiB");
        rc = set_timeout(fd, deadline);
        ssize_t r = rc == 0 ? recv(fd, buf + have, sizeof(buf) - have, 0) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (rc == 0 && r <= 0)
            rc = r == 0 ? JN_ECLOSED : -errno;
        if (rc == 0) {
            have += (size_t)r;
            head = jn_http_parse_response(buf, have, NULL, JN_HTTP_POST, &resp);
        }
    }
    if (rc < 0)
        return io_error(fd, rc, msg, msglen, id, sock);
    if (head < 0)
        return fail(fd, JN_EUPSTREAM, msg, msglen, id, "the engine's answer is not HTTP");
    if (resp.status != 101 && resp.status != 200) {
        /* A refusal is short: its body came with the head, or comes soon. */
        size_t want = (size_t)head + (size_t)JN_MIN(resp.content_length, 4096);
        while (resp.framing == JN_FRAMING_LENGTH && have < want && set_timeout(fd, deadline) == 0) {
            ssize_t r = recv(fd, buf + have, want - have, 0);
            if (r <= 0)
                break;
            have += (size_t)r;
        }
        char why[300], text[360];
        refusal(buf + head, have - (size_t)head, why, sizeof(why));
        snprintf(text, sizeof(text), "%d %s", resp.status, why);
        return fail(fd, resp.status == 404 ? JN_ENOTFOUND : JN_EUPSTREAM, msg, msglen, id, text);
    }
    /* Output that came with the head is lost to an output connection: none
     * can, as the container has not started. */
    struct timeval none = {0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

int jn_dk_demux_feed(struct jn_dk_demux *m, const char *p, size_t len, jn_log_sink sink,
                     void *arg)
{
    size_t i = 0;
    while (i < len) {
        if (m->left == 0) {
            m->head[m->have++] = (unsigned char)p[i++];
            if (m->have < 8)
                continue;
            m->have = 0;
            m->stream = m->head[0] == 2 ? 2 : 1;
            m->left = (uint32_t)m->head[4] << 24 | (uint32_t)m->head[5] << 16 |
                      (uint32_t)m->head[6] << 8 | m->head[7];
            continue;
        }
        size_t k = JN_MIN(len - i, (size_t)m->left);
        if (sink(arg, m->stream == 2 ? JN_STREAM_STDERR : JN_STREAM_STDOUT, p + i, k) != 0)
            return 1;
        i += k;
        m->left -= (uint32_t)k;
    }
    return 0;
}

/* How long an output connection may stay silent once its container has
 * ended before the engine is taken to have sent all of it. */
#define OUTPUT_LINGER_MS 3000

int jn_driver_attached_output(int conn, const volatile bool *stop, const volatile bool *ended,
                              jn_log_sink sink, void *arg)
{
    struct jn_dk_demux m = {0};
    char buf[16 * 1024];
    int64_t quiet_since = 0;
    for (;;) {
        if (*stop)
            return 0;
        struct pollfd p = {.fd = conn, .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0) {
            if (!*ended)
                continue;
            if (!quiet_since)
                quiet_since = jn_now_ms();
            else if (jn_now_ms() - quiet_since >= OUTPUT_LINGER_MS)
                return 0;
            continue;
        }
        ssize_t n = recv(conn, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (n <= 0)
            return n == 0 || errno == ECONNRESET ? 0 : -errno; /* the engine's end */
        quiet_since = 0;
        if (jn_dk_demux_feed(&m, buf, (size_t)n, sink, arg))
            return 0;
    }
}
