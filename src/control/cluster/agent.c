/*
 * agent.c: the control thread's half of a cluster node (cluster.h). For each
 * view read from etcd it makes this node match the placement with its own
 * deployer (deploy and scale jobs, the node's drivers) and publishes the
 * app's instances on other nodes to the gateway; then it reports the node's
 * running instances for the cluster thread to write into etcd.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "control/control.h"
#include "control/names.h"
#include "control/deploy/deploy.h"
#include "core/log.h"
#include "db/db.h"
#include "runtime/driver.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <ctype.h>
#include <dirent.h>

#define RETRY_MS 10000 /* a local deploy of one version is tried again after this */

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static int num(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(x) ? x->valueint : 0;
}

/* The cluster version of the release app serves here (0: none), its id and scale. */
static int local_version(struct jn_store *st, const char *app, int64_t *rel_id, int *scale)
{
    *rel_id = 0;
    *scale = 0;
    if (jn_store_app_serving(st, app, rel_id, scale) < 0 || *rel_id == 0)
        return 0;
    struct jn_store_release rel = {0};
    if (jn_store_release_get(st, app, 0, *rel_id, &rel) < 0)
        return 0;
    cJSON *spec = cJSON_Parse(rel.spec);
    int v = num(spec, "cluster_version");
    cJSON_Delete(spec);
    jn_store_release_clear(&rel);
    return v;
}

/* One start per version and 10 s: a release that fails here is not retried
 * in a tight loop. */
static bool may_try(struct jn_cluster *c, const char *app, int version)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(c->attempts, app);
    int64_t now = jn_now_ms();
    if (a && num(a, "version") == version &&
        now - (int64_t)cJSON_GetObjectItemCaseSensitive(a, "at")->valuedouble < RETRY_MS)
        return false;
    cJSON_DeleteItemFromObjectCaseSensitive(c->attempts, app);
    a = cJSON_AddObjectToObject(c->attempts, app);
    cJSON_AddNumberToObject(a, "version", version);
    cJSON_AddNumberToObject(a, "at", (double)now);
    return true;
}

/* Starts serving the cluster's version of app here with count instances. */
static void deploy_here(struct jn_cluster *c, const char *app, const cJSON *a, int count)
{
    struct jn_store *st = jn_control_store(c->ctl);
    int version = num(a, "version");
    if (!jn_deployer_claim(c->deployer, app))
        return; /* a job runs on it: the next view tries again */
    if (!may_try(c, app, version)) {
        jn_deployer_unclaim(c->deployer, app);
        return;
    }
    cJSON *spec = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "spec"), true);
    cJSON *env = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "env"), true);
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "config"), true);
    if (!cJSON_IsObject(spec)) {
        cJSON_Delete(spec);
        spec = cJSON_CreateObject();
    }
    if (!cJSON_IsObject(env)) {
        cJSON_Delete(env);
        env = cJSON_CreateObject();
    }
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        cfg = cJSON_CreateObject();
    }
    char err[512];
    /* the cluster's secrets, sealed again with this node's key */
    if (jn_cluster_reseal(c, cfg, false, err, sizeof(err)) < 0 ||
        jn_cluster_reseal(c, env, false, err, sizeof(err)) < 0) {
        jn_error("cluster: app '%s' v%d: %s", app, version, err);
        cJSON_Delete(spec);
        cJSON_Delete(env);
        cJSON_Delete(cfg);
        jn_deployer_unclaim(c->deployer, app);
        return;
    }
    cJSON_AddNumberToObject(spec, "cluster_version", version);
    /* other nodes' gateways reach a published or jern-bound port too */
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "bind_host");
    cJSON_AddStringToObject(spec, "bind_host", "0.0.0.0");
    /* Other nodes' gateways reach the instance at ADVERTISE:PORT. */
    if (!cJSON_GetObjectItemCaseSensitive(env, "HOST"))
        cJSON_AddStringToObject(env, "HOST", "0.0.0.0");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(a, "image");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(a, "command");
    char *spec_s = cJSON_PrintUnformatted(spec), *env_s = cJSON_PrintUnformatted(env);
    char *cfg_s = cJSON_PrintUnformatted(cfg);
    struct jn_store_release rel = {0};
    int r = jn_store_release_create(st, app, cJSON_IsString(image) ? image->valuestring : NULL,
                                    cJSON_IsString(cmd) ? cmd->valuestring : NULL, cfg_s, env_s,
                                    spec_s, &rel);
    free(spec_s);
    free(env_s);
    free(cfg_s);
    cJSON_Delete(spec);
    cJSON_Delete(env);
    cJSON_Delete(cfg);
    if (r < 0) {
        jn_deployer_unclaim(c->deployer, app);
        jn_error("cluster: app '%s' v%d: cannot record the release here: %s", app, version,
                 jn_strerror(r));
        return;
    }
    /* a private image: the credentials the deploy gave, for this node's pull */
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(a, "registry_auth");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(ra, "username");
    const cJSON *server = cJSON_GetObjectItemCaseSensitive(ra, "server");
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(ra, "password");
    char *plain = NULL;
    if (cJSON_IsString(user) && cJSON_IsString(server) && cJSON_IsString(pw) &&
        jn_cluster_open(c, "REGISTRY_PASSWORD", pw->valuestring, &plain, err, sizeof(err)) < 0)
        jn_error("cluster: app '%s' v%d: %s; pulling without credentials", app, version, err);
    struct jn_registry_auth auth = {plain ? user->valuestring : NULL,
                                    plain, plain ? server->valuestring : NULL};
    int job = jn_deployer_job_start(c->deployer, JN_JOB_DEPLOY, app, rel.id, count,
                                    plain ? &auth : NULL);
    if (plain) {
        explicit_bzero(plain, strlen(plain));
        free(plain);
    }
    jn_notice("cluster: app '%s' v%d: %d instance(s) placed on node %s (job %d)", app, version,
              count, c->node, job);
    jn_store_release_clear(&rel);
}

static void scale_here(struct jn_cluster *c, const char *app, int64_t rel_id, int count,
                       int have)
{
    if (!jn_deployer_claim(c->deployer, app)) {
        /* a job runs on it: the next view tries again; one that keeps
         * instances it removed up for a while takes them back */
        if (count > have)
            jn_deployer_revive(c->deployer, app, count);
        return;
    }
    int job = jn_deployer_job_start(c->deployer, JN_JOB_SCALE, app, rel_id, count, NULL);
    jn_notice("cluster: app '%s': %d instance(s) placed on node %s (job %d)", app, count, c->node,
              job);
}

/* The healthy instances of app on the other live nodes, as the gateway's
 * remote servers of app: those on nodes of this node's site first. */
static void publish_remote(struct jn_cluster *c, const char *app)
{
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(c->view, "nodes");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c->view, "instances"), app);
    const cJSON *site = cJSON_GetObjectItemCaseSensitive(c->labels, "site");
    const char *addrs[64];
    size_t n = 0, nnear = 0;
    const cJSON *x, *a;
    for (int near = 1; near >= 0; near--) {
        cJSON_ArrayForEach(x, per)
        {
            const cJSON *node = cJSON_GetObjectItemCaseSensitive(nodes, x->string);
            if (strcmp(x->string, c->node) == 0 || !node)
                continue;
            const cJSON *theirs = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(node, "labels"), "site");
            bool same = cJSON_IsString(site) && cJSON_IsString(theirs) &&
                        strcmp(site->valuestring, theirs->valuestring) == 0;
            if (same != (near == 1))
                continue;
            cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(x, "addrs"))
            {
                if (cJSON_IsString(a) && n < JN_ARRAY_LEN(addrs))
                    addrs[n++] = a->valuestring;
            }
        }
        if (near)
            nnear = n;
    }
    char err[256];
    if (jn_control_set_remote(c->ctl, app, addrs, n, nnear, err, sizeof(err)) < 0)
        jn_error("cluster: app '%s': %s", app, err);
}

/* Whether the other nodes already serve their share of app's version: a
 * node gives instances away (drain, a new spread) only once their
 * replacements answer, so no request finds no instance. */
static bool replaced_elsewhere(struct jn_cluster *c, const char *app, int version)
{
    const cJSON *assign =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->view, "assign"), app);
    /* Not every instance could be placed (this node drained, and no other has
     * the labels): one that may run here stays, or the drain would stop the
     * app. One outside the required labels still goes. */
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->view, "nodes"),
                                         c->node),
        "labels");
    const cJSON *require = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->view, "apps"), app),
        "require");
    bool drained = cJSON_GetObjectItemCaseSensitive(
                       cJSON_GetObjectItemCaseSensitive(c->view, "drain"), c->node) != NULL;
    if (drained && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(assign, "error")) &&
        jn_cluster_labels_match(labels, require))
        return false;
    const cJSON *placed = cJSON_GetObjectItemCaseSensitive(assign, "nodes");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c->view, "instances"), app);
    int need = 0, have = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, placed)
    {
        if (strcmp(x->string, c->node) == 0)
            continue;
        need += cJSON_IsNumber(x) ? x->valueint : 0;
        const cJSON *rep = cJSON_GetObjectItemCaseSensitive(per, x->string);
        if (num(rep, "version") == version)
            have += num(rep, "healthy");
    }
    return have >= need;
}

static bool listed(const struct jn_store_domain *d, int n, const char *domain)
{
    for (int i = 0; i < n; i++)
        if (strcmp(d[i].domain, domain) == 0)
            return true;
    return false;
}

/* app's domains here as the cluster lists them: what was added or removed
 * through any node is added or removed here. An app whose domains were
 * never set through a cluster node keeps each node's own. */
static void sync_domains(struct jn_cluster *c, const char *app, const cJSON *a)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(a, "domains");
    if (!cJSON_IsArray(want))
        return;
    struct jn_store_domain *d;
    int n = jn_store_domain_list(jn_control_store(c->ctl), app, &d);
    if (n < 0)
        return;
    char err[512];
    for (int i = 0; i < n; i++) {
        if (jn_cluster_has_string(want, d[i].domain))
            continue;
        if (jn_control_domain_remove(c->ctl, app, d[i].domain, err, sizeof(err)) < 0)
            jn_error("cluster: app '%s': %s", app, err);
        else
            jn_notice("cluster: app '%s': domain %s removed", app, d[i].domain);
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, want)
    {
        if (!cJSON_IsString(x) || listed(d, n, x->valuestring))
            continue;
        char key[600];
        snprintf(key, sizeof(key), "%s %s", app, x->valuestring);
        if (jn_control_domain_add(c->ctl, app, x->valuestring, err, sizeof(err)) == 0) {
            jn_notice("cluster: app '%s': domain %s added", app, x->valuestring);
            cJSON_DeleteItemFromObjectCaseSensitive(c->domain_errors, key);
        } else if (!cJSON_GetObjectItemCaseSensitive(c->domain_errors, key)) {
            jn_error("cluster: app '%s': domain %s is not served by node %s: %s", app,
                     x->valuestring, c->node, err); /* once, not every round */
            cJSON_AddTrueToObject(c->domain_errors, key);
        }
    }
    free(d);
}

/* Apps destroyed through any node: one this node had from the cluster (in
 * the last view, or serving a cluster release) that the cluster no longer
 * has is destroyed here too. Apps made here outside the cluster stay. */
static void destroy_gone(struct jn_cluster *c, const cJSON *apps)
{
    struct jn_store *st = jn_control_store(c->ctl);
    cJSON *seen = cJSON_CreateObject();
    const cJSON *x;
    cJSON_ArrayForEach(x, apps) cJSON_AddTrueToObject(seen, x->string);
    for (cJSON *d = c->destroyed->child, *next; d; d = next) {
        next = d->next;
        if (!cJSON_GetObjectItemCaseSensitive(apps, d->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(c->destroyed, d));
    }
    struct jn_store_app *v;
    int n = jn_store_app_list(st, &v);
    for (int i = 0; i < n; i++) {
        const char *app = v[i].name;
        int64_t rel_id;
        int scale;
        if (cJSON_GetObjectItemCaseSensitive(apps, app) ||
            (!cJSON_GetObjectItemCaseSensitive(c->seen, app) &&
             local_version(st, app, &rel_id, &scale) <= 0))
            continue;
        char err[512];
        if (!jn_deployer_claim(c->deployer, app)) {
            cJSON_AddTrueToObject(seen, app); /* a job runs on it: the next view */
            continue;
        }
        if (jn_control_app_delete(c->ctl, app, err, sizeof(err)) < 0)
            jn_error("cluster: app '%s': %s", app, err);
        else
            jn_notice("cluster: app '%s' is no longer in the cluster: destroyed here", app);
        jn_deployer_unclaim(c->deployer, app);
    }
    free(v);
    cJSON_Delete(c->seen);
    c->seen = seen;
}

/* app's https mode here as the cluster says (when it says one). */
static void follow_https(struct jn_cluster *c, const char *app, const cJSON *a)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(a, "https");
    char key[JN_STORE_NAME_MAX + 16], cur[16];
    snprintf(key, sizeof(key), "https:%s", app);
    struct jn_store *st = jn_control_store(c->ctl);
    if (jn_store_setting_get(st, key, cur, sizeof(cur)) < 0)
        snprintf(cur, sizeof(cur), "off");
    if (!cJSON_IsString(want) || strcmp(cur, want->valuestring) == 0)
        return;
    if (jn_store_setting_set(st, key, want->valuestring) < 0)
        jn_error("cluster: app '%s': cannot set https %s: %s", app, want->valuestring,
                 jn_store_error(st));
    else
        jn_notice("cluster: app '%s': https %s", app, want->valuestring);
}

/* app's config variables in this node's store (jern config shows them; the
 * cluster's releases carry them) as the cluster keeps them, once for each
 * config_version. */
static void follow_vars(struct jn_cluster *c, const char *app, const cJSON *a)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(a, "config");
    int v = num(a, "config_version");
    if (!cJSON_IsObject(want) || (cJSON_GetObjectItemCaseSensitive(c->config_seen, app) &&
                                  num(c->config_seen, app) == v))
        return;
    cJSON *cfg = cJSON_Duplicate(want, true);
    char err[512];
    int r = jn_cluster_reseal(c, cfg, false, err, sizeof(err));
    char *s = r == 0 ? cJSON_PrintUnformatted(cfg) : NULL;
    if (r == 0 && (r = jn_store_app_config_set(jn_control_store(c->ctl), app, s)) < 0)
        snprintf(err, sizeof(err), "%s", jn_store_error(jn_control_store(c->ctl)));
    free(s);
    cJSON_Delete(cfg);
    if (r < 0) {
        jn_error("cluster: app '%s': cannot keep its config here: %s", app, err);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->config_seen, app);
    cJSON_AddNumberToObject(c->config_seen, app, v);
}

/* app's runtime upstream servers here as the cluster lists them
 * ([{addr, weight, state}]); an app never given one through a cluster node
 * keeps each node's own. */
static void sync_servers(struct jn_cluster *c, const char *app, const cJSON *a)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(a, "servers"), *x;
    if (!cJSON_IsArray(want))
        return;
    struct jn_store_server *v;
    int n = jn_store_server_list(jn_control_store(c->ctl), app, &v);
    if (n < 0)
        return;
    char err[512];
    for (int i = 0; i < n; i++) {
        /* the config file's and the app's own instances' are not the cluster's
         * (the store is asked only about a row the list does not keep) */
        bool keep = strcmp(v[i].origin, "api") != 0;
        cJSON_ArrayForEach(x, want) keep = keep || strcmp(str(x, "addr"), v[i].addr) == 0;
        keep = keep || jn_control_is_instance_addr(c->ctl, app, v[i].addr);
        if (!keep && jn_control_server_remove(c->ctl, app, v[i].addr, err, sizeof(err)) < 0)
            jn_error("cluster: app '%s': %s", app, err);
        else if (!keep)
            jn_notice("cluster: app '%s': upstream server %s removed", app, v[i].addr);
    }
    cJSON_ArrayForEach(x, want)
    {
        const char *addr = str(x, "addr");
        int weight = num(x, "weight"), state = jn_name_state_parse(str(x, "state"));
        const struct jn_store_server *have = NULL;
        for (int i = 0; i < n && !have; i++)
            if (strcmp(v[i].addr, addr) == 0 && strcmp(v[i].origin, "api") == 0)
                have = &v[i];
        int r = 0;
        if (!*addr || weight <= 0 || state < 0)
            continue;
        if (!have)
            r = jn_control_server_add(c->ctl, app, addr, weight, state, err, sizeof(err));
        else if (have->weight != weight || jn_name_state_parse(have->state) != state)
            r = jn_control_server_set(c->ctl, app, addr, weight, state, err, sizeof(err));
        else
            continue;
        if (r < 0)
            jn_error("cluster: app '%s': upstream server %s: %s", app, addr, err);
        else
            jn_notice("cluster: app '%s': upstream server %s (weight %d, %s)", app, addr, weight,
                      str(x, "state"));
    }
    free(v);
}

/* app's configuration here (domains, https mode, variables) as the cluster
 * keeps it, unless this view was read before this node's own change to it. */
static void follow_config(struct jn_cluster *c, const char *app, const cJSON *a)
{
    if (num(a, "config_version") < num(c->config_written, app))
        return;
    sync_domains(c, app, a);
    sync_servers(c, app, a);
    jn_cluster_autoscale_follow(c, app, a);
    follow_https(c, app, a);
    follow_vars(c, app, a);
}

int jn_cluster_app_here(struct jn_cluster *c, const char *app, char *err, size_t errlen)
{
    struct jn_store *st = jn_control_store(c->ctl);
    if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->view, "apps"), app) ||
        jn_store_app_get(st, app, NULL) != JN_ENOTFOUND)
        return 0;
    return jn_control_app_create(c->ctl, app, NULL, 0, err, errlen);
}

void jn_cluster_agent_apply(struct jn_cluster *c)
{
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->view, "etcd")))
        return; /* keep serving what is known */
    struct jn_store *st = jn_control_store(c->ctl);
    jn_cluster_dbmove_apply(c);
    jn_cluster_dbask_apply(c);
    jn_cluster_certs_apply(c);
    jn_cluster_dbenv_apply(c); /* before deploys: their instances get the settings */
    const cJSON *assign = cJSON_GetObjectItemCaseSensitive(c->view, "assign");
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(c->view, "apps"))
    {
        const char *app = a->string;
        int version = num(a, "version");
        if (version <= 0 && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "domains")) &&
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "servers")) &&
            !cJSON_GetObjectItemCaseSensitive(a, "config"))
            continue; /* placement set, nothing to run or serve yet */
        if (cJSON_GetObjectItemCaseSensitive(c->destroyed, app))
            continue; /* a view from before this node destroyed it */
        char err[512];
        if (jn_store_app_get(st, app, NULL) == JN_ENOTFOUND &&
            jn_control_app_create(c->ctl, app, NULL, 0, err, sizeof(err)) < 0) {
            jn_error("cluster: app '%s': %s", app, err);
            continue;
        }
        follow_config(c, app, a);
        if (version <= 0)
            continue;
        const cJSON *placed = cJSON_GetObjectItemCaseSensitive(assign, app);
        int want = num(cJSON_GetObjectItemCaseSensitive(placed, "nodes"), c->node);
        int64_t rel_id;
        int scale;
        int have = local_version(st, app, &rel_id, &scale);
        if (want > 0 && have != version)
            deploy_here(c, app, a, want);
        else if (rel_id && scale != want && (have == version || want == 0) &&
                 (want > scale || replaced_elsewhere(c, app, version)))
            scale_here(c, app, rel_id, want, scale);
        publish_remote(c, app);
    }
    destroy_gone(c, cJSON_GetObjectItemCaseSensitive(c->view, "apps"));
}

cJSON *jn_cluster_agent_report(struct jn_cluster *c)
{
    struct jn_store *st = jn_control_store(c->ctl);
    cJSON *rep = cJSON_CreateObject();
    struct jn_store_instance *v;
    int n = jn_store_instance_list(st, NULL, &v);
    if (n < 0)
        return rep;
    for (int i = 0; i < n; i++) {
        if (v[i].state != JN_INST_RUNNING || v[i].health == JN_HEALTH_UNHEALTHY ||
            !v[i].host_port)
            continue;
        cJSON *per = cJSON_GetObjectItemCaseSensitive(rep, v[i].app);
        if (!per) {
            int64_t rel_id;
            int scale;
            per = cJSON_AddObjectToObject(rep, v[i].app);
            cJSON_AddNumberToObject(per, "version", local_version(st, v[i].app, &rel_id, &scale));
            cJSON_AddArrayToObject(per, "addrs");
        }
        char addr[300];
        snprintf(addr, sizeof(addr), "%s:%d", c->advertise, v[i].host_port);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(per, "addrs"),
                             cJSON_CreateString(addr));
    }
    cJSON *x;
    cJSON_ArrayForEach(x, rep)
        cJSON_AddNumberToObject(x, "healthy", cJSON_GetArraySize(cJSON_GetObjectItem(x, "addrs")));
    free(v);
    return rep;
}

cJSON *jn_cluster_agent_data(struct jn_cluster *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *list = c->dbs ? jn_dbs_list_json(c->dbs) : NULL;
    cJSON *dbs = jn_cluster_data_dbs(list);
    cJSON_AddItemToObject(o, "databases", dbs);
    cJSON_AddItemToObject(o, "dbenv", jn_cluster_dbenv_report(c, dbs));
    cJSON_Delete(list);
    if (c->dbs)
        cJSON_AddItemToObject(o, "archives", jn_dbs_archives_json(c->dbs));
    /* an app's output outlives its instances here until its logs are
     * removed; its access log is written by whichever gateway answers it */
    cJSON *logs = cJSON_AddArrayToObject(o, "logs");
    cJSON *alogs = cJSON_AddArrayToObject(o, "access_logs");
    struct jn_store_app *apps;
    int n = jn_store_app_list(jn_control_store(c->ctl), &apps);
    for (int i = 0; i < n; i++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/logs/%s", c->state_dir, apps[i].name);
        DIR *dh = opendir(dir);
        bool out = false, access = false;
        for (struct dirent *de; dh && (de = readdir(dh));) {
            out = out || (de->d_name[0] == 'v' && isdigit((unsigned char)de->d_name[1]));
            access = access || strncmp(de->d_name, "access.log", 10) == 0;
        }
        if (dh)
            closedir(dh);
        if (out)
            cJSON_AddItemToArray(logs, cJSON_CreateString(apps[i].name));
        if (access)
            cJSON_AddItemToArray(alogs, cJSON_CreateString(apps[i].name));
    }
    if (n > 0)
        free(apps);
    return o;
}
