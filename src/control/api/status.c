/*
 * status.c: GET /health, GET /metrics (metrics.c), GET /v1/status.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/control.h"

#include <cjson/cJSON.h>
#include <unistd.h>

static void get_health(struct jn_api_call *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    jn_api_send_json(c->resp, 200, o);
}

static void get_metrics(struct jn_api_call *c)
{
    struct jn_api_resp *resp = c->resp;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    jn_buf_reset(&resp->body);
    jn_api_metrics(c->api, &resp->body);
}

static void get_status(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", api->version);
    cJSON_AddNumberToObject(o, "pid", getpid());
    cJSON_AddNumberToObject(o, "uptime_s", (double)((jn_now_ms() - api->started_ms) / 1000));
    cJSON_AddStringToObject(o, "state_dir", api->state_dir);
    cJSON_AddStringToObject(o, "config", api->config_path ? api->config_path : "(embedded)");
    cJSON_AddStringToObject(o, "admin", api->admin_desc);
    cJSON_AddStringToObject(o, "base_domain", jn_control_base_domain(api->ctl));
    cJSON *ls = cJSON_AddArrayToObject(o, "listen");
    for (size_t i = 0; i < api->nlistens; i++)
        cJSON_AddItemToArray(ls, cJSON_CreateString(api->listens[i]));
    cJSON_AddNumberToObject(o, "reloads", (double)api->reloads);
    struct jn_store_app *apps;
    int n = jn_store_app_list(jn_control_store(api->ctl), &apps);
    free(apps);
    cJSON_AddNumberToObject(o, "apps", n > 0 ? n : 0);
    struct jn_ctl_upstream *v;
    int nu = jn_control_upstreams(api->ctl, NULL, &v);
    size_t ns = 0;
    for (int i = 0; i < nu; i++)
        ns += v[i].nservers;
    jn_control_upstreams_free(v, nu);
    cJSON_AddNumberToObject(o, "upstreams", nu > 0 ? nu : 0);
    cJSON_AddNumberToObject(o, "servers", (double)ns);
    cJSON_AddNumberToObject(o, "schema_version",
                            jn_store_schema_version(jn_control_store(api->ctl)));
    jn_api_send_json(c->resp, 200, o);
}

const struct jn_route jn_status_routes[] = {
    {JN_HTTP_GET, "/health", 0, get_health, NULL},
    {JN_HTTP_GET, "/metrics", 0, get_metrics, NULL},
    {JN_HTTP_GET, "/v1/status", 0, get_status, NULL},
    {0},
};
