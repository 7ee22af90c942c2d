/*
 * sock.h: non-blocking, close-on-exec sockets. Addresses are written
 * "HOST:PORT", "[V6]:PORT", "PORT" (all IPv4 interfaces) or "unix:/path".
 * Host names are not resolved here except "localhost" (the data path never
 * blocks on DNS). Any thread.
 */
#ifndef JN_NET_SOCK_H
#define JN_NET_SOCK_H

#include "core/common.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct jn_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Parses an address; default_port is used when none is given (0 = port required).
 * Returns 0 or JN_EBADINPUT. Pure. */
int jn_addr_parse(const char *text, int default_port, struct jn_addr *out);

/* Formats "1.2.3.4:80", "[::1]:80" or "unix:/p" into buf. Returns buf. */
const char *jn_addr_format(const struct jn_addr *a, char *buf, size_t len);

/* True when both name the same endpoint. */
bool jn_addr_equal(const struct jn_addr *a, const struct jn_addr *b);

/* A listening socket: SO_REUSEADDR, SO_REUSEPORT when reuseport, non-blocking, cloexec.
 * Returns the fd or -errno. */
int jn_sock_listen(const struct jn_addr *a, int backlog, bool reuseport);

/* Starts a non-blocking connect. Returns the fd (connection maybe still in
 * progress: wait for writability, then jn_sock_error) or -errno. */
int jn_sock_connect(const struct jn_addr *a);

/* Accepts one connection as non-blocking and cloexec. Returns the fd, or -errno
 * (-EAGAIN when none is pending). */
int jn_sock_accept(int lfd, struct jn_addr *peer);

/* Returns the pending SO_ERROR as -errno, or 0. */
int jn_sock_error(int fd);

/* Sets TCP_NODELAY (ignored for unix sockets). */
void jn_sock_nodelay(int fd);

/* Sets O_NONBLOCK on an existing fd. Returns 0 or -errno. */
int jn_sock_nonblock(int fd);

/* The port the socket is bound to (for port 0 listeners), or -errno. */
int jn_sock_local_port(int fd);

/*
 * recv(2), send(2) and sendmsg(2) for the gateway's data path, as direct
 * system calls. glibc's wrappers are cancellation points: in a process with
 * threads each call enables and disables asynchronous cancellation, two
 * atomic read-modify-writes around every syscall (0.7% of the gateway's CPU
 * at -c50, more than its own request parser). No jern thread is ever
 * cancelled, so nothing is lost. Return -1 with errno set, like the wrappers.
 */
static inline ssize_t jn_sock_recv(int fd, void *buf, size_t len)
{
    return syscall(SYS_recvfrom, fd, buf, len, 0, NULL, NULL);
}

static inline ssize_t jn_sock_send(int fd, const void *buf, size_t len)
{
    return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL, NULL, 0);
}

static inline ssize_t jn_sock_sendmsg(int fd, const struct msghdr *msg)
{
    return syscall(SYS_sendmsg, fd, msg, MSG_NOSIGNAL);
}

#endif
