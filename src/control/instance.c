/*
 * instance.c: what deploys and the supervisor share: running code on the
 * control thread, claiming an app, per-thread drivers, release settings,
 * starting, health-checking and destroying one instance, publishing.
 */
#include "core/common.h"

#include "control/control_int.h"
#include "control/deploy_int.h"
#include "control/names.h"
#include "core/log.h"
#include "db/env.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

struct jn_driver *dep_rt_get(struct dep_rt *rt, bool docker, char *msg, size_t msglen)
{
    if (docker) {
        if (!rt->docker)
            rt->docker = jn_driver_docker_new(rt->d->docker_socket);
        return rt->docker;
    }
    if (!rt->exec) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/exec", rt->d->state_dir);
        int err = 0;
        rt->exec = jn_driver_exec_new(dir, &err);
        if (!rt->exec)
            snprintf(msg, msglen, "cannot create the exec driver's directory %s: %s", dir,
                     jn_strerror(err));
    }
    return rt->exec;
}

void dep_rt_free(struct dep_rt *rt)
{
    if (rt->exec)
        jn_driver_destroy(rt->exec);
    if (rt->docker)
        jn_driver_destroy(rt->docker);
    rt->exec = rt->docker = NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

void dep_spec_free(struct dep_spec *s)
{
    free(s->command);
    for (size_t i = 0; s->env && s->env[i]; i++)
        free(s->env[i]);
    free(s->env);
    for (size_t i = 0; i < s->nvolumes * 2; i++)
        free(s->vol_buf[i]);
    free(s->vol_buf);
    free(s->volumes);
    memset(s, 0, sizeof(*s));
}

int dep_spec_parse(const struct jn_store_release *r, struct dep_spec *s, char *msg, size_t msglen)
{
    memset(s, 0, sizeof(*s));
    cJSON *sp = cJSON_Parse(r->spec), *env = cJSON_Parse(r->env);
    if (!cJSON_IsObject(sp) || !cJSON_IsObject(env)) {
        cJSON_Delete(sp);
        cJSON_Delete(env);
        snprintf(msg, msglen, "release v%d: its stored settings do not parse", r->version);
        return JN_EBADINPUT;
    }
    s->docker = r->image[0] != '\0';
    snprintf(s->image, sizeof(s->image), "%s", r->image_id[0] ? r->image_id : r->image);
    s->command = jn_strdup(r->command);
    size_t n = (size_t)cJSON_GetArraySize(env);
    s->env = jn_calloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (cJSON *e = env->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            continue;
        size_t len = strlen(e->string) + strlen(e->valuestring) + 2;
        s->env[k] = jn_malloc(len);
        snprintf(s->env[k++], len, "%s=%s", e->string, e->valuestring);
    }
    const cJSON *x;
    s->port = (x = cJSON_GetObjectItemCaseSensitive(sp, "port")) && cJSON_IsNumber(x)
                  ? x->valueint
                  : 8080;
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "health")) && cJSON_IsString(x))
        snprintf(s->health, sizeof(s->health), "%s", x->valuestring);
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "memory")) && cJSON_IsNumber(x))
        s->memory = (int64_t)x->valuedouble;
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "cpus")) && cJSON_IsNumber(x))
        s->cpus = x->valuedouble;
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "workdir")) && cJSON_IsString(x))
        snprintf(s->workdir, sizeof(s->workdir), "%s", x->valuestring);
    s->health_timeout_ms = (x = cJSON_GetObjectItemCaseSensitive(sp, "health_timeout_ms")) &&
                                   cJSON_IsNumber(x) && x->valuedouble > 0
                               ? (int64_t)x->valuedouble
                               : DEP_HEALTH_DEADLINE_MS;
    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(sp, "volumes");
    size_t nv = (size_t)cJSON_GetArraySize(vols);
    s->volumes = jn_calloc(nv ? nv : 1, sizeof(*s->volumes));
    s->vol_buf = jn_calloc(nv ? nv * 2 : 1, sizeof(char *));
    cJSON_ArrayForEach(x, vols)
    {
        const char *hv = jstr(x, "host"), *cv = jstr(x, "container");
        struct jn_volume *v = &s->volumes[s->nvolumes];
        s->vol_buf[s->nvolumes * 2] = jn_strdup(hv);
        s->vol_buf[s->nvolumes * 2 + 1] = jn_strdup(cv);
        v->host = s->vol_buf[s->nvolumes * 2];
        v->container = s->vol_buf[s->nvolumes * 2 + 1];
        v->read_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "read_only"));
        s->nvolumes++;
    }
    cJSON_Delete(sp);
    cJSON_Delete(env);
    return 0;
}

void dep_instance_name(char *out, size_t len, const char *app, int version, int64_t id,
                       int restarts)
{
    /* The tag keeps names unique when the store reuses a deleted row's id,
     * so kept logs of different instances never share a file. */
    unsigned tag = (unsigned)(jn_now_ns() >> 12) & 0xffffu;
    if (restarts > 0)
        snprintf(out, len, "%s-v%d-%lld-%04x-r%d", app, version, (long long)id, tag, restarts);
    else
        snprintf(out, len, "%s-v%d-%lld-%04x", app, version, (long long)id, tag);
}

int dep_instance_start(struct dep_rt *rt, const struct dep_spec *s, struct jn_store_instance *in,
                       char *msg, size_t msglen)
{
    struct jn_driver *drv = dep_rt_get(rt, s->docker, msg, msglen);
    if (!drv)
        return JN_EBASE;
    dep_instance_name(in->name, sizeof(in->name), in->app, in->version, in->id, in->restarts);
    char rel[16], iid[24];
    snprintf(rel, sizeof(rel), "%d", in->version);
    snprintf(iid, sizeof(iid), "%lld", (long long)in->id);
    /* An attached database's DATABASE_URL and MYSQL_* (db/env.h); a
     * container reaches it through the socket directory, mounted. */
    char **env = jn_db_env_merge(rt->d->state_dir, in->app, (const char *const *)s->env,
                                 s->docker);
    char sock_dir[4096];
    const struct jn_volume *vols = s->volumes;
    size_t nvols = s->nvolumes;
    struct jn_volume *with_db = NULL;
    if (s->docker && jn_db_env_socket_dir(rt->d->state_dir, in->app, sock_dir,
                                          sizeof(sock_dir)) == 0) {
        with_db = jn_calloc(nvols + 1, sizeof(*with_db));
        if (nvols)
            memcpy(with_db, vols, nvols * sizeof(*with_db));
        with_db[nvols++] = (struct jn_volume){.host = sock_dir, .container = JN_DB_CONTAINER_RUN};
        vols = with_db;
    }
    struct jn_instance_spec spec = {
        .name = in->name,
        .image = s->docker ? s->image : NULL,
        .command = s->docker ? NULL : s->command,
        .env = (const char *const *)env,
        .app_port = s->port,
        .host_port = in->host_port,
        .volumes = vols,
        .n_volumes = nvols,
        .memory = s->memory,
        .cpus = s->cpus,
        .workdir = s->workdir[0] ? s->workdir : NULL,
        .app = in->app,
        .release = rel,
        .instance = iid,
        .daemon = rt->d->daemon_id,
    };
    struct jn_instance out;
    int r = jn_driver_start(drv, &spec, &out);
    jn_db_env_free(env);
    free(with_db);
    if (r < 0) {
        snprintf(msg, msglen, "cannot start instance %s: %s", in->name, jn_driver_errmsg(drv));
        return r;
    }
    snprintf(in->external_id, sizeof(in->external_id), "%s", out.id);
    in->started_at = out.started_at ? out.started_at : (int64_t)time(NULL);
    return 0;
}

int dep_wait_healthy(struct dep_rt *rt, const struct dep_spec *s,
                     const struct jn_store_instance *in, int64_t deadline_ms, char *msg,
                     size_t msglen)
{
    struct jn_driver *drv = dep_rt_get(rt, s->docker, msg, msglen);
    if (!drv)
        return JN_EBASE;
    char last[512] = "no probe answered yet";
    bool probed = false;
    for (;;) {
        int64_t now = jn_now_ms();
        struct jn_instance st;
        if (jn_driver_inspect(drv, in->external_id, &st) == 0 && !st.running) {
            snprintf(msg, msglen, "instance %s exited with status %d before it became healthy",
                     in->name, st.exit_code);
            return JN_ECLOSED;
        }
        int timeout = (int)JN_MIN((int64_t)DEP_PROBE_TIMEOUT_MS, JN_MAX(deadline_ms - now, 1));
        char why[512];
        int r = jn_health_probe(in->host_port, s->health, timeout, why, sizeof(why));
        if (r == 0)
            return 0;
        /* A probe cut short by the deadline says less than the one before it. */
        if (r != JN_ETIMEDOUT || timeout == DEP_PROBE_TIMEOUT_MS || !probed)
            snprintf(last, sizeof(last), "%s", why);
        probed = true;
        now = jn_now_ms();
        if (now >= deadline_ms)
            break;
        int64_t every = s->probe_every_ms > 0 ? s->probe_every_ms : DEP_HEALTH_EVERY_MS;
        usleep((useconds_t)JN_MIN(every, deadline_ms - now) * 1000);
    }
    snprintf(msg, msglen, "instance %s did not become healthy in time (last probe: %s)", in->name,
             last);
    return JN_ETIMEDOUT;
}

void dep_instance_destroy(struct dep_rt *rt, const struct jn_store_instance *in)
{
    char msg[256];
    struct jn_driver *drv = dep_rt_get(rt, strcmp(in->driver, "exec") != 0, msg, sizeof(msg));
    if (!drv || !in->external_id[0])
        return;
    int r = jn_driver_stop(drv, in->external_id, (int)rt->d->stop_timeout_ms);
    if (r < 0 && r != JN_ENOTFOUND)
        jn_warn("instance %s: stop: %s", in->name, jn_driver_errmsg(drv));
    if (r == JN_ENOTFOUND)
        return;
    dep_logs_save(rt, in);
    if ((r = jn_driver_remove(drv, in->external_id)) < 0 && r != JN_ENOTFOUND)
        jn_warn("instance %s: remove: %s", in->name, jn_driver_errmsg(drv));
}

int dep_publish(struct jn_deployer *d, const char *app)
{
    struct jn_store_server *rows;
    int n = jn_store_server_list(jn_control_store(d->ctl), app, &rows);
    if (n < 0)
        return n;
    struct jn_ctl_want *w = jn_calloc(n > 0 ? (size_t)n : 1, sizeof(*w));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].origin, "api") != 0)
            continue;
        snprintf(w[k].v.addr, sizeof(w[k].v.addr), "%s", rows[i].addr);
        w[k].v.weight = rows[i].weight;
        w[k].v.state = jn_name_state_parse(rows[i].state);
        k++;
    }
    int r = jn_ctl_publish_upstream(d->ctl, app, NULL, w, k);
    free(w);
    free(rows);
    if (r < 0)
        jn_error("app '%s': cannot publish its upstream: %s", app, jn_strerror(r));
    return r;
}

int dep_conns(struct jn_deployer *d, const char *app, char (*addrs)[JN_STORE_ADDR_MAX], size_t n)
{
    struct jn_ctl_server *v = jn_calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        snprintf(v[i].addr, sizeof(v[i].addr), "%s", addrs[i]);
    jn_ctl_live_counters(d->ctl, app, v, n);
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].conns;
    free(v);
    return total;
}
