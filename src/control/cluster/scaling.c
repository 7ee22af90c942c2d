/*
 * scaling.c: autoscaling and scale to zero on a cluster (docs/CLUSTER.md,
 * "Autoscaling"). The settings are the app's record's `autoscale` (written
 * by jern scale APP --min/--max on any node, changes.c); every node's
 * autoscaler takes them (the agent, below), so each gateway holds the
 * requests of an app at zero and samples the concurrency it sees of the app,
 * but starts nothing itself. Instead:
 *
 *   control thread  the samples (jn_autoscale_load_json) go to the cluster
 *                   thread every REPORT_MS; a request that starts waiting
 *                   for an app at zero asks for a round at once
 *   cluster thread  writes them as /jern/load/NODE under the node's lease,
 *                   at most once a LOAD_MS unless a request waits
 *   scheduler       sums the live nodes' samples per app and applies the
 *                   one-node rule (jn_autoscale_want: Knative's KPA) to the
 *                   record's instances; autoscale_state {changed_ms,
 *                   panic_until_ms, decision} keeps what the rule needs
 *                   across rounds and schedulers. The placement of the new
 *                   count follows in the same round, as for jern scale.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "control/scale/autoscale.h"
#include "core/log.h"
#include "etcd/client.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define LOAD_MS 1000

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static double num(const cJSON *o, const char *name, double dflt)
{
    const cJSON *x = get(o, name);
    return cJSON_IsNumber(x) ? x->valuedouble : dflt;
}

/* Whether some app waits in l that did not in before. */
static bool newly_waiting(const cJSON *l, const cJSON *before)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, l) if (cJSON_IsTrue(get(a, "waiting")) &&
                                 !cJSON_IsTrue(get(get(before, a->string), "waiting"))) return true;
    return false;
}

void jn_cluster_load_sample(struct jn_cluster *c)
{
    if (!c->as)
        return;
    cJSON *l = jn_autoscale_load_json(c->as);
    pthread_mutex_lock(&c->mu);
    bool urgent = newly_waiting(l, c->load);
    cJSON_Delete(c->load);
    c->load = l;
    pthread_mutex_unlock(&c->mu);
    if (urgent)
        atomic_store(&c->report_changed, true); /* a round now */
}

static void wake(void *arg)
{
    jn_cluster_load_sample(arg);
}

void jn_cluster_set_autoscaler(struct jn_cluster *c, struct jn_autoscaler *as)
{
    c->as = as;
    jn_autoscale_set_clustered(as, wake, c);
}

int jn_cluster_write_load(struct jn_cluster *c)
{
    pthread_mutex_lock(&c->mu);
    cJSON *l = c->load ? cJSON_Duplicate(c->load, true) : NULL;
    pthread_mutex_unlock(&c->mu);
    int64_t now = jn_now_ms();
    if (!l || (c->load_written && cJSON_Compare(l, c->load_written, true)) ||
        (!newly_waiting(l, c->load_written) && now - c->load_written_ms < LOAD_MS)) {
        cJSON_Delete(l);
        return 0;
    }
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_LOAD "%s", c->node);
    char *s = cJSON_PrintUnformatted(l);
    int r = jn_etcd_put(c->e, key, s, c->lease);
    free(s);
    if (r < 0) {
        cJSON_Delete(l);
        return r;
    }
    cJSON_Delete(c->load_written);
    c->load_written = l;
    c->load_written_ms = now;
    return 0;
}

/* The sum over the live nodes' samples of app. */
struct sum {
    double stable, panic, active_ms;
    bool waiting;
};

static struct sum sum_load(const cJSON *v, const char *app)
{
    struct sum s = {0};
    const cJSON *n;
    cJSON_ArrayForEach(n, get(v, "load"))
    {
        const cJSON *a = get(n, app);
        if (!a || !get(get(v, "nodes"), n->string))
            continue; /* a node that is away serves nothing */
        s.stable += num(a, "stable", 0);
        s.panic += num(a, "panic", 0);
        s.waiting = s.waiting || cJSON_IsTrue(get(a, "waiting"));
        s.active_ms = fmax(s.active_ms, num(a, "active_ms", 0));
    }
    return s;
}

static void set_num(cJSON *o, const char *name, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddNumberToObject(o, name, v);
}

/* One app's decision: writes its record when the count changes (a
 * compare-and-swap: a change made meanwhile wins, the next round decides
 * again). The view's record is updated too, for this round's placement. */
static int decide(struct jn_cluster *c, cJSON *v, cJSON *a)
{
    const cJSON *cfg = get(a, "autoscale");
    cJSON *state = cJSON_Duplicate(get(a, "autoscale_state"), true);
    if (!state)
        state = cJSON_CreateObject();
    int64_t now = jn_now_ms();
    struct sum s = sum_load(v, a->string);
    double active = fmax(s.active_ms, num(state, "since_ms", 0));
    int cur = (int)num(a, "instances", 0);
    int64_t changed = (int64_t)num(state, "changed_ms", 0);
    struct jn_autoscale_in in = {
        .cur = cur,
        .min = (int)num(cfg, "min", 0),
        .max = (int)num(cfg, "max", 4),
        .target = (int)num(cfg, "concurrency", 100),
        .stable = s.stable,
        .panic = s.panic,
        .idle = (double)now - active >= num(cfg, "idle_ms", 300000),
        .waiting = s.waiting,
        .panicking = now < (int64_t)num(state, "panic_until_ms", 0),
        .window_passed = now - changed >= (int64_t)num(cfg, "stable_window_ms", 60000),
    };
    if (in.target < 1)
        in.target = 1;
    bool panic;
    int want = jn_autoscale_want(&in, &panic);
    if (want == cur && !(panic && !in.panicking)) {
        cJSON_Delete(state);
        return 0;
    }
    char why[200];
    if (want == 0)
        snprintf(why, sizeof(why), "%d -> 0: idle for %.1fs", cur, ((double)now - active) / 1000);
    else if (cur == 0 && s.waiting)
        snprintf(why, sizeof(why), "0 -> %d: a request arrived", want);
    else
        snprintf(why, sizeof(why), "%d -> %d: %s: concurrency %.1f stable, %.1f panic, target %d",
                 cur, want, panic || in.panicking ? "panic" : "stable", s.stable, s.panic,
                 in.target);
    if (panic)
        set_num(state, "panic_until_ms", (double)now + num(cfg, "stable_window_ms", 60000));
    if (want != cur) {
        set_num(state, "changed_ms", (double)now);
        cJSON_DeleteItemFromObjectCaseSensitive(state, "decision");
        cJSON_AddStringToObject(state, "decision", why);
    }
    cJSON *rec = cJSON_Duplicate(a, true);
    int64_t rev = (int64_t)num(rec, "mod_revision", 0);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "mod_revision");
    set_num(rec, "instances", want);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "autoscale_state");
    cJSON_AddItemToObject(rec, "autoscale_state", state);
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_APPS "%s", a->string);
    char *str = cJSON_PrintUnformatted(rec);
    int r = jn_etcd_cas(c->e, key, rev, str);
    free(str);
    cJSON_Delete(rec);
    if (r == 1 && want != cur) {
        jn_notice("cluster: app '%s': autoscale %s", a->string, why);
        set_num(a, "instances", want);
    }
    return r < 0 ? r : 0;
}

int jn_cluster_autoscale_round(struct jn_cluster *c, cJSON *v)
{
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(v, "apps"))
    {
        if (!cJSON_IsObject(get(a, "autoscale")) || num(a, "version", 0) <= 0)
            continue;
        int r = decide(c, v, a);
        if (r < 0)
            return r;
    }
    return 0;
}

void jn_cluster_autoscale_follow(struct jn_cluster *c, const char *app, const cJSON *a)
{
    if (!c->as)
        return;
    const cJSON *want = get(a, "autoscale");
    cJSON *have = jn_autoscale_settings(c->as, app);
    char err[256] = "";
    if (cJSON_IsObject(want) && !(have && cJSON_Compare(want, have, true))) {
        cJSON *saved = NULL;
        if (jn_autoscale_set(c->as, app, want, &saved, err, sizeof(err)) < 0)
            jn_error("cluster: app '%s': autoscale settings: %s", app, err);
        else
            jn_notice("cluster: app '%s': autoscaled by the cluster (min %.0f, max %.0f)", app,
                      num(want, "min", 0), num(want, "max", 0));
        cJSON_Delete(saved);
    } else if (!cJSON_IsObject(want) && have) {
        jn_autoscale_clear(c->as, app);
        jn_notice("cluster: app '%s': a fixed count of instances again", app);
    }
    cJSON_Delete(have);
}
