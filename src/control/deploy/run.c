/*
 * run.c: jern run APP -- CMD: a one-off process with what the app serves (its
 * release's image or workdir and user, its config) on a thread of its own.
 * The process is an instance of the release's driver that no upstream knows
 * (named APP-vN-run-TAG, label jern.instance=run, listed in d->runs so the
 * supervisor's sweep leaves it alone); its output is followed to the caller
 * as it comes and its exit status ends the run. A caller that hangs up, or a
 * daemon that stops, stops the process; a daemon killed meanwhile leaves it
 * to the next start's adoption, which removes it as an orphan.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/release.h"

#include <time.h>

struct run {
    struct jn_deployer *d;
    struct jn_store_release rel;
    struct jn_store_instance in;
    struct dep_spec spec;
    const struct jn_run_ops *ops;
    void *arg;
    volatile bool stop;
};

bool dep_run_active(struct jn_deployer *d, const char *name)
{
    pthread_mutex_lock(&d->mu);
    bool found = false;
    for (size_t i = 0; i < d->nruns && !found; i++)
        found = strcmp(d->runs[i], name) == 0;
    pthread_mutex_unlock(&d->mu);
    return found;
}

static void runs_set(struct jn_deployer *d, const char *name, bool on)
{
    pthread_mutex_lock(&d->mu);
    if (on) {
        d->runs = jn_realloc(d->runs, (d->nruns + 1) * sizeof(*d->runs));
        snprintf(d->runs[d->nruns++], sizeof(*d->runs), "%s", name);
    } else {
        for (size_t i = 0; i < d->nruns; i++) {
            if (strcmp(d->runs[i], name) == 0) {
                memmove(&d->runs[i], &d->runs[i + 1], (d->nruns - i - 1) * sizeof(*d->runs));
                d->nruns--;
                break;
            }
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
    runs_set(d, r->in.name, true);
    int rc = dep_instance_start(&rt, &r->spec, &r->in, msg, sizeof(msg));
    if (rc < 0) {
        runs_set(d, r->in.name, false);
        int status = not_runnable_status(r, msg);
        if (status) { /* the command's fault, not jern's: said on its stderr */
            char line[sizeof(msg) + 8];
            int n = snprintf(line, sizeof(line), "jern: %s\n", msg);
            r->ops->output(r->arg, 2, line, (size_t)n);
        }
        r->ops->finish(r->arg, status ? status : -1, status ? NULL : msg);
        goto out;
    }
    pthread_t fol;
    bool following = pthread_create(&fol, NULL, follow_output, r) == 0;
    struct jn_driver *drv = dep_rt_get(&rt, r->in.driver, msg, sizeof(msg));
    const char *why = NULL;
    for (;;) {
        struct jn_instance st;
        if (jn_driver_inspect(drv, r->in.external_id, &st) == 0 && !st.running) {
            code = st.exit_code;
            break;
        }
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
    if (jn_driver_remove(drv, r->in.external_id) < 0)
        jn_warn("jern run: cannot remove %s: %s", r->in.name, jn_driver_errmsg(drv));
    runs_set(d, r->in.name, false);
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
        dep_spec_free(&r->spec);
        jn_store_release_clear(&r->rel);
        free(r);
        snprintf(msg, msglen, "cannot start a thread: %s", strerror(rc));
        return -rc;
    }
    return 0;
}
