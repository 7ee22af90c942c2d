/*
 * testapp.h: what the files of jern-testapp share (testapp.c: main, the
 * connection loop and the endpoint table; wire.c: reading requests and
 * writing responses; ws.c: the WebSocket echo; endpoints.c: the endpoints
 * that stream).
 */
#ifndef JERN_TESTAPP_H
#define JERN_TESTAPP_H

/* Built alone by `gcc -static` too, without the project's CPPFLAGS. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 32768       /* request head cap: larger heads get 431 */
#define BUF_SIZE (64 * 1024) /* per-connection input buffer */
#define PATTERN "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define PATTERN_LEN 62

extern const char *app_name;
extern const char *app_version;
extern atomic_ulong accepted;
extern char big_block[PATTERN_LEN * 1024]; /* whole repetitions of PATTERN */

struct conn {
    int fd;
    unsigned long id;
    char *buf; /* BUF_SIZE bytes; [start, end) unread */
    size_t start, end;
};

struct req {
    char method[16];
    char *target; /* points into the head copy */
    char *path, *query;
    int minor;  /* HTTP/1.minor */
    char *head; /* copy of the head, NUL-terminated, tokens cut into it */
    char *raw;  /* verbatim copy of the head */
    size_t head_len;
    int has_cl, chunked, keepalive, expect_continue, upgrade_ws;
    uint64_t cl;
    char ws_key[64];
};

/* Request body reader state: Content-Length or chunked. */
struct body {
    int chunked;
    int done;
    int need_crlf;      /* chunked: CRLF after chunk data still to read */
    uint64_t remaining; /* bytes left in the body (CL) or in the current chunk */
};

int write_all(int fd, const void *p, size_t n);
int writev_all(int fd, struct iovec *iov, int cnt);
ssize_t fill(struct conn *c);
const char *reason(int status);
int send_head(struct conn *c, struct req *r, int status, long long body_len, const char *extra);
int respond(struct conn *c, struct req *r, int status, const char *ctype, const void *body,
            size_t len);
int respond_text(struct conn *c, struct req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
ssize_t buffered_line(struct conn *c, size_t max);
int body_init(struct body *b, const struct req *r);
ssize_t body_read(struct conn *c, struct body *b, char *dst, size_t cap);
int body_discard(struct conn *c, struct body *b);
void maybe_continue(struct conn *c, struct req *r);
long long qparam(const char *query, const char *key, long long def);
int header_has_token(const char *value, const char *token);
int parse_head(struct req *r);
int handle_ws(struct conn *c, struct req *r);
int read_exact(struct conn *c, void *dst, size_t n);
int handle_echo(struct conn *c, struct req *r, struct body *b);
int handle_sink(struct conn *c, struct req *r, struct body *b);
int handle_chunked(struct conn *c, struct req *r);
int handle_big(struct conn *c, struct req *r);
int handle_file(struct conn *c, struct req *r);
int handle_mysql(struct conn *c, struct req *r);
int handle_close(struct conn *c, struct req *r);

#endif
