/*
 * changes.c: control changes of a cluster, written to etcd from the control
 * thread (cluster.h): deploy, scale, placement, domains, drain. Each reads the app's
 * record, changes it and writes it back with a compare-and-swap on its
 * mod_revision, so two changes at once never lose one. With etcd away they
 * are refused: nothing is written anywhere.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/appconfig/rules.h"
#include "control/cluster/model.h"
#include "etcd/client.h"

#include <cjson/cJSON.h>
#include <stdio.h>

int jn_cluster_etcd_failed(struct jn_cluster *c, int r, char *err, size_t errlen)
{
    if (r == JN_ECLOSED || r == JN_ETIMEDOUT)
        snprintf(err, errlen,
                 "the cluster's etcd is unreachable, so control changes are refused (apps keep "
                 "serving): %s",
                 jn_etcd_errmsg(c->ce));
    else
        snprintf(err, errlen, "the cluster's etcd failed: %s", jn_etcd_errmsg(c->ce));
    return r;
}

/* The app's record (a new one when absent) and its mod_revision (0: absent). */
static int app_get(struct jn_cluster *c, const char *app, cJSON **out, int64_t *rev, char *err,
                   size_t errlen)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_APPS "%s", app);
    struct jn_etcd_kv *kvs;
    size_t n;
    int r = jn_etcd_range(c->ce, key, false, &kvs, &n, NULL);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    *rev = n ? kvs[0].mod_revision : 0;
    *out = n ? cJSON_Parse(kvs[0].value) : NULL;
    jn_etcd_kvs_free(kvs, n);
    if (!*out)
        *out = cJSON_CreateObject();
    return 0;
}

static int app_put(struct jn_cluster *c, const char *app, cJSON *rec, int64_t rev, char *err,
                   size_t errlen)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_APPS "%s", app);
    char *s = cJSON_PrintUnformatted(rec);
    int r = jn_etcd_cas(c->ce, key, rev, s);
    free(s);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    if (r == 0) {
        snprintf(err, errlen, "app '%s' was changed by another request at the same time; try again",
                 app);
        return JN_EEXIST;
    }
    return 0;
}

/* Refuses a requirement no live, undrained node meets. */
/* A database attached to app on a live node without the labels require
 * asks for (its name and node in db, node), or false. */
static bool data_outside(const struct jn_etcd_kv *kvs, size_t n, const char *app,
                         const cJSON *require, char *db, char *node, size_t len)
{
    size_t dlen = strlen(JN_CLUSTER_DATA);
    bool out = false;
    for (size_t i = 0; i < n && !out; i++) {
        if (strncmp(kvs[i].key, JN_CLUSTER_DATA, dlen) != 0)
            continue;
        char nkey[256];
        snprintf(nkey, sizeof(nkey), JN_CLUSTER_NODES "%s", kvs[i].key + dlen);
        cJSON *labels = NULL;
        for (size_t k = 0; k < n && !labels; k++)
            if (strcmp(kvs[k].key, nkey) == 0)
                labels = cJSON_Parse(kvs[k].value);
        cJSON *data = cJSON_Parse(kvs[i].value);
        const cJSON *d, *a;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(data, "databases"))
        {
            cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(d, "apps"))
            {
                if (out || !cJSON_IsString(a) || strcmp(a->valuestring, app) != 0 ||
                    jn_cluster_labels_match(cJSON_GetObjectItemCaseSensitive(labels, "labels"),
                                            require))
                    continue;
                out = true;
                snprintf(db, len, "%s", d->string);
                snprintf(node, len, "%s", kvs[i].key + dlen);
            }
        }
        cJSON_Delete(data);
        cJSON_Delete(labels);
    }
    return out;
}

static int check_placeable(struct jn_cluster *c, const char *app, const cJSON *require,
                           char *err, size_t errlen)
{
    struct jn_etcd_kv *kvs;
    size_t n;
    int r = jn_etcd_range(c->ce, JN_CLUSTER_PREFIX, true, &kvs, &n, NULL);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    size_t plen = strlen(JN_CLUSTER_NODES);
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++) {
        if (strncmp(kvs[i].key, JN_CLUSTER_NODES, plen) != 0)
            continue;
        char dkey[256];
        snprintf(dkey, sizeof(dkey), JN_CLUSTER_DRAIN "%s", kvs[i].key + plen);
        bool drained = false;
        for (size_t k = 0; k < n; k++)
            drained |= strcmp(kvs[k].key, dkey) == 0;
        cJSON *node = cJSON_Parse(kvs[i].value);
        ok = !drained &&
             jn_cluster_labels_match(cJSON_GetObjectItemCaseSensitive(node, "labels"), require);
        cJSON_Delete(node);
    }
    char db[128], where[128];
    bool held = ok && data_outside(kvs, n, app, require, db, where, sizeof(db));
    jn_etcd_kvs_free(kvs, n);
    if (held) {
        char req[512];
        jn_cluster_labels_text(require, req, sizeof(req));
        snprintf(err, errlen,
                 "refused: app '%s' is attached to database '%s' on node %s, which lacks the "
                 "labels %s, so its data would sit where it must not; move the database to a node "
                 "with them first (jern db move %s --to NODE), detach it (jern db detach %s %s "
                 "on %s), or choose labels that node has",
                 app, db, where, req, db, db, app, where);
        return JN_EBADINPUT;
    }
    if (!ok) {
        char req[512];
        jn_cluster_labels_text(require, req, sizeof(req));
        snprintf(err, errlen,
                 "refused: no live node has the labels app '%s' requires (%s), so it would run "
                 "where it must not; start or label such a node (see: jern nodes), or change "
                 "the requirement with: jern apps set %s --require KEY=VALUE",
                 app, req, app);
        return JN_EBADINPUT;
    }
    return 0;
}

static int config_bump(struct jn_cluster *c, const char *app, cJSON *rec);
static int config_put(struct jn_cluster *c, const char *app, cJSON *rec, int64_t rev, bool roll,
                      char *err, size_t errlen);

/* Writes a new release into rec (app's record at rev), which it frees. */
static int deploy_into(struct jn_cluster *c, const char *app, cJSON *rec, int64_t rev,
                       const char *image, const char *command, const cJSON *env,
                       const cJSON *spec, int instances, char *err, size_t errlen)
{
    int r = check_placeable(c, app, cJSON_GetObjectItemCaseSensitive(rec, "require"), err, errlen);
    if (r < 0) {
        cJSON_Delete(rec);
        return r;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "version");
    int version = (cJSON_IsNumber(v) ? v->valueint : 0) + 1;
    static const char *const fields[] = {"version", "instances", "image", "command",
                                         "env",     "spec",      "memory"};
    for (size_t i = 0; i < JN_ARRAY_LEN(fields); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(rec, fields[i]);
    cJSON_AddNumberToObject(rec, "version", version);
    cJSON_AddNumberToObject(rec, "instances", instances);
    if (image)
        cJSON_AddStringToObject(rec, "image", image);
    if (command)
        cJSON_AddStringToObject(rec, "command", command);
    cJSON_AddItemToObject(rec, "env", env ? cJSON_Duplicate(env, true) : cJSON_CreateObject());
    cJSON_AddItemToObject(rec, "spec", cJSON_Duplicate(spec, true));
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(spec, "memory");
    if (cJSON_IsNumber(mem) && mem->valuedouble > 0)
        cJSON_AddNumberToObject(rec, "memory", mem->valuedouble);
    r = app_put(c, app, rec, rev, err, errlen);
    cJSON_Delete(rec);
    return r < 0 ? r : version;
}

int jn_cluster_deploy(struct jn_cluster *c, const char *app, const char *image,
                      const char *command, const cJSON *env, const cJSON *spec, int instances,
                      const cJSON *registry_auth, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    if (registry_auth) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "registry_auth");
        cJSON_AddItemToObject(rec, "registry_auth", cJSON_Duplicate(registry_auth, true));
    }
    return deploy_into(c, app, rec, rev, image, command, env, spec, instances, err, errlen);
}

/* Frees rec; the error for a change that needs a release. */
static int no_release(const char *app, cJSON *rec, char *err, size_t errlen)
{
    cJSON_Delete(rec);
    snprintf(err, errlen,
             "app '%s' has no release in the cluster (deploy one first: jern deploy %s --image "
             "IMAGE)",
             app, app);
    return JN_ENOTFOUND;
}

/* rec's release again as a new version (rec at rev, which it frees):
 * every node rolls its instances. */
static int redeploy(struct jn_cluster *c, const char *app, cJSON *rec, int64_t rev, char *err,
                    size_t errlen)
{
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(rec, "image");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(rec, "command");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, "instances");
    if (!cJSON_GetObjectItemCaseSensitive(rec, "version") || !cJSON_IsNumber(n))
        return no_release(app, rec, err, errlen);
    char *im = cJSON_IsString(image) ? jn_strdup(image->valuestring) : NULL;
    char *cm = cJSON_IsString(cmd) ? jn_strdup(cmd->valuestring) : NULL;
    cJSON *env = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "env"), true);
    cJSON *spec = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "spec"), true);
    int r = deploy_into(c, app, rec, rev, im, cm, env, spec, n->valueint, err, errlen);
    free(im);
    free(cm);
    cJSON_Delete(env);
    cJSON_Delete(spec);
    return r;
}

int jn_cluster_restart(struct jn_cluster *c, const char *app, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    return r < 0 ? r : redeploy(c, app, rec, rev, err, errlen);
}

int jn_cluster_config(struct jn_cluster *c, const char *app, const cJSON *set,
                      const cJSON *unset, bool rollout, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(rec, "config");
    if (!cJSON_IsObject(cfg)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "config");
        cfg = cJSON_AddObjectToObject(rec, "config");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, unset)
    {
        if (!cJSON_IsString(e) || !cJSON_GetObjectItemCaseSensitive(cfg, e->valuestring)) {
            snprintf(err, errlen,
                     "app '%s' has no config variable %.128s to unset (see: jern config %s)", app,
                     cJSON_IsString(e) ? e->valuestring : "(not a name)", app);
            cJSON_Delete(rec);
            return JN_EBADINPUT;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, e->valuestring);
    }
    for (e = set ? set->child : NULL; e; e = e->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, e->string);
        cJSON_AddItemToObject(cfg, e->string, cJSON_Duplicate(e, true));
    }
    if (cJSON_GetArraySize(cfg) > JN_CONFIG_VARS_MAX) {
        snprintf(err, errlen, "an app has at most %d config variables", JN_CONFIG_VARS_MAX);
        cJSON_Delete(rec);
        return JN_EBADINPUT;
    }
    bool roll = rollout && cJSON_GetObjectItemCaseSensitive(rec, "version");
    return config_put(c, app, rec, rev, roll, err, errlen);
}

/* app_get of an app that has a release (else JN_ENOTFOUND, naming the fix). */
static int released_app(struct jn_cluster *c, const char *app, cJSON **rec, int64_t *rev,
                        char *err, size_t errlen)
{
    int r = app_get(c, app, rec, rev, err, errlen);
    if (r < 0)
        return r;
    if (*rev == 0 || !cJSON_GetObjectItemCaseSensitive(*rec, "spec"))
        return no_release(app, *rec, err, errlen);
    return 0;
}

int jn_cluster_scale(struct jn_cluster *c, const char *app, int instances, char *err,
                     size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = released_app(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "instances");
    cJSON_AddNumberToObject(rec, "instances", instances);
    /* a fixed count: autoscaling off */
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "autoscale");
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "autoscale_state");
    r = app_put(c, app, rec, rev, err, errlen);
    cJSON_Delete(rec);
    return r;
}

int jn_cluster_autoscale(struct jn_cluster *c, const char *app, const cJSON *settings,
                         char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = released_app(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "autoscale");
    cJSON_AddItemToObject(rec, "autoscale", cJSON_Duplicate(settings, true));
    if (!cJSON_GetObjectItemCaseSensitive(rec, "autoscale_state")) {
        /* a new setting counts as activity: no scale to zero before idle */
        cJSON *st = cJSON_AddObjectToObject(rec, "autoscale_state");
        cJSON_AddNumberToObject(st, "since_ms", (double)jn_now_ms());
        cJSON_AddNumberToObject(st, "changed_ms", (double)jn_now_ms());
    }
    return config_put(c, app, rec, rev, false, err, errlen);
}

int jn_cluster_placement(struct jn_cluster *c, const char *app, const cJSON *require,
                         const cJSON *prefer, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    if (require && (r = check_placeable(c, app, require, err, errlen)) < 0) {
        cJSON_Delete(rec);
        return r;
    }
    if (require) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "require");
        cJSON_AddItemToObject(rec, "require", cJSON_Duplicate(require, true));
    }
    if (prefer) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "prefer");
        cJSON_AddItemToObject(rec, "prefer", cJSON_Duplicate(prefer, true));
    }
    r = app_put(c, app, rec, rev, err, errlen);
    cJSON_Delete(rec);
    return r;
}

int jn_cluster_drain(struct jn_cluster *c, const char *node, bool drain, char *err,
                     size_t errlen)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DRAIN "%s", node);
    int r = drain ? jn_etcd_put(c->ce, key, "1", 0) : jn_etcd_delete(c->ce, key, false);
    return r < 0 ? jn_cluster_etcd_failed(c, r, err, errlen) : 0;
}

int jn_cluster_node_labels(struct jn_cluster *c, const char *node, const cJSON *labels, char *err,
                           size_t errlen)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_LABELS "%s", node);
    int r;
    if (labels) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "labels", cJSON_Duplicate(labels, true));
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        r = jn_etcd_put(c->ce, key, s, 0);
        free(s);
    } else {
        r = jn_etcd_delete(c->ce, key, false);
    }
    return r < 0 ? jn_cluster_etcd_failed(c, r, err, errlen) : 0;
}

/* Sets rec's domains to base when the cluster has none for it yet. */
static cJSON *domains_of(cJSON *rec, const cJSON *base)
{
    cJSON *doms = cJSON_GetObjectItemCaseSensitive(rec, "domains");
    if (cJSON_IsArray(doms))
        return doms;
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "domains");
    doms = cJSON_IsArray(base) ? cJSON_Duplicate(base, true) : cJSON_CreateArray();
    cJSON_AddItemToObject(rec, "domains", doms);
    return doms;
}

/* A new config_version in rec (its domains, its https mode): this node
 * will not undo its own change from a view read before it (agent.c). */
static int config_bump(struct jn_cluster *c, const char *app, cJSON *rec)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "config_version");
    int version = (cJSON_IsNumber(v) ? v->valueint : 0) + 1;
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "config_version");
    cJSON_AddNumberToObject(rec, "config_version", version);
    cJSON_DeleteItemFromObjectCaseSensitive(c->config_written, app);
    return version;
}

/* Writes rec (app's record at rev, which it frees) with a new
 * config_version, as a new release of it when roll; remembers the version
 * as this node's own change. Returns what app_put or redeploy does. */
static int config_put(struct jn_cluster *c, const char *app, cJSON *rec, int64_t rev, bool roll,
                      char *err, size_t errlen)
{
    int version = config_bump(c, app, rec);
    int r = roll ? redeploy(c, app, rec, rev, err, errlen) : app_put(c, app, rec, rev, err, errlen);
    if (!roll)
        cJSON_Delete(rec);
    if (r >= 0)
        cJSON_AddNumberToObject(c->config_written, app, version);
    return r;
}

int jn_cluster_domain(struct jn_cluster *c, const char *app, const char *domain, bool add,
                      const cJSON *base, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    cJSON *doms = domains_of(rec, base);
    int had = 0;
    for (int i = cJSON_GetArraySize(doms) - 1; i >= 0; i--) {
        const cJSON *x = cJSON_GetArrayItem(doms, i);
        if (cJSON_IsString(x) && strcmp(x->valuestring, domain) == 0) {
            cJSON_DeleteItemFromArray(doms, i);
            had = 1;
        }
    }
    if (add)
        cJSON_AddItemToArray(doms, cJSON_CreateString(domain));
    r = config_put(c, app, rec, rev, false, err, errlen);
    return r < 0 ? r : had;
}

/* app's record with field set to value (taken), written as a config change. */
static int field_put(struct jn_cluster *c, const char *app, const char *field, cJSON *value,
                     char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0) {
        cJSON_Delete(value);
        return r;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(rec, field);
    cJSON_AddItemToObject(rec, field, value);
    return config_put(c, app, rec, rev, false, err, errlen);
}

int jn_cluster_servers(struct jn_cluster *c, const char *app, const cJSON *servers, char *err,
                       size_t errlen)
{
    return field_put(c, app, "servers", cJSON_Duplicate(servers, true), err, errlen);
}

int jn_cluster_destroy(struct jn_cluster *c, const char *app, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r; /* etcd away: rec was not made */
    cJSON_Delete(rec);
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_APPS "%s", app);
    if (rev && (r = jn_etcd_delete(c->ce, key, false)) < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    cJSON_DeleteItemFromObjectCaseSensitive(c->destroyed, app);
    if (rev)
        cJSON_AddTrueToObject(c->destroyed, app);
    return rev ? 1 : 0;
}

int jn_cluster_https(struct jn_cluster *c, const char *app, const char *mode, char *err,
                     size_t errlen)
{
    return field_put(c, app, "https", cJSON_CreateString(mode), err, errlen);
}

int jn_cluster_import(struct jn_cluster *c, const char *app, const char *image,
                      const char *command, const cJSON *env, const cJSON *spec, int instances,
                      const cJSON *domains, char *err, size_t errlen)
{
    cJSON *rec;
    int64_t rev;
    int r = app_get(c, app, &rec, &rev, err, errlen);
    if (r < 0)
        return r;
    if (cJSON_GetObjectItemCaseSensitive(rec, "version")) {
        cJSON_Delete(rec);
        return 0; /* the cluster has a release of it already: its state wins */
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rec, "domains")) &&
        cJSON_GetArraySize(domains) > 0) {
        domains_of(rec, domains);
        config_bump(c, app, rec);
    }
    cJSON *s = cJSON_Duplicate(spec, true);
    cJSON_DeleteItemFromObjectCaseSensitive(s, "cluster_version");
    r = deploy_into(c, app, rec, rev, image, command, env, s, instances, err, errlen);
    cJSON_Delete(s);
    return r < 0 ? r : 1;
}
