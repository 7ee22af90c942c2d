/*
 * upstreams.c: the upstream routes (HAProxy runtime API parity):
 * /v1/upstreams[/:upstream[/servers[/:addr]]]. On a cluster node an app's
 * runtime servers are the cluster's (every node follows its record).
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/cluster/cluster.h"
#include "control/control.h"
#include "control/names.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Reads an optional state field ("ready", "drain", "maint"). */
static bool get_state(cJSON *o, int *out, struct jn_api_resp *resp)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!f)
        return true;
    int s = cJSON_IsString(f) ? jn_name_state_parse(f->valuestring) : -1;
    if (s < 0) {
        jn_api_error(resp, 400, "field 'state' must be one of " JN_STATE_NAMES);
        return false;
    }
    *out = s;
    return true;
}

static cJSON *upstream_json(const struct jn_ctl_upstream *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddStringToObject(o, "kind", u->is_app ? "app" : "config");
    cJSON_AddStringToObject(o, "balance", u->balance);
    cJSON *arr = cJSON_AddArrayToObject(o, "servers");
    for (size_t i = 0; i < u->nservers; i++) {
        const struct jn_ctl_server *s = &u->servers[i];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "addr", s->addr);
        cJSON_AddNumberToObject(so, "weight", s->weight);
        cJSON_AddStringToObject(so, "state", jn_name_state(s->state));
        cJSON_AddStringToObject(so, "origin", s->from_config ? "config" : "api");
        cJSON_AddNumberToObject(so, "conns", s->conns);
        cJSON_AddNumberToObject(so, "requests", (double)s->requests);
        cJSON_AddNumberToObject(so, "failures", (double)s->failures);
        cJSON_AddItemToArray(arr, so);
    }
    return o;
}

static void upstreams_show(struct jn_api *api, const char *name, const char *addr, int status,
                           struct jn_api_resp *resp)
{
    struct jn_ctl_upstream *v;
    int n = jn_control_upstreams(api->ctl, name, &v);
    if (n == JN_ENOTFOUND) {
        jn_api_error(resp, 404,
                     "upstream '%.64s' does not exist (an app or an upstream block of the config "
                     "defines one)",
                     name);
        return;
    }
    if (n < 0) {
        jn_api_error(resp, 500, "the state store failed: %s",
                     jn_store_error(jn_control_store(api->ctl)));
        return;
    }
    cJSON *o;
    if (addr) {
        char norm[JN_STORE_ADDR_MAX], err[512];
        o = NULL;
        if (jn_name_addr_norm(addr, norm, sizeof(norm), err, sizeof(err)) == 0) {
            cJSON *u = upstream_json(&v[0]);
            cJSON *s;
            cJSON_ArrayForEach(s, cJSON_GetObjectItem(u, "servers"))
            {
                if (strcmp(cJSON_GetObjectItem(s, "addr")->valuestring, norm) == 0) {
                    o = cJSON_Duplicate(s, true);
                    cJSON_AddStringToObject(o, "upstream", name);
                    break;
                }
            }
            cJSON_Delete(u);
        }
        if (!o)
            jn_api_error(resp, 404, "upstream '%s' has no server %s (see: jern upstream %s)", name,
                         addr, name);
    } else if (name) {
        o = upstream_json(&v[0]);
    } else {
        o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "upstreams");
        for (int i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, upstream_json(&v[i]));
    }
    jn_control_upstreams_free(v, n);
    if (o)
        jn_api_send_json(resp, status, o);
}

/* On a cluster node, an app's runtime servers are the cluster's: its whole
 * list as this node now has it goes into the app's record, which every node
 * follows. 0 when written (or not a cluster app), else the refusal. */
int jn_api_cluster_servers(struct jn_api *api, const char *up, char *err, size_t errlen)
{
    struct jn_store *st = jn_control_store(api->ctl);
    if (!api->cluster || jn_store_app_get(st, up, NULL) < 0)
        return 0;
    struct jn_store_server *v;
    int n = jn_store_server_list(st, up, &v);
    if (n < 0) {
        snprintf(err, errlen, "the state store failed: %s", jn_store_error(st));
        return n;
    }
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        /* the runtime ones: not the config file's, nor the app's own instances' */
        if (strcmp(v[i].origin, "api") != 0 ||
            jn_control_is_instance_addr(api->ctl, up, v[i].addr))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "addr", v[i].addr);
        cJSON_AddNumberToObject(o, "weight", v[i].weight);
        cJSON_AddStringToObject(o, "state", v[i].state);
        cJSON_AddItemToArray(list, o);
    }
    free(v);
    int r = jn_cluster_servers(api->cluster, up, list, err, errlen);
    cJSON_Delete(list);
    return r;
}

/* The runtime server addr of up as the store has it (false: none). */
static bool server_row(struct jn_api *api, const char *up, const char *addr,
                       struct jn_store_server *out)
{
    char norm[JN_STORE_ADDR_MAX], err[256];
    struct jn_store_server *v;
    int n = jn_name_addr_norm(addr, norm, sizeof(norm), err, sizeof(err)) == 0
                ? jn_store_server_list(jn_control_store(api->ctl), up, &v)
                : -1;
    bool found = false;
    for (int i = 0; i < n && !found; i++)
        if ((found = strcmp(v[i].addr, norm) == 0 && strcmp(v[i].origin, "api") == 0))
            *out = v[i];
    if (n >= 0)
        free(v);
    return found;
}

static void post_server(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    struct jn_api_resp *resp = c->resp;
    const char *up = jn_api_param(c, "upstream");
    static const char *const fields[] = {"addr", "weight", "state", NULL};
    cJSON *o = jn_api_body(c, fields, true);
    if (!o)
        return;
    cJSON *addr = cJSON_GetObjectItemCaseSensitive(o, "addr");
    int weight = 1, state = 0;
    char err[512] = "";
    if (!cJSON_IsString(addr)) {
        jn_api_error(resp, 400, "field 'addr' (a string, HOST:PORT) is required");
    } else if (jn_api_int(resp, o, "weight", INT32_MIN, INT32_MAX, &weight) &&
               get_state(o, &state, resp)) {
        int r =
            jn_control_server_add(api->ctl, up, addr->valuestring, weight, state, err, sizeof(err));
        if (r < 0) {
            jn_api_fail(resp, r, err);
        } else if ((r = jn_api_cluster_servers(api, up, err, sizeof(err))) < 0) {
            char e2[256];
            jn_control_server_remove(api->ctl, up, addr->valuestring, e2, sizeof(e2));
            jn_api_cluster_fail(resp, r, err);
        } else {
            upstreams_show(api, up, addr->valuestring, 201, resp);
        }
    }
    cJSON_Delete(o);
}

static void patch_server(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    struct jn_api_resp *resp = c->resp;
    const char *up = jn_api_param(c, "upstream"), *addr = jn_api_param(c, "addr");
    static const char *const fields[] = {"weight", "state", NULL};
    cJSON *o = jn_api_body(c, fields, true);
    if (!o)
        return;
    int weight = 0, state = -1;
    char err[512] = "";
    if (jn_api_int(resp, o, "weight", INT32_MIN, INT32_MAX, &weight) &&
        get_state(o, &state, resp)) {
        if (cJSON_GetObjectItemCaseSensitive(o, "weight") && weight == 0) {
            jn_api_error(resp, 400,
                         "invalid weight 0: expected 1 to 1000 (use state=maint to "
                         "stop traffic)");
        } else if (weight == 0 && state < 0) {
            jn_api_error(resp, 400, "nothing to change: give 'weight' and/or 'state'");
        } else {
            struct jn_store_server was;
            bool had = server_row(api, up, addr, &was);
            int r = jn_control_server_set(api->ctl, up, addr, weight, state, err, sizeof(err));
            if (r < 0) {
                jn_api_fail(resp, r, err);
            } else if ((r = jn_api_cluster_servers(api, up, err, sizeof(err))) < 0) {
                char e2[256];
                if (had)
                    jn_control_server_set(api->ctl, up, addr, was.weight,
                                          jn_name_state_parse(was.state), e2, sizeof(e2));
                jn_api_cluster_fail(resp, r, err);
            } else {
                upstreams_show(api, up, addr, 200, resp);
            }
        }
    }
    cJSON_Delete(o);
}

static void get_upstreams(struct jn_api_call *c)
{
    upstreams_show(c->api, jn_api_param(c, "upstream"), NULL, 200, c->resp);
}

static void get_server(struct jn_api_call *c)
{
    upstreams_show(c->api, jn_api_param(c, "upstream"), jn_api_param(c, "addr"), 200, c->resp);
}

static void delete_server(struct jn_api_call *c)
{
    const char *up = jn_api_param(c, "upstream"), *addr = jn_api_param(c, "addr");
    char err[512] = "";
    struct jn_store_server was;
    bool had = server_row(c->api, up, addr, &was);
    int r = jn_control_server_remove(c->api->ctl, up, addr, err, sizeof(err));
    if (r < 0) {
        jn_api_fail(c->resp, r, err);
    } else if ((r = jn_api_cluster_servers(c->api, up, err, sizeof(err))) < 0) {
        char e2[256];
        if (had)
            jn_control_server_add(c->api->ctl, up, was.addr, was.weight,
                                  jn_name_state_parse(was.state), e2, sizeof(e2));
        jn_api_cluster_fail(c->resp, r, err);
    } else {
        jn_api_deleted(c->resp, "server", addr);
    }
}

const struct jn_route jn_upstream_routes[] = {
    {JN_HTTP_GET, "/v1/upstreams", 0, get_upstreams, NULL},
    {JN_HTTP_GET, "/v1/upstreams/:upstream", 0, get_upstreams, NULL},
    {JN_HTTP_GET, "/v1/upstreams/:upstream/servers", 0, get_upstreams, NULL},
    {JN_HTTP_POST, "/v1/upstreams/:upstream/servers", 0, post_server, "server add"},
    {JN_HTTP_GET, "/v1/upstreams/:upstream/servers/:addr", 0, get_server, NULL},
    {JN_HTTP_PATCH, "/v1/upstreams/:upstream/servers/:addr", 0, patch_server, "server set"},
    {JN_HTTP_DELETE, "/v1/upstreams/:upstream/servers/:addr", 0, delete_server, "server remove"},
    {0},
};
