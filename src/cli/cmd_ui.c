/*
 * cmd_ui.c: `jern ui`: the dashboard in a local browser. Asks the daemon for
 * a one-time login code (POST /ui/code) and prints the URL that uses it. On
 * the unix socket it also opens a port on 127.0.0.1 (--port, else any free
 * one) that passes requests under /ui, and nothing else, to the socket: one
 * thread per browser connection, one request at a time, each answer relayed
 * whole (Content-Length), but a streamed one (chunked: the live log tail)
 * relayed as it comes until either side hangs up. Runs until interrupted.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"
#include "core/buf.h"
#include "http/parse.h"

#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define USAGE "ui [--port N]"
#define HEAD_MAX (64 * 1024)
#define BODY_MAX (64u * 1024 * 1024)
#define IO_TIMEOUT_S 60

struct proxy_conn {
    int fd;
    const char *unix_path;
};

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads into b until it holds a whole head (parsed by parse) and its body
 * (a chunked response: its head, *chunked set). Returns the head length, with
 * *total the head and body, or -1. */
static ssize_t read_message(int fd, struct jn_buf *b, bool response, enum jn_http_method m,
                            size_t *total, struct jn_http_request *req, bool *chunked)
{
    for (;;) {
        ssize_t h;
        uint64_t body = 0;
        if (response) {
            struct jn_http_response *r = jn_malloc(sizeof(*r));
            h = jn_http_parse_response(b->data, b->len, NULL, m, r);
            body = r->framing == JN_FRAMING_LENGTH ? r->content_length : 0;
            *chunked = h >= 0 && r->framing == JN_FRAMING_CHUNKED;
            free(r);
        } else {
            h = jn_http_parse_request(b->data, b->len, NULL, req);
            body = req->framing == JN_FRAMING_LENGTH ? req->content_length : 0;
            if (h >= 0 && req->framing == JN_FRAMING_CHUNKED)
                return -1;
        }
        if (h >= 0 && body <= BODY_MAX && b->len >= (size_t)h + body) {
            *total = (size_t)h + (size_t)body;
            return h;
        }
        if ((h < 0 && h != JN_EINCOMPLETE) || body > BODY_MAX || jn_buf_reserve(b, 16384) < 0)
            return -1;
        ssize_t n = recv(fd, b->data + b->len, jn_buf_avail(b), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        b->len += (size_t)n;
    }
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A streamed answer: what is in b, then every byte from up as it arrives,
 * until the daemon ends it or the browser goes (a quiet stream outlasts the
 * read timeout while the browser stays). */
static void relay_stream(int up, int down, struct jn_buf *b)
{
    char buf[16384];
    if (!write_all(down, b->data, b->len))
        return;
    for (;;) {
        ssize_t n = recv(up, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = down, .events = POLLIN | POLLRDHUP};
            if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
                return;
            continue;
        }
        if (n <= 0 || !write_all(down, buf, (size_t)n))
            return;
    }
}

static const char not_ui[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 39\r\nConnection: close\r\n\r\n"
                             "jern ui passes only /ui to the daemon.\n";

static void *serve_conn(void *arg)
{
    struct proxy_conn *pc = arg;
    struct jn_buf in, out;
    jn_buf_init(&in, HEAD_MAX + BODY_MAX);
    jn_buf_init(&out, HEAD_MAX + BODY_MAX);
    int up = -1;
    set_timeouts(pc->fd);
    for (;;) {
        struct jn_http_request req;
        size_t total;
        bool chunked = false;
        if (read_message(pc->fd, &in, false, JN_HTTP_GET, &total, &req, NULL) < 0)
            break;
        const char *q = memchr(req.path, '?', req.path_len);
        size_t plen = q ? (size_t)(q - req.path) : req.path_len;
        if (plen < 3 || memcmp(req.path, "/ui", 3) != 0 || (plen > 3 && req.path[3] != '/')) {
            write_all(pc->fd, not_ui, sizeof(not_ui) - 1);
            break;
        }
        bool keep = req.keep_alive;
        enum jn_http_method m = req.method_id;
        if (up < 0 && (up = connect_unix(pc->unix_path)) >= 0)
            set_timeouts(up);
        size_t rtotal;
        if (up < 0 || !write_all(up, in.data, total) ||
            read_message(up, &out, true, m, &rtotal, NULL, &chunked) < 0)
            break;
        if (chunked) {
            relay_stream(up, pc->fd, &out);
            break;
        }
        if (!write_all(pc->fd, out.data, rtotal))
            break;
        jn_buf_consume(&in, total);
        jn_buf_consume(&out, rtotal);
        if (!keep)
            break;
    }
    if (up >= 0)
        close(up);
    close(pc->fd);
    jn_buf_free(&in);
    jn_buf_free(&out);
    free(pc);
    return NULL;
}

static int listen_local(int port, int *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

int jn_cmd_ui(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    int port = 0;
    if (argc == 3 && strcmp(argv[1], "--port") == 0) {
        char *end;
        long p = strtol(argv[2], &end, 10);
        if (*end || p < 1 || p > 65535) {
            fprintf(stderr, "jern: --port %s: expected a port number from 1 to 65535\n", argv[2]);
            jn_client_free(&c);
            return 2;
        }
        port = (int)p;
    } else if (argc != 1) {
        jn_client_free(&c);
        return jn_client_usage(USAGE);
    }
    cJSON *o;
    int rc = jn_client_request(&c, "POST", "/ui/code", NULL, &o);
    if (rc != 0) {
        jn_client_free(&c);
        return rc;
    }
    const char *code = jn_client_str(o, "code");
    if (!c.unix_path) {
        printf("open %s/ui/login?code=%s\n", c.base_url, code);
        cJSON_Delete(o);
        jn_client_free(&c);
        return 0;
    }
    int bound = 0, lfd = listen_local(port, &bound);
    if (lfd < 0) {
        fprintf(stderr, "jern: cannot listen on 127.0.0.1:%d: %s (choose another: --port N)\n",
                port, strerror(-lfd));
        cJSON_Delete(o);
        jn_client_free(&c);
        return 1;
    }
    printf("open http://127.0.0.1:%d/ui/login?code=%s\n"
           "(a one-time login, valid 5 minutes; this serves the dashboard of %s until Ctrl-C)\n",
           bound, code, c.unix_path);
    fflush(stdout);
    cJSON_Delete(o);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE)
                usleep(100000); /* out of descriptors: let connections end */
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            break;
        }
        struct proxy_conn *pc = jn_calloc(1, sizeof(*pc));
        pc->fd = fd;
        pc->unix_path = c.unix_path;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, pc) != 0) {
            close(fd);
            free(pc);
            continue;
        }
        pthread_detach(t);
    }
    close(lfd);
    jn_client_free(&c);
    return 1;
}
