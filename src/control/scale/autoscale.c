/*
 * autoscale.c: scale to zero, cold starts, and a KPA-like concurrency
 * autoscaler (docs/SCALING.md).
 *
 * Every tick (250 ms) the control thread samples each autoscaled app's live
 * upstream: requests in flight on its ready peers plus requests waiting for
 * one. Averages over the stable window (default 60 s) and the panic window
 * (default 6 s) divided by the target concurrency per instance give the
 * wanted count, as Knative's KPA does: the panic average wins while it asks
 * for twice the instances running (bursts), and the count only goes down
 * once a whole stable window has passed since the last change. With min 0,
 * an app with no request for `idle` goes to zero; the first request then
 * waits in the gateway, whose post (on_wait) starts one instance at once.
 */
#include "core/common.h"

#include "control/scale/autoscale.h"
#include "control/control_int.h"
#include "control/deploy/deploy_int.h"
#include "core/log.h"
#include "ev/loop.h"
#include "ev/timer.h"
#include "control/scale/warm.h"
#include "store/autoscale.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>

#define AS_TICK_MS 250
/* After a failed cold start, requests still held are answered 503 and leave;
 * their count asks for no new attempt for this long. */
#define AS_FAIL_QUIET_MS 1000
#define AS_RING 512 /* samples kept: the stable window at one sample a tick, capped */

struct as_cfg {
    int min, max, concurrency, queue;
    int64_t idle_ms, stable_ms, panic_ms, wait_timeout_ms;
    bool warm; /* at zero, pause instances instead of removing them (warm.c) */
};

static const struct as_cfg as_defaults = {
    .min = 0,
    .max = 4,
    .concurrency = 100,
    .queue = 1000,
    .idle_ms = 300000,
    .stable_ms = 60000,
    .panic_ms = 6000,
    .wait_timeout_ms = 30000,
};

struct as_sample {
    int64_t t;
    int conc;
};

struct as_app {
    char name[JN_STORE_NAME_MAX];
    struct as_cfg cfg;
    struct as_sample ring[AS_RING];
    size_t head, n;
    uint64_t last_requests;
    int64_t last_active, last_change, panic_until;
    int64_t fail_ms;
    char fail_msg[200];
    uint64_t cold_starts, scale_ups, scale_downs, cold_failures, warm_starts;
    int desired; /* the count of the last decision */
    int conc;    /* the last sample */
    char decision[200];
};

struct jn_autoscaler {
    struct jn_deployer *d;
    struct jn_timer timer;
    bool started;
    /* on a cluster node: samples only; the cluster's scheduler decides, and
     * a request waiting at zero calls wake (control thread) */
    bool clustered;
    void (*wake)(void *arg);
    void *wake_arg;
    struct as_app **apps;
    size_t napps;
};

struct as_wanted {
    struct jn_control *ctl;
    char app[JN_STORE_NAME_MAX];
};

static struct as_app *app_find(struct jn_autoscaler *as, const char *name)
{
    for (size_t i = 0; i < as->napps; i++)
        if (strcmp(as->apps[i]->name, name) == 0)
            return as->apps[i];
    return NULL;
}

static void app_drop(struct jn_autoscaler *as, const char *name)
{
    for (size_t i = 0; i < as->napps; i++) {
        if (strcmp(as->apps[i]->name, name) == 0) {
            free(as->apps[i]);
            as->apps[i] = as->apps[--as->napps];
            return;
        }
    }
}

static cJSON *cfg_json(const struct as_cfg *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "min", c->min);
    cJSON_AddNumberToObject(o, "max", c->max);
    cJSON_AddNumberToObject(o, "concurrency", c->concurrency);
    cJSON_AddNumberToObject(o, "queue", c->queue);
    cJSON_AddNumberToObject(o, "idle_ms", (double)c->idle_ms);
    cJSON_AddNumberToObject(o, "stable_window_ms", (double)c->stable_ms);
    cJSON_AddNumberToObject(o, "panic_window_ms", (double)c->panic_ms);
    cJSON_AddNumberToObject(o, "wait_timeout_ms", (double)c->wait_timeout_ms);
    cJSON_AddBoolToObject(o, "warm", c->warm);
    return o;
}

/* Validates one field of o into *out (absent: unchanged). Returns false with
 * the message in err. */
static bool num_field(const cJSON *o, const char *k, int64_t lo, int64_t hi, int64_t *out,
                      char *err, size_t errlen)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x)
        return true;
    if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
        x->valuedouble < (double)lo || x->valuedouble > (double)hi) {
        snprintf(err, errlen, "\"%s\" must be a whole number from %lld to %lld", k, (long long)lo,
                 (long long)hi);
        return false;
    }
    *out = (int64_t)x->valuedouble;
    return true;
}

/* Parses settings over base (unknown fields and inconsistent values are
 * errors). Returns 0 or JN_EBADINPUT with err. */
static int cfg_parse(const cJSON *o, struct as_cfg *c, char *err, size_t errlen)
{
    static const char *const known[] = {"min",
                                        "max",
                                        "concurrency",
                                        "queue",
                                        "idle_ms",
                                        "stable_window_ms",
                                        "panic_window_ms",
                                        "wait_timeout_ms",
                                        "warm",
                                        NULL};
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "the request body must be a JSON object");
        return JN_EBADINPUT;
    }
    for (const cJSON *f = o->child; f; f = f->next) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(f->string, *k) == 0;
        if (!ok) {
            snprintf(err, errlen,
                     "unknown field \"%.64s\" (known: min, max, concurrency, "
                     "queue, idle_ms, stable_window_ms, panic_window_ms, wait_timeout_ms, warm)",
                     f->string);
            return JN_EBADINPUT;
        }
    }
    int64_t v[8] = {c->min,     c->max,       c->concurrency, c->queue,
                    c->idle_ms, c->stable_ms, c->panic_ms,    c->wait_timeout_ms};
    if (!num_field(o, "min", 0, JN_DEPLOY_MAX_INSTANCES, &v[0], err, errlen) ||
        !num_field(o, "max", 1, JN_DEPLOY_MAX_INSTANCES, &v[1], err, errlen) ||
        !num_field(o, "concurrency", 1, 100000, &v[2], err, errlen) ||
        !num_field(o, "queue", 1, 100000, &v[3], err, errlen) ||
        !num_field(o, "idle_ms", 100, 86400000, &v[4], err, errlen) ||
        !num_field(o, "stable_window_ms", 1000, 3600000, &v[5], err, errlen) ||
        !num_field(o, "panic_window_ms", 100, 3600000, &v[6], err, errlen) ||
        !num_field(o, "wait_timeout_ms", 100, 600000, &v[7], err, errlen))
        return JN_EBADINPUT;
    if (v[0] > v[1]) {
        snprintf(err, errlen, "min (%lld) is above max (%lld)", (long long)v[0], (long long)v[1]);
        return JN_EBADINPUT;
    }
    if (v[6] > v[5]) {
        snprintf(err, errlen,
                 "the panic window (%lld ms) is longer than the stable window "
                 "(%lld ms)",
                 (long long)v[6], (long long)v[5]);
        return JN_EBADINPUT;
    }
    bool warm = c->warm;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "warm");
    if (w && !cJSON_IsBool(w)) {
        snprintf(err, errlen, "\"warm\" must be true or false");
        return JN_EBADINPUT;
    }
    if (w)
        warm = cJSON_IsTrue(w);
    *c = (struct as_cfg){(int)v[0], (int)v[1], (int)v[2], (int)v[3], v[4], v[5], v[6], v[7], warm};
    return 0;
}

static struct as_app *app_set(struct jn_autoscaler *as, const char *name, const struct as_cfg *c)
{
    struct as_app *a = app_find(as, name);
    if (!a) {
        a = jn_calloc(1, sizeof(*a));
        snprintf(a->name, sizeof(a->name), "%s", name);
        a->last_active = a->last_change = jn_now_ms();
        as->apps = jn_realloc(as->apps, (as->napps + 1) * sizeof(*as->apps));
        as->apps[as->napps++] = a;
    }
    a->cfg = *c;
    return a;
}

static void load_all(struct jn_autoscaler *as)
{
    struct jn_store *st = jn_control_store(as->d->ctl);
    struct jn_store_app *apps;
    int n = jn_store_app_list(st, &apps);
    for (int i = 0; i < n; i++) {
        char *json;
        if (jn_store_app_autoscale(st, apps[i].name, &json) < 0 || !json)
            continue;
        cJSON *o = cJSON_Parse(json);
        struct as_cfg c = as_defaults;
        char err[256];
        if (cfg_parse(o, &c, err, sizeof(err)) == 0)
            app_set(as, apps[i].name, &c);
        else
            jn_warn("app '%s': stored autoscale settings ignored: %s", apps[i].name, err);
        cJSON_Delete(o);
        free(json);
    }
    if (n > 0)
        free(apps);
}

/* ---- decisions ---- */

static double window_avg(const struct as_app *a, int64_t now, int64_t window)
{
    double sum = 0;
    int cnt = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct as_sample *s = &a->ring[(a->head + AS_RING - 1 - i) % AS_RING];
        if (now - s->t > window)
            break;
        sum += s->conc;
        cnt++;
    }
    return cnt ? sum / cnt : 0;
}

int jn_autoscale_want(const struct jn_autoscale_in *in, bool *panic)
{
    int want_stable = (int)ceil(in->stable / in->target);
    int want_panic = (int)ceil(in->panic / in->target);
    /* Knative's panic threshold: the short window asks for twice what runs. */
    *panic = in->cur > 0 && want_panic >= 2 * in->cur;
    bool panicking = in->panicking || *panic;
    int want = panicking ? JN_MAX(JN_MAX(in->cur, want_panic), want_stable) : want_stable;
    int lo = in->min;
    if (lo == 0 && (!in->idle || in->waiting))
        lo = 1;
    if (lo == 0)
        return 0; /* idle, nobody waiting: --idle decides, not the windows' averages */
    want = JN_MIN(JN_MAX(want, lo), in->max);
    if (want < in->cur && !in->window_passed)
        return in->cur; /* down only after a whole stable window */
    return want;
}

/* Starts a scale job of app to count; returns true when one started. */
static bool launch(struct jn_autoscaler *as, struct as_app *a, int count, bool cold)
{
    struct jn_deployer *d = as->d;
    int64_t rel = 0;
    jn_store_app_serving(jn_control_store(d->ctl), a->name, &rel, NULL);
    if (!rel) {
        if (cold)
            jn_autoscale_failed(as, a->name,
                                "the app has no release yet (deploy one with: jern deploy APP)");
        return false;
    }
    if (!dep_claim(d, a->name))
        return false;
    if (count == 0 && a->cfg.warm)
        return jn_warm_start(d, a->name, false) == 0;
    if (cold && jn_warm_paused(d, a->name) > 0) {
        if (jn_warm_start(d, a->name, true) < 0)
            return false;
        a->warm_starts++;
        return true;
    }
    return dep_job_start(d, JN_JOB_SCALE, a->name, rel, count, cold) == 0;
}

/* Instances the app counts on now (the scale the last job settled on). */
static int current_scale(struct jn_autoscaler *as, const char *app)
{
    int scale = 0;
    jn_store_app_serving(jn_control_store(as->d->ctl), app, NULL, &scale);
    return scale;
}

static void decide(struct jn_autoscaler *as, struct as_app *a, const char *why, int from, int to,
                   bool cold)
{
    if (!launch(as, a, to, cold))
        return;
    int64_t now = jn_now_ms();
    a->last_change = now;
    a->desired = to;
    if (cold)
        a->cold_starts++;
    if (to > from)
        a->scale_ups++;
    else
        a->scale_downs++;
    snprintf(a->decision, sizeof(a->decision), "%d -> %d: %s", from, to, why);
    jn_info("app '%s': autoscale %s", a->name, a->decision);
}

static void tick_app(struct jn_autoscaler *as, struct as_app *a, int64_t now)
{
    struct jn_upstream *u = jn_ctl_live_upstream(as->d->ctl, a->name);
    if (!u)
        return;
    int conc = atomic_load(&u->waiters);
    uint64_t reqs = 0;
    for (size_t i = 0; i < u->npeers; i++) {
        struct jn_peer *p = u->peers[i];
        reqs += atomic_load(&p->requests);
        if (atomic_load(&p->state) == JN_PEER_READY) {
            conc += atomic_load(&p->conns);
        }
    }
    /* Removed peers take their counts along: only a rise means requests. */
    if (reqs > a->last_requests || conc > 0)
        a->last_active = now;
    a->last_requests = reqs;
    a->conc = conc;
    a->ring[a->head] = (struct as_sample){now, conc};
    a->head = (a->head + 1) % AS_RING;
    if (a->n < AS_RING)
        a->n++;
    if (as->clustered || dep_is_busy(as->d, a->name))
        return;
    const struct as_cfg *c = &a->cfg;
    int cur0 = current_scale(as, a->name);
    /* Requests still held when a cold start failed are being answered 503
     * and leave: neither they (waiting) nor the activity they showed (not
     * idle) ask for another attempt. A request that arrives after the
     * failure starts one itself (on_wanted). */
    bool quiet = now - a->fail_ms < AS_FAIL_QUIET_MS;
    struct jn_autoscale_in in = {
        .cur = cur0,
        .min = c->min,
        .max = c->max,
        .target = c->concurrency,
        .stable = window_avg(a, now, c->stable_ms),
        .panic = window_avg(a, now, c->panic_ms),
        .idle = now - a->last_active >= c->idle_ms || (cur0 == 0 && quiet),
        .waiting = atomic_load(&u->waiters) > 0 && !quiet,
        .panicking = now < a->panic_until,
        .window_passed = now - a->last_change >= c->stable_ms,
    };
    bool panic_now;
    int want = jn_autoscale_want(&in, &panic_now);
    if (panic_now)
        a->panic_until = now + c->stable_ms;
    bool panicking = panic_now || in.panicking;
    int cur = in.cur;
    double stable = in.stable, panic = in.panic;
    if (want == cur)
        return;
    char why[160];
    if (want == 0)
        snprintf(why, sizeof(why), "idle for %.1fs", (double)(now - a->last_active) / 1000.0);
    else
        snprintf(why, sizeof(why), "%s: concurrency %.1f stable, %.1f panic, target %d",
                 panicking ? "panic" : "stable", stable, panic, c->concurrency);
    decide(as, a, why, cur, want, cur == 0);
}

static void tick(struct jn_loop *loop, struct jn_timer *t)
{
    struct jn_autoscaler *as = t->data;
    int64_t now = jn_now_ms();
    for (size_t i = 0; i < as->napps; i++)
        tick_app(as, as->apps[i], now);
    jn_timer_start(loop, t, AS_TICK_MS);
}

static void publish_hook(void *arg, const char *app, struct jn_upstream *u, bool *wait_ready,
                         int64_t *wait_timeout_ms)
{
    jn_autoscale_decorate(arg, app, u, wait_ready, wait_timeout_ms);
}

static void app_deleted_hook(void *arg, const char *app)
{
    jn_autoscale_forget(arg, app);
}

static void cold_failed_hook(void *arg, const char *app, const char *msg)
{
    jn_autoscale_failed(arg, app, msg);
}

/* The autoscaler registered on ctl, or NULL once it detached. */
static struct jn_autoscaler *registered(struct jn_control *ctl)
{
    return ctl->on_publish == publish_hook ? ctl->on_publish_arg : NULL;
}

/* The gateway's post: a request waits for app, which may have no instance. */
static void on_wanted(void *arg)
{
    struct as_wanted *w = arg;
    struct jn_autoscaler *as = registered(w->ctl);
    struct as_app *a = as ? app_find(as, w->app) : NULL;
    if (a && as->clustered) {
        a->last_active = jn_now_ms();
        if (as->wake)
            as->wake(as->wake_arg);
    } else if (a && !dep_is_busy(as->d, a->name)) {
        int cur = current_scale(as, a->name);
        if (cur == 0 && a->cfg.max > 0) {
            a->last_active = jn_now_ms();
            decide(as, a, "a request arrived", 0, JN_MAX(1, a->cfg.min), true);
        }
    }
    free(w);
}

static void post_cb(struct jn_loop *loop, void *arg)
{
    (void)loop;
    on_wanted(arg);
}

/* Worker thread: must not block. arg is the control plane, not the
 * autoscaler: workers still run while the daemon frees the autoscaler, and
 * the control plane and its loop outlive them. */
static void upstream_wanted(struct jn_upstream *u, void *arg)
{
    struct jn_control *ctl = arg;
    struct as_wanted *w = jn_calloc(1, sizeof(*w));
    w->ctl = ctl;
    snprintf(w->app, sizeof(w->app), "%s", u->name);
    if (jn_loop_post(ctl->loop, post_cb, w) < 0)
        free(w); /* the tick sees the waiter within 250 ms */
}

/* ---- the interface ---- */

struct jn_autoscaler *jn_autoscaler_new(struct jn_deployer *d)
{
    struct jn_autoscaler *as = jn_calloc(1, sizeof(*as));
    as->d = d;
    load_all(as);
    jn_ctl_on_publish_app(d->ctl, publish_hook, as, d->loop);
    jn_control_on_app_deleted(d->ctl, app_deleted_hook, as);
    jn_deployer_on_cold_failure(d, cold_failed_hook, as);
    return as;
}

void jn_autoscaler_start(struct jn_autoscaler *as)
{
    jn_timer_init(&as->timer, tick, as);
    jn_timer_start(as->d->loop, &as->timer, AS_TICK_MS);
    as->started = true;
}

void jn_autoscaler_free(struct jn_autoscaler *as)
{
    if (!as)
        return;
    if (as->started)
        jn_timer_stop(as->d->loop, &as->timer);
    jn_ctl_on_publish_app(as->d->ctl, NULL, NULL, NULL);
    jn_control_on_app_deleted(as->d->ctl, NULL, as);
    jn_deployer_on_cold_failure(as->d, NULL, NULL);
    for (size_t i = 0; i < as->napps; i++)
        free(as->apps[i]);
    free(as->apps);
    free(as);
}

void jn_autoscale_decorate(struct jn_autoscaler *as, const char *app, struct jn_upstream *u,
                           bool *wait_ready, int64_t *wait_timeout_ms)
{
    struct as_app *a = as ? app_find(as, app) : NULL;
    if (!a)
        return;
    jn_upstream_set_wait_hook(u, upstream_wanted, as->d->ctl, a->cfg.queue);
    jn_upstream_set_failure(u, a->fail_msg, a->fail_ms, false);
    *wait_ready = a->cfg.min == 0;
    *wait_timeout_ms = a->cfg.wait_timeout_ms;
}

void jn_autoscale_clear(struct jn_autoscaler *as, const char *app)
{
    if (!as || !app_find(as, app))
        return;
    jn_store_app_set_autoscale(jn_control_store(as->d->ctl), app, NULL);
    app_drop(as, app);
    dep_publish(as->d, app);
}

void jn_autoscale_forget(struct jn_autoscaler *as, const char *app)
{
    if (as)
        app_drop(as, app);
}

void jn_autoscale_failed(struct jn_autoscaler *as, const char *app, const char *msg)
{
    struct as_app *a = as ? app_find(as, app) : NULL;
    if (a) {
        a->cold_failures++;
        a->fail_ms = jn_now_ms();
        snprintf(a->fail_msg, sizeof(a->fail_msg), "the application could not start: %s", msg);
        snprintf(a->decision, sizeof(a->decision), "cold start failed: %s", msg);
    }
    jn_warn("app '%s': cold start failed: %s", app, msg);
    struct jn_upstream *u = jn_ctl_live_upstream(as->d->ctl, app);
    if (!u || !a)
        return;
    /* The next request starts another attempt at once. */
    jn_upstream_set_failure(u, a->fail_msg, a->fail_ms, true);
}

int jn_autoscale_set(struct jn_autoscaler *as, const char *app, const cJSON *settings,
                     cJSON **saved, char *err, size_t errlen)
{
    struct as_app *a = app_find(as, app);
    struct as_cfg c = a ? a->cfg : as_defaults;
    int r = cfg_parse(settings, &c, err, errlen);
    if (r < 0)
        return r;
    cJSON *o = cfg_json(&c);
    char *json = cJSON_PrintUnformatted(o);
    r = jn_store_app_set_autoscale(jn_control_store(as->d->ctl), app, json);
    free(json);
    if (r < 0) {
        cJSON_Delete(o);
        snprintf(err, errlen, "cannot store the settings: %s",
                 r == JN_EBASE ? jn_store_error(jn_control_store(as->d->ctl)) : jn_strerror(r));
        return r;
    }
    a = app_set(as, app, &c);
    a->last_active = jn_now_ms();
    a->fail_ms = 0;
    a->fail_msg[0] = '\0';
    dep_publish(as->d, app);
    jn_info("app '%s': autoscale min %d max %d concurrency %d idle %lld ms", app, c.min, c.max,
            c.concurrency, (long long)c.idle_ms);
    *saved = o;
    return 0;
}

void jn_autoscale_set_clustered(struct jn_autoscaler *as, void (*wake)(void *arg), void *arg)
{
    as->clustered = true;
    as->wake = wake;
    as->wake_arg = arg;
}

int jn_autoscale_check(const cJSON *settings, cJSON **norm, char *err, size_t errlen)
{
    struct as_cfg c = as_defaults;
    int r = cfg_parse(settings, &c, err, errlen);
    if (r == 0)
        *norm = cfg_json(&c);
    return r;
}

cJSON *jn_autoscale_settings(struct jn_autoscaler *as, const char *app)
{
    struct as_app *a = as ? app_find(as, app) : NULL;
    return a ? cfg_json(&a->cfg) : NULL;
}

/* A tenth: enough for a decision, and a report that does not change each
 * tick. */
static double tenth(double v)
{
    return round(v * 10) / 10;
}

cJSON *jn_autoscale_load_json(struct jn_autoscaler *as)
{
    cJSON *o = cJSON_CreateObject();
    int64_t now = jn_now_ms();
    for (size_t i = 0; as && i < as->napps; i++) {
        const struct as_app *a = as->apps[i];
        struct jn_upstream *u = jn_ctl_live_upstream(as->d->ctl, a->name);
        cJSON *x = cJSON_AddObjectToObject(o, a->name);
        cJSON_AddNumberToObject(x, "stable", tenth(window_avg(a, now, a->cfg.stable_ms)));
        cJSON_AddNumberToObject(x, "panic", tenth(window_avg(a, now, a->cfg.panic_ms)));
        cJSON_AddBoolToObject(x, "waiting", u && atomic_load(&u->waiters) > 0);
        cJSON_AddNumberToObject(x, "active_ms", (double)a->last_active);
    }
    return o;
}

cJSON *jn_autoscale_json(struct jn_autoscaler *as, const char *app)
{
    struct as_app *a = as ? app_find(as, app) : NULL;
    if (!a)
        return NULL;
    cJSON *o = cfg_json(&a->cfg);
    cJSON_AddNumberToObject(o, "instances", current_scale(as, app));
    cJSON_AddNumberToObject(o, "concurrency_now", a->conc);
    cJSON_AddNumberToObject(o, "idle_for_ms", (double)(jn_now_ms() - a->last_active));
    cJSON_AddBoolToObject(o, "panic", jn_now_ms() < a->panic_until);
    cJSON_AddNumberToObject(o, "cold_starts", (double)a->cold_starts);
    cJSON_AddNumberToObject(o, "cold_start_failures", (double)a->cold_failures);
    cJSON_AddNumberToObject(o, "warm_starts", (double)a->warm_starts);
    cJSON_AddNumberToObject(o, "scale_ups", (double)a->scale_ups);
    cJSON_AddNumberToObject(o, "scale_downs", (double)a->scale_downs);
    cJSON_AddStringToObject(o, "last_decision", a->decision);
    return o;
}

static void label(struct jn_buf *out, const char *metric, const char *app, double v)
{
    jn_buf_printf(out, "%s{app=\"%s\"} %.17g\n", metric, app, v);
}

void jn_autoscale_metrics(struct jn_autoscaler *as, struct jn_buf *out)
{
    if (!as || as->napps == 0)
        return;
    static const char *const names[][3] = {
        {"jern_app_instances_desired", "gauge", "Instances the autoscaler last asked for."},
        {"jern_app_concurrency", "gauge", "Requests in flight or waiting, last sample."},
        {"jern_app_autoscale_panic", "gauge", "1 while the panic window drives scaling."},
        {"jern_app_cold_starts_total", "counter", "Instances started for an app at zero."},
        {"jern_app_cold_start_failures_total", "counter", "Cold starts that failed."},
        {"jern_app_warm_starts_total", "counter",
         "Starts from zero that resumed paused instances."},
        {"jern_app_scale_ups_total", "counter", "Autoscaler decisions to add instances."},
        {"jern_app_scale_downs_total", "counter", "Autoscaler decisions to remove instances."},
    };
    int64_t now = jn_now_ms();
    for (size_t m = 0; m < JN_ARRAY_LEN(names); m++) {
        jn_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", names[m][0], names[m][2], names[m][0],
                      names[m][1]);
        for (size_t i = 0; i < as->napps; i++) {
            const struct as_app *a = as->apps[i];
            double v[] = {a->desired,
                          a->conc,
                          now < a->panic_until,
                          (double)a->cold_starts,
                          (double)a->cold_failures,
                          (double)a->warm_starts,
                          (double)a->scale_ups,
                          (double)a->scale_downs};
            /* App names are [a-z0-9-]: nothing to escape in the label. */
            label(out, names[m][0], a->name, v[m]);
        }
    }
}
