/*
 * run.c: jern run APP -- CMD: a one-off process with what the app serves (its
 * release's image or workdir and user, its config) on a thread of its own.
 * The process is an instance of the release's driver that no upstream knows
 * (named APP-vN-run-TAG, label jern.instance=run, listed in d->runs so the
 * supervisor's sweep leaves it alone); its output is followed to the caller
 * as it comes and its exit status ends the run. What the caller feeds
 * (jn_deployer_run_input) is its stdin: an exec one-off reads it from a
 * pipe, a container from the connection the driver attached to its stdin
 * before the start (runtime/docker_attach.c), both written without blocking.
 * A caller that hangs up, or a daemon that stops, stops the process; a
 * daemon killed meanwhile leaves it to the next start's adoption, which
 * removes it as an orphan.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/release.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct run {
    struct jn_deployer *d;
    struct jn_store_release rel;
    struct jn_store_instance in;
    struct dep_spec spec;
    const struct jn_run_ops *ops;
    void *arg;
    volatile bool stop;
    int stdin_r, stdin_w; /* the stdin pipe (exec), -1: none */
    int conn;             /* the container's attached stdin (docker), -1: none */
    int output;           /* its attached output (docker), -1: none */
    volatile bool ended;  /* the process has ended (its output may still come) */
};

bool dep_run_active(struct jn_deployer *d, const char *name)
{
    pthread_mutex_lock(&d->mu);
    bool found = false;
    for (size_t i = 0; i < d->nruns && !found; i++)
        found = strcmp(d->runs[i].name, name) == 0;
    pthread_mutex_unlock(&d->mu);
    return found;
}

/* Lists name as running (with the write end of its stdin, which the list
 * owns from then on), or takes it off (closing that end if still open). */
static void runs_set(struct jn_deployer *d, const char *name, bool on, int stdin_fd)
{
    pthread_mutex_lock(&d->mu);
    if (on) {
        d->runs = jn_realloc(d->runs, (d->nruns + 1) * sizeof(*d->runs));
        struct dep_run_slot *s = &d->runs[d->nruns++];
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->stdin_fd = stdin_fd;
        s->stdin_sock = s->stdin_ended = false;
    } else {
        for (size_t i = 0; i < d->nruns; i++) {
            if (strcmp(d->runs[i].name, name) == 0) {
                if (d->runs[i].stdin_fd >= 0)
                    close(d->runs[i].stdin_fd);
                memmove(&d->runs[i], &d->runs[i + 1], (d->nruns - i - 1) * sizeof(*d->runs));
                d->nruns--;
                break;
            }
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* Hands the list the connection attached to name's stdin (it owns it from
 * then on). */
static void runs_attach(struct jn_deployer *d, const char *name, int conn)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nruns; i++) {
        if (strcmp(d->runs[i].name, name) == 0) {
            d->runs[i].stdin_fd = conn;
            d->runs[i].stdin_sock = true;
            conn = -1;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (conn >= 0)
        close(conn);
}

/* Reads and drops what the engine sends on name's attached connection (it
 * is asked for no output, but a full buffer must never hold it up). */
static void runs_drain(struct jn_deployer *d, const char *name)
{
    char buf[4096];
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nruns; i++) {
        if (strcmp(d->runs[i].name, name) == 0 && d->runs[i].stdin_sock) {
            int fd = d->runs[i].stdin_fd;
            for (int k = 0; k < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; k++)
                ;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

static bool stopping(struct jn_deployer *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return s;
}

static int out_sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct run *r = arg;
    if (r->ops->output(r->arg, stream == JN_STREAM_STDERR ? 2 : 1, data, len) < 0)
        r->stop = true;
    return r->stop ? 1 : 0;
}

/* The follower: the process's output until it ends (or the run stops). */
static void *follow_output(void *arg)
{
    struct run *r = arg;
    if (r->output >= 0) {
        jn_driver_attached_output(r->output, &r->stop, &r->ended, out_sink, r);
        return NULL;
    }
    struct jn_driver_env env = r->d->env;
    const struct jn_driver_kind *kind = jn_driver_kind(r->in.driver, NULL);
    char msg[256];
    struct jn_driver *drv = kind ? kind->create(&env, msg, sizeof(msg)) : NULL;
    if (drv) {
        struct jn_logs_opts o = {.follow = true, .stop = &r->stop};
        jn_driver_logs(drv, r->in.external_id, &o, out_sink, r);
        jn_driver_destroy(drv);
    }
    return NULL;
}

/* The status a shell gives a command it cannot run (127 not found, 126 not
 * executable), for an engine that refused to start the container for that
 * reason, as `docker run` passes it on; 0 for any other failure. */
static int not_runnable_status(const struct run *r, const char *msg)
{
    if (!r->spec.images)
        return 0; /* a process is started by a shell, which says so itself */
    if (strstr(msg, "not found") || strstr(msg, "no such file or directory"))
        return 127;
    if (strstr(msg, "permission denied"))
        return 126;
    return 0;
}

static void *run_main(void *arg)
{
    struct run *r = arg;
    struct jn_deployer *d = r->d;
    struct dep_rt rt = {.d = d};
    char msg[1024];
    int code = -1;
    runs_set(d, r->in.name, true, r->stdin_w);
    r->stdin_w = -1; /* the list's now */
    int rc = dep_instance_start(&rt, &r->spec, &r->in, msg, sizeof(msg));
    if (r->stdin_r >= 0)
        close(r->stdin_r); /* the process has its own copy */
    r->stdin_r = -1;
    if (rc == 0 && r->conn >= 0)
        runs_attach(d, r->in.name, r->conn);
    r->conn = -1;
    if (rc < 0) {
        runs_set(d, r->in.name, false, -1);
        int status = not_runnable_status(r, msg);
        if (status) { /* the command's fault, not jern's: said on its stderr */
            char line[sizeof(msg) + 8];
            int n = snprintf(line, sizeof(line), "jern: %s\n", msg);
            r->ops->output(r->arg, 2, line, (size_t)n);
        }
        r->ops->finish(r->arg, status ? status : -1, status ? NULL : msg);
        goto out;
    }
    if (r->ops->started)
        r->ops->started(r->arg, r->in.name, r->spec.has_stdin);
    pthread_t fol;
    bool following = pthread_create(&fol, NULL, follow_output, r) == 0;
    struct jn_driver *drv = dep_rt_get(&rt, r->in.driver, msg, sizeof(msg));
    const char *why = NULL;
    for (;;) {
        struct jn_instance st;
        if (jn_driver_inspect(drv, r->in.external_id, &st) == 0 && !st.running) {
            code = st.exit_code;
            r->ended = true;
            break;
        }
        runs_drain(d, r->in.name);
        if (r->stop || r->ops->gone(r->arg) || stopping(d)) {
            why = stopping(d) ? "the daemon is stopping" : "the caller went away";
            r->stop = true;
            jn_driver_stop(drv, r->in.external_id, (int)d->stop_timeout_ms);
            break;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (following)
        pthread_join(fol, NULL); /* the follow ends with the process */
    if (r->output >= 0)
        close(r->output);
    if (jn_driver_remove(drv, r->in.external_id) < 0)
        jn_warn("jern run: cannot remove %s: %s", r->in.name, jn_driver_errmsg(drv));
    runs_set(d, r->in.name, false, -1);
    if (why)
        snprintf(msg, sizeof(msg), "stopped: %s", why);
    r->ops->finish(r->arg, why ? -1 : code, why ? msg : NULL);
out:
    dep_rt_free(&rt);
    dep_spec_free(&r->spec);
    jn_store_release_clear(&r->rel);
    free(r);
    pthread_mutex_lock(&d->mu);
    d->threads--;
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* One word of a shell line, single-quoted. */
static void quote(struct jn_buf *b, const char *w)
{
    jn_buf_puts(b, "'");
    for (; *w; w++)
        if (*w == '\'')
            jn_buf_puts(b, "'\\''");
        else
            jn_buf_append(b, w, 1);
    jn_buf_puts(b, "'");
}

int jn_deployer_run(struct jn_deployer *d, const char *app, const char *const *argv,
                    const struct jn_run_ops *ops, void *arg, char *msg, size_t msglen)
{
    struct jn_store *st = jn_control_store(d->ctl);
    int64_t cur = 0;
    int scale;
    if (jn_store_app_serving(st, app, &cur, &scale) < 0 || !cur) {
        snprintf(msg, msglen,
                 "app '%s' has no release serving: jern run uses what the app serves (deploy it "
                 "first)",
                 app);
        return JN_ENOTFOUND;
    }
    struct run *r = jn_calloc(1, sizeof(*r));
    r->d = d;
    r->ops = ops;
    r->arg = arg;
    int rc = jn_store_release_get(st, app, 0, cur, &r->rel);
    if (rc == 0)
        rc = dep_spec_parse(d->state_dir, &r->rel, &r->spec, msg, msglen);
    if (rc < 0) {
        if (!msg[0])
            snprintf(msg, msglen, "cannot read the serving release of '%s'", app);
        jn_store_release_clear(&r->rel);
        free(r);
        return rc;
    }
    size_t n = 0;
    while (argv[n])
        n++;
    r->spec.one_off = true;
    r->stdin_r = r->stdin_w = r->conn = r->output = -1;
    int pfd[2];
    if (r->spec.images) { /* the driver attaches to the container's stdin */
        r->spec.has_stdin = true;
        r->spec.stdin_conn = &r->conn;
        r->spec.output_conn = &r->output;
    }
    if (!r->spec.images && pipe2(pfd, O_CLOEXEC) == 0) {
        /* the daemon's end never blocks: a full pipe takes fewer bytes */
        fcntl(pfd[1], F_SETFL, O_NONBLOCK);
        r->stdin_r = pfd[0];
        r->stdin_w = pfd[1];
        r->spec.has_stdin = true;
        r->spec.stdin_fd = pfd[0];
    }
    r->spec.argv = jn_calloc(n + 4, sizeof(char *));
    struct jn_buf line;
    jn_buf_init(&line, 64 * 1024);
    /* One word with a space in it is a shell line ("echo $X"); several are
     * words, quoted so the shell passes them on as they are. */
    bool shell = n == 1 && strpbrk(argv[0], " \t;&|$<>()*?'\"`") != NULL;
    for (size_t i = 0; i < n; i++) {
        if (i)
            jn_buf_puts(&line, " ");
        if (shell)
            jn_buf_puts(&line, argv[i]);
        else
            quote(&line, argv[i]);
    }
    size_t k = 0;
    if (shell) {
        r->spec.argv[k++] = jn_strdup("/bin/sh");
        r->spec.argv[k++] = jn_strdup("-c");
        r->spec.argv[k++] = jn_strdup(argv[0]);
    } else {
        for (size_t i = 0; i < n; i++)
            r->spec.argv[k++] = jn_strdup(argv[i]);
    }
    free(r->spec.command);
    r->spec.command = jn_strdup(jn_buf_cstr(&line));
    jn_buf_free(&line);
    snprintf(r->in.app, sizeof(r->in.app), "%s", app);
    snprintf(r->in.driver, sizeof(r->in.driver), "%s", r->spec.driver);
    r->in.release_id = r->rel.id;
    r->in.version = r->rel.version;
    /* Named before it starts, so the sweep knows it from its first moment. */
    snprintf(r->in.name, sizeof(r->in.name), "%s-v%d-run-%04x", app, r->rel.version,
             (unsigned)(jn_now_ns() >> 12) & 0xffffu);
    rc = dep_thread_start(d, run_main, r);
    if (rc != 0) {
        if (r->stdin_r >= 0) {
            close(r->stdin_r);
            close(r->stdin_w);
        }
        dep_spec_free(&r->spec);
        jn_store_release_clear(&r->rel);
        free(r);
        snprintf(msg, msglen, "cannot start a thread: %s", strerror(rc));
        return -rc;
    }
    return 0;
}

ssize_t jn_deployer_run_input(struct jn_deployer *d, const char *app, const char *name,
                              const void *data, size_t len, bool eof)
{
    /* The name says the app: APP-vN-run-TAG. */
    size_t n = strlen(app);
    if (strncmp(name, app, n) != 0 || strncmp(name + n, "-v", 2) != 0 || !strstr(name, "-run-"))
        return JN_ENOTFOUND;
    pthread_mutex_lock(&d->mu);
    struct dep_run_slot *s = NULL;
    for (size_t i = 0; i < d->nruns && !s; i++)
        if (strcmp(d->runs[i].name, name) == 0)
            s = &d->runs[i];
    ssize_t rc = !s ? JN_ENOTFOUND : s->stdin_fd < 0 || s->stdin_ended ? JN_EUNSUPPORTED : 0;
    size_t got = 0;
    while (rc == 0 && got < len) {
        /* Under the lock: the write never blocks, and the run's end cannot
         * close the descriptor meanwhile. */
        const char *p = (const char *)data + got;
        ssize_t w = s->stdin_sock ? send(s->stdin_fd, p, len - got, MSG_DONTWAIT | MSG_NOSIGNAL)
                                  : write(s->stdin_fd, p, len - got);
        if (w > 0)
            got += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            got = len; /* the process no longer reads: what it would read is dropped */
        else
            break; /* full (EAGAIN): the caller sends the rest later */
    }
    if (rc == 0 && eof && got == len) {
        if (s->stdin_sock) { /* the engine closes the container's stdin (StdinOnce) */
            shutdown(s->stdin_fd, SHUT_WR);
            s->stdin_ended = true;
        } else {
            close(s->stdin_fd);
            s->stdin_fd = -1;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc < 0 ? rc : (ssize_t)got;
}
