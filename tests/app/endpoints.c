/* endpoints.c: the endpoints that read or stream bodies, or read files or sockets. */
#include "testapp.h"

#include <sys/un.h>

/* ---- endpoints ---- */

int handle_echo(struct conn *c, struct req *r, struct body *b)
{
    char chunk[65536];
    maybe_continue(c, r);
    int head = strcmp(r->method, "HEAD") == 0;
    if (!r->chunked) {
        if (send_head(c, r, 200, (long long)(r->has_cl ? r->cl : 0),
                      "Content-Type: application/octet-stream\r\n") < 0)
            return -1;
        ssize_t n;
        while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0)
            if (!head && write_all(c->fd, chunk, (size_t)n) < 0)
                return -1;
        return n < 0 ? -1 : 0;
    }
    if (send_head(c, r, 200, -1,
                  "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n") < 0)
        return -1;
    ssize_t n;
    while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0) {
        char sz[32];
        int sl = snprintf(sz, sizeof(sz), "%zx\r\n", (size_t)n);
        struct iovec iov[3] = {{sz, (size_t)sl}, {chunk, (size_t)n}, {"\r\n", 2}};
        if (!head && writev_all(c->fd, iov, 3) < 0)
            return -1;
    }
    if (n < 0)
        return -1;
    return head ? 0 : write_all(c->fd, "0\r\n\r\n", 5);
}

int handle_sink(struct conn *c, struct req *r, struct body *b)
{
    char chunk[65536];
    uint64_t total = 0;
    ssize_t n;
    maybe_continue(c, r);
    while ((n = body_read(c, b, chunk, sizeof(chunk))) > 0)
        total += (uint64_t)n;
    if (n < 0)
        return -1;
    return respond_text(c, r, 200, "%" PRIu64 "\n", total);
}

int handle_chunked(struct conn *c, struct req *r)
{
    long long k = qparam(r->query, "n", 3), size = qparam(r->query, "size", 16);
    if (k < 0 || k > 1000000 || size < 1 || size > (1 << 24))
        return respond_text(c, r, 400, "/chunked: need 0 <= n <= 1000000, 1 <= size <= 16777216\n");
    int head = strcmp(r->method, "HEAD") == 0;
    /* HTTP/1.0 has no chunked encoding: fall back to a close-delimited body. */
    if (r->minor == 0) {
        r->keepalive = 0;
        if (send_head(c, r, 200, -1, "Content-Type: text/plain\r\n") < 0)
            return -1;
    } else if (send_head(c, r, 200, -1,
                         "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n") < 0) {
        return -1;
    }
    if (head)
        return 0;
    char block[16384];
    for (long long i = 0; i < k; i++) {
        memset(block, 'a' + (int)(i % 26), sizeof(block));
        char sz[32];
        int sl = snprintf(sz, sizeof(sz), "%llx\r\n", size);
        if (r->minor == 1 && write_all(c->fd, sz, (size_t)sl) < 0)
            return -1;
        for (long long left = size; left > 0;) {
            size_t w = left < (long long)sizeof(block) ? (size_t)left : sizeof(block);
            if (write_all(c->fd, block, w) < 0)
                return -1;
            left -= (long long)w;
        }
        if (r->minor == 1 && write_all(c->fd, "\r\n", 2) < 0)
            return -1;
    }
    return r->minor == 1 ? write_all(c->fd, "0\r\n\r\n", 5) : 0;
}

int handle_big(struct conn *c, struct req *r)
{
    long long bytes = qparam(r->query, "bytes", 1024);
    if (bytes < 0)
        return respond_text(c, r, 400, "/big: bytes must be >= 0\n");
    if (send_head(c, r, 200, bytes, "Content-Type: application/octet-stream\r\n") < 0)
        return -1;
    if (strcmp(r->method, "HEAD") == 0)
        return 0;
    for (long long left = bytes; left > 0;) {
        size_t w = left < (long long)sizeof(big_block) ? (size_t)left : sizeof(big_block);
        if (write_all(c->fd, big_block, w) < 0)
            return -1;
        left -= (long long)w;
    }
    return 0;
}

#define FILE_MAX (1 << 20)

/* /file?path=P: lets tests see what a deployed app sees on its filesystem
 * (a container's bind mount), confined to $FILE_ROOT. */
int handle_file(struct conn *c, struct req *r)
{
    const char *root = getenv("FILE_ROOT");
    const char *q = r->query ? strstr(r->query, "path=") : NULL;
    if (q && q != r->query && q[-1] != '&')
        q = NULL;
    char rel[512];
    size_t n = q ? strcspn(q + 5, "&") : 0;
    if (!root || !*root)
        return respond_text(c, r, 403, "/file: $FILE_ROOT is not set\n");
    if (!q || n == 0 || n >= sizeof(rel))
        return respond_text(c, r, 400, "/file: need ?path=P (at most 511 bytes)\n");
    memcpy(rel, q + 5, n);
    rel[n] = '\0';
    for (const char *p = rel; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return respond_text(c, r, 403, "/file: \"..\" is not allowed in path\n");
    char full[1024];
    snprintf(full, sizeof(full), "%s/%s", root, rel);
    FILE *f = fopen(full, "rb");
    if (!f)
        return respond_text(c, r, errno == ENOENT ? 404 : 403, "/file: %s: %s\n", rel,
                            strerror(errno));
    char *body = malloc(FILE_MAX);
    size_t len = body ? fread(body, 1, FILE_MAX, f) : 0;
    fclose(f);
    int rc = body ? respond(c, r, 200, "application/octet-stream", body, len)
                  : respond_text(c, r, 500, "/file: out of memory\n");
    free(body);
    return rc;
}

int handle_close(struct conn *c, struct req *r)
{
    r->keepalive = 0;
    if (send_head(c, r, 200, -1, "Content-Type: text/plain\r\n") < 0)
        return -1;
    if (strcmp(r->method, "HEAD") == 0)
        return 0;
    char body[256];
    int n = snprintf(body, sizeof(body), "close-delimited body from %s\n", app_name);
    return write_all(c->fd, body, (size_t)n);
}

/* Serves one request whose head is parsed. Returns 0 to keep the connection, -1 to
 * close it. */

/* /mysql: the MySQL protocol's first packet (the server speaks first): a
 * 4-byte header, protocol version 10, then the NUL-terminated server version. */
int handle_mysql(struct conn *c, struct req *r)
{
    const char *path = getenv("MYSQL_UNIX_PORT");
    if (!path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return respond_text(c, r, 502, "MYSQL_UNIX_PORT is not set\n");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    char buf[256];
    ssize_t n = -1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            n = read(fd, buf, sizeof(buf) - 1);
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n < 6 || buf[4] != 10)
        return respond_text(c, r, 502, "no MySQL greeting on %s: %s\n", path,
                            n < 0 ? strerror(e) : "short or unknown packet");
    buf[n] = '\0';
    return respond_text(c, r, 200, "%s\n", buf + 5);
}
