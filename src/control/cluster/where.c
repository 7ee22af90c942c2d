/*
 * where.c: where everything of an app is in the cluster (jern where,
 * /metrics' jern_placement_violations): its instances, its logs (its
 * instances' output, and the access log of every gateway it was asked through), the
 * databases it is attached to and their backups (archived ones too: a
 * destroyed or moved database's), each on a node whose
 * labels are checked against the app's required ones. Read from the view
 * alone: the node's last reading of etcd, no waiting on it.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"

#include <cjson/cJSON.h>
#include <stdio.h>

struct where {
    const cJSON *nodes, *require;
    cJSON *items;
    bool all;
};

static void item(struct where *w, const char *kind, const char *node, const char *where,
                 int release)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(w->nodes, node), "labels");
    bool inside = jn_cluster_labels_match(labels, w->require);
    w->all = w->all && inside;
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "kind", kind);
    cJSON_AddStringToObject(it, "node", node);
    cJSON_AddStringToObject(it, "where", where);
    if (release >= 0)
        cJSON_AddNumberToObject(it, "release", release);
    cJSON_AddItemToObject(it, "labels",
                          labels ? cJSON_Duplicate(labels, true) : cJSON_CreateObject());
    cJSON_AddBoolToObject(it, "inside", inside);
    cJSON_AddItemToArray(w->items, it);
}

/* A database item of the node being walked (jn_cluster_data_databases). */
struct db_add {
    struct where *w;
    const char *node;
};

static void add_db(void *arg, const char *kind, const char *where)
{
    struct db_add *d = arg;
    item(d->w, kind, d->node, where, -1);
}

cJSON *jn_cluster_where(const struct jn_cluster *c, const char *app)
{
    const cJSON *view = jn_cluster_view(c);
    const cJSON *rec =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(view, "apps"), app);
    if (!rec)
        return NULL;
    struct where w = {
        .nodes = cJSON_GetObjectItemCaseSensitive(view, "nodes"),
        .require = cJSON_GetObjectItemCaseSensitive(rec, "require"),
        .all = true,
    };
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddItemToObject(o, "require",
                          w.require ? cJSON_Duplicate(w.require, true) : cJSON_CreateObject());
    w.items = cJSON_AddArrayToObject(o, "items");
    const cJSON *per =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(view, "instances"), app);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(view, "data"), *x, *a;
    cJSON_ArrayForEach(x, per)
    {
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(x, "version");
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(x, "addrs"))
            item(&w, "instance", x->string, cJSON_IsString(a) ? a->valuestring : "",
                 cJSON_IsNumber(ver) ? ver->valueint : 0);
    }
    /* each node that runs the app or keeps its output holds its logs */
    const cJSON *n;
    cJSON_ArrayForEach(n, w.nodes)
    {
        const cJSON *mine = cJSON_GetObjectItemCaseSensitive(data, n->string);
        if (cJSON_GetObjectItemCaseSensitive(per, n->string) ||
            jn_cluster_has_string(cJSON_GetObjectItemCaseSensitive(mine, "logs"), app))
            item(&w, "logs", n->string, "STATE/logs, STATE/exec/instances", -1);
        /* a gateway that answered the app's requests keeps their record */
        if (jn_cluster_has_string(cJSON_GetObjectItemCaseSensitive(mine, "access_logs"), app))
            item(&w, "access-log", n->string, "STATE/logs/APP/access.log", -1);
        struct db_add da = {&w, n->string};
        jn_cluster_data_databases(cJSON_GetObjectItemCaseSensitive(mine, "databases"), app, add_db,
                                  &da);
        /* backups a destroyed or moved database left in the archive */
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(mine, "archives"))
        {
            const cJSON *nb = cJSON_GetObjectItemCaseSensitive(a, "backups");
            if (!jn_cluster_has_string(cJSON_GetObjectItemCaseSensitive(a, "apps"), app) ||
                !cJSON_IsNumber(nb) || nb->valueint <= 0)
                continue;
            char at[400];
            snprintf(at, sizeof(at), "%d archived (STATE/db-archive/%s)", nb->valueint,
                     a->string);
            item(&w, "backups", n->string, at, -1);
        }
    }
    const cJSON *placed =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(view, "assign"), app);
    const cJSON *perr = cJSON_GetObjectItemCaseSensitive(placed, "error");
    if (cJSON_IsString(perr))
        cJSON_AddStringToObject(o, "placement_error", perr->valuestring);
    cJSON_AddBoolToObject(o, "inside", w.all);
    return o;
}

int jn_cluster_may_hold(const struct jn_cluster *c, const char *app, const char *db, char *err,
                        size_t errlen)
{
    const cJSON *view = jn_cluster_view(c);
    const cJSON *require = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(view, "apps"), app),
        "require");
    if (jn_cluster_labels_match(c->labels, require))
        return 0;
    /* the nodes it could move to first */
    char fit[256] = "";
    size_t len = 0;
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(view, "nodes"))
    {
        if (jn_cluster_labels_match(cJSON_GetObjectItemCaseSensitive(n, "labels"), require) &&
            len < sizeof(fit))
            len += (size_t)snprintf(fit + len, sizeof(fit) - len, "%s%s", len ? ", " : "",
                                    n->string);
    }
    char *want = cJSON_PrintUnformatted(require), *have = cJSON_PrintUnformatted(c->labels);
    snprintf(err, errlen,
             "refused: app '%s' requires the labels %s and this node (%s) has %s, so its data "
             "would live where it must not; move the database to a node that has them first "
             "(jern db move %s --to NODE; such nodes: %s)",
             app, want ? want : "?", c->node, have ? have : "?", db, fit[0] ? fit : "none now");
    free(want);
    free(have);
    return JN_EBADINPUT;
}
