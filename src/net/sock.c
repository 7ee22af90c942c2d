#include "net/sock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/un.h>
#include <unistd.h>

static int parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    int port = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port <= 65535 ? port : -1;
}

int jn_addr_parse(const char *text, int default_port, struct jn_addr *out)
{
    memset(out, 0, sizeof(*out));
    size_t tlen = strlen(text);
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
        const char *path = text + 5;
        size_t n = strlen(path);
        if (n == 0 || n >= sizeof(sun->sun_path))
            return JN_EBADINPUT;
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, path, n + 1);
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
    }
    char host[64];
    const char *port_s = NULL;
    size_t hlen;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end)
            return JN_EBADINPUT;
        hlen = (size_t)(end - text - 1);
        if (hlen >= sizeof(host))
            return JN_EBADINPUT;
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
        if (end[1] == ':')
            port_s = end + 2;
        else if (end[1] != '\0')
            return JN_EBADINPUT;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon)
            return JN_EBADINPUT; /* bare IPv6 needs brackets */
        if (!colon && parse_port(text, tlen) >= 0) {
            snprintf(host, sizeof(host), "0.0.0.0");
            port_s = text;
        } else {
            hlen = colon ? (size_t)(colon - text) : tlen;
            if (hlen == 0 || hlen >= sizeof(host))
                return JN_EBADINPUT;
            memcpy(host, text, hlen);
            host[hlen] = '\0';
            port_s = colon ? colon + 1 : NULL;
        }
    }
    int port = default_port;
    if (port_s) {
        port = parse_port(port_s, strlen(port_s));
        if (port < 0)
            return JN_EBADINPUT;
    } else if (default_port <= 0) {
        return JN_EBADINPUT;
    }
    if (strcmp(host, "*") == 0)
        snprintf(host, sizeof(host), "0.0.0.0");
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        out->len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        out->len = sizeof(*sin6);
        return 0;
    }
    return JN_EBADINPUT;
}

const char *jn_addr_format(const struct jn_addr *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
        break;
    }
    case AF_UNIX:
        snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)&a->ss)->sun_path);
        break;
    default:
        snprintf(buf, len, "?");
    }
    return buf;
}

bool jn_addr_equal(const struct jn_addr *a, const struct jn_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int jn_sock_listen(const struct jn_addr *a, int backlog, bool reuseport)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (a->ss.ss_family != AF_UNIX) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
            goto fail;
        if (a->ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        goto fail;
    if (listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

int jn_sock_connect(const struct jn_addr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int jn_sock_accept(int lfd, struct jn_addr *peer)
{
    struct jn_addr tmp;
    struct jn_addr *p = peer ? peer : &tmp;
    p->len = sizeof(p->ss);
    int fd = accept4(lfd, (struct sockaddr *)&p->ss, &p->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int jn_sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

void jn_sock_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int jn_sock_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int jn_sock_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}
