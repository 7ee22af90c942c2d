/*
 * config.c: an app's config routes (docs/CONFIG.md): list (secrets masked),
 * set and unset (a new release with the same image and settings is rolled
 * out when the app serves one), and get (the one answer that holds a secret
 * in clear). Secret values are sealed here, before the store sees them.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/appconfig/rules.h"
#include "control/appconfig/secret.h"
#include "control/cluster/cluster.h"
#include "control/control.h"
#include "control/deploy/deploy.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static struct jn_store *store(const struct jn_api_call *c)
{
    return jn_control_store(c->api->ctl);
}

cJSON *jn_api_config_vars(struct jn_api_call *c, const cJSON *vars, bool all_secret,
                          const char *what)
{
    struct jn_api_resp *resp = c->resp;
    if (!vars)
        return cJSON_CreateObject();
    if (!cJSON_IsObject(vars) || cJSON_GetArraySize(vars) > JN_CONFIG_VARS_MAX) {
        jn_api_error(resp, 400, "\"%s\" must be an object of NAME: \"value\" (at most %d)", what,
                     JN_CONFIG_VARS_MAX);
        return NULL;
    }
    bool any_secret = false;
    for (const cJSON *e = vars->child; e; e = e->next) {
        if (!jn_appconfig_name_ok(e->string)) {
            jn_api_error(resp, 400,
                         "environment variable name \"%.64s\" is invalid: letters, digits and _, "
                         "not starting with a digit, at most %d characters",
                         e->string, JN_CONFIG_NAME_MAX);
            return NULL;
        }
        if (!cJSON_IsString(e) || strlen(e->valuestring) > JN_CONFIG_VALUE_MAX) {
            jn_api_error(resp, 400,
                         "environment variable %s: the value must be a string of at "
                         "most 32 KiB",
                         e->string);
            return NULL;
        }
        if (jn_secret_is_sealed(e->valuestring)) {
            jn_api_error(resp, 400,
                         "environment variable %s: a value may not start with \"%s\" (jern's "
                         "mark of an encrypted value)",
                         e->string, JN_SECRET_PREFIX);
            return NULL;
        }
        any_secret |= all_secret || jn_appconfig_secret_name(e->string);
    }
    unsigned char key[JN_SECRET_KEY_LEN];
    char msg[512];
    if (any_secret && jn_secret_key(c->api->state_dir, true, key, msg, sizeof(msg)) < 0) {
        jn_api_error(resp, 500, "cannot keep a secret: %s", msg);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    for (const cJSON *e = vars->child; e; e = e->next) {
        if (!all_secret && !jn_appconfig_secret_name(e->string)) {
            cJSON_AddStringToObject(out, e->string, e->valuestring);
            continue;
        }
        char *sealed = jn_secret_seal(key, e->string, e->valuestring);
        if (!sealed) {
            explicit_bzero(key, sizeof(key));
            cJSON_Delete(out);
            jn_api_error(resp, 500, "cannot encrypt %s: OpenSSL failed", e->string);
            return NULL;
        }
        cJSON_AddStringToObject(out, e->string, sealed);
        free(sealed);
    }
    if (any_secret)
        explicit_bzero(key, sizeof(key));
    return out;
}

void jn_api_config_names(char *out, size_t len, const char *json)
{
    cJSON *o = cJSON_Parse(json ? json : "");
    size_t at = 0;
    out[0] = '\0';
    for (cJSON *e = o ? o->child : NULL; e && at < len; e = e->next)
        at += (size_t)snprintf(out + at, len - at, "%s%s%s", at ? ", " : "", e->string,
                               jn_secret_is_sealed(cJSON_IsString(e) ? e->valuestring : "")
                                   ? " (secret)"
                                   : "");
    cJSON_Delete(o);
}

/* The app's config (404 answered when the app does not exist). */
static cJSON *load_config(struct jn_api_call *c, const char *app)
{
    char *json;
    int r = jn_store_app_config_get(store(c), app, &json);
    if (r == JN_ENOTFOUND) {
        jn_api_error(c->resp, 404, "app '%s' does not exist (create it: jern create %s)", app,
                     app);
        return NULL;
    }
    cJSON *o = r == 0 ? cJSON_Parse(json) : NULL;
    free(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        jn_api_error(c->resp, 500, "the config of app '%s' cannot be read: %s", app,
                     r == JN_EBASE ? jn_store_error(store(c)) : "it does not parse");
        return NULL;
    }
    return o;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void get_config(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    cJSON *cfg = load_config(c, app);
    if (!cfg)
        return;
    int n = cJSON_GetArraySize(cfg);
    const cJSON **v = jn_calloc((size_t)n + 1, sizeof(*v));
    int k = 0;
    for (const cJSON *e = cfg->child; e; e = e->next)
        v[k++] = e;
    qsort(v, (size_t)k, sizeof(*v), by_name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "vars");
    for (int i = 0; i < k; i++) {
        const char *val = cJSON_IsString(v[i]) ? v[i]->valuestring : "";
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", v[i]->string);
        cJSON_AddStringToObject(x, "value", jn_appconfig_shown(val));
        cJSON_AddBoolToObject(x, "secret", jn_secret_is_sealed(val));
        cJSON_AddItemToArray(arr, x);
    }
    free(v);
    cJSON_Delete(cfg);
    jn_api_send_json(c->resp, 200, o);
}

static void get_config_var(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app"), *name = jn_api_param(c, "name");
    cJSON *cfg = load_config(c, app);
    if (!cfg)
        return;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cfg, name);
    if (!cJSON_IsString(e)) {
        jn_api_error(c->resp, 404, "app '%s' has no config variable %.128s (see: jern config %s)",
                     app, name, app);
        cJSON_Delete(cfg);
        return;
    }
    char *plain = NULL;
    bool secret = jn_secret_is_sealed(e->valuestring);
    if (secret) {
        unsigned char key[JN_SECRET_KEY_LEN];
        char msg[512];
        int r = jn_secret_key(c->api->state_dir, false, key, msg, sizeof(msg));
        if (r == 0 && jn_secret_open(key, name, e->valuestring, &plain) < 0)
            snprintf(msg, sizeof(msg),
                     "%s does not open with the secret key (was the key replaced?): set it "
                     "again with jern config set %s %s=... --secret",
                     name, app, name);
        explicit_bzero(key, sizeof(key));
        if (!plain) {
            jn_api_error(c->resp, 500, "%s", msg);
            cJSON_Delete(cfg);
            return;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "value", plain ? plain : e->valuestring);
    cJSON_AddBoolToObject(o, "secret", secret);
    if (plain) {
        explicit_bzero(plain, strlen(plain));
        free(plain);
    }
    cJSON_Delete(cfg);
    jn_api_send_json(c->resp, 200, o);
}

/* "set A, set B (secret), unset C" into note. */
static void change_note(const cJSON *set, const cJSON *unset, char *note, size_t len)
{
    size_t at = 0;
    note[0] = '\0';
    for (const cJSON *e = set ? set->child : NULL; e; e = e->next)
        at += (size_t)snprintf(note + at, at < len ? len - at : 0, "%sset %s%s", at ? ", " : "",
                               e->string,
                               jn_secret_is_sealed(e->valuestring) ? " (secret)" : "");
    const cJSON *e;
    cJSON_ArrayForEach(e, unset)
        at += (size_t)snprintf(note + at, at < len ? len - at : 0, "%sunset %s", at ? ", " : "",
                               cJSON_IsString(e) ? e->valuestring : "?");
}

/* On a cluster node: the change goes to the cluster's config of app (the
 * node's store follows within a round), rolled out on every node. */
static void cluster_config(struct jn_api_call *c, const char *app, cJSON *set,
                           const cJSON *unset, const cJSON *rollout)
{
    struct jn_cluster *cl = c->api->cluster;
    char err[768], note[512];
    change_note(set, unset, note, sizeof(note));
    int r = jn_cluster_seal_for_cluster(cl, set, err, sizeof(err));
    if (r >= 0)
        r = jn_cluster_config(cl, app, set, unset, !cJSON_IsFalse(rollout), err, sizeof(err));
    if (r < 0) {
        jn_api_cluster_fail(c->resp, r, err);
        return;
    }
    snprintf(c->resp->note, sizeof(c->resp->note), "%s", note);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddStringToObject(o, "changed", note);
    if (r > 0) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(jn_cluster_view(cl), "apps"), app),
            "instances");
        cJSON_AddNumberToObject(o, "release", r);
        cJSON_AddNumberToObject(o, "instances", cJSON_IsNumber(n) ? n->valueint : 1);
        cJSON_AddBoolToObject(o, "cluster", true);
    }
    jn_api_send_json(c->resp, r > 0 ? 202 : 200, o);
}

/* Applies set (sealed already) and unset to cfg; answers 400 and returns
 * false for an unset of a variable the app does not have. Fills note. */
static bool apply_changes(struct jn_api_call *c, const char *app, cJSON *cfg, const cJSON *set,
                          const cJSON *unset, char *note, size_t len)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, unset)
    {
        if (!cJSON_IsString(e) || !cJSON_GetObjectItemCaseSensitive(cfg, e->valuestring)) {
            jn_api_error(c->resp, 400,
                         "app '%s' has no config variable %.128s to unset (see: jern config %s)",
                         app, cJSON_IsString(e) ? e->valuestring : "(not a name)", app);
            return false;
        }
    }
    change_note(set, unset, note, len);
    for (e = set ? set->child : NULL; e; e = e->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, e->string);
        cJSON_AddStringToObject(cfg, e->string, e->valuestring);
    }
    cJSON_ArrayForEach(e, unset)
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, e->valuestring);
    if (cJSON_GetArraySize(cfg) > JN_CONFIG_VARS_MAX) {
        jn_api_error(c->resp, 400, "an app has at most %d config variables", JN_CONFIG_VARS_MAX);
        return false;
    }
    return true;
}

/* A new release of what app serves (cur), with config cfg_s; 0 and *out or
 * a negative code. The caller has claimed the app. */
static int config_release(struct jn_store *st, const char *app, int64_t cur, const char *cfg_s,
                          struct jn_store_release *out)
{
    struct jn_store_release now = {0};
    int r = jn_store_release_get(st, app, 0, cur, &now);
    if (r == 0)
        r = jn_store_release_create(st, app, now.image, now.command, cfg_s, "{}", now.spec, out);
    if (r == 0 && now.image_id[0])
        r = jn_store_release_set_image_id(st, out->id, now.image_id);
    jn_store_release_clear(&now);
    return r;
}

static void post_config(struct jn_api_call *c)
{
    struct jn_api_resp *resp = c->resp;
    struct jn_deployer *d = c->api->deployer;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"set", "unset", "secret", "rollout", NULL};
    cJSON *b = jn_api_body(c, allowed, true);
    if (!b)
        return;
    const cJSON *unset = cJSON_GetObjectItemCaseSensitive(b, "unset");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(b, "secret");
    /* "rollout": false only records it: the next deploy carries it (jern apply) */
    const cJSON *rollout = cJSON_GetObjectItemCaseSensitive(b, "rollout");
    cJSON *set = NULL, *cfg = NULL;
    struct jn_store *st = store(c);
    bool claimed = false;
    if ((unset && !cJSON_IsArray(unset)) || (secret && !cJSON_IsBool(secret)) ||
        (rollout && !cJSON_IsBool(rollout))) {
        jn_api_error(resp, 400,
                     "\"unset\" must be a list of names, \"secret\" and \"rollout\" "
                     "true or false");
        goto out;
    }
    if (!(set = jn_api_config_vars(c, cJSON_GetObjectItemCaseSensitive(b, "set"),
                                   cJSON_IsTrue(secret), "set")))
        goto out;
    if (!set->child && cJSON_GetArraySize(unset) == 0) {
        jn_api_error(resp, 400, "nothing to change: give NAME=value to set or names to unset");
        goto out;
    }
    if (c->api->cluster) {
        cluster_config(c, app, set, unset, rollout);
        goto out;
    }
    if (!(cfg = load_config(c, app)))
        goto out;
    char note[512];
    if (!apply_changes(c, app, cfg, set, unset, note, sizeof(note)))
        goto out;
    int64_t cur = 0;
    int scale = 1;
    jn_store_app_serving(st, app, &cur, &scale);
    if (cur && d && !cJSON_IsFalse(rollout)) {
        if (!jn_api_claim_app(d, app, resp, "nothing changed; try again when it is done"))
            goto out;
        claimed = true;
    }
    char *cfg_s = cJSON_PrintUnformatted(cfg);
    struct jn_store_release rel = {0};
    int r = jn_store_begin(st);
    if (r == 0)
        r = jn_store_app_config_set(st, app, cfg_s);
    if (r == 0 && claimed)
        r = config_release(st, app, cur, cfg_s, &rel);
    if (r == 0)
        r = jn_store_commit(st);
    else
        jn_store_rollback(st);
    free(cfg_s);
    if (r < 0) {
        if (claimed)
            jn_deployer_unclaim(d, app);
        jn_store_release_clear(&rel);
        jn_api_error(resp, 500, "cannot record the config: %s",
                     r == JN_EBASE ? jn_store_error(st) : jn_strerror(r));
        goto out;
    }
    snprintf(resp->note, sizeof(resp->note), "%s", note);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddStringToObject(o, "changed", note);
    int status = 200;
    if (claimed) {
        int job = jn_deployer_job_start(d, JN_JOB_DEPLOY, app, rel.id, scale > 0 ? scale : 1,
                                        NULL);
        cJSON_AddNumberToObject(o, "job", job);
        cJSON_AddNumberToObject(o, "release", rel.version);
        snprintf(resp->note + strlen(resp->note), sizeof(resp->note) - strlen(resp->note),
                 " (release v%d)", rel.version);
        status = 202;
    }
    jn_store_release_clear(&rel);
    jn_api_send_json(resp, status, o);
out:
    cJSON_Delete(set);
    cJSON_Delete(cfg);
    cJSON_Delete(b);
}

const struct jn_route jn_config_routes[] = {
    {JN_HTTP_GET, "/v1/apps/:app/config", 0, get_config, NULL},
    {JN_HTTP_POST, "/v1/apps/:app/config", 0, post_config, "config"},
    {JN_HTTP_GET, "/v1/apps/:app/config/:name", 0, get_config_var, NULL},
    {0},
};
