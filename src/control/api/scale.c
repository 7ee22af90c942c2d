/*
 * scale.c: the autoscale routes: GET|POST /v1/apps/:app/autoscale
 * (docs/SCALING.md). `jern scale APP N` is a deploy route (deploys.c).
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/cluster/cluster.h"
#include "control/control.h"
#include "control/scale/autoscale.h"
#include "store/release.h"

#include <cjson/cJSON.h>

static bool app_exists(struct jn_api_call *c, const char *app)
{
    if (jn_store_app_get(jn_control_store(c->api->ctl), app, NULL) == 0)
        return true;
    jn_api_error(c->resp, 404, "app '%s' does not exist (see: jern apps)", app);
    return false;
}

cJSON *jn_api_autoscale_json(struct jn_api *api, const char *app)
{
    cJSON *o = jn_autoscale_json(api->autoscaler, app);
    if (!o || !api->cluster)
        return o;
    /* the count is the cluster's, decided by its scheduler */
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(jn_cluster_view(api->cluster), "apps"), app);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, "instances");
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rec, "autoscale_state"), "decision"));
    cJSON_ReplaceItemInObjectCaseSensitive(o, "instances",
                                           cJSON_CreateNumber(cJSON_IsNumber(n) ? n->valuedouble : 0));
    cJSON_ReplaceItemInObjectCaseSensitive(o, "last_decision", cJSON_CreateString(d ? d : ""));
    cJSON_AddStringToObject(o, "decided_by", "the cluster's scheduler");
    return o;
}

static void get_autoscale(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    if (!app_exists(c, app))
        return;
    cJSON *o = jn_api_autoscale_json(c->api, app);
    if (!o) {
        int scale = 0;
        jn_store_app_serving(jn_control_store(c->api->ctl), app, NULL, &scale);
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "fixed", true);
        cJSON_AddNumberToObject(o, "instances", scale);
    }
    jn_api_send_json(c->resp, 200, o);
}

static void post_autoscale(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    if (!app_exists(c, app))
        return;
    cJSON *b = jn_api_body(c, NULL, true); /* the autoscaler names the fields it knows */
    if (!b)
        return;
    cJSON *saved = NULL;
    char err[512] = "";
    int r;
    if (c->api->cluster) {
        /* the cluster's scheduler decides, from every node's samples; the
         * settings go over those in force, as on one node */
        cJSON *base = jn_autoscale_settings(c->api->autoscaler, app);
        if (base) {
            for (cJSON *f = b->child; f; f = f->next) {
                cJSON_DeleteItemFromObjectCaseSensitive(base, f->string);
                cJSON_AddItemToObject(base, f->string, cJSON_Duplicate(f, true));
            }
            cJSON_Delete(b);
            b = base;
        }
        r = jn_autoscale_check(b, &saved, err, sizeof(err));
        if (r == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(saved, "warm"))) {
            snprintf(err, sizeof(err),
                     "warm (paused instances at zero) is a single-node setting: a cluster "
                     "node starts an instance anywhere on the first request; leave out --warm");
            r = JN_EBADINPUT;
        }
        if (r == 0 &&
            (r = jn_cluster_autoscale(c->api->cluster, app, saved, err, sizeof(err))) < 0) {
            cJSON_Delete(b);
            cJSON_Delete(saved);
            jn_api_cluster_fail(c->resp, r, err);
            return;
        }
    } else {
        r = jn_autoscale_set(c->api->autoscaler, app, b, &saved, err, sizeof(err));
    }
    cJSON_Delete(b);
    if (r < 0) {
        cJSON_Delete(saved);
        jn_api_error(c->resp, r == JN_EBADINPUT ? 400 : 500, "%s", err);
    } else {
        jn_api_send_json(c->resp, 200, saved);
    }
}

const struct jn_route jn_scale_routes[] = {
    {JN_HTTP_GET, "/v1/apps/:app/autoscale", JN_ROUTE_AUTOSCALER, get_autoscale, NULL},
    {JN_HTTP_POST, "/v1/apps/:app/autoscale", JN_ROUTE_AUTOSCALER, post_autoscale, "autoscale"},
    {0},
};
