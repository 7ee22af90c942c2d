/*
 * jobs.c: the deployer and the threads it runs. It owns the job threads
 * (deploy, rollback, scale, restart: deploy.c; pause and resume:
 * scale/warm.c), the claims that keep two of them off one app, the progress
 * lines a job writes, and the hop from a job thread to the control thread
 * (dep_on_control), through which every store and gateway change goes.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/log.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <semaphore.h>
#include <stdarg.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define JOB_KEEP_MS (10 * 60 * 1000)
#define JOB_KEEP_MAX 64

static const char *default_docker_socket(void)
{
    const char *h = getenv("DOCKER_HOST");
    if (h && strncmp(h, "unix://", 7) == 0)
        return h + 7;
    return "/var/run/docker.sock";
}

/* A whole number of seconds from the environment (1 to 3600), else dflt. */
static int64_t env_seconds(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < 1 || n > 3600) {
        if (v)
            jn_warn("ignoring %s=%s: expected whole seconds from 1 to 3600", name, v);
        return dflt;
    }
    return n;
}

/* The supervisor removes a destroyed app's instances at its next tick
 * rather than at its next periodic sweep. */
static void app_deleted(void *arg, const char *app)
{
    struct jn_deployer *d = arg;
    (void)app;
    pthread_mutex_lock(&d->mu);
    d->app_destroyed = true;
    pthread_mutex_unlock(&d->mu);
}

/* This daemon's id, made at its first start and kept in the store: every
 * instance it creates carries it (label jern.daemon), so adoption and sweeps
 * tell its instances from those of other daemons sharing the engine. */
static void daemon_id(struct jn_control *ctl, char *id, size_t len)
{
    struct jn_store *st = jn_control_store(ctl);
    if (jn_store_setting_get(st, "daemon_id", id, len) > 0)
        return;
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* No entropy source: time and pid still tell daemons apart. */
        uint64_t x = (uint64_t)jn_now_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(rnd, &x, sizeof(rnd));
    }
    snprintf(id, len, "j");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(id + 1 + 2 * i, len - 1 - 2 * i, "%02x", rnd[i]);
    int r = jn_store_setting_set(st, "daemon_id", id);
    if (r < 0)
        jn_error("cannot record this daemon's id in the store: %s; after a restart it will "
                 "leave the instances it starts now alone",
                 jn_strerror(r));
}

struct jn_deployer *jn_deployer_new(struct jn_loop *loop, struct jn_control *ctl,
                                    const struct jn_deploy_opts *o)
{
    struct jn_deployer *d = jn_calloc(1, sizeof(*d));
    d->loop = loop;
    d->ctl = ctl;
    d->state_dir = jn_strdup(o->state_dir);
    d->docker_socket = jn_strdup(o->docker_socket ? o->docker_socket : default_docker_socket());
    d->env = (struct jn_driver_env){.state_dir = d->state_dir, .docker_socket = d->docker_socket};
    d->linger_ms = o->linger_ms;
    d->drain_timeout_ms = o->drain_timeout_ms > 0 ? o->drain_timeout_ms
                                                  : env_seconds("JERN_DRAIN_TIMEOUT", 30) * 1000;
    d->log_size = o->log_size > 0 ? o->log_size : 10 << 20;
    d->log_files = o->log_files;
    d->log_retention_ms = o->log_retention_ms > 0 ? o->log_retention_ms : 24 * 3600 * 1000LL;
    d->stop_timeout_ms =
        o->stop_timeout_ms > 0 ? o->stop_timeout_ms : env_seconds("JERN_STOP_TIMEOUT", 10) * 1000;
    daemon_id(ctl, d->daemon_id, sizeof(d->daemon_id));
    d->rt.d = d;
    pthread_mutex_init(&d->mu, NULL);
    jn_control_on_app_deleted(ctl, app_deleted, d);
    return d;
}

int jn_deployer_start(struct jn_deployer *d)
{
    dep_adopt(d);
    if (pthread_create(&d->sup, NULL, dep_supervise, d) == 0)
        d->sup_started = true;
    else
        jn_error("cannot start the instance supervisor: %s", strerror(errno));
    return 0;
}

static void job_free(struct dep_job *j)
{
    for (size_t i = 0; i < j->nlines; i++)
        free(j->lines[i]);
    free(j->lines);
    for (int i = 0; i < 3; i++)
        free(j->auth_buf[i]);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void jn_deployer_free(struct jn_deployer *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_mutex_unlock(&d->mu);
    if (d->sup_started)
        pthread_join(d->sup, NULL);
    /* Jobs notice at their next store call; one blocked in a driver call
     * (a stop timeout) may take longer: then the deployer is left allocated
     * for the process's last moments rather than freed under it. */
    int threads = 1;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&d->mu);
        threads = d->threads;
        pthread_mutex_unlock(&d->mu);
        if (threads == 0)
            break;
        usleep(50 * 1000);
    }
    if (threads > 0) {
        jn_warn("%d deploy job(s) still running at stop; their new instances are removed at "
                "the next start",
                threads);
        return;
    }
    dep_rt_free(&d->rt);
    for (struct dep_job *j = d->jobs, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    free(d->busy);
    free(d->runs);
    free(d->state_dir);
    free(d->docker_socket);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* ---- jobs ---- */

/* Frees finished jobs nobody reads any more. Control thread. */
static void jobs_gc(struct jn_deployer *d)
{
    int64_t now = jn_now_ms();
    pthread_mutex_lock(&d->mu);
    int count = 0;
    for (struct dep_job **pp = &d->jobs; *pp;) {
        struct dep_job *j = *pp;
        pthread_mutex_lock(&j->mu);
        bool old = j->done && (now - j->done_ms > JOB_KEEP_MS || count >= JOB_KEEP_MAX);
        pthread_mutex_unlock(&j->mu);
        count++;
        if (old) {
            *pp = j->next;
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

enum { JOB_COLD = 1, JOB_NEW_APP = 2, JOB_BACKGROUND = 4 };

/* Starts a job for app (already claimed by the caller); returns it or NULL
 * (and unclaims) when no thread could be made. flags: JOB_*. */
static struct dep_job *job_start(struct jn_deployer *d, enum jn_job_kind kind, const char *app,
                                 int64_t release_id, int count, const struct jn_registry_auth *auth,
                                 unsigned flags)
{
    jobs_gc(d);
    struct dep_job *j = jn_calloc(1, sizeof(*j));
    j->kind = kind;
    snprintf(j->app, sizeof(j->app), "%s", app);
    j->release_id = release_id;
    j->count = count;
    j->cold = flags & JOB_COLD;
    j->new_app = flags & JOB_NEW_APP;
    j->background = flags & JOB_BACKGROUND;
    j->d = d;
    j->t0 = jn_now_ms();
    pthread_mutex_init(&j->mu, NULL);
    if (auth) {
        const char *v[3] = {auth->username, auth->password, auth->server};
        for (int i = 0; i < 3; i++)
            j->auth_buf[i] = jn_strdup(v[i] ? v[i] : "");
        j->auth = (struct jn_registry_auth){j->auth_buf[0], j->auth_buf[1], j->auth_buf[2]};
    }
    pthread_mutex_lock(&d->mu);
    j->id = ++d->next_job;
    j->next = d->jobs;
    d->jobs = j;
    pthread_mutex_unlock(&d->mu);
    int r = dep_thread_start(d, dep_job_run, j);
    if (r != 0) {
        dep_job_log(j, "error: cannot start a thread: %s", strerror(r));
        j->done = true;
        j->done_ms = jn_now_ms();
        dep_unclaim(d, app);
    }
    return j;
}

bool jn_deployer_claim(struct jn_deployer *d, const char *app)
{
    return dep_claim(d, app);
}

void jn_deployer_unclaim(struct jn_deployer *d, const char *app)
{
    dep_unclaim(d, app);
}

void jn_deployer_revive(struct jn_deployer *d, const char *app, int count)
{
    pthread_mutex_lock(&d->mu);
    snprintf(d->revive, sizeof(d->revive), "%s", app);
    d->revive_count = count;
    pthread_mutex_unlock(&d->mu);
}

int dep_revive_take(struct jn_deployer *d, const char *app)
{
    pthread_mutex_lock(&d->mu);
    int count = strcmp(d->revive, app) == 0 ? d->revive_count : 0;
    if (strcmp(d->revive, app) == 0)
        d->revive[0] = '\0';
    pthread_mutex_unlock(&d->mu);
    return count;
}

int dep_thread_start(struct jn_deployer *d, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&d->mu);
    d->threads++;
    pthread_mutex_unlock(&d->mu);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&th, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        pthread_mutex_lock(&d->mu);
        d->threads--;
        pthread_mutex_unlock(&d->mu);
    }
    return r;
}

int jn_deployer_job_start(struct jn_deployer *d, enum jn_job_kind kind, const char *app,
                          int64_t release_id, int count, const struct jn_registry_auth *auth)
{
    return job_start(d, kind, app, release_id, count, auth, 0)->id;
}

int jn_deployer_first_deploy_start(struct jn_deployer *d, const char *app, int64_t release_id,
                                   int count, const struct jn_registry_auth *auth)
{
    return job_start(d, JN_JOB_DEPLOY, app, release_id, count, auth, JOB_NEW_APP)->id;
}

int dep_job_start(struct jn_deployer *d, enum jn_job_kind kind, const char *app, int64_t release_id,
                  int count, bool cold)
{
    struct dep_job *j =
        job_start(d, kind, app, release_id, count, NULL, JOB_BACKGROUND | (cold ? JOB_COLD : 0));
    pthread_mutex_lock(&j->mu);
    bool failed = j->done;
    pthread_mutex_unlock(&j->mu);
    return failed ? JN_EBASE : 0;
}

cJSON *jn_deployer_job_json(struct jn_deployer *d, int id, int after)
{
    pthread_mutex_lock(&d->mu);
    struct dep_job *j = d->jobs;
    while (j && j->id != id)
        j = j->next;
    if (!j) {
        pthread_mutex_unlock(&d->mu);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "job", j->id);
    cJSON_AddStringToObject(o, "app", j->app);
    cJSON *lines = cJSON_AddArrayToObject(o, "lines");
    pthread_mutex_lock(&j->mu);
    for (size_t i = after > 0 ? (size_t)after : 0; i < j->nlines; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(j->lines[i]));
    cJSON_AddNumberToObject(o, "next", (double)j->nlines);
    cJSON_AddBoolToObject(o, "done", j->done);
    cJSON_AddBoolToObject(o, "ok", j->ok);
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&d->mu);
    return o;
}

int jn_deployer_running_job(struct jn_deployer *d, const char *app, bool *background)
{
    pthread_mutex_lock(&d->mu);
    int id = 0;
    bool bg = true;
    for (struct dep_job *j = d->jobs; j && !id; j = j->next) {
        pthread_mutex_lock(&j->mu);
        if (!j->done && strcmp(j->app, app) == 0) {
            id = j->id;
            bg = j->background;
        }
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&d->mu);
    if (background)
        *background = bg;
    return id;
}

struct ctl_call {
    struct jn_deployer *d;
    int (*fn)(struct jn_deployer *, void *);
    void *arg;
    int result;
    sem_t done;
};

static void run_call(struct jn_loop *loop, void *arg)
{
    struct ctl_call *c = arg;
    c->result = c->fn(c->d, c->arg);
    sem_post(&c->done);
}

int dep_on_control(struct jn_deployer *d, int (*fn)(struct jn_deployer *, void *), void *arg)
{
    pthread_mutex_lock(&d->mu);
    bool stopping = d->stopping;
    pthread_mutex_unlock(&d->mu);
    if (stopping)
        return JN_ECLOSED;
    /* Heap, not stack: when the daemon stops, the loop never runs the call and
     * this thread gives up; the call must stay valid for jn_loop_free. */
    struct ctl_call *c = jn_calloc(1, sizeof(*c));
    c->d = d, c->fn = fn, c->arg = arg;
    sem_init(&c->done, 0, 0);
    if (jn_loop_post(d->loop, run_call, c) < 0) {
        sem_destroy(&c->done);
        free(c);
        return JN_ECLOSED;
    }
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        if (sem_timedwait(&c->done, &ts) == 0)
            break;
        pthread_mutex_lock(&d->mu);
        stopping = d->stopping;
        pthread_mutex_unlock(&d->mu);
        if (stopping)
            return JN_ECLOSED; /* c is leaked on purpose: see above */
    }
    int r = c->result;
    sem_destroy(&c->done);
    free(c);
    return r;
}

bool dep_claim(struct jn_deployer *d, const char *app)
{
    pthread_mutex_lock(&d->mu);
    bool ok = !d->stopping;
    for (size_t i = 0; ok && i < d->nbusy; i++)
        ok = strcmp(d->busy[i], app) != 0;
    if (ok) {
        if (d->nbusy == d->capbusy) {
            d->capbusy = d->capbusy ? d->capbusy * 2 : 8;
            d->busy = jn_realloc(d->busy, d->capbusy * sizeof(*d->busy));
        }
        snprintf(d->busy[d->nbusy++], sizeof(d->busy[0]), "%s", app);
    }
    pthread_mutex_unlock(&d->mu);
    return ok;
}

void dep_unclaim(struct jn_deployer *d, const char *app)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nbusy; i++) {
        if (strcmp(d->busy[i], app) == 0) {
            memmove(d->busy[i], d->busy[d->nbusy - 1], sizeof(d->busy[0]));
            d->nbusy--;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

bool dep_is_busy(struct jn_deployer *d, const char *app)
{
    pthread_mutex_lock(&d->mu);
    bool busy = false;
    for (size_t i = 0; i < d->nbusy && !busy; i++)
        busy = strcmp(d->busy[i], app) == 0;
    pthread_mutex_unlock(&d->mu);
    return busy;
}

void dep_job_log(struct dep_job *j, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[2100];
    snprintf(line, sizeof(line), "[%6.2fs] %s", (double)(jn_now_ms() - j->t0) / 1000.0, msg);
    pthread_mutex_lock(&j->mu);
    j->lines = jn_realloc(j->lines, (j->nlines + 1) * sizeof(char *));
    j->lines[j->nlines++] = jn_strdup(line);
    if (!j->error[0] && strncmp(msg, "error: ", 7) == 0)
        snprintf(j->error, sizeof(j->error), "%.500s", msg + 7);
    pthread_mutex_unlock(&j->mu);
    jn_info("%s: %s", j->app, msg);
}

void jn_deployer_on_cold_failure(struct jn_deployer *d,
                                 void (*cb)(void *arg, const char *app, const char *msg), void *arg)
{
    d->on_cold_failure = cb;
    d->on_cold_failure_arg = arg;
}

void dep_cold_failed(struct jn_deployer *d, const char *app, const char *msg)
{
    if (d->on_cold_failure)
        d->on_cold_failure(d->on_cold_failure_arg, app, msg);
}
