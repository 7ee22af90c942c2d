/*
 * admin.c: the admin API's HTTP/1.1 transport. One small state machine per
 * connection on the control loop: read (capped), parse the head with
 * jn_http_parse_request, wait for a Content-Length body, answer through
 * jn_api_handle, write, repeat (keep-alive and pipelining).
 */
#include "core/common.h"

#include "control/api/admin.h"
#include "core/log.h"
#include "http/status.h"
#include "net/sock.h"

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define OUT_MAX (64u * 1024 * 1024)

struct admin_listener {
    struct jn_io io;
    struct jn_admin *a;
    bool tcp;
    size_t nconns; /* each listener has its own cap: a TCP flood never fills the unix one */
};

struct conn {
    struct jn_admin *a;
    struct admin_listener *l;
    struct jn_io io;
    struct jn_timer idle;
    struct jn_buf in, out;
    bool tcp;
    bool closing;       /* close once out is flushed */
    bool eof;           /* the client shut down its side */
    bool sent_continue; /* 100 Continue already sent for the current request */
    bool authed;        /* a request with the right token came (always, on unix) */
    int64_t accepted;   /* jn_loop_now() at accept */
    int64_t req_start;  /* when the first byte of the pending request came */
    char who[32];       /* for the history: "uid N" (SO_PEERCRED) or "token" */
    struct conn *prev, *next;
};

struct jn_admin {
    struct jn_loop *loop;
    struct jn_api *api;
    struct admin_listener lunix, ltcp;
    char *unix_path;
    char *token;
    struct jn_http_limits limits;
    struct conn *conns;
};

/* Forgets c; closes its socket unless keep_fd (handed to a stream). */
static void conn_drop(struct conn *c, bool keep_fd)
{
    struct jn_admin *a = c->a;
    jn_timer_stop(a->loop, &c->idle);
    jn_io_del(a->loop, &c->io);
    if (!keep_fd)
        close(c->io.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->l->nconns--;
    jn_buf_free(&c->in);
    jn_buf_free(&c->out);
    free(c);
}

static void conn_close(struct conn *c)
{
    conn_drop(c, false);
}

/* Hands c's socket to r's stream: what is queued and the head go out first
 * (blocking, bounded by a send timeout), then the connection leaves the
 * loop. Returns false (c is gone either way). */
static bool hand_over(struct conn *c, struct jn_api_resp *r)
{
    jn_buf_printf(&c->out,
                  "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                  "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                  r->content_type);
    int fd = c->io.fd;
    int fl = fcntl(fd, F_GETFL);
    struct timeval tv = {10, 0}; /* a reader that stops reading is dropped */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    bool ok = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;
    for (size_t at = 0; ok && at < c->out.len;) {
        ssize_t n = send(fd, c->out.data + at, c->out.len - at, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        at += n > 0 ? (size_t)n : 0;
    }
    conn_drop(c, ok);
    if (ok)
        r->stream(jn_api_stream_new(fd), r->stream_arg);
    else
        r->stream(NULL, r->stream_arg); /* it frees its argument */
    return false;
}

static void queue_response(struct conn *c, struct jn_api_resp *r, bool head_only)
{
    jn_buf_printf(&c->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\n",
                  r->status, jn_http_reason(r->status), r->content_type, r->body.len);
    if (r->allow)
        jn_buf_printf(&c->out, "Allow: %s\r\n", r->allow);
    if (r->status == 401 && !r->headers[0])
        jn_buf_puts(&c->out, "WWW-Authenticate: Bearer realm=\"jern\"\r\n");
    jn_buf_puts(&c->out, r->headers);
    if (c->closing)
        jn_buf_puts(&c->out, "Connection: close\r\n");
    jn_buf_puts(&c->out, "\r\n");
    if (!head_only && jn_buf_append(&c->out, r->body.data, r->body.len) < 0) {
        /* Past OUT_MAX: nothing sane to send; drop the connection. */
        c->closing = true;
        jn_buf_reset(&c->out);
    }
}

/* Answers with an error and closes: used where the stream can't be trusted. */
static void fail(struct conn *c, int status, const char *msg)
{
    struct jn_api_resp r = {.content_type = "application/json"};
    jn_buf_init(&r.body, 4096);
    jn_api_error(&r, status, "%s", msg);
    c->closing = true;
    queue_response(c, &r, false);
    jn_buf_free(&r.body);
}

static bool token_ok(const struct jn_admin *a, const struct jn_http_request *req)
{
    ssize_t i = jn_http_find_header(req->headers, req->nheaders, "authorization", 13);
    if (i < 0)
        return false;
    const struct jn_http_header *h = &req->headers[i];
    if (h->value_len < 7 || !jn_http_token_eq(h->value, 6, "bearer") || h->value[6] != ' ')
        return false;
    const char *t = h->value + 7;
    size_t tl = h->value_len - 7, want = strlen(a->token);
    /* Constant time over the expected token's length. */
    unsigned char diff = tl != want;
    for (size_t k = 0; k < want; k++)
        diff |= (unsigned char)(a->token[k] ^ (k < tl ? t[k] : 0));
    return diff == 0;
}

/* Handles every complete request in c->in. Returns false when c is gone
 * (handed to a stream). */
static bool process(struct conn *c)
{
    struct jn_http_request req;
    while (!c->closing && c->in.len > 0) {
        ssize_t h = jn_http_parse_request(c->in.data, c->in.len, &c->a->limits, &req);
        if (h == JN_EINCOMPLETE) {
            if (c->eof)
                c->closing = true;
            return true;
        }
        if (h < 0) {
            fail(c, req.error_status ? req.error_status : 400,
                 req.error_reason ? req.error_reason : "malformed request");
            return true;
        }
        size_t body_len = 0;
        if (req.framing == JN_FRAMING_CHUNKED) {
            fail(c, 411, "the admin API needs a Content-Length body, not chunked");
            return true;
        }
        if (req.framing == JN_FRAMING_LENGTH) {
            if (req.content_length > JN_ADMIN_MAX_BODY) {
                fail(c, 413, "request body larger than 1 MiB");
                return true;
            }
            body_len = (size_t)req.content_length;
        }
        if (c->in.len - (size_t)h < body_len) {
            if (req.expect_continue && !c->sent_continue) {
                jn_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
                c->sent_continue = true;
            }
            if (c->eof)
                c->closing = true;
            return true;
        }
        c->sent_continue = false;
        if (!req.keep_alive)
            c->closing = true;

        struct jn_api_resp r = {.status = 500, .content_type = "application/json"};
        jn_buf_init(&r.body, OUT_MAX);
        const char *q = memchr(req.path, '?', req.path_len);
        size_t path_len = q ? (size_t)(q - req.path) : req.path_len;
        bool trusted = !c->tcp || token_ok(c->a, &req);
        /* The dashboard answers to its session cookie instead (api/ui.c). */
        bool ui = jn_api_is_ui_path(req.path, path_len);
        if (!trusted && !ui) {
            c->closing = true; /* a wrong token gets one answer, then the door */
            jn_api_error(&r, 401,
                         "missing or wrong bearer token (send Authorization: Bearer "
                         "TOKEN, the token= of the admin directive)");
        } else {
            struct jn_api_req ar = {
                .method = req.method_id,
                .method_name = req.method,
                .method_len = req.method_len,
                .path = req.path,
                .path_len = path_len,
                .query = q ? q + 1 : NULL,
                .query_len = q ? req.path_len - path_len - 1 : 0,
                .body = c->in.data + h,
                .body_len = body_len,
                .headers = req.headers,
                .nheaders = req.nheaders,
                .trusted = trusted,
                .who = trusted ? c->who : "dashboard",
            };
            jn_api_handle(c->a->api, &ar, &r);
            if (r.stream && r.status == 200) {
                jn_buf_free(&r.body);
                return hand_over(c, &r);
            }
            /* A session or a login counts as the token; a refused one closes. */
            if (trusted || r.authed)
                c->authed = true;
            else if (r.status == 401 || r.status == 403)
                c->closing = true;
        }
        queue_response(c, &r, req.method_id == JN_HTTP_HEAD);
        jn_buf_free(&r.body);
        jn_buf_consume(&c->in, (size_t)h + body_len);
        c->req_start = 0; /* the next request's deadline starts with its bytes */
    }
    if (c->eof && c->in.len == 0)
        c->closing = true;
    return true;
}

/* Writes what is queued. Returns false when the connection was closed. */
static bool flush(struct conn *c)
{
    while (c->out.len > 0) {
        ssize_t n = write(c->io.fd, c->out.data, c->out.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n <= 0) {
            conn_close(c);
            return false;
        }
        jn_buf_consume(&c->out, (size_t)n);
    }
    if (c->closing) {
        conn_close(c);
        return false;
    }
    return true;
}

/* A pending partial request has a deadline from its first byte, so a client
 * trickling bytes cannot hold a connection; an idle one gets the idle timeout.
 * A TCP connection that has not yet shown the token has JN_ADMIN_AUTH_MS from
 * accept to do so, whatever it sends: strangers cannot camp on the listener. */
static void arm_timer(struct conn *c)
{
    struct jn_loop *loop = c->a->loop;
    int64_t now = jn_loop_now(loop), left;
    if (c->in.len == 0) {
        c->req_start = 0;
        left = JN_ADMIN_IDLE_MS;
    } else {
        if (c->req_start == 0)
            c->req_start = now;
        left = c->req_start + JN_ADMIN_REQUEST_MS - now;
    }
    if (c->tcp && !c->authed)
        left = JN_MIN(left, c->accepted + JN_ADMIN_AUTH_MS - now);
    jn_timer_start(loop, &c->idle, left > 0 ? left : 0);
}

static void conn_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    struct conn *c = io->data;
    if (events & (JN_EV_READ | JN_EV_RDHUP | JN_EV_HUP | JN_EV_ERROR)) {
        for (;;) {
            if (jn_buf_reserve(&c->in, 16384) < 0) {
                /* Full: the head or body is over its cap; process() answers. */
                break;
            }
            ssize_t n = read(c->io.fd, c->in.data + c->in.len, jn_buf_avail(&c->in));
            if (n > 0) {
                c->in.len += (size_t)n;
                continue;
            }
            if (n == 0) {
                c->eof = true;
            } else if (errno == EINTR) {
                continue;
            } else if (errno != EAGAIN) {
                conn_close(c);
                return;
            }
            break;
        }
        if (c->out.len == 0 && !process(c))
            return;
        if (jn_buf_avail(&c->in) == 0 && c->in.len == c->in.max && !c->closing)
            fail(c, 431, "request too large");
    }
    if (!flush(c))
        return;
    /* A request may have waited behind a slow write: answer it now. */
    if (c->out.len == 0 && c->in.len > 0 && !c->closing) {
        if (!process(c) || !flush(c))
            return;
    }
    arm_timer(c);
}

static void idle_cb(struct jn_loop *loop, struct jn_timer *t)
{
    conn_close(t->data);
}

/* Who a connection speaks for, in the history: the unix socket knows the
 * peer's uid; TCP knows only that the token was shown. */
static void peer_who(int fd, bool tcp, char *out, size_t len)
{
    struct ucred cr;
    socklen_t sl = sizeof(cr);
    if (tcp)
        snprintf(out, len, "token");
    else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) == 0)
        snprintf(out, len, "uid %u", (unsigned)cr.uid);
    else
        snprintf(out, len, "unix socket");
}

static void accept_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    struct admin_listener *l = io->data;
    struct jn_admin *a = l->a;
    for (;;) {
        struct jn_addr peer;
        int fd = jn_sock_accept(io->fd, &peer);
        if (fd == -EINTR || fd == -ECONNABORTED)
            continue;
        if (fd < 0) {
            if (fd != -EAGAIN)
                jn_warn("admin: accept: %s", jn_strerror(fd));
            return;
        }
        if (l->nconns >= JN_ADMIN_MAX_CONNS) {
            jn_warn("admin: %d %s connections open, refusing one more", JN_ADMIN_MAX_CONNS,
                    l->tcp ? "TCP" : "unix socket");
            close(fd);
            continue;
        }
        struct conn *c = jn_calloc(1, sizeof(*c));
        l->nconns++;
        c->a = a;
        c->l = l;
        c->tcp = l->tcp;
        c->authed = !l->tcp;
        c->accepted = jn_loop_now(loop);
        peer_who(fd, l->tcp, c->who, sizeof(c->who));
        jn_buf_init(&c->in, a->limits.max_head + JN_ADMIN_MAX_BODY);
        jn_buf_init(&c->out, OUT_MAX + 4096);
        jn_timer_init(&c->idle, idle_cb, c);
        c->next = a->conns;
        if (a->conns)
            a->conns->prev = c;
        a->conns = c;
        int r = jn_io_add(loop, &c->io, fd, JN_EV_READ | JN_EV_WRITE, false, conn_cb, c);
        if (r < 0) {
            c->io.fd = fd;
            jn_warn("admin: cannot watch a connection: %s", jn_strerror(r));
            conn_close(c);
            continue;
        }
        jn_timer_start(loop, &c->idle, c->tcp ? JN_ADMIN_AUTH_MS : JN_ADMIN_IDLE_MS);
    }
}

/* The socket's directory exists (a system one, /run/jern, is made at start:
 * /run is a tmpfs); with a group, the directory is 0750 and the socket 0660,
 * both of that group, so its members may use the CLI. */
static int unix_dir(const char *path, gid_t gid, char *err, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    struct stat sb;
    if (stat(dir, &sb) == 0 && gid == (gid_t)-1)
        return 0;
    int r = jn_mkdirs(dir);
    if (r < 0) {
        snprintf(err, errlen, "cannot create %s for the admin socket: %s", dir, jn_strerror(r));
        return r;
    }
    if (gid != (gid_t)-1 && (chown(dir, (uid_t)-1, gid) < 0 || chmod(dir, 0750) < 0))
        jn_warn("admin socket directory %s: cannot give it to group %u: %s", dir, (unsigned)gid,
                strerror(errno));
    return 0;
}

/* The gid of the socket's group, or -1 (none, or no such group). */
static gid_t unix_gid(const char *group)
{
    if (!group)
        return (gid_t)-1;
    struct group gr, *res = NULL;
    char buf[4096];
    if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res) {
        jn_notice("no group %s on this machine: the admin socket is for the daemon's user "
                  "only (create the group, add users to it, restart jern)",
                  group);
        return (gid_t)-1;
    }
    return res->gr_gid;
}

/* Binds the unix socket: replaces a stale file, refuses a live daemon's. */
static int listen_unix(const char *path, const char *group, char *err, size_t errlen)
{
    char text[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    struct jn_addr addr;
    if ((size_t)snprintf(text, sizeof(text), "unix:%s", path) >= sizeof(text) ||
        jn_addr_parse(text, 0, &addr) < 0) {
        snprintf(err, errlen, "admin socket path too long: %s (use a shorter state_dir)", path);
        return JN_EBADINPUT;
    }
    gid_t gid = unix_gid(group);
    int r = unix_dir(path, gid, err, errlen);
    if (r < 0)
        return r;
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            snprintf(err, errlen,
                     "%s exists and is not a socket (remove it or choose another "
                     "admin path)",
                     path);
            return -EEXIST;
        }
        int fd = jn_sock_connect(&addr);
        bool live = false;
        if (fd >= 0) {
            /* connect on a unix socket completes or fails at once */
            live = jn_sock_error(fd) == 0;
            close(fd);
        }
        if (live) {
            snprintf(err, errlen, "another jern daemon is answering at %s (stop it first)", path);
            return -EADDRINUSE;
        }
        unlink(path);
    }
    /* The socket is the admin API's only guard: never let it exist with a
     * wider mode, even for a moment. */
    mode_t old = umask(0177);
    int fd = jn_sock_listen(&addr, 64, false);
    umask(old);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on unix:%s: %s", path, jn_strerror(fd));
        return fd;
    }
    if (gid != (gid_t)-1 && (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0660) < 0))
        jn_warn("admin socket %s: cannot give it to group %u: %s", path, (unsigned)gid,
                strerror(errno));
    else if (gid == (gid_t)-1)
        chmod(path, 0600);
    return fd;
}

int jn_admin_start(struct jn_loop *loop, struct jn_api *api, const struct jn_admin_opts *o,
                   struct jn_admin **out, char *err, size_t errlen)
{
    if (o->tcp_addr && (!o->token || strlen(o->token) < 16)) {
        snprintf(err, errlen,
                 "the TCP admin listener %s needs token=SECRET of at least 16 "
                 "characters (the admin API is never open without one)",
                 o->tcp_addr);
        return JN_ECONFIG;
    }
    struct jn_admin *a = jn_calloc(1, sizeof(*a));
    a->loop = loop;
    a->api = api;
    a->limits = jn_http_default_limits;
    a->lunix.io.fd = a->ltcp.io.fd = -1;
    int r = 0;
    if (o->unix_path) {
        int fd = listen_unix(o->unix_path, o->unix_group, err, errlen);
        if (fd < 0) {
            r = fd;
            goto fail;
        }
        a->unix_path = jn_strdup(o->unix_path);
        a->lunix.a = a;
        jn_io_add(loop, &a->lunix.io, fd, JN_EV_READ, false, accept_cb, &a->lunix);
    }
    if (o->tcp_addr) {
        struct jn_addr addr;
        if (jn_addr_parse(o->tcp_addr, 0, &addr) < 0) {
            snprintf(err, errlen, "invalid admin address '%s' (example: 127.0.0.1:8081)",
                     o->tcp_addr);
            r = JN_ECONFIG;
            goto fail;
        }
        int fd = jn_sock_listen(&addr, 64, false);
        if (fd < 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", o->tcp_addr, jn_strerror(fd));
            r = fd;
            goto fail;
        }
        a->token = jn_strdup(o->token);
        a->ltcp.a = a;
        a->ltcp.tcp = true;
        jn_io_add(loop, &a->ltcp.io, fd, JN_EV_READ, false, accept_cb, &a->ltcp);
    }
    *out = a;
    return 0;
fail:
    jn_admin_stop(a);
    return r;
}

void jn_admin_stop(struct jn_admin *a)
{
    if (!a)
        return;
    while (a->conns)
        conn_close(a->conns);
    struct admin_listener *ls[] = {&a->lunix, &a->ltcp};
    for (size_t i = 0; i < 2; i++) {
        if (ls[i]->io.fd >= 0 && ls[i]->a) {
            jn_io_del(a->loop, &ls[i]->io);
            close(ls[i]->io.fd);
        }
    }
    if (a->unix_path) {
        unlink(a->unix_path);
        free(a->unix_path);
    }
    if (a->token) {
        explicit_bzero(a->token, strlen(a->token));
        free(a->token);
    }
    free(a);
}
