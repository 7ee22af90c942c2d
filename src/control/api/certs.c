/*
 * certs.c: the admin API's certificate routes (docs/API.md):
 *   GET    /v1/certs                  every certificate jern holds or wants
 *   GET    /v1/certs/DOMAIN
 *   PUT    /v1/certs/DOMAIN           {"cert": PEM, "key": PEM}: one of the user's own
 *   DELETE /v1/certs/DOMAIN           forget it (ACME takes over for app domains)
 *   POST   /v1/certs/DOMAIN/renew     renew now (ACME certificates)
 *   GET    /v1/apps/APP/https         {"app", "https": "off|redirect|only"}
 *   PUT    /v1/apps/APP/https         {"https": "off|redirect|only"}
 * Control thread.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/certs/certs_int.h"
#include "control/cluster/cluster.h"
#include "control/control.h"
#include "control/names.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *state_of(const struct jn_cert_entry *e)
{
    if (e->busy)
        return "issuing";
    if (e->have && e->info.not_after <= (int64_t)time(NULL))
        return "expired";
    if (e->have)
        return "valid";
    return e->failures ? "failed" : "pending";
}

static cJSON *entry_json(struct jn_certs *cm, const struct jn_cert_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "domain", e->domain);
    cJSON_AddStringToObject(o, "source", e->user ? "user" : "acme");
    cJSON_AddStringToObject(o, "state", state_of(e));
    if (e->have) {
        cJSON_AddStringToObject(o, "subject", e->info.subject);
        cJSON_AddStringToObject(o, "issuer", e->info.issuer);
        cJSON_AddStringToObject(o, "serial", e->info.serial);
        cJSON_AddStringToObject(o, "key_type", e->info.key_type);
        cJSON_AddNumberToObject(o, "not_before", (double)e->info.not_before);
        cJSON_AddNumberToObject(o, "not_after", (double)e->info.not_after);
        if (!e->user)
            cJSON_AddNumberToObject(o, "renew_at",
                                    (double)(e->info.not_after - JN_CERTS_RENEW_BEFORE_S));
    }
    cJSON_AddStringToObject(o, "last_error", e->last_error);
    cJSON_AddNumberToObject(o, "last_error_at", (double)e->last_error_at);
    cJSON_AddNumberToObject(o, "failures", e->failures);
    cJSON_AddNumberToObject(o, "attempts", (double)e->attempts);
    int64_t wait = e->next_try_ms ? e->next_try_ms - jn_now_ms() : 0;
    cJSON_AddNumberToObject(o, "next_attempt_in_s", (double)(wait > 0 ? (wait + 999) / 1000 : 0));
    cJSON_AddBoolToObject(o, "acme", cm->directory != NULL && !e->user);
    return o;
}

static void certs_list(struct jn_certs *cm, struct jn_api_resp *resp)
{
    jn_certs_kick(cm); /* a domain added a moment ago shows at once */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "acme_directory", cm->directory ? cm->directory : "off");
    cJSON *arr = cJSON_AddArrayToObject(o, "certs");
    for (size_t i = 0; i < cm->n; i++)
        cJSON_AddItemToArray(arr, entry_json(cm, &cm->e[i]));
    jn_api_send_json(resp, 200, o);
}

static bool domain_arg(const char *in, char *norm, struct jn_api_resp *resp)
{
    char err[512];
    if (jn_name_domain_norm(in, norm, JN_STORE_DOMAIN_MAX, err, sizeof(err)) < 0) {
        jn_api_error(resp, 400, "%s", err);
        return false;
    }
    return true;
}

static struct jn_cert_entry *entry_or_404(struct jn_certs *cm, const char *d,
                                          struct jn_api_resp *resp)
{
    jn_certs_kick(cm);
    struct jn_cert_entry *e = jn_certs_find(cm, d);
    if (!e)
        jn_api_error(resp, 404,
                     "no certificate for %s: jern obtains one for every app domain (add it with: "
                     "jern domains APP add %s), or install your own (jern cert add %s --cert F "
                     "--key F)",
                     d, d, d);
    return e;
}

static void cert_put(struct jn_certs *cm, const char *d, const struct jn_api_call *call,
                     struct jn_api_resp *resp)
{
    static const char *const fields[] = {"cert", "key", NULL};
    cJSON *o = jn_api_body(call, fields, true);
    if (!o)
        return;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cert");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    char err[512];
    int r = 0;
    if (!cJSON_IsString(c) || !cJSON_IsString(k)) {
        jn_api_error(resp, 400, "fields 'cert' and 'key' (PEM text) are required");
    } else if ((r = jn_certs_put_own(cm, d, c->valuestring, k->valuestring, false, err,
                                     sizeof(err))) < 0) {
        jn_api_error(resp, r == JN_EBADINPUT ? 400 : r == JN_EEXIST ? 409 : 500, "%s", err);
    } else {
        if (cm->share.own_put)
            cm->share.own_put(cm->share.arg, d); /* every node of a cluster */
        jn_api_send_json(resp, 201, entry_json(cm, jn_certs_find(cm, d)));
    }
    cJSON_Delete(o);
}

static void cert_delete(struct jn_certs *cm, const char *d, struct jn_api_resp *resp)
{
    struct jn_cert_entry *e = entry_or_404(cm, d, resp);
    if (!e)
        return;
    bool own = e->user;
    if (jn_certs_remove(cm, d) == JN_EEXIST) {
        jn_api_error(resp, 409, "a certificate for %s is being issued right now", d);
        return;
    }
    if (own && cm->share.own_del)
        cm->share.own_del(cm->share.arg, d); /* and the copies other nodes got */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", "cert");
    cJSON_AddStringToObject(o, "name", d);
    jn_api_send_json(resp, 200, o);
}

static void cert_renew(struct jn_certs *cm, const char *d, struct jn_api_resp *resp)
{
    struct jn_cert_entry *e = entry_or_404(cm, d, resp);
    if (!e)
        return;
    if (e->user) {
        jn_api_error(resp, 409,
                     "the certificate for %s is your own (jern cert add): install a new one the "
                     "same way, or remove it (jern cert remove %s) so jern obtains one",
                     d, d);
        return;
    }
    if (!cm->directory) {
        jn_api_error(resp, 409,
                     "acme_directory is off in the jern block: no certificate is "
                     "obtained automatically");
        return;
    }
    if (!e->busy) {
        e->force = true;
        e->next_try_ms = 0;
        jn_certs_kick(cm);
    }
    jn_api_send_json(resp, 202, entry_json(cm, e));
}

static void app_https(struct jn_certs *cm, const char *app, const struct jn_api_call *call,
                      struct jn_api_resp *resp)
{
    const struct jn_api_req *req = call->req;
    struct jn_store *st = jn_control_store(cm->ctl);
    if (jn_store_app_get(st, app, NULL) < 0) {
        jn_api_error(resp, 404, "app '%.64s' does not exist (create it with: jern create %.64s)",
                     app, app);
        return;
    }
    if (req->method == JN_HTTP_PUT) {
        static const char *const fields[] = {"https", NULL};
        cJSON *o = jn_api_body(call, fields, true);
        if (!o)
            return;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "https");
        const char *mode = cJSON_IsString(m) ? jn_certs_https_mode_parse(m->valuestring) : NULL;
        cJSON_Delete(o);
        if (!mode) {
            jn_api_error(resp, 400, "field 'https' must be one of off, redirect, only");
            return;
        }
        char key[JN_STORE_NAME_MAX + 16], cerr[768];
        snprintf(key, sizeof(key), "https:%s", app);
        int r = call->api->cluster
                    ? jn_cluster_https(call->api->cluster, app, mode, cerr, sizeof(cerr))
                    : 0;
        if (r < 0) { /* every node follows the cluster's mode */
            jn_api_cluster_fail(resp, r, cerr);
            return;
        }
        if (jn_store_setting_set(st, key, mode) < 0) {
            jn_api_error(resp, 500, "the state store failed (see the daemon's log)");
            return;
        }
        jn_notice("app '%s': https %s", app, mode);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddStringToObject(o, "https", jn_certs_https_mode(cm, app));
    jn_api_send_json(resp, 200, o);
}

/* The routes: rows of the admin API's table (api.h). */

static bool domain_param(struct jn_api_call *c, char *d)
{
    return domain_arg(jn_api_param(c, "domain"), d, c->resp);
}

static void get_certs(struct jn_api_call *c)
{
    certs_list(c->api->certs, c->resp);
}

static void get_cert(struct jn_api_call *c)
{
    char d[JN_STORE_DOMAIN_MAX];
    if (!domain_param(c, d))
        return;
    struct jn_cert_entry *e = entry_or_404(c->api->certs, d, c->resp);
    if (e)
        jn_api_send_json(c->resp, 200, entry_json(c->api->certs, e));
}

static void put_cert(struct jn_api_call *c)
{
    char d[JN_STORE_DOMAIN_MAX];
    if (domain_param(c, d))
        cert_put(c->api->certs, d, c, c->resp);
}

static void delete_cert(struct jn_api_call *c)
{
    char d[JN_STORE_DOMAIN_MAX];
    if (domain_param(c, d))
        cert_delete(c->api->certs, d, c->resp);
}

static void renew_cert(struct jn_api_call *c)
{
    char d[JN_STORE_DOMAIN_MAX];
    if (domain_param(c, d))
        cert_renew(c->api->certs, d, c->resp);
}

static void app_https_route(struct jn_api_call *c)
{
    app_https(c->api->certs, jn_api_param(c, "app"), c, c->resp);
}

const struct jn_route jn_cert_routes[] = {
    {JN_HTTP_GET, "/v1/certs", JN_ROUTE_CERTS, get_certs, NULL},
    {JN_HTTP_GET, "/v1/certs/:domain", JN_ROUTE_CERTS, get_cert, NULL},
    {JN_HTTP_PUT, "/v1/certs/:domain", JN_ROUTE_CERTS, put_cert, "cert add"},
    {JN_HTTP_DELETE, "/v1/certs/:domain", JN_ROUTE_CERTS, delete_cert, "cert remove"},
    {JN_HTTP_POST, "/v1/certs/:domain/renew", JN_ROUTE_CERTS, renew_cert, "cert renew"},
    {JN_HTTP_GET, "/v1/apps/:app/https", JN_ROUTE_CERTS, app_https_route, "https"},
    {JN_HTTP_PUT, "/v1/apps/:app/https", JN_ROUTE_CERTS, app_https_route, "https"},
    {0},
};
