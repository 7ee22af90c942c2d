/*
 * instance.c: what deploys and the supervisor share: per-thread drivers,
 * release settings, starting, health-checking and destroying one instance,
 * publishing an app's instances.
 */
#include "core/common.h"

#include "control/appconfig/rules.h"
#include "control/control_int.h"
#include "control/deploy/deploy_int.h"
#include "control/names.h"
#include "core/log.h"
#include "db/env.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct jn_driver *dep_rt_get(struct dep_rt *rt, const char *driver, char *msg, size_t msglen)
{
    size_t i;
    const struct jn_driver_kind *k = jn_driver_kind(driver, &i);
    if (!k) {
        snprintf(msg, msglen, "unknown runtime driver \"%.32s\"", driver);
        return NULL;
    }
    if (!rt->drv[i])
        rt->drv[i] = k->create(&rt->d->env, msg, msglen);
    return rt->drv[i];
}

void dep_rt_free(struct dep_rt *rt)
{
    for (size_t i = 0; i < JN_DRIVER_KINDS_MAX; i++) {
        if (rt->drv[i])
            jn_driver_destroy(rt->drv[i]);
        rt->drv[i] = NULL;
    }
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

void dep_spec_free(struct dep_spec *s)
{
    free(s->command);
    jn_appconfig_env_free(s->env);
    for (size_t i = 0; s->argv && s->argv[i]; i++)
        free(s->argv[i]);
    free(s->argv);
    for (size_t i = 0; i < s->nvolumes * 2; i++)
        free(s->vol_buf[i]);
    free(s->vol_buf);
    free(s->volumes);
    memset(s, 0, sizeof(*s));
}

int dep_spec_parse(const char *state_dir, const struct jn_store_release *r, struct dep_spec *s,
                   char *msg, size_t msglen)
{
    memset(s, 0, sizeof(*s));
    cJSON *sp = cJSON_Parse(r->spec);
    if (!cJSON_IsObject(sp)) {
        cJSON_Delete(sp);
        snprintf(msg, msglen, "release v%d: its stored settings do not parse", r->version);
        return JN_EBADINPUT;
    }
    char why[768];
    int er = jn_appconfig_env(state_dir, r->config, r->env, &s->env, why, sizeof(why));
    if (er < 0) {
        cJSON_Delete(sp);
        snprintf(msg, msglen, "release v%d: %s", r->version, why);
        return er;
    }
    const cJSON *drv = cJSON_GetObjectItemCaseSensitive(sp, "driver");
    const struct jn_driver_kind *kind = cJSON_IsString(drv)
                                            ? jn_driver_kind(drv->valuestring, NULL)
                                            : jn_driver_kind_for(r->image[0] != '\0');
    if (!kind) {
        snprintf(msg, msglen, "release v%d: unknown runtime driver \"%.32s\"", r->version,
                 drv->valuestring);
        cJSON_Delete(sp);
        dep_spec_free(s);
        return JN_EBADINPUT;
    }
    snprintf(s->driver, sizeof(s->driver), "%s", kind->name);
    s->images = kind->images;
    snprintf(s->image, sizeof(s->image), "%s", r->image_id[0] ? r->image_id : r->image);
    s->command = jn_strdup(r->command);
    const cJSON *x;
    s->port = (x = cJSON_GetObjectItemCaseSensitive(sp, "port")) && cJSON_IsNumber(x) ? x->valueint
                                                                                      : 8080;
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "health")) && cJSON_IsString(x))
        snprintf(s->health, sizeof(s->health), "%s", x->valuestring);
    s->listen_fds = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sp, "listen_fds"));
    if ((x = cJSON_GetObjectItemCaseSensitive(sp, "bind_host")) && cJSON_IsString(x))
        snprintf(s->bind_host, sizeof(s->bind_host), "%s", x->valuestring);
    s->unix_socket = (x = cJSON_GetObjectItemCaseSensitive(sp, "socket")) && cJSON_IsString(x) &&
                     strcmp(x->valuestring, "unix") == 0;
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
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(sp, "build");
    if (cJSON_IsObject(b) && jstr(b, "context")) {
        snprintf(s->build.context, sizeof(s->build.context), "%s", jstr(b, "context"));
        snprintf(s->build.ref, sizeof(s->build.ref), "%s", jstr(b, "ref") ? jstr(b, "ref") : "");
        snprintf(s->build.commit, sizeof(s->build.commit), "%s",
                 jstr(b, "commit") ? jstr(b, "commit") : "");
        snprintf(s->build.dockerfile, sizeof(s->build.dockerfile), "%s",
                 jstr(b, "dockerfile") ? jstr(b, "dockerfile") : "Dockerfile");
    }
    cJSON_Delete(sp);
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

/* deploy --socket unix: in->sock = the socket the app listens on, "" when
 * it listens on TCP. exec: STATE/run/NAME.sock, which the driver binds and
 * hands over. A container: STATE/run/NAME/http.sock, its directory made
 * here (writable by any user the image runs as: STATE itself is private)
 * and mounted at DEP_SOCK_DIR, where the app makes the socket ($JERN_SOCKET).
 * Fails (msg set) when the path does not fit a unix socket's 107 bytes. */
static int unix_path(struct dep_rt *rt, const struct dep_spec *s, struct jn_store_instance *in,
                     char *msg, size_t msglen)
{
    in->sock[0] = '\0';
    if (!s->unix_socket || s->one_off)
        return 0;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/run/%s%s", rt->d->state_dir, in->name,
                     s->images ? "/" DEP_SOCK_FILE : ".sock");
    if (n < 0 || (size_t)n >= sizeof(in->sock)) {
        snprintf(msg, msglen,
                 "cannot start instance %s: its unix socket %s would be %d bytes long, and a unix "
                 "socket's path holds at most %zu (use a shorter state directory or app name, "
                 "or deploy without --socket unix)",
                 in->name, path, n, sizeof(in->sock) - 1);
        return JN_ETOOBIG;
    }
    memcpy(in->sock, path, (size_t)n + 1);
    if (!s->images)
        return 0;
    snprintf(path, sizeof(path), "%s/run", rt->d->state_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/run/%s", rt->d->state_dir, in->name);
    if ((mkdir(path, 0700) < 0 && errno != EEXIST) || chmod(path, 0777) < 0) {
        snprintf(msg, msglen, "cannot start instance %s: cannot make %s: %s", in->name, path,
                 strerror(errno));
        return JN_EBASE;
    }
    return 0;
}

/* env plus "JERN_SOCKET=..." for a container on a unix socket (env is
 * jn_db_env_merge's, freed with jn_db_env_free). */
static char **socket_env(char **env)
{
    size_t n = 0;
    while (env[n])
        n++;
    env = jn_realloc(env, (n + 2) * sizeof(*env));
    env[n] = jn_strdup("JERN_SOCKET=" DEP_SOCK_DIR "/" DEP_SOCK_FILE);
    env[n + 1] = NULL;
    return env;
}

struct listening {
    struct jn_store_instance *in;
    void (*routed)(void *arg);
    void *arg;
};

/* The driver's on_listening: in as the start will fill it (the exec
 * driver's instance id is its name), then the caller's routed. */
static void on_listening(void *arg)
{
    struct listening *l = arg;
    snprintf(l->in->external_id, sizeof(l->in->external_id), "%s", l->in->name);
    l->in->started_at = (int64_t)time(NULL);
    l->routed(l->arg);
}

int dep_instance_start(struct dep_rt *rt, const struct dep_spec *s, struct jn_store_instance *in,
                       char *msg, size_t msglen)
{
    return dep_instance_start_routed(rt, s, in, NULL, NULL, msg, msglen);
}

int dep_instance_start_routed(struct dep_rt *rt, const struct dep_spec *s,
                              struct jn_store_instance *in, void (*routed)(void *arg), void *arg,
                              char *msg, size_t msglen)
{
    struct jn_driver *drv = dep_rt_get(rt, s->driver, msg, msglen);
    if (!drv)
        return JN_EBASE;
    char rel[16], iid[24];
    if (s->one_off) { /* named by its caller (run.c) */
        snprintf(iid, sizeof(iid), "run");
    } else {
        dep_instance_name(in->name, sizeof(in->name), in->app, in->version, in->id, in->restarts);
        snprintf(iid, sizeof(iid), "%lld", (long long)in->id);
    }
    snprintf(rel, sizeof(rel), "%d", in->version);
    int r = unix_path(rt, s, in, msg, msglen);
    if (r < 0)
        return r;
    bool unix_box = s->images && in->sock[0]; /* a container on a unix socket */
    /* An attached database's DATABASE_URL and MYSQL_* (db/env.h); a
     * container reaches it through the socket directory, mounted. */
    char **env = jn_db_env_merge(rt->d->state_dir, in->app, (const char *const *)s->env, s->images);
    if (unix_box)
        env = socket_env(env);
    char sock_dir[4096], box_dir[sizeof(in->sock)];
    const struct jn_volume *vols = s->volumes;
    size_t nvols = s->nvolumes;
    struct jn_volume *with_db = jn_calloc(nvols + 2, sizeof(*with_db));
    if (nvols)
        memcpy(with_db, vols, nvols * sizeof(*with_db));
    if (s->images &&
        jn_db_env_socket_dir(rt->d->state_dir, in->app, sock_dir, sizeof(sock_dir)) == 0)
        with_db[nvols++] = (struct jn_volume){.host = sock_dir, .container = JN_DB_CONTAINER_RUN};
    if (unix_box) {
        snprintf(box_dir, sizeof(box_dir), "%s", in->sock);
        *strrchr(box_dir, '/') = '\0';
        with_db[nvols++] = (struct jn_volume){.host = box_dir, .container = DEP_SOCK_DIR};
    }
    vols = with_db;
    struct jn_instance_spec spec = {
        .name = in->name,
        .image = s->images ? s->image : NULL,
        .argv = s->images ? (const char *const *)s->argv : NULL,
        .command = s->images ? NULL : s->command,
        .env = (const char *const *)env,
        .app_port = s->one_off || unix_box ? 0 : s->port,
        .host_port = unix_box ? 0 : in->host_port,
        .bind_host = s->bind_host[0] ? s->bind_host : NULL,
        .volumes = vols,
        .n_volumes = nvols,
        .memory = s->memory,
        .cpus = s->cpus,
        .workdir = s->workdir[0] ? s->workdir : NULL,
        .app = in->app,
        .release = rel,
        .instance = iid,
        .daemon = rt->d->daemon_id,
        .log_size = rt->d->log_size,
        .log_files = rt->d->log_files,
        .listen_fds = s->listen_fds,
        .unix_path = in->sock[0] ? in->sock : NULL,
        .has_stdin = s->has_stdin,
        .stdin_fd = s->stdin_fd,
        .stdin_conn = s->stdin_conn,
        .output_conn = s->output_conn,
    };
    struct listening l = {in, routed, arg};
    if (routed && s->listen_fds && !s->images) {
        spec.on_listening = on_listening;
        spec.on_listening_arg = &l;
    }
    struct jn_instance out;
    r = jn_driver_start(drv, &spec, &out);
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
    struct jn_driver *drv = dep_rt_get(rt, s->driver, msg, msglen);
    if (!drv)
        return JN_EBASE;
    char last[512] = "no probe answered yet";
    bool probed = false;
    int64_t inspected = 0, started_ns = jn_now_ns();
    for (;;) {
        int64_t now = jn_now_ms();
        struct jn_instance st;
        /* Whether it still runs: each time, but at most every 20 ms when
         * probing fast (asking a container engine takes a request). */
        bool look = !s->probe_fast || now - inspected >= 20;
        if (look)
            inspected = now;
        if (look && jn_driver_inspect(drv, in->external_id, &st) == 0 && !st.running) {
            snprintf(msg, msglen, "instance %s exited with status %d before it became healthy",
                     in->name, st.exit_code);
            return JN_EUPSTREAM; /* not JN_ECLOSED: that says the daemon is stopping */
        }
        int timeout = (int)JN_MIN((int64_t)DEP_PROBE_TIMEOUT_MS, JN_MAX(deadline_ms - now, 1));
        char why[512], addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(in, addr, sizeof(addr));
        int r = jn_health_probe(addr, s->health, timeout, why, sizeof(why));
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
        if (s->probe_fast) {
            /* A refused connect costs microseconds: retry every 100 us,
             * then every tenth of the time waited so far, so the wait adds
             * at most a tenth to the app's own start (a 3 ms start is seen
             * within 0.3 ms, a 5 s one within 0.5 s), up to every. */
            int64_t waited_us = (jn_now_ns() - started_ns) / 1000;
            int64_t pause_us = JN_MIN(JN_MAX(100, waited_us / 10), every * 1000);
            usleep((useconds_t)JN_MIN(pause_us, (deadline_ms - now) * 1000));
            continue;
        }
        usleep((useconds_t)JN_MIN(every, deadline_ms - now) * 1000);
    }
    snprintf(msg, msglen, "instance %s did not become healthy in time (last probe: %s)", in->name,
             last);
    return JN_ETIMEDOUT;
}

void dep_instance_destroy(struct dep_rt *rt, const struct jn_store_instance *in)
{
    char msg[256];
    struct jn_driver *drv = dep_rt_get(rt, in->driver, msg, sizeof(msg));
    if (in->sock[0]) {
        unlink(in->sock); /* connections made already go on; no new one can */
        char dir[sizeof(in->sock)];
        snprintf(dir, sizeof(dir), "%s", in->sock);
        char *slash = strrchr(dir, '/');
        if (slash && strcmp(slash + 1, DEP_SOCK_FILE) == 0) { /* a container's directory */
            *slash = '\0';
            rmdir(dir);
        }
    }
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

int jn_deployer_instance_pid(struct jn_deployer *d, const struct jn_store_instance *in)
{
    char msg[128];
    struct jn_driver *drv = dep_rt_get(&d->rt, in->driver, msg, sizeof(msg));
    struct jn_instance st;
    if (drv && in->state == JN_INST_RUNNING && in->external_id[0] &&
        jn_driver_inspect(drv, in->external_id, &st) == 0)
        return st.pid;
    return 0;
}

cJSON *jn_deployer_logs_json(struct jn_deployer *d, const char *app, int version,
                             const struct jn_store_instance *live, size_t nlive,
                             const char *const *mask, size_t nmask)
{
    return dep_logs_json(&d->rt, app, version, live, nlive, mask, nmask);
}
