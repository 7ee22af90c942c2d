/*
 * jern-testapp: the small HTTP/1.1 backend jern ships. It is the demo backend,
 * the backend of the integration tests and the app inside the test container
 * image, so it is plain C that links statically (no getaddrinfo/NSS).
 * One thread per connection: simple, and fast enough on loopback keep-alive.
 *
 * Environment: PORT (or argv[1]; "unix:PATH" listens on a unix socket), HOST
 * (default 0.0.0.0; an IPv6 literal works), JERN_SOCKET (a unix socket to
 * listen on instead of PORT), APP_NAME (default "testapp"), APP_VERSION,
 * FAIL_HEALTH, FILE_ROOT.
 *
 * Endpoints (every response carries "X-App: NAME"):
 *   /                 "hello from NAME VERSION\n" (any unknown path answers the same,
 *                     so routing tests can use any path)
 *   /health           200 "ok", or 500 "unhealthy" when $FAIL_HEALTH is set
 *   /echo             echoes the request body, streamed: Content-Length in, the same
 *                     Content-Length out; chunked in, chunked out
 *   /sink             reads the body, answers its byte count in decimal
 *   /slow?ms=N        sleeps N ms (at most 600000), then answers "slept N ms\n"
 *   /status/N         answers status N (200..599); 204 and 304 carry no body
 *   /chunked?n=K&size=S  K chunks of S bytes; chunk i is the letter 'a' + i % 26
 *   /big?bytes=N      N bytes; byte i is PATTERN[i % 62] (see below)
 *   /close            a close-delimited body (no Content-Length, Connection: close)
 *   /headers          the request head received, verbatim (through the blank line)
 *   /conn             "ID ACCEPTED\n": this TCP connection's number (1 = first accepted)
 *                     and how many connections the process accepted so far
 *   /pid              the process id
 *   /env/NAME         the value of $NAME, or 404
 *   /file?path=P      the content of $FILE_ROOT/P (at most 1 MiB): 403 without
 *                     $FILE_ROOT or when P holds a ".." segment, 404 when missing
 *   /mysql            connects to the unix socket $MYSQL_UNIX_PORT and answers the
 *                     server version from MariaDB's greeting (what a client in the
 *                     container would reach); 502 when it cannot
 *   /ws               WebSocket echo (RFC 6455): text, binary, fragments, ping/pong, close
 *   /crash            exits the process at once with status 1, without answering
 *
 * Keep-alive and pipelining: requests on one connection are answered in order;
 * Connection: close (or HTTP/1.0 without keep-alive) closes after the response.
 * SIGTERM and SIGINT exit 0 at once (SIGTERM stays ignored when it was at exec).
 */
#include "testapp.h"

const char *app_name = "testapp";
const char *app_version = "";
atomic_ulong accepted;
static long delay_ms; /* $DELAY_MS: every answer but /health waits this long (a slow instance) */
char big_block[PATTERN_LEN * 1024]; /* whole repetitions of PATTERN */

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static int dispatch(struct conn *c, struct req *r)
{
    struct body b;
    body_init(&b, r);
    const char *p = r->path;
    int rc;
    if (strcmp(p, "/echo") == 0)
        return handle_echo(c, r, &b) < 0 || !r->keepalive ? -1 : 0;
    if (strcmp(p, "/sink") == 0)
        return handle_sink(c, r, &b) < 0 || !r->keepalive ? -1 : 0;
    if (strcmp(p, "/ws") == 0 && r->upgrade_ws)
        return handle_ws(c, r);
    if (strcmp(p, "/crash") == 0) {
        fprintf(stderr, "jern-testapp %s: /crash requested, exiting\n", app_name);
        _exit(1);
    }
    /* Every other endpoint ignores the body, but it must be consumed to find the next
     * pipelined request. Without 100-continue the client sends it anyway. */
    if (r->expect_continue && !b.done) {
        r->keepalive = 0;
    } else if (body_discard(c, &b) < 0) {
        return -1;
    }
    if (delay_ms > 0 && strcmp(p, "/health") != 0) {
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    if (strcmp(p, "/health") == 0) {
        rc = getenv("FAIL_HEALTH") ? respond_text(c, r, 500, "unhealthy\n")
                                   : respond(c, r, 200, "text/plain", "ok", 2);
    } else if (strcmp(p, "/slow") == 0) {
        long long ms = qparam(r->query, "ms", 100);
        if (ms < 0 || ms > 600000) {
            rc = respond_text(c, r, 400, "/slow: ms must be 0..600000\n");
        } else {
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
            rc = respond_text(c, r, 200, "slept %lld ms\n", ms);
        }
    } else if (strncmp(p, "/status/", 8) == 0) {
        char *end;
        long st = strtol(p + 8, &end, 10);
        if (*end || st < 200 || st > 599)
            rc = respond_text(c, r, 400, "/status/N: N must be 200..599\n");
        else
            rc = respond_text(c, r, (int)st, "status %ld\n", st);
    } else if (strcmp(p, "/chunked") == 0) {
        rc = handle_chunked(c, r);
    } else if (strcmp(p, "/big") == 0) {
        rc = handle_big(c, r);
    } else if (strcmp(p, "/close") == 0) {
        rc = handle_close(c, r);
    } else if (strcmp(p, "/headers") == 0) {
        rc = respond(c, r, 200, "text/plain", r->raw, r->head_len);
    } else if (strcmp(p, "/conn") == 0) {
        rc = respond_text(c, r, 200, "%lu %lu\n", c->id, (unsigned long)atomic_load(&accepted));
    } else if (strcmp(p, "/pid") == 0) {
        rc = respond_text(c, r, 200, "%d\n", (int)getpid());
    } else if (strncmp(p, "/env/", 5) == 0) {
        const char *v = getenv(p + 5);
        rc = v ? respond(c, r, 200, "text/plain", v, strlen(v))
               : respond_text(c, r, 404, "env %s is not set\n", p + 5);
    } else if (strcmp(p, "/file") == 0) {
        rc = handle_file(c, r);
    } else if (strcmp(p, "/mysql") == 0) {
        rc = handle_mysql(c, r);
    } else if (strcmp(p, "/ws") == 0) {
        rc = respond_text(c, r, 400, "/ws needs a WebSocket upgrade request\n");
    } else if (app_version[0]) {
        rc = respond_text(c, r, 200, "hello from %s %s\n", app_name, app_version);
    } else {
        rc = respond_text(c, r, 200, "hello from %s\n", app_name);
    }
    return rc < 0 || !r->keepalive ? -1 : 0;
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    char *head = malloc(HEAD_MAX + 1), *raw = malloc(HEAD_MAX + 1);
    if (!head || !raw)
        goto out;
    for (;;) {
        /* Find the end of the head, reading more as needed. */
        char *end;
        size_t scanned = 0;
        while (!(end = memmem(c->buf + c->start + scanned, c->end - c->start - scanned, "\r\n\r\n",
                              4))) {
            size_t have = c->end - c->start;
            scanned = have > 3 ? have - 3 : 0;
            if (have > HEAD_MAX) {
                struct req r = {.keepalive = 0, .minor = 1};
                snprintf(r.method, sizeof(r.method), "GET");
                respond_text(c, &r, 431, "request head larger than %d bytes\n", HEAD_MAX);
                goto out;
            }
            if (fill(c) <= 0)
                goto out;
        }
        size_t hl = (size_t)(end + 4 - (c->buf + c->start));
        if (hl > HEAD_MAX) {
            struct req r = {.keepalive = 0, .minor = 1};
            snprintf(r.method, sizeof(r.method), "GET");
            respond_text(c, &r, 431, "request head larger than %d bytes\n", HEAD_MAX);
            goto out;
        }
        struct req r;
        memset(&r, 0, sizeof(r));
        memcpy(head, c->buf + c->start, hl);
        memcpy(raw, head, hl);
        head[hl] = raw[hl] = '\0';
        r.head = head;
        r.raw = raw;
        r.head_len = hl;
        c->start += hl;
        int bad = parse_head(&r);
        if (bad) {
            r.keepalive = 0;
            if (!r.method[0])
                snprintf(r.method, sizeof(r.method), "GET");
            respond_text(c, &r, bad, "malformed request (status %d)\n", bad);
            goto out;
        }
        if (dispatch(c, &r) < 0)
            goto out;
    }
out:
    free(head);
    free(raw);
    close(c->fd);
    free(c->buf);
    free(c);
    return NULL;
}

static _Noreturn void accept_loop(int lfd);

/* systemd's socket activation (sd_listen_fds(3)): when $LISTEN_PID is this
 * process and $LISTEN_FDS is at least 1, fd 3 is a listening socket the
 * parent made; the port argument is then not needed. Returns it or -1. */
static int inherited_listener(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid() || strtol(fds, NULL, 10) < 1)
        return -1;
    int type = 0;
    socklen_t tl = sizeof(type);
    if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
        return -1;
    fcntl(3, F_SETFD, FD_CLOEXEC);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return 3;
}

/* A port argument "unix:PATH": listens on a unix socket there instead
 * (replacing a file left at PATH); exits 1 when it cannot. */
static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (strlen(path) >= sizeof(sa.sun_path) || fd < 0) {
        fprintf(stderr, "jern-testapp: cannot listen on unix:%s\n", path);
        exit(1);
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "jern-testapp: cannot listen on unix:%s: %s\n", path, strerror(errno));
        exit(1);
    }
    fprintf(stderr, "jern-testapp %s %s listening on unix:%s\n", app_name, app_version, path);
    return fd;
}

int main(int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : getenv("PORT");
    const char *host = getenv("HOST") ? getenv("HOST") : "0.0.0.0";
    if (getenv("APP_NAME"))
        app_name = getenv("APP_NAME");
    if (getenv("APP_VERSION"))
        app_version = getenv("APP_VERSION");
    for (size_t i = 0; i < sizeof(big_block); i++)
        big_block[i] = PATTERN[i % PATTERN_LEN];

    /* A signal ignored at exec stays ignored (`trap '' TERM; exec jern-testapp`, as
     * nohup does for HUP): tests use that for an app that will not stop. */
    struct sigaction sa = {.sa_handler = on_term}, old;
    if (sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (getenv("DELAY_MS"))
        delay_ms = strtol(getenv("DELAY_MS"), NULL, 10);
    int lfd = inherited_listener();
    if (lfd >= 0) {
        fprintf(stderr, "jern-testapp %s %s accepting on the inherited socket (LISTEN_FDS)\n",
                app_name, app_version);
        accept_loop(lfd);
    }

    if (getenv("JERN_SOCKET")) /* jern deploy --socket unix, in a container */
        accept_loop(listen_unix(getenv("JERN_SOCKET")));
    if (port && strncmp(port, "unix:", 5) == 0)
        accept_loop(listen_unix(port + 5));
    char *pend = NULL;
    long portnum = port ? strtol(port, &pend, 10) : -1;
    if (!port || *pend || portnum < 0 || portnum > 65535) {
        fprintf(stderr, "jern-testapp: give a port 0..65535 as argv[1] or $PORT (got %s)\n",
                port ? port : "nothing");
        return 2;
    }

    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        slen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        slen = sizeof(*sin6);
    } else {
        fprintf(stderr, "jern-testapp: $HOST must be an IPv4 or IPv6 literal (got %s)\n", host);
        return 2;
    }
    lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0) {
        perror("jern-testapp: socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&ss, slen) < 0 || listen(lfd, 4096) < 0) {
        fprintf(stderr, "jern-testapp: cannot listen on %s:%ld: %s\n", host, portnum,
                strerror(errno));
        return 1;
    }
    fprintf(stderr, "jern-testapp %s %s listening on %s:%ld\n", app_name, app_version, host,
            portnum);
    accept_loop(lfd);
}

static _Noreturn void accept_loop(int lfd)
{
    int one = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(10000); /* out of descriptors: back off instead of spinning */
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        char *buf = malloc(BUF_SIZE);
        if (!c || !buf) {
            free(c);
            free(buf);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->buf = buf;
        c->id = atomic_fetch_add(&accepted, 1) + 1;
        pthread_t t;
        if (pthread_create(&t, &attr, serve, c) != 0) {
            close(fd);
            free(buf);
            free(c);
        }
    }
}
