/*
 * deploy.c: the lifecycle jobs (deploy, rollback, scale, restart), each on its
 * own thread. One shape serves all of them ("roll"):
 *
 *   resolve the image -> start N new instances on jern's ports -> probe each
 *   every 250 ms until healthy (deadline) -> switch the app's upstream in one
 *   publish (new ready, old drain) -> wait until the old ones have no request
 *   in flight (drain timeout) -> stop (SIGTERM, timeout, SIGKILL), keep their
 *   logs, remove them.
 *
 * Until the switch nothing the old release serves is touched, so a failure
 * before it only has to remove the new instances. Store and gateway changes
 * run on the control thread (dep_on_control); the blocking work stays here.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/fault.h"
#include "core/log.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* Gateway workers switch to a new snapshot well under 10 ms after a publish. */
#define SNAPSHOT_SETTLE_MS 100

/* A JERN_FAULT crash point of this job: "KIND:POINT" (docs/RELIABILITY.md). */
static void fault(const struct dep_job *j, const char *point)
{
    static const char *const kinds[] = {"deploy", "rollback", "scale", "restart"};
    char step[64];
    snprintf(step, sizeof(step), "%s:%s", kinds[j->kind], point);
    jn_fault_point(step);
}

static double secs_since(int64_t t)
{
    return (double)(jn_now_ms() - t) / 1000.0;
}

/* ---- control-thread operations ---- */

struct op {
    const char *app;
    int64_t release_id;
    struct jn_store_release *rel;    /* load */
    const char *image_id;            /* set image */
    struct jn_store_instance *in;    /* new / update */
    struct jn_store_instance *fresh; /* switch: instances to serve */
    size_t nfresh;
    const int64_t *only; /* switch: drain only these (when nonly > 0 or drain_none) */
    size_t nonly;
    bool drain_none;
    bool activate; /* switch: the release becomes the one the app serves */
    bool cold;     /* new / switch: a cold start's rows (jn_store_durable) */
    int scale;
    struct jn_store_instance *old; /* switch: out, the drained rows */
    size_t nold;
    char (*addrs)[JN_STORE_ADDR_MAX]; /* conns */
    size_t naddrs;
    char err[512];
};

static int op_load(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    return jn_store_release_get(jn_control_store(d->ctl), o->app, 0, o->release_id, o->rel);
}

static int op_image(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    return jn_store_release_set_image_id(jn_control_store(d->ctl), o->release_id, o->image_id);
}

static int op_new_instance(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    int port = dep_port_alloc(d);
    if (port < 0) {
        snprintf(o->err, sizeof(o->err), "no free port in %d-%d for a new instance", DEP_PORT_LO,
                 DEP_PORT_HI);
        return port;
    }
    o->in->host_port = port;
    struct jn_store *st = jn_control_store(d->ctl);
    if (o->cold)
        jn_store_durable(st, false);
    int r = jn_store_instance_create(st, o->in);
    if (o->cold)
        jn_store_durable(st, true);
    return r;
}

static int op_update(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    return jn_store_instance_update(jn_control_store(d->ctl), o->in);
}

/* Deletes the rows (and server entries) of o->fresh[0..nfresh), publishes. */
static int op_drop(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    for (size_t i = 0; i < o->nfresh; i++) {
        char addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(&o->fresh[i], addr, sizeof(addr));
        jn_store_server_remove(st, o->app, addr);
        jn_store_instance_delete(st, o->fresh[i].id);
    }
    return dep_publish(d, o->app);
}

static bool in_ids(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static int op_switch(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    struct jn_store_instance *all;
    int n = jn_store_instance_list(st, o->app, &all);
    if (n < 0)
        return n;
    if (o->cold)
        jn_store_durable(st, false);
    int r = jn_store_begin(st);
    o->old = jn_calloc(n > 0 ? (size_t)n : 1, sizeof(*o->old));
    o->nold = 0;
    char addr[JN_STORE_ADDR_MAX];
    for (size_t i = 0; r == 0 && i < o->nfresh; i++) {
        struct jn_store_instance *x = &o->fresh[i];
        jn_store_instance_addr(x, addr, sizeof(addr));
        r = jn_store_server_add(st, o->app, addr, 1, "ready");
        if (r == JN_EEXIST)
            r = jn_store_server_set(st, o->app, addr, 0, "ready");
        x->state = JN_INST_RUNNING;
        x->health = JN_HEALTH_HEALTHY;
        if (r == 0)
            r = jn_store_instance_update(st, x);
    }
    for (int i = 0; r == 0 && i < n; i++) {
        bool fresh = false;
        for (size_t k = 0; k < o->nfresh && !fresh; k++)
            fresh = o->fresh[k].id == all[i].id;
        if (fresh ||
            (o->drain_none || o->nonly > 0 ? !in_ids(o->only, o->nonly, all[i].id) : false))
            continue;
        jn_store_instance_addr(&all[i], addr, sizeof(addr));
        int q = jn_store_server_set(st, o->app, addr, 0, "drain");
        if (q < 0 && q != JN_ENOTFOUND)
            r = q;
        all[i].state = JN_INST_DRAINING;
        if (r == 0)
            r = jn_store_instance_update(st, &all[i]);
        o->old[o->nold++] = all[i];
    }
    if (r == 0 && o->activate) {
        int64_t cur = 0;
        jn_store_app_serving(st, o->app, &cur, NULL);
        if (cur && cur != o->release_id)
            r = jn_store_release_set_status(st, cur, "retired");
        if (r == 0)
            r = jn_store_release_set_status(st, o->release_id, "active");
        if (r == 0)
            r = jn_store_app_set_serving(st, o->app, o->release_id, o->scale);
    } else if (r == 0 && o->scale >= 0) {
        int64_t cur = 0;
        jn_store_app_serving(st, o->app, &cur, NULL);
        r = jn_store_app_set_serving(st, o->app, cur, o->scale);
    }
    if (r == 0)
        r = jn_store_commit(st);
    else
        jn_store_rollback(st);
    if (o->cold)
        jn_store_durable(st, true);
    free(all);
    if (r == 0)
        r = dep_publish(d, o->app);
    return r;
}

static int op_conns(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    return dep_conns(d, o->app, o->addrs, o->naddrs);
}

static int op_failed(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    return jn_store_release_set_status(jn_control_store(d->ctl), o->release_id, "failed");
}

/* Keeps the serving release and the JN_RELEASE_KEEP newest others. */
static int op_prune(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    struct jn_store *st = jn_control_store(d->ctl);
    struct jn_store_release *v;
    int n = jn_store_release_list(st, o->app, &v);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].status, "active") == 0 || strcmp(v[i].status, "pending") == 0)
            continue;
        if (++kept <= JN_RELEASE_KEEP)
            continue;
        if (jn_store_release_delete(st, v[i].id) == 0)
            dep_logs_drop(d, o->app, v[i].version);
    }
    jn_store_release_list_free(v, n);
    return 0;
}

static int op_list(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    int n = jn_store_instance_list(jn_control_store(d->ctl), o->app, &o->old);
    o->nold = n > 0 ? (size_t)n : 0;
    return n;
}

/* ---- the lifecycle ---- */

/* Removes new instances after a failure: the old release was never touched. */
static void undo(struct dep_job *j, struct dep_rt *rt, struct jn_store_instance *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dep_instance_destroy(rt, &v[i]);
    struct op o = {.app = j->app, .fresh = v, .nfresh = n};
    dep_on_control(j->d, op_drop, &o);
    if (n)
        dep_job_log(j, "removed the %zu new instance(s); the running release is untouched", n);
}

static void print_tail(struct dep_job *j, struct dep_rt *rt, const struct jn_store_instance *in)
{
    char tail[8192];
    dep_logs_tail(rt, in, DEP_LOG_TAIL, tail, sizeof(tail));
    if (!tail[0]) {
        dep_job_log(j, "instance %s wrote no output", in->name);
        return;
    }
    dep_job_log(j, "last output of %s:", in->name);
    for (char *p = tail, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p) {
            pthread_mutex_lock(&j->mu);
            j->lines = jn_realloc(j->lines, (j->nlines + 1) * sizeof(char *));
            size_t len = strlen(p) + 8;
            j->lines[j->nlines] = jn_malloc(len);
            snprintf(j->lines[j->nlines++], len, "    | %s", p);
            pthread_mutex_unlock(&j->mu);
        }
        if (!nl)
            break;
    }
}

/* Control thread: of o->fresh[0..nfresh) (lingering instances), as many as
 * the app wants (o->scale in all, in) back in service; o->nfresh becomes
 * that count (0: none). */
static int op_revive(struct jn_deployer *d, void *arg)
{
    struct op *o = arg;
    int scale = 0;
    jn_store_app_serving(jn_control_store(d->ctl), o->app, NULL, &scale);
    size_t back = o->scale > scale ? (size_t)(o->scale - scale) : 0;
    o->nfresh = back < o->nfresh ? back : o->nfresh;
    if (o->nfresh == 0)
        return 0;
    o->scale = scale + (int)o->nfresh;
    return op_switch(d, o);
}

/* A scale job's old[0..*n), still up for their linger: as many as the app
 * now wants (want in all) back in service, the first ones; *n becomes the
 * count of those left to retire. */
static void revive(struct dep_job *j, struct jn_store_instance *old, size_t *n, int want)
{
    struct op o = {.app = j->app, .fresh = old, .nfresh = *n, .drain_none = true, .scale = want};
    int r = dep_on_control(j->d, op_revive, &o);
    free(o.old);
    if (r < 0 || o.nfresh == 0)
        return;
    dep_job_log(j, "%zu instance(s) wanted again before they stopped: back in service", o.nfresh);
    memmove(old, old + o.nfresh, (*n - o.nfresh) * sizeof(*old));
    *n -= o.nfresh;
}

/* Drains old[0..n) (already set to drain and published) and removes them;
 * may_revive (a scale job's): unless the app is wanted again during the
 * linger (jn_deployer_revive), when they go back into service instead. */
static void retire(struct dep_job *j, struct dep_rt *rt, struct jn_store_instance *old, size_t n,
                   bool may_revive)
{
    if (n == 0)
        return;
    struct jn_deployer *d = j->d;
    int64_t t = jn_now_ms();
    /* Workers take the new snapshot within milliseconds; a request that picked
     * an old peer just before counts in conns from then on. */
    usleep(SNAPSHOT_SETTLE_MS * 1000);
    if (may_revive)
        dep_revive_take(d, j->app);          /* asked before these were removed: not about them */
    while (jn_now_ms() - t < d->linger_ms) { /* other nodes' gateways still send here */
        int want = may_revive ? dep_revive_take(d, j->app) : 0;
        if (want > 0)
            revive(j, old, &n, want);
        if (n == 0)
            return;
        usleep(50 * 1000);
    }
    struct op o = {.app = j->app, .naddrs = n};
    o.addrs = jn_calloc(n, sizeof(*o.addrs));
    for (size_t i = 0; i < n; i++)
        jn_store_instance_addr(&old[i], o.addrs[i], sizeof(o.addrs[i]));
    int conns = 0;
    while ((conns = dep_on_control(d, op_conns, &o)) > 0 && jn_now_ms() - t < d->drain_timeout_ms)
        usleep(50 * 1000);
    free(o.addrs);
    if (conns > 0)
        dep_job_log(j, "drain timeout (%.1fs): %d request(s) still in flight are cut",
                    (double)d->drain_timeout_ms / 1000.0, conns);
    else
        dep_job_log(j, "drained %zu old instance(s) (%.2fs)", n, secs_since(t));
    t = jn_now_ms();
    for (size_t i = 0; i < n; i++)
        dep_instance_destroy(rt, &old[i]);
    struct op drop = {.app = j->app, .fresh = old, .nfresh = n};
    dep_on_control(d, op_drop, &drop);
    dep_job_log(j, "stopped and removed %zu old instance(s) (%.2fs)", n, secs_since(t));
}

/* A cold start's instance on a socket jern holds (--listen-fds): it takes
 * the held requests as soon as the socket is handed over, while the app
 * starts (dep_instance_start_routed). */
struct cold_route {
    struct dep_job *j;
    struct jn_store_instance *in;
    bool done;
};

static void cold_route(void *arg)
{
    struct cold_route *c = arg;
    /* The held requests wait in the socket's queue until the app accepts,
     * while the probe below still decides whether the instance stays (undo
     * drops it from the upstream). */
    struct op sw = {.app = c->j->app,
                    .fresh = c->in,
                    .nfresh = 1,
                    .drain_none = true,
                    .cold = true,
                    .scale = -1};
    c->done = dep_on_control(c->j->d, op_switch, &sw) == 0;
    free(sw.old);
}

/* Starts count instances of rel and waits until all are healthy. Fills
 * v[0..*nv). Returns 0, or an error after logging why (the caller undoes). */
static int start_healthy(struct dep_job *j, struct dep_rt *rt, const struct jn_store_release *rel,
                         const struct dep_spec *s, int count, struct jn_store_instance *v,
                         size_t *nv)
{
    char msg[1024] = "", addr[JN_STORE_ADDR_MAX];
    for (int i = 0; i < count; i++) {
        int64_t t = jn_now_ms();
        struct jn_store_instance *in = &v[*nv];
        memset(in, 0, sizeof(*in));
        snprintf(in->app, sizeof(in->app), "%s", j->app);
        in->release_id = rel->id;
        in->version = rel->version;
        snprintf(in->driver, sizeof(in->driver), "%s", s->driver);
        in->state = JN_INST_STARTING;
        struct op o = {.app = j->app, .in = in, .cold = s->probe_fast};
        int r = dep_on_control(j->d, op_new_instance, &o);
        if (r < 0) {
            dep_job_log(j, "error: %s", o.err[0] ? o.err : jn_strerror(r));
            return r;
        }
        (*nv)++;
        fault(j, "before-start");
        struct cold_route route = {j, in, false};
        if ((r = dep_instance_start_routed(rt, s, in, s->probe_fast ? cold_route : NULL, &route,
                                           msg, sizeof(msg))) < 0) {
            dep_job_log(j, "error: %s", msg);
            return r;
        }
        fault(j, "after-start");
        if (s->probe_fast) {
            /* A cold start: someone waits for the first answer, so probe
             * at once; the switch records the started instance (its row
             * exists since op_new_instance and the driver labels it: a
             * crash in between is found as after "after-start"). */
            if (s->listen_fds && !route.done)
                cold_route(&route); /* the socket listens already: jern bound it */
            int64_t deadline = jn_now_ms() + s->health_timeout_ms;
            int hr = dep_wait_healthy(rt, s, in, deadline, msg, sizeof(msg));
            if (hr < 0) {
                dep_on_control(j->d, op_update, &o);
                dep_job_log(j, "error: %s", msg);
                print_tail(j, rt, in);
                return hr;
            }
            jn_store_instance_addr(in, addr, sizeof(addr));
            dep_job_log(j, "started instance %s on %s, healthy%s%s (%.2fs)", in->name, addr,
                        s->health[0] ? ": GET " : "", s->health, secs_since(t));
            continue;
        }
        dep_on_control(j->d, op_update, &o);
        jn_store_instance_addr(in, addr, sizeof(addr));
        dep_job_log(j, "started instance %s on %s (%.2fs)", in->name, addr, secs_since(t));
    }
    int64_t t = jn_now_ms(), deadline = t + s->health_timeout_ms;
    for (size_t i = 0; i < *nv && !s->probe_fast; i++) {
        int r = dep_wait_healthy(rt, s, &v[i], deadline, msg, sizeof(msg));
        if (r < 0) {
            dep_job_log(j, "error: %s", msg);
            print_tail(j, rt, &v[i]);
            return r;
        }
        dep_job_log(j, "instance %s is healthy%s%s (%.2fs)", v[i].name,
                    s->health[0] ? ": GET " : "", s->health, secs_since(t));
    }
    return 0;
}

static void build_progress(void *arg, const char *line)
{
    dep_job_log(arg, "build: %s", line);
}

/* deploy --build: packs the context and builds rel's image (its tag). */
static int build(struct dep_job *j, struct jn_driver *drv, const struct jn_store_release *rel,
                 const struct dep_spec *s)
{
    int64_t t = jn_now_ms();
    char dir[1200], tar[1300], msg[1024];
    snprintf(dir, sizeof(dir), "%s/build", j->d->state_dir);
    mkdir(dir, 0700);
    snprintf(tar, sizeof(tar), "%s/%s-v%d.tar", dir, j->app, rel->version);
    if (s->build.commit[0])
        dep_job_log(j, "packing %s at %s (commit %.12s)", s->build.context, s->build.ref,
                    s->build.commit);
    else
        dep_job_log(j, "packing %s", s->build.context);
    int r = jn_build_pack(&s->build, tar, msg, sizeof(msg));
    if (r < 0) {
        dep_job_log(j, "error: %s", msg);
        return r;
    }
    dep_job_log(j, "building %s from its %s", rel->image, s->build.dockerfile);
    struct jn_build_spec b = {.context_tar = tar,
                              .dockerfile = s->build.dockerfile,
                              .tag = rel->image,
                              .progress = build_progress,
                              .arg = j};
    char id[160];
    r = jn_driver_build(drv, &b, id, sizeof(id));
    unlink(tar);
    if (r < 0) {
        dep_job_log(j, "error: %s", jn_driver_errmsg(drv));
        return r;
    }
    dep_job_log(j, "built %s: %.19s (%.2fs)", rel->image, id, secs_since(t));
    return 0;
}

/* Serves rel with count new instances in place of the old ones (only[0..nonly)
 * when nonly > 0, else all others). */
static int roll(struct dep_job *j, struct dep_rt *rt, const struct jn_store_release *rel, int count,
                int scale, const int64_t *only, size_t nonly)
{
    struct dep_spec s;
    char msg[1024];
    if (dep_spec_parse(j->d->state_dir, rel, &s, msg, sizeof(msg)) < 0) {
        dep_job_log(j, "error: %s", msg);
        return JN_EBADINPUT;
    }
    int r = 0;
    if (s.images) {
        int64_t t = jn_now_ms();
        struct jn_driver *drv = dep_rt_get(rt, s.driver, msg, sizeof(msg));
        if (!drv) {
            dep_job_log(j, "error: %s", msg);
            dep_spec_free(&s);
            return JN_EBASE;
        }
        char id[160];
        /* Built once, when first deployed; a rollback to it finds the image. */
        if (s.build.context[0] && !rel->image_id[0] && (r = build(j, drv, rel, &s)) < 0) {
            dep_spec_free(&s);
            return r;
        }
        const char *ref = rel->image_id[0] ? rel->image_id : rel->image;
        dep_job_log(j, "resolving image %s", rel->image);
        r = jn_driver_image_ensure(drv, ref, j->auth.server ? &j->auth : NULL, id, sizeof(id));
        if (r < 0 && rel->image_id[0]) /* the ID is gone locally: pull the name again */
            r = jn_driver_image_ensure(drv, rel->image, j->auth.server ? &j->auth : NULL, id,
                                       sizeof(id));
        if (r < 0) {
            dep_job_log(j, "error: %s", jn_driver_errmsg(drv));
            dep_spec_free(&s);
            return r;
        }
        snprintf(s.image, sizeof(s.image), "%s", id);
        struct op o = {.release_id = rel->id, .image_id = id};
        dep_on_control(j->d, op_image, &o);
        dep_job_log(j, "image %s is %.19s (%.2fs)", rel->image, id, secs_since(t));
    }
    struct jn_store_instance *fresh = jn_calloc((size_t)count + 1, sizeof(*fresh));
    size_t nfresh = 0;
    if ((r = start_healthy(j, rt, rel, &s, count, fresh, &nfresh)) < 0) {
        undo(j, rt, fresh, nfresh);
        goto out;
    }
    int64_t t = jn_now_ms();
    /* Two publishes: the new instances join first, the old ones drain next.
     * A worker still on the previous snapshot sees the old peers' drain at
     * once (peer state is shared) but not the new peers yet; in between, old
     * and new both serve, so no worker is ever left without a ready peer. */
    struct op pre = {
        .app = j->app, .fresh = fresh, .nfresh = nfresh, .drain_none = true, .scale = -1};
    if ((r = dep_on_control(j->d, op_switch, &pre)) < 0) {
        dep_job_log(j, "error: cannot switch the upstream: %s", jn_strerror(r));
        free(pre.old);
        undo(j, rt, fresh, nfresh);
        goto out;
    }
    free(pre.old);
    fault(j, "after-join");
    usleep(SNAPSHOT_SETTLE_MS * 1000);
    struct op o = {.app = j->app,
                   .release_id = rel->id,
                   .fresh = fresh,
                   .nfresh = nfresh,
                   .only = only,
                   .nonly = nonly,
                   .activate = true,
                   .scale = scale};
    if ((r = dep_on_control(j->d, op_switch, &o)) < 0) {
        dep_job_log(j, "error: cannot switch the upstream: %s", jn_strerror(r));
        free(o.old);
        undo(j, rt, fresh, nfresh);
        goto out;
    }
    dep_job_log(j, "switched %s to release v%d: %zu instance(s) take traffic (%.2fs)", j->app,
                rel->version, nfresh, secs_since(t));
    fault(j, "after-switch");
    retire(j, rt, o.old, o.nold, false);
    free(o.old);
out:
    free(fresh);
    dep_spec_free(&s);
    return r;
}

static int load_release(struct dep_job *j, int64_t id, struct jn_store_release *rel)
{
    struct op o = {.app = j->app, .release_id = id, .rel = rel};
    int r = dep_on_control(j->d, op_load, &o);
    if (r < 0)
        dep_job_log(j, "error: release %lld of %s not found", (long long)id, j->app);
    return r;
}

static int job_deploy(struct dep_job *j, struct dep_rt *rt)
{
    struct jn_store_release rel = {0};
    int r = load_release(j, j->release_id, &rel);
    if (r < 0)
        return r;
    dep_job_log(j, "%s %s release v%d (%s%s), %d instance(s)",
                j->kind == JN_JOB_ROLLBACK ? "rolling back to" : "deploying", j->app, rel.version,
                rel.image[0] ? "image " : "command ", rel.image[0] ? rel.image : rel.command,
                j->count);
    r = roll(j, rt, &rel, j->count, j->count, NULL, 0);
    struct op o = {.app = j->app, .release_id = rel.id};
    if (r < 0 && j->kind == JN_JOB_DEPLOY)
        dep_on_control(j->d, op_failed, &o);
    /* Failed releases count too: a script deploying in a loop against a
     * broken build must not grow the store (and the kept logs) without end. */
    dep_on_control(j->d, op_prune, &o);
    jn_store_release_clear(&rel);
    return r;
}

/* Loads the job's release into rel and the app's current instances into l.
 * Returns 0, or a negative code with nothing left to free. */
static int load_serving(struct dep_job *j, struct jn_store_release *rel, struct op *l)
{
    int r = load_release(j, j->release_id, rel);
    if (r < 0)
        return r;
    if ((r = dep_on_control(j->d, op_list, l)) < 0) {
        jn_store_release_clear(rel);
        return r;
    }
    return 0;
}

static int job_restart(struct dep_job *j, struct dep_rt *rt)
{
    struct jn_store_release rel = {0};
    struct op l = {.app = j->app};
    int r = load_serving(j, &rel, &l);
    if (r < 0)
        return r;
    dep_job_log(j, "restarting %s: %zu instance(s), one at a time", j->app, l.nold);
    /* One at a time: capacity never drops below what is serving now. */
    for (size_t i = 0; i < l.nold && r == 0; i++) {
        dep_job_log(j, "replacing %s", l.old[i].name);
        r = roll(j, rt, &rel, 1, j->count, &l.old[i].id, 1);
    }
    free(l.old);
    jn_store_release_clear(&rel);
    return r;
}

struct cold_fail {
    const char *app;
    char msg[512];
};

static int op_cold_failed(struct jn_deployer *d, void *arg)
{
    struct cold_fail *c = arg;
    dep_cold_failed(d, c->app, c->msg);
    return 0;
}

/* Hands the job's last error to the requests waiting for this cold start. */
static void cold_failed(struct dep_job *j)
{
    struct cold_fail c = {.app = j->app};
    snprintf(c.msg, sizeof(c.msg), "the instance did not become healthy");
    pthread_mutex_lock(&j->mu);
    for (size_t i = j->nlines; i-- > 0;) {
        const char *e = strstr(j->lines[i], "] error: "); /* "[  0.52s] error: ..." */
        if (e) {
            snprintf(c.msg, sizeof(c.msg), "%s", e + 9);
            break;
        }
    }
    pthread_mutex_unlock(&j->mu);
    dep_on_control(j->d, op_cold_failed, &c);
}

static int job_scale(struct dep_job *j, struct dep_rt *rt)
{
    struct jn_store_release rel = {0};
    struct op l = {.app = j->app};
    int r = load_serving(j, &rel, &l);
    if (r < 0)
        return r;
    int have = (int)l.nold;
    dep_job_log(j, "scaling %s from %d to %d instance(s)", j->app, have, j->count);
    if (j->count > have) {
        struct dep_spec s;
        char msg[512];
        if (dep_spec_parse(j->d->state_dir, &rel, &s, msg, sizeof(msg)) < 0) {
            dep_job_log(j, "error: %s", msg);
            r = JN_EBADINPUT;
            goto out;
        }
        if (j->cold) {
            /* someone is waiting: see the port open the moment it is */
            s.probe_every_ms = 2;
            s.probe_fast = true;
        }
        int add = j->count - have;
        struct jn_store_instance *fresh = jn_calloc((size_t)add, sizeof(*fresh));
        size_t nfresh = 0;
        if ((r = start_healthy(j, rt, &rel, &s, add, fresh, &nfresh)) < 0) {
            undo(j, rt, fresh, nfresh);
            if (j->cold)
                cold_failed(j);
        } else {
            struct op o = {.app = j->app,
                           .release_id = rel.id,
                           .fresh = fresh,
                           .nfresh = nfresh,
                           .drain_none = true,
                           .cold = j->cold,
                           .scale = j->count};
            r = dep_on_control(j->d, op_switch, &o);
            free(o.old);
            if (r == 0)
                dep_job_log(j, "%zu new instance(s) take traffic", nfresh);
            fault(j, "after-switch");
        }
        free(fresh);
        dep_spec_free(&s);
    } else {
        /* The newest go first; the ones serving longest stay. */
        size_t drop = (size_t)(have - j->count);
        int64_t *ids = jn_calloc(drop + 1, sizeof(*ids));
        for (size_t i = 0; i < drop; i++)
            ids[i] = l.old[l.nold - 1 - i].id;
        struct op o = {.app = j->app,
                       .release_id = rel.id,
                       .only = ids,
                       .nonly = drop,
                       .drain_none = true,
                       .scale = j->count};
        r = dep_on_control(j->d, op_switch, &o);
        fault(j, "after-switch");
        if (r == 0)
            retire(j, rt, o.old, o.nold, true);
        free(o.old);
        free(ids);
    }
out:
    free(l.old);
    jn_store_release_clear(&rel);
    return r;
}

/* Control thread: removes the app a failed first deploy created, unless a
 * release serves it by now. */
static int op_drop_new_app(struct jn_deployer *d, void *arg)
{
    struct dep_job *j = arg;
    int64_t serving = 0;
    int scale = 0;
    if (jn_store_app_serving(jn_control_store(d->ctl), j->app, &serving, &scale) < 0 ||
        serving != 0)
        return JN_EEXIST;
    char err[512];
    return jn_control_app_delete(d->ctl, j->app, err, sizeof(err));
}

void *dep_job_run(void *arg)
{
    struct dep_job *j = arg;
    struct jn_deployer *d = j->d;
    struct dep_rt rt = {.d = d};
    int r;
    switch (j->kind) {
    case JN_JOB_DEPLOY:
    case JN_JOB_ROLLBACK:
        r = job_deploy(j, &rt);
        break;
    case JN_JOB_RESTART:
        r = job_restart(j, &rt);
        break;
    default:
        r = job_scale(j, &rt);
        break;
    }
    dep_rt_free(&rt);
    pthread_mutex_lock(&d->mu);
    bool stopping = d->stopping;
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_lock(&j->mu);
    char error[sizeof(j->error)];
    snprintf(error, sizeof(error), "%s", j->error);
    pthread_mutex_unlock(&j->mu);
    /* Before the last line, which says how the job ended. */
    if (r != 0 && j->new_app && !stopping && dep_on_control(d, op_drop_new_app, j) == 0)
        dep_job_log(j, "removed app '%s' again: its first deploy failed", j->app);
    if (r == 0)
        dep_job_log(j, "done in %.2fs", secs_since(j->t0));
    else if (r == JN_ECLOSED && stopping)
        dep_job_log(j, "interrupted: the daemon is stopping");
    else if (error[0])
        dep_job_log(j, "failed after %.2fs: %s", secs_since(j->t0), error);
    else
        dep_job_log(j, "failed after %.2fs: %s", secs_since(j->t0), jn_strerror(r));
    dep_unclaim(d, j->app);
    pthread_mutex_lock(&j->mu);
    j->ok = r == 0;
    j->done = true;
    j->done_ms = jn_now_ms();
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_lock(&d->mu);
    d->threads--;
    pthread_mutex_unlock(&d->mu);
    return NULL;
}
