/*
 * apps.c: the app routes: /v1/apps, /v1/apps/:app, /v1/apps/:app/domains.
 * On a cluster node an app's domains are the cluster's: a change is written
 * to etcd as well, and every node's agent makes its own match
 * (docs/CLUSTER.md).
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/cluster/cluster.h"
#include "control/control.h"
#include "control/deploy/deploy.h"
#include "control/names.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static cJSON *app_json(struct jn_api *api, const struct jn_store_app *a)
{
    struct jn_control *ctl = api->ctl;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddNumberToObject(o, "created_at", (double)a->created_at);
    char host[JN_STORE_NAME_MAX + JN_STORE_DOMAIN_MAX + 2];
    snprintf(host, sizeof(host), "%s.%s", a->name, jn_control_base_domain(ctl));
    cJSON *hosts = cJSON_AddArrayToObject(o, "hosts");
    cJSON_AddItemToArray(hosts, cJSON_CreateString(host));
    cJSON *doms = cJSON_AddArrayToObject(o, "domains");
    struct jn_store_domain *d;
    int n = jn_store_domain_list(jn_control_store(ctl), a->name, &d);
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(doms, cJSON_CreateString(d[i].domain));
        cJSON_AddItemToArray(hosts, cJSON_CreateString(d[i].domain));
    }
    free(d);
    cJSON_AddStringToObject(o, "upstream", a->name);
    struct jn_ctl_upstream *u;
    int nu = jn_control_upstreams(ctl, a->name, &u);
    cJSON_AddNumberToObject(o, "servers", nu > 0 ? (double)u[0].nservers : 0);
    jn_control_upstreams_free(u, nu);
    return o;
}

static void apps_list(struct jn_api *api, struct jn_api_resp *resp)
{
    struct jn_store_app *apps;
    int n = jn_store_app_list(jn_control_store(api->ctl), &apps);
    if (n < 0) {
        jn_api_error(resp, 500, "the state store failed: %s",
                     jn_store_error(jn_control_store(api->ctl)));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "apps");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, app_json(api, &apps[i]));
    free(apps);
    jn_api_send_json(resp, 200, o);
}

static void app_show(struct jn_api *api, const char *name, int status, struct jn_api_resp *resp)
{
    struct jn_store_app a;
    int r = jn_store_app_get(jn_control_store(api->ctl), name, &a);
    if (r == JN_ENOTFOUND) {
        jn_api_error(resp, 404, "app '%.64s' does not exist (create it with: jern create %.64s)",
                     name, name);
        return;
    }
    if (r < 0) {
        jn_api_error(resp, 500, "the state store failed: %s",
                     jn_store_error(jn_control_store(api->ctl)));
        return;
    }
    jn_api_send_json(resp, status, app_json(api, &a));
}

/* Adds or removes domain in app's domains in the cluster (1: the cluster
 * listed it before, 0: not, < 0 with err: refused). This node's domains
 * of app are the list to start from when the cluster has none yet. */
static int cluster_domain(struct jn_api *api, const char *app, const char *domain, bool add,
                          char *err, size_t errlen)
{
    char norm[JN_STORE_DOMAIN_MAX];
    int r = jn_name_domain_norm(domain, norm, sizeof(norm), err, errlen);
    if (r < 0)
        return r;
    struct jn_store_domain *d;
    int n = jn_store_domain_list(jn_control_store(api->ctl), app, &d);
    cJSON *base = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(base, cJSON_CreateString(d[i].domain));
    if (n >= 0)
        free(d);
    r = jn_cluster_domain(api->cluster, app, norm, add, base, err, errlen);
    cJSON_Delete(base);
    return r;
}

/* A new app's domains into the cluster; undoes the app here when refused. */
static bool cluster_create(struct jn_api *api, const char *app, const char *const *list,
                           size_t n, struct jn_api_resp *resp)
{
    char err[768] = "", e2[256];
    int r = 0;
    for (size_t i = 0; i < n && r >= 0; i++)
        r = cluster_domain(api, app, list[i], true, err, sizeof(err));
    if (r >= 0)
        return true;
    jn_control_app_delete(api->ctl, app, e2, sizeof(e2));
    jn_api_cluster_fail(resp, r, err);
    return false;
}

static void post_app(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    struct jn_api_resp *resp = c->resp;
    static const char *const fields[] = {"name", "domains", NULL};
    cJSON *o = jn_api_body(c, fields, true);
    if (!o)
        return;
    cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    cJSON *doms = cJSON_GetObjectItemCaseSensitive(o, "domains");
    const char *list[64];
    size_t n = 0;
    char err[512] = "";
    if (!cJSON_IsString(name)) {
        jn_api_error(resp, 400, "field 'name' (a string) is required");
        goto out;
    }
    if (doms && !cJSON_IsArray(doms)) {
        jn_api_error(resp, 400, "field 'domains' must be an array of strings");
        goto out;
    }
    for (cJSON *d = doms ? doms->child : NULL; d; d = d->next) {
        if (!cJSON_IsString(d)) {
            jn_api_error(resp, 400, "field 'domains' must be an array of strings");
            goto out;
        }
        if (n == JN_ARRAY_LEN(list)) {
            jn_api_error(resp, 400, "at most %zu domains per request", JN_ARRAY_LEN(list));
            goto out;
        }
        list[n++] = d->valuestring;
    }
    int r = jn_control_app_create(api->ctl, name->valuestring, list, n, err, sizeof(err));
    if (r < 0)
        jn_api_fail(resp, r, err);
    else if (api->cluster && n > 0 && !cluster_create(api, name->valuestring, list, n, resp))
        r = -1;
    else
        app_show(api, name->valuestring, 201, resp);
    if (r >= 0) {
        snprintf(resp->note_app, sizeof(resp->note_app), "%s", name->valuestring);
        snprintf(resp->note, sizeof(resp->note), "%zu domain(s)", n);
    }
out:
    cJSON_Delete(o);
}

static void domains_list(struct jn_api *api, const char *app, struct jn_api_resp *resp)
{
    struct jn_store *st = jn_control_store(api->ctl);
    if (jn_store_app_get(st, app, NULL) < 0) {
        jn_api_error(resp, 404, "app '%.64s' does not exist (create it with: jern create %.64s)",
                     app, app);
        return;
    }
    struct jn_store_domain *d;
    int n = jn_store_domain_list(st, app, &d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "domains");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(d[i].domain));
    free(d);
    jn_api_send_json(resp, 200, o);
}

static void post_domain(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app");
    static const char *const fields[] = {"domain", NULL};
    cJSON *o = jn_api_body(c, fields, true);
    if (!o)
        return;
    cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domain");
    char err[512] = "";
    if (!cJSON_IsString(d)) {
        jn_api_error(resp, 400, "field 'domain' (a string) is required");
    } else {
        int r = jn_control_domain_add(api->ctl, app, d->valuestring, err, sizeof(err));
        if (r < 0) {
            jn_api_fail(resp, r, err);
        } else if (api->cluster &&
                   (r = cluster_domain(api, app, d->valuestring, true, err, sizeof(err))) < 0) {
            char e2[256];
            jn_control_domain_remove(api->ctl, app, d->valuestring, e2, sizeof(e2));
            jn_api_cluster_fail(resp, r, err);
        } else {
            domains_list(api, app, resp), resp->status = 201;
        }
    }
    cJSON_Delete(o);
}

static void get_apps(struct jn_api_call *c)
{
    apps_list(c->api, c->resp);
}

static void get_app(struct jn_api_call *c)
{
    app_show(c->api, jn_api_param(c, "app"), 200, c->resp);
}

static void delete_app(struct jn_api_call *c)
{
    struct jn_api *api = c->api;
    const char *app = jn_api_param(c, "app");
    char err[512] = "";
    /* A job half-way through would go on starting instances, and publish
     * them into an app recreated under the same name. */
    if (api->deployer &&
        !jn_api_claim_app(api->deployer, app, c->resp, "destroy it when that has finished"))
        return;
    int r = 0, listed = 0;
    if (api->cluster && (r = listed = jn_cluster_destroy(api->cluster, app, err, sizeof(err))) < 0)
        jn_api_cluster_fail(c->resp, r, err); /* the other nodes would keep it */
    if (r >= 0) {
        r = jn_control_app_delete(api->ctl, app, err, sizeof(err));
        if (r == JN_ENOTFOUND && listed == 1)
            r = 0; /* the cluster had it; this node did not yet */
        if (r < 0)
            jn_api_fail(c->resp, r, err);
        else
            jn_api_deleted(c->resp, "app", app);
    }
    if (api->deployer)
        jn_deployer_unclaim(api->deployer, app);
}

static void get_domains(struct jn_api_call *c)
{
    domains_list(c->api, jn_api_param(c, "app"), c->resp);
}

static void delete_domain(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app"), *domain = jn_api_param(c, "domain");
    char err[768] = "";
    int listed = 0;
    if (c->api->cluster) {
        int r = jn_store_app_get(jn_control_store(c->api->ctl), app, NULL);
        if (r == 0)
            r = listed = cluster_domain(c->api, app, domain, false, err, sizeof(err));
        if (r < 0 && r != JN_ENOTFOUND) {
            jn_api_cluster_fail(c->resp, r, err);
            return;
        }
    }
    int r = jn_control_domain_remove(c->api->ctl, app, domain, err, sizeof(err));
    if (r == JN_ENOTFOUND && listed == 1)
        r = 0; /* the cluster listed it; this node could not serve it */
    if (r < 0)
        jn_api_fail(c->resp, r, err);
    else
        jn_api_deleted(c->resp, "domain", domain);
}

const struct jn_route jn_app_routes[] = {
    {JN_HTTP_GET, "/v1/apps", 0, get_apps, NULL},
    {JN_HTTP_POST, "/v1/apps", 0, post_app, "create"},
    {JN_HTTP_GET, "/v1/apps/:app", 0, get_app, NULL},
    {JN_HTTP_DELETE, "/v1/apps/:app", 0, delete_app, "destroy"},
    {JN_HTTP_GET, "/v1/apps/:app/domains", 0, get_domains, NULL},
    {JN_HTTP_POST, "/v1/apps/:app/domains", 0, post_domain, "domain add"},
    {JN_HTTP_DELETE, "/v1/apps/:app/domains/:domain", 0, delete_domain, "domain remove"},
    {0},
};
