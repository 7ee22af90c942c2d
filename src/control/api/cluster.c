/*
 * cluster.c: the cluster routes (docs/CLUSTER.md, docs/API.md): nodes,
 * drain, placement labels and "where does this app run". Reads answer from
 * the node's last view of etcd (no waiting on etcd); changes are written to
 * etcd at once and refused with 503 when it cannot be reached.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/cluster/cluster.h"
#include "control/cluster/model.h"
#include "control/control.h"
#include "control/scale/autoscale.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static bool clustered(struct jn_api_call *c)
{
    if (c->api->cluster)
        return true;
    jn_api_error(c->resp, 409,
                 "this jern is a single node; start it as a cluster node with: jern serve "
                 "--cluster http://ETCD:2379 --node NAME --advertise HOST --label KEY=VALUE");
    return false;
}

/* 503 for etcd away, 400 for a placement that cannot be met, 409 for a race. */
void jn_api_cluster_fail(struct jn_api_resp *resp, int r, const char *err)
{
    int status = r == JN_ECLOSED || r == JN_ETIMEDOUT ? 503
                 : r == JN_EBADINPUT                  ? 400
                 : r == JN_EEXIST                     ? 409
                 : r == JN_ENOTFOUND                  ? 404
                                                      : 500;
    jn_api_error(resp, status, "%s", err);
}

static const cJSON *view_item(struct jn_api_call *c, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(jn_cluster_view(c->api->cluster), name);
}

static void get_nodes(struct jn_api_call *c)
{
    if (!clustered(c))
        return;
    const cJSON *view = jn_cluster_view(c->api->cluster);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "etcd", cJSON_IsTrue(view_item(c, "etcd")));
    const cJSON *err = view_item(c, "error");
    if (cJSON_IsString(err))
        cJSON_AddStringToObject(o, "error", err->valuestring);
    cJSON_AddStringToObject(o, "node", jn_cluster_node(c->api->cluster));
    const cJSON *leader = view_item(c, "leader");
    cJSON_AddStringToObject(o, "scheduler", cJSON_IsString(leader) ? leader->valuestring : "");
    cJSON *arr = cJSON_AddArrayToObject(o, "nodes");
    const cJSON *x;
    const cJSON *inst = view_item(c, "instances");
    cJSON_ArrayForEach(x, view_item(c, "nodes"))
    {
        cJSON *n = cJSON_Duplicate(x, true);
        cJSON_AddBoolToObject(n, "draining",
                              cJSON_GetObjectItemCaseSensitive(view_item(c, "drain"), x->string) !=
                                  NULL);
        int count = 0;
        const cJSON *per;
        cJSON_ArrayForEach(per, inst)
        {
            const cJSON *mine = cJSON_GetObjectItemCaseSensitive(per, x->string);
            count += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mine, "addrs"));
        }
        cJSON_AddNumberToObject(n, "instances", count);
        cJSON_AddItemToArray(arr, n);
    }
    (void)view;
    jn_api_send_json(c->resp, 200, o);
}

static void drain(struct jn_api_call *c, bool on)
{
    if (!clustered(c))
        return;
    const char *node = jn_api_param(c, "node");
    if (on && !cJSON_GetObjectItemCaseSensitive(view_item(c, "nodes"), node)) {
        jn_api_error(c->resp, 404, "no live node '%s' in the cluster (see: jern nodes)", node);
        return;
    }
    char err[512];
    int r = jn_cluster_drain(c->api->cluster, node, on, err, sizeof(err));
    if (r < 0) {
        jn_api_cluster_fail(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "node", node);
    cJSON_AddBoolToObject(o, "draining", on);
    jn_api_send_json(c->resp, 200, o);
}

static void post_drain(struct jn_api_call *c)
{
    drain(c, true);
}

static void delete_drain(struct jn_api_call *c)
{
    drain(c, false);
}

/* An object of string labels, or NULL (400 answered) */
static bool labels_ok(struct jn_api_call *c, const cJSON *o, const char *name)
{
    if (!o)
        return true;
    bool ok = cJSON_IsObject(o);
    const cJSON *x;
    cJSON_ArrayForEach(x, o)
    {
        char kv[160];
        snprintf(kv, sizeof(kv), "%s=%s", x->string, cJSON_IsString(x) ? x->valuestring : "");
        ok = ok && cJSON_IsString(x) && jn_cluster_label_ok(kv);
    }
    if (!ok)
        jn_api_error(c->resp, 400,
                     "\"%s\" must be an object of labels {\"KEY\": \"VALUE\"} (letters, digits, "
                     "'_', '.', '-'), e.g. --%s jurisdiction=NO",
                     name, name);
    return ok;
}

static void post_placement(struct jn_api_call *c)
{
    if (!clustered(c))
        return;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"require", "prefer", NULL};
    cJSON *b = jn_api_body(c, allowed, true);
    if (!b)
        return;
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(b, "require");
    const cJSON *pref = cJSON_GetObjectItemCaseSensitive(b, "prefer");
    char err[768];
    if (labels_ok(c, req, "require") && labels_ok(c, pref, "prefer")) {
        int r = jn_cluster_placement(c->api->cluster, app, req, pref, err, sizeof(err));
        if (r < 0) {
            jn_api_cluster_fail(c->resp, r, err);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "app", app);
            if (req)
                cJSON_AddItemToObject(o, "require", cJSON_Duplicate(req, true));
            if (pref)
                cJSON_AddItemToObject(o, "prefer", cJSON_Duplicate(pref, true));
            jn_api_send_json(c->resp, 200, o);
        }
    }
    cJSON_Delete(b);
}

/* An app as the cluster holds it (its desired release, instances and
 * placement): what `jern plan` compares on a cluster node, whose own store
 * has a release only where instances were placed. Env values stay inside:
 * their names only. */
static void get_app_cluster(struct jn_api_call *c)
{
    if (!clustered(c))
        return;
    const char *app = jn_api_param(c, "app");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(view_item(c, "apps"), app);
    if (!rec) {
        jn_api_error(c->resp, 404,
                     "app '%s' is not in the cluster (deploy it with: jern deploy %s)", app, app);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    static const char *const copy[] = {"version", "instances", "image", "command", "spec"};
    for (size_t i = 0; i < JN_ARRAY_LEN(copy); i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(rec, copy[i]);
        if (x)
            cJSON_AddItemToObject(o, copy[i], cJSON_Duplicate(x, true));
    }
    cJSON *keys = cJSON_AddArrayToObject(o, "env_keys");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "env"))
        cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
    static const char *const labels[] = {"require", "prefer"};
    for (size_t i = 0; i < JN_ARRAY_LEN(labels); i++) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(rec, labels[i]);
        cJSON_AddItemToObject(o, labels[i],
                              cJSON_IsObject(l) ? cJSON_Duplicate(l, true) : cJSON_CreateObject());
    }
    /* The scheduler's last placement of it (the version it placed, instances
     * per node, why some could not be placed): what a wait for it reads. */
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(view_item(c, "assign"), app);
    if (as)
        cJSON_AddItemToObject(o, "placement", cJSON_Duplicate(as, true));
    cJSON_AddBoolToObject(o, "etcd", cJSON_IsTrue(view_item(c, "etcd")));
    jn_api_send_json(c->resp, 200, o);
}

/* A live node's labels, set over its --label flags (PUT {"labels": {..}}),
 * or back to the flags' (DELETE). */
static void node_labels(struct jn_api_call *c, bool set)
{
    if (!clustered(c))
        return;
    const char *node = jn_api_param(c, "node");
    if (!cJSON_GetObjectItemCaseSensitive(view_item(c, "nodes"), node)) {
        jn_api_error(c->resp, 404, "no live node '%s' in the cluster (see: jern nodes)", node);
        return;
    }
    static const char *const allowed[] = {"labels", NULL};
    cJSON *b = set ? jn_api_body(c, allowed, true) : NULL;
    if (set && !b)
        return;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(b, "labels");
    if (set && !labels) {
        jn_api_error(c->resp, 400, "\"labels\" is missing: {\"labels\": {\"KEY\": \"VALUE\"}}");
    } else if (!set || labels_ok(c, labels, "labels")) {
        char err[768];
        int r = jn_cluster_node_labels(c->api->cluster, node, labels, err, sizeof(err));
        if (r < 0) {
            jn_api_cluster_fail(c->resp, r, err);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "node", node);
            if (labels)
                cJSON_AddItemToObject(o, "labels", cJSON_Duplicate(labels, true));
            jn_api_send_json(c->resp, 200, o);
        }
    }
    cJSON_Delete(b);
}

static void put_node_labels(struct jn_api_call *c)
{
    node_labels(c, true);
}

static void delete_node_labels(struct jn_api_call *c)
{
    node_labels(c, false);
}

static void where(struct jn_api_call *c, const char *app)
{
    if (!clustered(c))
        return;
    const cJSON *apps = view_item(c, "apps");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "etcd", cJSON_IsTrue(view_item(c, "etcd")));
    cJSON *arr = cJSON_AddArrayToObject(o, "apps");
    const cJSON *x;
    cJSON_ArrayForEach(x, apps)
    {
        if (!app || strcmp(app, x->string) == 0)
            cJSON_AddItemToArray(arr, jn_cluster_where(c->api->cluster, x->string));
    }
    if (app && cJSON_GetArraySize(arr) == 0) {
        cJSON_Delete(o);
        jn_api_error(c->resp, 404, "app '%s' is not in the cluster (deploy it with: jern deploy %s)",
                     app, app);
        return;
    }
    jn_api_send_json(c->resp, 200, o);
}

static void get_where_all(struct jn_api_call *c)
{
    where(c, NULL);
}

static void get_where(struct jn_api_call *c)
{
    where(c, jn_api_param(c, "app"));
}

/* app's domains on this node, as an array. */
static cJSON *domains_here(struct jn_store *st, const char *app)
{
    cJSON *doms = cJSON_CreateArray();
    struct jn_store_domain *d;
    int n = jn_store_domain_list(st, app, &d);
    for (int k = 0; k < n; k++)
        cJSON_AddItemToArray(doms, cJSON_CreateString(d[k].domain));
    if (n >= 0)
        free(d);
    return doms;
}

/* app's config (secrets sealed again with the cluster's key) and https
 * mode into the cluster, before its release. */
static int import_config(struct jn_cluster *cl, struct jn_store *st, const char *app, char *err,
                         size_t errlen)
{
    char *json = NULL, key[JN_STORE_NAME_MAX + 16], mode[16];
    jn_store_app_config_get(st, app, &json);
    cJSON *cfg = cJSON_Parse(json ? json : "{}");
    free(json);
    int r = 0;
    if (cJSON_GetArraySize(cfg) > 0 && (r = jn_cluster_seal_for_cluster(cl, cfg, err, errlen)) == 0)
        r = jn_cluster_config(cl, app, cfg, NULL, false, err, errlen);
    cJSON_Delete(cfg);
    snprintf(key, sizeof(key), "https:%s", app);
    if (r >= 0 && jn_store_setting_get(st, key, mode, sizeof(mode)) >= 0 &&
        strcmp(mode, "off") != 0)
        r = jn_cluster_https(cl, app, mode, err, errlen);
    return r;
}

/* One app of jern cluster init: 1 imported, 0 left alone (nothing serves,
 * or the cluster has it), or < 0 with err. */
static int import_app(struct jn_api *api, struct jn_store *st, const char *app, char *err,
                      size_t errlen)
{
    struct jn_cluster *cl = api->cluster;
    int64_t rel_id = 0;
    int scale = 0;
    struct jn_store_release rel = {0};
    if (jn_store_app_serving(st, app, &rel_id, &scale) < 0 || !rel_id ||
        jn_store_release_get(st, app, 0, rel_id, &rel) < 0)
        return 0;
    const cJSON *has = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(jn_cluster_view(cl), "apps"), app);
    if (cJSON_GetObjectItemCaseSensitive(has, "version")) {
        jn_store_release_clear(&rel);
        return 0; /* the cluster's state wins */
    }
    cJSON *env = cJSON_Parse(rel.env), *spec = cJSON_Parse(rel.spec);
    cJSON *doms = domains_here(st, app);
    /* config first: the release's first instances start with it */
    int r = import_config(cl, st, app, err, errlen);
    if (r >= 0)
        r = jn_cluster_seal_for_cluster(cl, env, err, errlen);
    if (r >= 0)
        r = jn_cluster_import(cl, app, rel.image[0] ? rel.image : NULL,
                              rel.image[0] ? NULL : rel.command, env, spec, scale > 0 ? scale : 1,
                              doms, err, errlen);
    cJSON_Delete(env);
    cJSON_Delete(spec);
    cJSON_Delete(doms);
    jn_store_release_clear(&rel);
    /* after the release: its runtime upstream servers and its autoscaling
     * (warm, pausing instances, is one node's: left out) */
    int r2 = r > 0 ? jn_api_cluster_servers(api, app, err, errlen) : 0;
    cJSON *as = r > 0 && r2 == 0 ? jn_autoscale_settings(api->autoscaler, app) : NULL;
    if (as) {
        cJSON_ReplaceItemInObjectCaseSensitive(as, "warm", cJSON_CreateFalse());
        r2 = jn_cluster_autoscale(cl, app, as, err, errlen);
        cJSON_Delete(as);
    }
    return r2 < 0 ? r2 : r;
}

/* jern cluster init: this node's apps (from its SQLite store) into etcd. */
static void post_init(struct jn_api_call *c)
{
    if (!clustered(c))
        return;
    struct jn_store *st = jn_control_store(c->api->ctl);
    struct jn_store_app *apps;
    int n = jn_store_app_list(st, &apps);
    if (n < 0) {
        jn_api_error(c->resp, 500, "the state store failed: %s", jn_store_error(st));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *done = cJSON_AddArrayToObject(o, "imported");
    cJSON *kept = cJSON_AddArrayToObject(o, "skipped");
    int r = 0;
    char err[768] = "";
    for (int i = 0; i < n && r >= 0; i++) {
        r = import_app(c->api, st, apps[i].name, err, sizeof(err));
        if (r >= 0)
            cJSON_AddItemToArray(r ? done : kept, cJSON_CreateString(apps[i].name));
    }
    free(apps);
    if (r < 0) {
        cJSON_Delete(o);
        jn_api_cluster_fail(c->resp, r, err);
        return;
    }
    jn_api_send_json(c->resp, 200, o);
}

const struct jn_route jn_cluster_routes[] = {
    {JN_HTTP_POST, "/v1/cluster/init", 0, post_init, "cluster init"},
    {JN_HTTP_GET, "/v1/nodes", 0, get_nodes, NULL},
    {JN_HTTP_POST, "/v1/nodes/:node/drain", 0, post_drain, "node drain"},
    {JN_HTTP_DELETE, "/v1/nodes/:node/drain", 0, delete_drain, "node undrain"},
    {JN_HTTP_PUT, "/v1/nodes/:node/labels", 0, put_node_labels, "node labels"},
    {JN_HTTP_DELETE, "/v1/nodes/:node/labels", 0, delete_node_labels, "node labels"},
    {JN_HTTP_POST, "/v1/apps/:app/placement", 0, post_placement, "placement"},
    {JN_HTTP_GET, "/v1/apps/:app/cluster", 0, get_app_cluster, NULL},
    {JN_HTTP_GET, "/v1/where", 0, get_where_all, NULL},
    {JN_HTTP_GET, "/v1/where/:app", 0, get_where, NULL},
    {0},
};
