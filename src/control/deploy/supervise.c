/*
 * supervise.c: keeping instances running, and adopting them after a daemon
 * restart.
 *
 * Supervisor (its own thread, its own drivers): every 500 ms it inspects the
 * instances marked running, and every 2 s probes the health path of those
 * whose release has one. One that stopped, or failed three probes in a row
 * (2 s each), leaves the app's upstream at once, its output is kept, and it is started again after a backoff (0.5 s,
 * doubling, at most 10 s), health-gated like a deploy. Five crashes within a
 * minute make a crash loop: the instance is marked failed and left alone
 * (visible in `jern ps`; a deploy or restart replaces it). Apps with a
 * job running are skipped: the job owns them.
 *
 * Every 5 s (and at once after `jern destroy`) it also removes the
 * instances this daemon created (label jern.daemon = its id) that the store
 * does not know: an app destroyed with its instances running. Instances of
 * other daemons, or without the label, are left alone: the engine may be
 * shared with other jern daemons or tools.
 *
 * Adoption (control thread, at start): among this daemon's instances, one is
 * kept, untouched, when the store knows it and it belongs to the release its
 * app serves; any other is an orphan (an interrupted deploy, a replaced
 * release, an app destroyed while the daemon was down) and is removed. Store
 * rows whose instance vanished are marked crashed, so the supervisor starts
 * them again.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/log.h"

#include <unistd.h>

#define SUP_EVERY_MS 500
#define SUP_WINDOW_MS 60000
#define SUP_LOOP_CRASHES 5
#define SUP_BACKOFF_MIN_MS 500
#define SUP_BACKOFF_MAX_MS 10000
#define SUP_PROBE_EVERY_MS 2000
#define SUP_PROBE_TIMEOUT_MS 2000
#define SUP_PROBE_FAILS 3
#define SUP_SWEEP_EVERY_MS 5000

struct crash_hist {
    int64_t id;
    int64_t times[SUP_LOOP_CRASHES];
    int n;
    int64_t next_at;
    int64_t probe_at; /* next liveness probe */
    int probe_fails;  /* consecutive failed probes */
};

/* The health path of a release, looked up once. */
struct health_path {
    int64_t release_id;
    char path[256];
};

struct sup {
    struct jn_deployer *d;
    struct dep_rt rt;
    struct crash_hist *h;
    size_t nh;
    struct health_path *hp;
    size_t nhp;
};

static struct crash_hist *hist(struct sup *s, int64_t id)
{
    for (size_t i = 0; i < s->nh; i++)
        if (s->h[i].id == id)
            return &s->h[i];
    s->h = jn_realloc(s->h, (s->nh + 1) * sizeof(*s->h));
    struct crash_hist *x = &s->h[s->nh++];
    memset(x, 0, sizeof(*x));
    x->id = id;
    return x;
}

/* Records a crash; returns the number of crashes within the window. */
static int record_crash(struct crash_hist *h, int64_t now)
{
    int k = 0;
    int64_t keep[SUP_LOOP_CRASHES];
    for (int i = 0; i < h->n; i++)
        if (now - h->times[i] < SUP_WINDOW_MS && k < SUP_LOOP_CRASHES - 1)
            keep[k++] = h->times[i];
    keep[k++] = now;
    memcpy(h->times, keep, sizeof(keep[0]) * (size_t)k);
    h->n = k;
    int64_t backoff = SUP_BACKOFF_MIN_MS << (k - 1);
    h->next_at = now + JN_MIN(backoff, (int64_t)SUP_BACKOFF_MAX_MS);
    return k;
}

struct sop {
    const char *app;
    struct jn_store_instance *in;
    struct jn_store_instance *all;
    int nall;
    struct jn_store_release *rel;
    int64_t serving;
    bool serve; /* add in's server as ready (true) or remove it (false) */
};

static int sop_list(struct jn_deployer *d, void *arg)
{
    struct sop *o = arg;
    o->nall = jn_store_instance_list(jn_control_store(d->ctl), NULL, &o->all);
    return o->nall;
}

/* Writes in's row and adds or removes its server, then publishes. The
 * supervisor works from a list read earlier: a job may have removed the row
 * since (a scale-down, a deploy), and its port may serve another instance
 * now, so a missing row leaves the servers alone (JN_ENOTFOUND). */
static int sop_apply(struct jn_deployer *d, void *arg)
{
    struct sop *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    char addr[JN_STORE_ADDR_MAX];
    jn_store_instance_addr(o->in, addr, sizeof(addr));
    int r = jn_store_instance_update(st, o->in);
    if (r < 0)
        return r;
    if (o->serve) {
        r = jn_store_server_add(st, o->in->app, addr, 1, "ready");
        if (r == JN_EEXIST)
            r = jn_store_server_set(st, o->in->app, addr, 0, "ready");
    } else {
        r = jn_store_server_remove(st, o->in->app, addr);
        if (r == JN_ENOTFOUND)
            r = 0;
    }
    dep_publish(d, o->in->app);
    return r;
}

static int sop_release(struct jn_deployer *d, void *arg)
{
    struct sop *o = arg;
    /* The row must still be there: a job may have retired it since the list. */
    struct jn_store_instance *v;
    int n = jn_store_instance_list(jn_control_store(d->ctl), o->in->app, &v);
    bool found = false;
    for (int i = 0; i < n && !found; i++)
        found = v[i].id == o->in->id;
    if (n >= 0)
        free(v);
    if (!found)
        return JN_ENOTFOUND;
    int r = jn_store_release_get(jn_control_store(d->ctl), o->in->app, 0, o->in->release_id,
                                 o->rel);
    if (r == 0)
        r = jn_store_app_serving(jn_control_store(d->ctl), o->in->app, &o->serving, NULL);
    return r;
}

static void crashed(struct sup *s, struct jn_store_instance *in, const char *why)
{
    struct crash_hist *h = hist(s, in->id);
    int k = record_crash(h, jn_now_ms());
    jn_warn("app '%s': instance %s %s", in->app, in->name, why);
    /* Out of the upstream first; then keep its output and remove it. */
    struct sop o = {.in = in, .serve = false};
    if (k >= SUP_LOOP_CRASHES) {
        in->state = JN_INST_FAILED;
        jn_error("app '%s': instance %s crashed %d times within %ds: marked failed, not "
                 "restarted again (deploy or restart the app to replace it)",
                 in->app, in->name, k, SUP_WINDOW_MS / 1000);
    } else {
        in->state = JN_INST_CRASHED;
    }
    in->health = JN_HEALTH_UNHEALTHY;
    dep_on_control(s->d, sop_apply, &o);
    dep_instance_destroy(&s->rt, in);
}

static void restart(struct sup *s, struct jn_store_instance *in)
{
    struct jn_store_release rel = {0};
    struct sop o = {.in = in, .rel = &rel};
    if (dep_on_control(s->d, sop_release, &o) < 0 || o.serving != in->release_id) {
        jn_store_release_clear(&rel);
        return; /* a deploy replaced its release meanwhile: it is the job's now */
    }
    struct dep_spec spec;
    char msg[1024];
    int r = dep_spec_parse(s->d->state_dir, &rel, &spec, msg, sizeof(msg));
    if (r == 0) {
        in->restarts++;
        r = dep_instance_start(&s->rt, &spec, in, msg, sizeof(msg));
    }
    if (r == 0) {
        in->state = JN_INST_STARTING;
        r = dep_wait_healthy(&s->rt, &spec, in, jn_now_ms() + spec.health_timeout_ms, msg,
                             sizeof(msg));
    }
    if (r == 0) {
        in->state = JN_INST_RUNNING;
        in->health = JN_HEALTH_HEALTHY;
        o.serve = true;
        if (dep_on_control(s->d, sop_apply, &o) == JN_ENOTFOUND) {
            /* retired by a job while it restarted: not ours to serve */
            dep_instance_destroy(&s->rt, in);
            dep_spec_free(&spec);
            jn_store_release_clear(&rel);
            return;
        }
        jn_notice("app '%s': instance %s restarted (restart %d)", in->app, in->name,
                  in->restarts);
    } else {
        jn_warn("app '%s': restart of %s failed: %s", in->app, in->name, msg);
        crashed(s, in, "failed to restart");
    }
    dep_spec_free(&spec);
    jn_store_release_clear(&rel);
}

/* The health path of in's release ("" when none). */
static const char *health_of(struct sup *s, struct jn_store_instance *in)
{
    for (size_t i = 0; i < s->nhp; i++)
        if (s->hp[i].release_id == in->release_id)
            return s->hp[i].path;
    struct jn_store_release rel = {0};
    struct sop o = {.in = in, .rel = &rel};
    struct dep_spec spec;
    char msg[256];
    if (dep_on_control(s->d, sop_release, &o) < 0 ||
        dep_spec_parse(s->d->state_dir, &rel, &spec, msg, sizeof(msg)) < 0) {
        jn_store_release_clear(&rel);
        return "";
    }
    s->hp = jn_realloc(s->hp, (s->nhp + 1) * sizeof(*s->hp));
    struct health_path *h = &s->hp[s->nhp++];
    h->release_id = in->release_id;
    snprintf(h->path, sizeof(h->path), "%s", spec.health);
    dep_spec_free(&spec);
    jn_store_release_clear(&rel);
    return h->path;
}

/* Liveness: an instance whose health path fails SUP_PROBE_FAILS probes in a
 * row is treated as crashed. Returns false then, with why in msg. */
static bool alive(struct sup *s, struct jn_store_instance *in, char *msg, size_t len)
{
    struct crash_hist *h = hist(s, in->id);
    int64_t now = jn_now_ms();
    if (now < h->probe_at)
        return true;
    h->probe_at = now + SUP_PROBE_EVERY_MS;
    const char *path = health_of(s, in);
    if (!*path)
        return true;
    char why[160], addr[JN_STORE_ADDR_MAX];
    jn_store_instance_addr(in, addr, sizeof(addr));
    if (jn_health_probe(addr, path, SUP_PROBE_TIMEOUT_MS, why, sizeof(why)) == 0) {
        h->probe_fails = 0;
        return true;
    }
    if (++h->probe_fails < SUP_PROBE_FAILS)
        return true;
    h->probe_fails = 0;
    snprintf(msg, len, "failed %d health checks in a row (%s)", SUP_PROBE_FAILS, why);
    return false;
}

static bool stopping(struct jn_deployer *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return s;
}

/* Whether an app was destroyed since the last call. */
static bool app_destroyed(struct jn_deployer *d)
{
    pthread_mutex_lock(&d->mu);
    bool any = d->app_destroyed;
    d->app_destroyed = false;
    pthread_mutex_unlock(&d->mu);
    return any;
}

static void tick(struct sup *s)
{
    struct sop o = {0};
    if (dep_on_control(s->d, sop_list, &o) < 0)
        return;
    for (int i = 0; i < o.nall && !stopping(s->d); i++) {
        struct jn_store_instance *in = &o.all[i];
        bool run = in->state == JN_INST_RUNNING, crash = in->state == JN_INST_CRASHED;
        if ((!run && !crash) || dep_is_busy(s->d, in->app))
            continue;
        if (run) {
            /* Looking needs no claim; only acting does, so a deploy arriving
             * now is not refused because of a routine inspection. */
            char msg[256];
            struct jn_driver *drv =
                dep_rt_get(&s->rt, in->driver, msg, sizeof(msg));
            struct jn_instance st;
            int r = drv ? jn_driver_inspect(drv, in->external_id, &st) : JN_EBASE;
            bool gone = r == JN_ENOTFOUND || (r == 0 && !st.running);
            bool sick = !gone && r == 0 && !alive(s, in, msg, sizeof(msg));
            if ((!gone && !sick) || !dep_claim(s->d, in->app))
                continue;
            if (r == JN_ENOTFOUND) {
                crashed(s, in, "vanished");
            } else if (gone) {
                snprintf(msg, sizeof(msg), "exited with status %d", st.exit_code);
                crashed(s, in, msg);
            } else {
                crashed(s, in, msg);
            }
        } else if (hist(s, in->id)->next_at <= jn_now_ms() && dep_claim(s->d, in->app)) {
            restart(s, in);
        } else {
            continue;
        }
        dep_unclaim(s->d, in->app);
    }
    free(o.all);
}

struct known {
    struct jn_store_instance *all;
    int nall;
};

static int sop_known(struct jn_deployer *d, void *arg)
{
    struct known *k = arg;
    k->nall = jn_store_instance_list(jn_control_store(d->ctl), NULL, &k->all);
    return k->nall;
}

/* Removes this daemon's instances that the store does not know (their app
 * was destroyed, or a job's cleanup failed). Rows are written before a driver
 * starts an instance, so a starting instance is never mistaken for one. */
static void sweep(struct sup *s)
{
    size_t nkinds;
    const struct jn_driver_kind *kinds = jn_driver_kinds(&nkinds);
    for (size_t k = 0; k < nkinds; k++) {
        char msg[256];
        if (!jn_driver_reachable(&kinds[k], &s->d->env, msg, sizeof(msg)))
            continue;
        struct jn_driver *drv = dep_rt_get(&s->rt, kinds[k].name, msg, sizeof(msg));
        struct jn_instance *v;
        int n = drv ? jn_driver_list(drv, NULL, &v) : -1;
        if (n <= 0) {
            if (n == 0)
                free(v);
            continue;
        }
        struct known o = {0};
        if (dep_on_control(s->d, sop_known, &o) < 0) {
            free(o.all);
            free(v);
            return;
        }
        for (int i = 0; i < n && !stopping(s->d); i++) {
            bool known = false;
            long long id = atoll(v[i].instance);
            for (int r = 0; r < o.nall && !known; r++)
                known = o.all[r].id == id && strcmp(o.all[r].app, v[i].app) == 0;
            if (known || strcmp(v[i].daemon, s->d->daemon_id) != 0 ||
                dep_is_busy(s->d, v[i].app) || dep_run_active(s->d, v[i].name))
                continue;
            struct jn_store_instance tmp = {0};
            snprintf(tmp.app, sizeof(tmp.app), "%s", v[i].app);
            snprintf(tmp.name, sizeof(tmp.name), "%s", v[i].name);
            snprintf(tmp.external_id, sizeof(tmp.external_id), "%s", v[i].id);
            snprintf(tmp.driver, sizeof(tmp.driver), "%s", kinds[k].name);
            tmp.version = atoi(v[i].release);
            jn_notice("removing instance %s: its app '%s' no longer has it", v[i].name,
                      v[i].app);
            dep_instance_destroy(&s->rt, &tmp);
        }
        free(o.all);
        free(v);
    }
}

static int sop_logs(struct jn_deployer *d, void *arg)
{
    (void)arg;
    dep_logs_retention(d);
    return 0;
}

void *dep_supervise(void *arg)
{
    struct sup s = {.d = arg};
    s.rt.d = s.d;
    int64_t next_sweep = jn_now_ms() + SUP_SWEEP_EVERY_MS;
    /* Kept logs are looked at as often as their retention asks (at most
     * every sweep), so a short retention is kept closely. */
    int64_t logs_every = JN_MAX(JN_MIN(SUP_SWEEP_EVERY_MS, s.d->log_retention_ms), SUP_EVERY_MS);
    int64_t next_logs = jn_now_ms();
    while (!stopping(s.d)) {
        tick(&s);
        if (jn_now_ms() >= next_sweep || app_destroyed(s.d)) {
            sweep(&s);
            next_sweep = jn_now_ms() + SUP_SWEEP_EVERY_MS;
        }
        if (jn_now_ms() >= next_logs) {
            dep_on_control(s.d, sop_logs, NULL);
            next_logs = jn_now_ms() + logs_every;
        }
        for (int i = 0; i < SUP_EVERY_MS / 100 && !stopping(s.d); i++)
            usleep(100 * 1000);
    }
    dep_rt_free(&s.rt);
    free(s.h);
    free(s.hp);
    return NULL;
}

/* ---- adoption ---- */

static void drop_row(struct jn_deployer *d, const struct jn_store_instance *in)
{
    struct jn_store *st = jn_control_store(d->ctl);
    char addr[JN_STORE_ADDR_MAX];
    jn_store_instance_addr(in, addr, sizeof(addr));
    jn_store_server_remove(st, in->app, addr);
    jn_store_instance_delete(st, in->id);
}

/* Leaves the rows of one driver alone (its runtime cannot be asked now):
 * better to keep routing to them than to start duplicates. */
static void keep_all(const char *driver, struct jn_store_instance *rows, int nrows, bool *seen)
{
    for (int k = 0; k < nrows; k++)
        if (strcmp(rows[k].driver, driver) == 0)
            seen[k] = true;
}

static void adopt_driver(struct jn_deployer *d, const struct jn_driver_kind *kind,
                         struct jn_store_instance *rows, int nrows, bool *seen)
{
    const char *driver = kind->name;
    char msg[256];
    struct jn_driver *drv = dep_rt_get(&d->rt, driver, msg, sizeof(msg));
    if (!drv) {
        keep_all(driver, rows, nrows, seen);
        return;
    }
    if (!jn_driver_reachable(kind, &d->env, msg, sizeof(msg))) {
        for (int k = 0; k < nrows; k++)
            if (strcmp(rows[k].driver, driver) == 0)
                jn_warn("adoption: %s for instance %s of app '%s'; left as it is", msg,
                        rows[k].name, rows[k].app);
        keep_all(driver, rows, nrows, seen);
        return;
    }
    struct jn_instance *v;
    int n = jn_driver_list(drv, NULL, &v);
    if (n < 0) {
        jn_warn("adoption: cannot list %s instances: %s; their store entries are left as they "
                "are",
                driver, jn_driver_errmsg(drv));
        keep_all(driver, rows, nrows, seen);
        return;
    }
    struct jn_store *st = jn_control_store(d->ctl);
    for (int i = 0; i < n; i++) {
        struct jn_store_instance *row = NULL;
        for (int k = 0; k < nrows && !row; k++)
            if (strcmp(rows[k].name, v[i].name) == 0 && strcmp(rows[k].driver, driver) == 0)
                row = &rows[k];
        int64_t serving = 0;
        /* Ours: created by this daemon, or, without the label, named by one
         * of its rows (started before instances carried it). */
        bool mine = v[i].daemon[0] ? strcmp(v[i].daemon, d->daemon_id) == 0 : row != NULL;
        if (!mine && strcmp(v[i].app, JN_DB_CONTAINER_APP) == 0)
            continue; /* a managed database's server (src/db): not an app's */
        if (!mine) {
            jn_notice("adoption: instance %s (app '%s') was created by %s%s; left alone", v[i].name,
                      v[i].app, v[i].daemon[0] ? "another jern daemon: " : "",
                      v[i].daemon[0] ? v[i].daemon : "something else (no jern.daemon label)");
            if (row)
                seen[row - rows] = true; /* not ours to stop either */
            continue;
        }
        if (row)
            jn_store_app_serving(st, row->app, &serving, NULL);
        bool keep = row && row->release_id == serving &&
                    (row->state == JN_INST_RUNNING || row->state == JN_INST_CRASHED);
        if (keep && v[i].running) {
            seen[row - rows] = true;
            char addr[JN_STORE_ADDR_MAX];
            jn_store_instance_addr(row, addr, sizeof(addr));
            jn_notice("adopted instance %s of app '%s' (release v%d, %s)", v[i].name, row->app,
                      row->version, addr);
            continue;
        }
        struct jn_store_instance tmp = {0};
        snprintf(tmp.app, sizeof(tmp.app), "%s", v[i].app);
        snprintf(tmp.name, sizeof(tmp.name), "%s", v[i].name);
        snprintf(tmp.external_id, sizeof(tmp.external_id), "%s", v[i].id);
        snprintf(tmp.driver, sizeof(tmp.driver), "%s", driver);
        tmp.version = atoi(v[i].release);
        if (keep) {
            /* Known but stopped while jern was away: the supervisor restarts it. */
            jn_notice("instance %s of app '%s' stopped while jern was down: restarting it",
                      v[i].name, row->app);
            continue; /* rows without a live instance are handled below */
        }
        if (!row && jn_store_app_get(st, v[i].app, NULL) == JN_ENOTFOUND)
            jn_notice("removing instance %s: its app '%s' was destroyed while jern was down",
                      v[i].name, v[i].app);
        else
            jn_notice("removing orphan instance %s (app '%s', release %s)", v[i].name, v[i].app,
                      v[i].release);
        dep_instance_destroy(&d->rt, &tmp);
        if (row) {
            drop_row(d, row);
            seen[row - rows] = true;
        }
    }
    free(v);
}

/* An interrupted restart (or a deploy of the serving release) can leave more
 * instances of the serving release than the app wants: the new ones had joined,
 * the old ones were not drained yet. The oldest extras go, as the job would
 * have removed them. */
static void converge(struct jn_deployer *d)
{
    struct jn_store *st = jn_control_store(d->ctl);
    struct jn_store_instance *rows;
    int n = jn_store_instance_list(st, NULL, &rows); /* by app, then id */
    if (n <= 0) {
        if (n == 0)
            free(rows);
        return;
    }
    for (int i = 0; i < n;) {
        int end = i;
        while (end < n && strcmp(rows[end].app, rows[i].app) == 0)
            end++;
        int64_t serving = 0;
        int scale = 0;
        jn_store_app_serving(st, rows[i].app, &serving, &scale);
        int have = 0;
        for (int k = i; k < end; k++)
            have += rows[k].release_id == serving;
        for (int k = i; k < end && have > scale; k++) {
            if (rows[k].release_id != serving)
                continue;
            jn_notice("app '%s' has %d instance(s) of release v%d, wants %d: removing %s (an "
                      "interrupted restart)",
                      rows[k].app, have, rows[k].version, scale, rows[k].name);
            char addr[JN_STORE_ADDR_MAX];
            jn_store_instance_addr(&rows[k], addr, sizeof(addr));
            jn_store_server_remove(st, rows[k].app, addr);
            dep_instance_destroy(&d->rt, &rows[k]);
            jn_store_instance_delete(st, rows[k].id);
            have--;
        }
        i = end;
    }
    free(rows);
}

void dep_adopt(struct jn_deployer *d)
{
    struct jn_store *st = jn_control_store(d->ctl);
    struct jn_store_instance *rows;
    int n = jn_store_instance_list(st, NULL, &rows);
    if (n < 0)
        return;
    bool *seen = jn_calloc((size_t)n + 1, sizeof(bool));
    size_t nkinds;
    const struct jn_driver_kind *kinds = jn_driver_kinds(&nkinds);
    for (size_t k = 0; k < nkinds; k++)
        adopt_driver(d, &kinds[k], rows, n, seen);
    for (int i = 0; i < n; i++) {
        if (seen[i])
            continue;
        int64_t serving = 0;
        jn_store_app_serving(st, rows[i].app, &serving, NULL);
        bool ours = rows[i].release_id == serving && (rows[i].state == JN_INST_RUNNING ||
                                                      rows[i].state == JN_INST_CRASHED);
        if (!ours) {
            drop_row(d, &rows[i]);
            continue;
        }
        char addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(&rows[i], addr, sizeof(addr));
        jn_store_server_remove(st, rows[i].app, addr);
        /* Whatever is left of it goes; the supervisor starts a fresh one. */
        dep_instance_destroy(&d->rt, &rows[i]);
        rows[i].state = JN_INST_CRASHED;
        rows[i].health = JN_HEALTH_UNHEALTHY;
        jn_store_instance_update(st, &rows[i]);
    }
    free(seen);
    free(rows);
    converge(d);
    /* A deploy interrupted by the stop never served. */
    struct jn_store_app *apps;
    int na = jn_store_app_list(st, &apps);
    for (int i = 0; i < na; i++) {
        struct jn_store_release *v;
        int nr = jn_store_release_list(st, apps[i].name, &v);
        for (int k = 0; k < nr; k++)
            if (strcmp(v[k].status, "pending") == 0)
                jn_store_release_set_status(st, v[k].id, "failed");
        jn_store_release_list_free(v, nr);
    }
    free(apps);
}
