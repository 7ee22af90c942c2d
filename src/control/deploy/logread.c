/*
 * logread.c: jern logs: an app's output as time-stamped lines named by
 * instance, from the kept files (applogs.c) and the live instances' drivers,
 * merged in time order, filtered by --since/--until and cut to --tail; and
 * -f: a follower thread per live instance (driver follow mode) that hands
 * each new line to the caller as it is written, while a watcher thread adds
 * followers for instances that start later (a deploy, a restart).
 */
#include "core/common.h"

#include "control/appconfig/rules.h"
#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/release.h"

#include <dirent.h>
#include <stdatomic.h>
#include <time.h>

#define LINES_MAX 20000 /* per answer: --tail past this is cut */

struct coll {
    struct jn_log_line *v;
    size_t n, cap;
    const struct jn_log_query *q;
    const char *instance;
    int64_t fallback_at; /* for lines of kept files without a stamp */
    bool dropped;
};

static void coll_add(struct coll *c, int64_t at, int stream, const char *text, size_t len)
{
    if ((c->q->since_ms && at < c->q->since_ms) || (c->q->until_ms && at > c->q->until_ms))
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = jn_realloc(c->v, c->cap * sizeof(*c->v));
    }
    struct jn_log_line *l = &c->v[c->n++];
    l->at = at;
    l->stream = stream;
    snprintf(l->instance, sizeof(l->instance), "%s", c->instance);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    l->text = jn_appconfig_mask_text(text, len, c->q->mask, c->q->nmask);
}

/* Splits data into lines, each "STAMP TEXT" (a line without a stamp takes
 * fallback_at). */
static int coll_sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct coll *c = arg;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        int64_t at = c->fallback_at;
        int k = jn_log_stamp_parse(p, (size_t)(e - p), &at);
        if (k > 0)
            p += k;
        if (e > p || k > 0)
            coll_add(c, at, stream == JN_STREAM_STDERR ? 2 : 1, p, (size_t)(e - p));
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static void read_kept(struct jn_deployer *d, const char *app, struct coll *c)
{
    char root[4096];
    snprintf(root, sizeof(root), "%s/logs/%s", d->state_dir, app);
    DIR *rels = opendir(root);
    struct dirent *r;
    while (rels && (r = readdir(rels))) {
        if (r->d_name[0] != 'v' || (c->q->version && atoi(r->d_name + 1) != c->q->version))
            continue;
        char dir[4400];
        snprintf(dir, sizeof(dir), "%s/%s", root, r->d_name);
        DIR *files = opendir(dir);
        struct dirent *f;
        while (files && (f = readdir(files))) {
            size_t l = strlen(f->d_name);
            if (l <= 4 || strcmp(f->d_name + l - 4, ".log") != 0)
                continue;
            char path[4800], name[256];
            snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
            snprintf(name, sizeof(name), "%.*s", (int)(l - 4), f->d_name);
            FILE *fp = fopen(path, "re");
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            c->instance = name;
            c->fallback_at = 0;
            while (fp && (n = getline(&line, &cap, fp)) > 0)
                coll_sink(c, JN_STREAM_STDOUT, line, (size_t)n);
            free(line);
            if (fp)
                fclose(fp);
        }
        if (files)
            closedir(files);
    }
    if (rels)
        closedir(rels);
}

static int by_time(const void *a, const void *b)
{
    const struct jn_log_line *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable: the order they came in */
}

void jn_log_lines_free(struct jn_log_line *v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i].text);
    free(v);
}

int jn_deployer_log_lines(struct jn_deployer *d, const char *app, const struct jn_log_query *q,
                          const struct jn_store_instance *live, size_t nlive,
                          struct jn_log_line **out)
{
    struct coll c = {.q = q};
    *out = NULL;
    if (q->tail == 0)
        return 0;
    read_kept(d, app, &c);
    int tail = q->tail > 0 && q->tail < LINES_MAX ? q->tail : LINES_MAX;
    for (size_t i = 0; i < nlive; i++) {
        if ((q->version && live[i].version != q->version) || !live[i].external_id[0])
            continue;
        char msg[256];
        struct jn_driver *drv = dep_rt_get(&d->rt, live[i].driver, msg, sizeof(msg));
        if (!drv)
            continue;
        /* The driver's tail is right only when nothing after it is cut. */
        struct jn_logs_opts o = {.timestamps = true,
                                 .since = q->since_ms / 1000,
                                 .tail = q->until_ms ? 0 : tail};
        c.instance = live[i].name;
        c.fallback_at = 0;
        jn_driver_logs(drv, live[i].external_id, &o, coll_sink, &c);
    }
    for (size_t i = 0; i < c.n; i++)
        c.v[i].seq = (int64_t)i;
    qsort(c.v, c.n, sizeof(*c.v), by_time);
    size_t skip = c.n > (size_t)tail ? c.n - (size_t)tail : 0;
    for (size_t i = 0; i < skip; i++)
        free(c.v[i].text);
    if (skip)
        memmove(c.v, c.v + skip, (c.n - skip) * sizeof(*c.v));
    *out = c.v;
    return (int)(c.n - skip);
}

/* -f */

struct follow {
    struct jn_deployer *d; /* the watcher only (a counted thread) */
    char app[JN_STORE_NAME_MAX];
    int64_t since_ms;
    struct jn_log_follow_ops ops;
    void *arg;
    char *state_dir, *docker_socket; /* copies: followers outlive the deployer */
    char **mask;                      /* secret values, NULL-terminated */
    size_t nmask;
    atomic_int refs;
    volatile bool stop;
};

static void follow_unref(struct follow *f)
{
    if (atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    f->ops.done(f->arg);
    jn_appconfig_env_free(f->mask);
    free(f->state_dir);
    free(f->docker_socket);
    free(f);
}

struct follower {
    struct follow *f;
    struct jn_store_instance in;
};

static int follower_sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct follower *w = arg;
    struct follow *f = w->f;
    const char *p = data, *end = data + len;
    while (p < end && !f->stop) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        struct jn_log_line l = {.at = jn_wall_ms() /* no stamp: now */,
                                .stream = stream == JN_STREAM_STDERR ? 2 : 1};
        int k = jn_log_stamp_parse(p, (size_t)(e - p), &l.at);
        if (k > 0)
            p += k;
        size_t n = (size_t)(e - p);
        while (n > 0 && p[n - 1] == '\r')
            n--;
        if (l.at >= f->since_ms) {
            snprintf(l.instance, sizeof(l.instance), "%s", w->in.name);
            l.text = jn_appconfig_mask_text(p, n, (const char *const *)f->mask, f->nmask);
            if (f->ops.emit(f->arg, &l) < 0)
                f->stop = true; /* the client went away */
            free(l.text);
        }
        p = nl ? nl + 1 : end;
    }
    return f->stop ? 1 : 0;
}

static void *follower_run(void *arg)
{
    struct follower *w = arg;
    struct follow *f = w->f;
    struct jn_driver_env env = {.state_dir = f->state_dir, .docker_socket = f->docker_socket};
    const struct jn_driver_kind *kind = jn_driver_kind(w->in.driver, NULL);
    char msg[256];
    struct jn_driver *drv = kind ? kind->create(&env, msg, sizeof(msg)) : NULL;
    if (drv) {
        struct jn_logs_opts o = {.follow = true,
                                 .timestamps = true,
                                 .since = f->since_ms / 1000,
                                 .stop = &f->stop,
                                 /* the engine's stream notices a gone client
                                  * only at the next line: bound it */
                                 .timeout_ms = 6 * 3600 * 1000};
        jn_driver_logs(drv, w->in.external_id, &o, follower_sink, w);
        jn_driver_destroy(drv);
    }
    follow_unref(f);
    free(w);
    return NULL;
}

struct list_op {
    const char *app;
    struct jn_store_instance *v;
    int n;
};

static int list_instances(struct jn_deployer *d, void *arg)
{
    struct list_op *o = arg;
    o->n = jn_store_instance_list(jn_control_store(d->ctl), o->app, &o->v);
    return o->n < 0 ? o->n : 0;
}

static void *watcher_run(void *arg)
{
    struct follow *f = arg;
    struct jn_deployer *d = f->d;
    char (*seen)[132] = NULL;
    size_t nseen = 0;
    while (!f->stop) {
        pthread_mutex_lock(&d->mu);
        bool stopping = d->stopping;
        pthread_mutex_unlock(&d->mu);
        struct list_op o = {.app = f->app};
        if (stopping) {
            f->stop = true;
            break;
        }
        if (dep_on_control(d, list_instances, &o) < 0) {
            f->stop = true; /* the daemon is stopping */
            break;
        }
        for (int i = 0; i < o.n; i++) {
            bool known = !o.v[i].external_id[0];
            for (size_t k = 0; k < nseen && !known; k++)
                known = strcmp(seen[k], o.v[i].name) == 0;
            if (known)
                continue;
            seen = jn_realloc(seen, (nseen + 1) * sizeof(*seen));
            snprintf(seen[nseen++], sizeof(*seen), "%s", o.v[i].name);
            struct follower *w = jn_calloc(1, sizeof(*w));
            w->f = f;
            w->in = o.v[i];
            atomic_fetch_add(&f->refs, 1);
            pthread_t th;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&th, &attr, follower_run, w) != 0) {
                atomic_fetch_sub(&f->refs, 1);
                free(w);
            }
            pthread_attr_destroy(&attr);
        }
        free(o.v);
        for (int t = 0; t < 5 && !f->stop; t++) {
            if (f->ops.gone(f->arg))
                f->stop = true;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(seen);
    pthread_mutex_lock(&d->mu);
    d->threads--;
    pthread_mutex_unlock(&d->mu);
    follow_unref(f);
    return NULL;
}

int jn_deployer_log_follow(struct jn_deployer *d, const char *app, int64_t since_ms,
                           const char *const *mask, size_t nmask,
                           const struct jn_log_follow_ops *ops, void *arg)
{
    struct follow *f = jn_calloc(1, sizeof(*f));
    f->mask = jn_calloc(nmask + 1, sizeof(char *));
    for (size_t i = 0; i < nmask; i++)
        f->mask[i] = jn_strdup(mask[i]);
    f->nmask = nmask;
    f->d = d;
    snprintf(f->app, sizeof(f->app), "%s", app);
    f->since_ms = since_ms;
    f->ops = *ops;
    f->arg = arg;
    f->state_dir = jn_strdup(d->env.state_dir);
    f->docker_socket = d->env.docker_socket ? jn_strdup(d->env.docker_socket) : NULL;
    atomic_init(&f->refs, 1);
    int r = dep_thread_start(d, watcher_run, f);
    if (r != 0) {
        jn_appconfig_env_free(f->mask);
        free(f->state_dir);
        free(f->docker_socket);
        free(f);
        return -r;
    }
    return 0;
}
