/*
 * apply_live.c: the daemon's state as a plan model (apply/spec.h), read
 * through the admin API: apps with their serving release, scale, domains and
 * HTTPS mode; databases and their attachments; the config's upstreams and
 * their servers; on a cluster node, the live nodes' labels and the apps'
 * placement; elsewhere the names in each app's config. Env values never
 * leave the daemon: for the apps the file
 * also has, the daemon is asked which names differ (POST .../env-diff).
 */
#include "core/common.h"

#include "cli/apply_live.h"
#include "cli/client.h"

static char *app_path(const char *app, const char *rest)
{
    char *e = jn_client_escape(app);
    size_t n = strlen(e) + strlen(rest) + 16;
    char *p = jn_malloc(n);
    snprintf(p, n, "/v1/apps/%s%s", e, rest);
    free(e);
    return p;
}

/* GET path into *out; prints and returns 1 on failure. */
static int get(struct jn_client *c, const char *path, cJSON **out)
{
    int st = jn_client_call(c, "GET", path, NULL, out);
    if (st < 0)
        return 1;
    if (st != 200) {
        jn_client_fail(st, *out);
        cJSON_Delete(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static char *dup_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && *v->valuestring ? jn_strdup(v->valuestring) : NULL;
}

/* A release's settings (its spec) into a. */
static void settings(struct jn_spec_app *a, const cJSON *s)
{
    a->workdir = dup_field(s, "workdir");
    a->health = dup_field(s, "health");
    int port = (int)jn_client_num(s, "port");
    a->port = port == 8080 ? 0 : port;
    int ht = (int)(jn_client_num(s, "health_timeout_ms") / 1000);
    a->health_timeout = ht == 30 ? 0 : ht;
    a->memory = (long long)jn_client_num(s, "memory");
}

static void env_keys(struct jn_spec_app *a, const cJSON *keys)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        if (cJSON_IsString(k))
            jn_spec_kvs_add(&a->env, k->valuestring, NULL, true);
    }
}

static int release(struct jn_client *c, struct jn_spec_app *a)
{
    char *path = app_path(a->name, "/releases");
    cJSON *o;
    int rc = get(c, path, &o);
    free(path);
    if (rc)
        return rc;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(o, "releases"))
    {
        if (strcmp(jn_client_str(r, "status"), "active") != 0)
            continue;
        a->serving = true;
        a->image = dup_field(r, "image");
        a->command = dup_field(r, "command");
        env_keys(a, cJSON_GetObjectItemCaseSensitive(r, "env_keys"));
        settings(a, cJSON_GetObjectItemCaseSensitive(r, "settings"));
        break;
    }
    cJSON_Delete(o);
    return 0;
}

static int scale(struct jn_client *c, struct jn_spec_app *a)
{
    char *path = app_path(a->name, "/autoscale");
    cJSON *o;
    int rc = get(c, path, &o);
    free(path);
    if (rc)
        return rc;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "fixed"))) {
        a->instances = (int)jn_client_num(o, "instances");
    } else {
        a->scale_min = (int)jn_client_num(o, "min");
        a->scale_max = (int)jn_client_num(o, "max");
        a->idle_ms = (long long)jn_client_num(o, "idle_ms");
        a->concurrency = (int)jn_client_num(o, "concurrency");
    }
    cJSON_Delete(o);
    return 0;
}

static int https(struct jn_client *c, struct jn_spec_app *a)
{
    char *path = app_path(a->name, "/https");
    cJSON *o;
    int rc = get(c, path, &o);
    free(path);
    if (rc)
        return rc;
    a->https = dup_field(o, "https");
    cJSON_Delete(o);
    return 0;
}

/* The names in the app's config (jern config): part of its env too. */
static int config(struct jn_client *c, struct jn_spec_app *a)
{
    char *path = app_path(a->name, "/config");
    cJSON *o;
    int rc = get(c, path, &o);
    free(path);
    if (rc)
        return rc;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "vars"))
    {
        const char *name = jn_client_str(x, "name");
        if (!*name)
            continue;
        jn_spec_list_add(&a->config_keys, name);
        if (!jn_spec_kvs_find(&a->env, name))
            jn_spec_kvs_add(&a->env, name, NULL, true);
    }
    cJSON_Delete(o);
    return 0;
}

static void labels_into(struct jn_spec_kvs *kv, const cJSON *labels)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, labels)
    {
        if (cJSON_IsString(x))
            jn_spec_kvs_add(kv, x->string, x->valuestring, false);
    }
}

/* A cluster node: the app as the cluster holds it (release, instances,
 * placement) replaces what this node's store says, since a node has a
 * serving release only where the scheduler placed instances. */
static int cluster_app(struct jn_client *c, struct jn_spec_app *a)
{
    char *path = app_path(a->name, "/cluster");
    cJSON *o = NULL;
    int st = jn_client_call(c, "GET", path, NULL, &o);
    free(path);
    if (st < 0)
        return 1;
    if (st != 200) {
        int rc = st == 404 ? 0 : jn_client_fail(st, o); /* 404: only this node has it */
        cJSON_Delete(o);
        return rc;
    }
    labels_into(&a->require, cJSON_GetObjectItemCaseSensitive(o, "require"));
    labels_into(&a->prefer, cJSON_GetObjectItemCaseSensitive(o, "prefer"));
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
    if (cJSON_IsObject(spec)) {
        char **own[] = {&a->image, &a->command, &a->workdir, &a->health};
        for (size_t i = 0; i < JN_ARRAY_LEN(own); i++) {
            free(*own[i]);
            *own[i] = NULL;
        }
        jn_spec_kvs_free(&a->env);
        a->serving = true;
        a->image = dup_field(o, "image");
        a->command = dup_field(o, "command");
        settings(a, spec);
        env_keys(a, cJSON_GetObjectItemCaseSensitive(o, "env_keys"));
        a->instances = (int)jn_client_num(o, "instances");
        a->scale_min = a->scale_max = a->concurrency = -1;
        a->idle_ms = -1;
    }
    cJSON_Delete(o);
    return 0;
}

/* A cluster node's live nodes and their labels; a single node has none. */
static int nodes(struct jn_client *c, struct jn_spec *live)
{
    cJSON *o;
    int st = jn_client_call(c, "GET", "/v1/nodes", NULL, &o);
    if (st < 0)
        return 1;
    if (st == 409) { /* a single node */
        cJSON_Delete(o);
        return 0;
    }
    if (st != 200) {
        int rc = jn_client_fail(st, o);
        cJSON_Delete(o);
        return rc;
    }
    live->clustered = true;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "nodes"))
    {
        struct jn_spec_node *n = jn_spec_node_add(live, jn_client_str(x, "name"));
        labels_into(&n->labels, cJSON_GetObjectItemCaseSensitive(x, "labels"));
    }
    cJSON_Delete(o);
    return 0;
}

static int env_diff(struct jn_client *c, struct jn_spec_app *a, const struct jn_spec_app *w)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *env = cJSON_AddObjectToObject(b, "env");
    for (size_t i = 0; i < w->env.n; i++)
        cJSON_AddStringToObject(env, w->env.v[i].key, w->env.v[i].value);
    char *path = app_path(a->name, "/env-diff");
    cJSON *o = NULL;
    int rc = jn_client_call(c, "POST", path, b, &o);
    free(path);
    cJSON_Delete(b);
    if (rc < 0)
        return 1;
    if (rc != 200) {
        jn_client_fail(rc, o);
        cJSON_Delete(o);
        return 1;
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(o, "changed"))
    {
        if (cJSON_IsString(k))
            jn_spec_list_add(&a->env_diff, k->valuestring);
    }
    cJSON_Delete(o);
    return 0;
}

static int apps(struct jn_client *c, const struct jn_spec *want, struct jn_spec *live)
{
    cJSON *o;
    if (get(c, "/v1/apps", &o))
        return 1;
    const cJSON *x;
    int rc = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "apps"))
    {
        struct jn_spec_app *a = jn_spec_app_add(live, jn_client_str(x, "name"));
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(x, "domains"))
        {
            if (cJSON_IsString(d))
                jn_spec_list_add(&a->domains, d->valuestring);
        }
        const struct jn_spec_app *w = want ? jn_spec_app_find(want, a->name) : NULL;
        if ((rc = release(c, a)) || (rc = scale(c, a)) || (rc = https(c, a)) ||
            (live->clustered ? (rc = cluster_app(c, a)) : (rc = config(c, a))) ||
            (w && a->serving && w->env.n && (rc = env_diff(c, a, w))))
            break;
    }
    cJSON_Delete(o);
    return rc;
}

static int databases(struct jn_client *c, const struct jn_spec *want, struct jn_spec *live)
{
    cJSON *o;
    int st = jn_client_call(c, "GET", "/v1/databases", NULL, &o);
    if (st < 0)
        return 1;
    if (st != 200) {
        /* A daemon without managed databases: fine unless the file has some. */
        int rc = want && want->ndbs ? jn_client_fail(st, o) : 0;
        cJSON_Delete(o);
        return rc;
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "databases"))
    {
        struct jn_spec_db *d = jn_spec_db_add(live, jn_client_str(x, "name"));
        d->memory_mb = (long long)jn_client_num(x, "memory_mb");
        d->dedicated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "dedicated"));
        d->port = (int)jn_client_num(x, "port");
        const char *img = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "image"));
        if (img && *img)
            d->image = jn_strdup(img);
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(x, "apps"))
        {
            if (cJSON_IsString(a))
                jn_spec_list_add(&d->attach, a->valuestring);
        }
    }
    cJSON_Delete(o);
    return 0;
}

static int upstreams(struct jn_client *c, struct jn_spec *live)
{
    cJSON *o;
    if (get(c, "/v1/upstreams", &o))
        return 1;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "upstreams"))
    {
        if (strcmp(jn_client_str(x, "kind"), "config") != 0)
            continue; /* an app's upstream is the app's instances */
        struct jn_spec_upstream *u = jn_spec_upstream_add(live, jn_client_str(x, "name"));
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(x, "servers"))
        {
            u->servers = jn_realloc(u->servers, (u->nservers + 1) * sizeof(*u->servers));
            struct jn_spec_server *v = &u->servers[u->nservers++];
            v->addr = jn_strdup(jn_client_str(s, "addr"));
            v->weight = (int)jn_client_num(s, "weight");
            v->state = jn_strdup(*jn_client_str(s, "state") ? jn_client_str(s, "state") : "ready");
        }
    }
    cJSON_Delete(o);
    return 0;
}

int jn_cli_live_fetch(struct jn_client *c, const struct jn_spec *want, struct jn_spec *live)
{
    memset(live, 0, sizeof(*live));
    if (nodes(c, live) || apps(c, want, live) || databases(c, want, live) || upstreams(c, live))
        return 1;
    return 0;
}
