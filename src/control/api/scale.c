/*
 * scale.c: the autoscale routes: GET|POST /v1/apps/:app/autoscale
 * (docs/SCALING.md). `jern scale APP N` is a deploy route (deploys.c).
 */
#include "core/common.h"

#include "control/api/api.h"
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

static void get_autoscale(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    if (!app_exists(c, app))
        return;
    cJSON *o = jn_autoscale_json(c->api->autoscaler, app);
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
    if (c->api->cluster) {
        /* each node's autoscaler would fight the scheduler's fixed count */
        jn_api_error(c->resp, 400,
                     "autoscaling is not supported on a cluster node yet: the cluster runs a "
                     "fixed count of instances; set it with: jern scale %s N",
                     app);
        return;
    }
    cJSON *b = jn_api_body(c, NULL, true); /* the autoscaler names the fields it knows */
    if (!b)
        return;
    cJSON *saved = NULL;
    char err[256] = "";
    int r = jn_autoscale_set(c->api->autoscaler, app, b, &saved, err, sizeof(err));
    cJSON_Delete(b);
    if (r < 0)
        jn_api_error(c->resp, r == JN_EBADINPUT ? 400 : 500, "%s", err);
    else
        jn_api_send_json(c->resp, 200, saved);
}

const struct jn_route jn_scale_routes[] = {
    {JN_HTTP_GET, "/v1/apps/:app/autoscale", JN_ROUTE_AUTOSCALER, get_autoscale, NULL},
    {JN_HTTP_POST, "/v1/apps/:app/autoscale", JN_ROUTE_AUTOSCALER, post_autoscale, "autoscale"},
    {0},
};
