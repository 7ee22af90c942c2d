/*
 * ui_nodes.c: a single node's answer to the dashboard's nodes page. In a
 * cluster the page reads GET /v1/nodes and GET /v1/where; a single node has
 * neither, so it describes itself in the same shape: one node with the
 * labels it was started with (--label, "label" in the jern block), and where
 * each app's instances, logs, databases and backups are (all here, no
 * required labels).
 */
#include "core/common.h"

#include "control/api/ui_nodes.h"
#include "control/cluster/cluster.h"
#include "control/cluster/model.h"
#include "control/control.h"
#include "db/db.h"
#include "store/release.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *jn_ui_node_name(const struct jn_api *api)
{
    static char host[256];
    if (api->cluster)
        return jn_cluster_node(api->cluster);
    if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "local");
    return host[0] ? host : "local";
}

static cJSON *labels_json(const struct jn_api *api)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < api->nlabels; i++) {
        const char *kv = api->labels[i], *eq = strchr(kv, '=');
        if (!eq)
            continue;
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        cJSON_AddStringToObject(o, key, eq + 1);
    }
    return o;
}

static int64_t memory_bytes(const struct jn_api *api)
{
    if (api->node_memory > 0)
        return api->node_memory;
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : 0;
}

void jn_ui_local_nodes(struct jn_api_call *c)
{
    struct jn_store_instance *v;
    struct jn_store *st = jn_control_store(c->api->ctl);
    int n = jn_store_instance_list(st, NULL, &v);
    if (n < 0) {
        jn_api_error(c->resp, 500, "the state store failed: %s", jn_store_error(st));
        return;
    }
    free(v);
    const char *name = jn_ui_node_name(c->api);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "cluster", false);
    cJSON_AddBoolToObject(o, "etcd", false);
    cJSON_AddStringToObject(o, "node", name);
    cJSON_AddStringToObject(o, "scheduler", "");
    cJSON *me = cJSON_CreateObject();
    cJSON_AddStringToObject(me, "name", name);
    cJSON_AddItemToObject(me, "labels", labels_json(c->api));
    cJSON_AddNumberToObject(me, "memory", (double)memory_bytes(c->api));
    cJSON_AddStringToObject(me, "gateway", c->api->nlistens ? c->api->listens[0] : "");
    cJSON_AddStringToObject(me, "health", "ok");
    cJSON_AddBoolToObject(me, "draining", false);
    cJSON_AddNumberToObject(me, "instances", n);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "nodes"), me);
    jn_api_send_json(c->resp, 200, o);
}

static cJSON *item(const struct jn_api *api, const char *kind, const char *where)
{
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "kind", kind);
    cJSON_AddStringToObject(it, "node", jn_ui_node_name(api));
    cJSON_AddStringToObject(it, "where", where);
    cJSON_AddItemToObject(it, "labels", labels_json(api));
    cJSON_AddBoolToObject(it, "inside", true); /* a single node requires nothing */
    return it;
}

/* An item of this node (jn_cluster_data_databases). */
struct db_add {
    const struct jn_api *api;
    cJSON *items;
};

static void add_db(void *arg, const char *kind, const char *where)
{
    struct db_add *d = arg;
    cJSON_AddItemToArray(d->items, item(d->api, kind, where));
}

static cJSON *where_app(const struct jn_api *api, const char *app,
                        const struct jn_store_instance *v, int n, const cJSON *dbs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddItemToObject(o, "require", cJSON_CreateObject());
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].app, app) != 0)
            continue;
        char addr[JN_STORE_ADDR_MAX];
        jn_store_instance_addr(&v[i], addr, sizeof(addr));
        cJSON *it = item(api, "instance", addr);
        cJSON_AddNumberToObject(it, "release", v[i].version);
        cJSON_AddItemToArray(items, it);
        any = true;
    }
    if (any) /* each instance's output stays in this node's state dir */
        cJSON_AddItemToArray(items, item(api, "logs", "STATE/logs, STATE/exec/instances"));
    struct db_add da = {api, items};
    jn_cluster_data_databases(dbs, app, add_db, &da);
    cJSON_AddBoolToObject(o, "inside", true);
    return o;
}

void jn_ui_local_where(struct jn_api_call *c, const char *app)
{
    struct jn_store *st = jn_control_store(c->api->ctl);
    struct jn_store_app *apps;
    int napps = jn_store_app_list(st, &apps);
    if (napps < 0) {
        jn_api_error(c->resp, 500, "the state store failed: %s", jn_store_error(st));
        return;
    }
    struct jn_store_instance *v = NULL;
    int n = jn_store_instance_list(st, NULL, &v);
    if (n < 0) {
        free(apps);
        jn_api_error(c->resp, 500, "the state store failed: %s", jn_store_error(st));
        return;
    }
    cJSON *list = c->api->dbs ? jn_dbs_list_json(c->api->dbs) : NULL;
    cJSON *dbs = jn_cluster_data_dbs(list); /* the shape a cluster node's record has */
    cJSON_Delete(list);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "cluster", false);
    cJSON_AddBoolToObject(o, "etcd", false);
    cJSON *arr = cJSON_AddArrayToObject(o, "apps");
    for (int i = 0; i < napps; i++)
        if (!app || strcmp(app, apps[i].name) == 0)
            cJSON_AddItemToArray(arr, where_app(c->api, apps[i].name, v, n, dbs));
    cJSON_Delete(dbs);
    free(apps);
    free(v);
    if (app && cJSON_GetArraySize(arr) == 0) {
        cJSON_Delete(o);
        jn_api_error(c->resp, 404, "no app '%s' (create it with: jern create %s)", app, app);
        return;
    }
    jn_api_send_json(c->resp, 200, o);
}
