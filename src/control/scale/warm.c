/*
 * warm.c: warm mode for scale to zero (docs/SCALING.md): instead of removing
 * an idle app's instances they are drained and paused (docker: the cgroup
 * freezer through the Engine API; exec: SIGSTOP to the group), and the next
 * request resumes them, which takes milliseconds instead of a process or
 * container start. A paused instance keeps its memory, not its CPU.
 *
 * Each pause or resume runs on its own thread (driver calls block) that
 * holds the app's claim, like a deployer job; store and gateway changes go
 * through dep_on_control. Instance rows of paused instances have state
 * "paused" and their server rows "maint" (no traffic): the supervisor leaves
 * them alone, a deploy drains and removes them like any old instance, and a
 * daemon restart removes them as orphans (the app then cold-starts).
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "control/scale/warm.h"
#include "core/log.h"

#include <pthread.h>
#include <unistd.h>

#define WARM_SETTLE_MS 100 /* workers take a new snapshot well within this */
#define WARM_PROBE_EVERY_MS 5
#define WARM_PROBE_DEADLINE_MS 3000

struct warm_job {
    struct jn_deployer *d;
    char app[JN_STORE_NAME_MAX];
    bool resume;
};

struct wop {
    const char *app;
    enum jn_inst_state from; /* rows in this state */
    struct jn_store_instance *rows;
    size_t nrows;
    bool set_state; /* mark: the rows' new instance state, their server state */
    enum jn_inst_state inst_state;
    const char *srv_state;
    const char *msg; /* failed: why */
    int scale; /* mark: the app's new scale (-1: unchanged) */
    char (*addrs)[JN_STORE_ADDR_MAX];
    size_t naddrs;
};


/* Rows of app in state o->from. */
static int op_rows(struct jn_deployer *d, void *arg)
{
    struct wop *o = arg;
    struct jn_store_instance *all;
    int n = jn_store_instance_list(jn_control_store(d->ctl), o->app, &all);
    if (n < 0)
        return n;
    o->rows = jn_calloc((size_t)n + 1, sizeof(*o->rows));
    o->nrows = 0;
    for (int i = 0; i < n; i++)
        if (all[i].state == o->from)
            o->rows[o->nrows++] = all[i];
    free(all);
    return (int)o->nrows;
}

/* Sets the rows' instance and server states (and the scale), publishes. */
static int op_mark(struct jn_deployer *d, void *arg)
{
    struct wop *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    for (size_t i = 0; i < o->nrows; i++) {
        char addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(&o->rows[i], addr, sizeof(addr));
        jn_store_server_set(st, o->app, addr, 0, o->srv_state);
        if (o->set_state) {
            o->rows[i].state = o->inst_state;
            jn_store_instance_update(st, &o->rows[i]);
        }
    }
    if (o->scale >= 0) {
        int64_t rel = 0;
        jn_store_app_serving(st, o->app, &rel, NULL);
        jn_store_app_set_serving(st, o->app, rel, o->scale);
    }
    return dep_publish(d, o->app);
}

/* Removes the rows (and their server entries), publishes. */
static int op_forget(struct jn_deployer *d, void *arg)
{
    struct wop *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    for (size_t i = 0; i < o->nrows; i++) {
        char addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(&o->rows[i], addr, sizeof(addr));
        jn_store_server_remove(st, o->app, addr);
        jn_store_instance_delete(st, o->rows[i].id);
    }
    return dep_publish(d, o->app);
}

static int op_conns(struct jn_deployer *d, void *arg)
{
    struct wop *o = arg;
    return dep_conns(d, o->app, o->addrs, o->naddrs);
}

static int op_failed(struct jn_deployer *d, void *arg)
{
    struct wop *o = arg;
    dep_cold_failed(d, o->app, o->msg);
    return 0;
}

/* Destroys rows[0..n) and forgets them (a pause or resume that failed). */
static void discard(struct jn_deployer *d, struct dep_rt *rt, const char *app,
                    struct jn_store_instance *rows, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        dep_instance_destroy(rt, &rows[i]);
    struct wop o = {.app = app, .rows = rows, .nrows = n};
    dep_on_control(d, op_forget, &o);
}

static void do_pause(struct warm_job *j, struct dep_rt *rt)
{
    struct jn_deployer *d = j->d;
    struct wop o = {.app = j->app, .from = JN_INST_RUNNING, .srv_state = "drain", .scale = -1};
    if (dep_on_control(d, op_rows, &o) <= 0) {
        free(o.rows);
        return;
    }
    int64_t t0 = jn_now_ms();
    dep_on_control(d, op_mark, &o); /* drain: no new requests */
    o.addrs = jn_calloc(o.nrows, sizeof(*o.addrs));
    o.naddrs = o.nrows;
    for (size_t i = 0; i < o.nrows; i++)
        jn_store_instance_addr(&o.rows[i], o.addrs[i], sizeof(o.addrs[i]));
    usleep(WARM_SETTLE_MS * 1000);
    while (dep_on_control(d, op_conns, &o) > 0 && jn_now_ms() - t0 < d->drain_timeout_ms)
        usleep(20 * 1000);
    free(o.addrs);
    struct jn_store_instance *bad = jn_calloc(o.nrows, sizeof(*bad));
    size_t nbad = 0, k = 0;
    for (size_t i = 0; i < o.nrows; i++) {
        char msg[256];
        struct jn_driver *drv =
            dep_rt_get(rt, o.rows[i].driver, msg, sizeof(msg));
        int r = drv ? jn_driver_pause(drv, o.rows[i].external_id) : JN_EBASE;
        if (r < 0) {
            jn_warn("app '%s': cannot pause %s (%s): removing it instead", j->app, o.rows[i].name,
                    drv ? jn_strerror(r) : msg);
            bad[nbad++] = o.rows[i];
        } else {
            o.rows[k++] = o.rows[i];
        }
    }
    o.nrows = k;
    o.set_state = true;
    o.inst_state = JN_INST_PAUSED;
    o.srv_state = "maint";
    o.scale = 0;
    dep_on_control(d, op_mark, &o);
    discard(d, rt, j->app, bad, nbad);
    jn_info("app '%s': paused %zu instance(s) (%.2fs)", j->app, k,
            (double)(jn_now_ms() - t0) / 1000.0);
    free(bad);
    free(o.rows);
}

static void do_resume(struct warm_job *j, struct dep_rt *rt)
{
    struct jn_deployer *d = j->d;
    struct wop o = {.app = j->app, .from = JN_INST_PAUSED, .scale = -1};
    if (dep_on_control(d, op_rows, &o) <= 0) {
        free(o.rows);
        return;
    }
    int64_t t0 = jn_now_ms();
    struct jn_store_instance *bad = jn_calloc(o.nrows, sizeof(*bad));
    size_t nbad = 0, k = 0;
    char why[512] = "";
    for (size_t i = 0; i < o.nrows; i++) {
        struct jn_store_instance *in = &o.rows[i];
        char msg[256] = "";
        struct jn_driver *drv = dep_rt_get(rt, in->driver, msg, sizeof(msg));
        int r = drv ? jn_driver_unpause(drv, in->external_id) : JN_EBASE;
        if (r == 0) {
            /* It was healthy when paused: its port answering again is enough. */
            int64_t deadline = jn_now_ms() + WARM_PROBE_DEADLINE_MS;
            char addr[JN_STORE_ADDR_MAX];
            jn_store_instance_addr(in, addr, sizeof(addr));
            while ((r = jn_health_probe(addr, NULL, 500, msg, sizeof(msg))) < 0 &&
                   jn_now_ms() < deadline)
                usleep(WARM_PROBE_EVERY_MS * 1000);
        } else if (!msg[0]) {
            snprintf(msg, sizeof(msg), "%s", jn_strerror(r));
        }
        if (r < 0) {
            snprintf(why, sizeof(why), "cannot resume paused instance %s: %s", in->name, msg);
            jn_warn("app '%s': %s", j->app, why);
            bad[nbad++] = *in;
        } else {
            o.rows[k++] = *in;
        }
    }
    o.nrows = k;
    o.set_state = true;
    o.inst_state = JN_INST_RUNNING;
    o.srv_state = "ready";
    o.scale = (int)k;
    dep_on_control(d, op_mark, &o);
    discard(d, rt, j->app, bad, nbad);
    if (k == 0) {
        /* Waiting requests learn why; the next one starts a fresh instance. */
        struct wop f = {.app = j->app, .msg = why};
        dep_on_control(d, op_failed, &f);
    }
    jn_info("app '%s': resumed %zu paused instance(s) (%.3fs)", j->app, k,
            (double)(jn_now_ms() - t0) / 1000.0);
    free(bad);
    free(o.rows);
}

static void *warm_run(void *arg)
{
    struct warm_job *j = arg;
    struct jn_deployer *d = j->d;
    struct dep_rt rt = {.d = d};
    if (j->resume)
        do_resume(j, &rt);
    else
        do_pause(j, &rt);
    dep_rt_free(&rt);
    dep_unclaim(d, j->app);
    pthread_mutex_lock(&d->mu);
    d->threads--;
    pthread_mutex_unlock(&d->mu);
    free(j);
    return NULL;
}

int jn_warm_start(struct jn_deployer *d, const char *app, bool resume)
{
    struct warm_job *j = jn_calloc(1, sizeof(*j));
    j->d = d;
    j->resume = resume;
    snprintf(j->app, sizeof(j->app), "%s", app);
    if (dep_thread_start(d, warm_run, j) != 0) {
        free(j);
        dep_unclaim(d, app);
        return JN_EBASE;
    }
    return 0;
}

int jn_warm_paused(struct jn_deployer *d, const char *app)
{
    struct wop o = {.app = app, .from = JN_INST_PAUSED};
    int n = op_rows(d, &o);
    free(o.rows);
    return n;
}
