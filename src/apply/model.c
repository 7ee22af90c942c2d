/* model.c: building, finding and freeing the plan model (spec.h). */
#include "core/common.h"

#include "apply/spec.h"

#define GROW(arr, n) ((arr) = jn_realloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

void jn_spec_list_add(struct jn_spec_list *l, const char *s)
{
    *GROW(l->v, l->n) = jn_strdup(s);
}

void jn_spec_kvs_add(struct jn_spec_kvs *kv, const char *key, const char *value, bool secret)
{
    struct jn_spec_kv *e = GROW(kv->v, kv->n);
    memset(e, 0, sizeof(*e));
    e->key = jn_strdup(key);
    e->value = value ? jn_strdup(value) : NULL;
    e->secret = secret;
}

struct jn_spec_app *jn_spec_app_add(struct jn_spec *spec, const char *name)
{
    struct jn_spec_app *a = GROW(spec->apps, spec->napps);
    memset(a, 0, sizeof(*a));
    a->name = jn_strdup(name);
    a->instances = a->scale_min = a->scale_max = a->concurrency = -1;
    a->idle_ms = -1;
    return a;
}

struct jn_spec_db *jn_spec_db_add(struct jn_spec *spec, const char *name)
{
    struct jn_spec_db *d = GROW(spec->dbs, spec->ndbs);
    memset(d, 0, sizeof(*d));
    d->name = jn_strdup(name);
    return d;
}

struct jn_spec_upstream *jn_spec_upstream_add(struct jn_spec *spec, const char *name)
{
    struct jn_spec_upstream *u = GROW(spec->upstreams, spec->nupstreams);
    memset(u, 0, sizeof(*u));
    u->name = jn_strdup(name);
    return u;
}

struct jn_spec_node *jn_spec_node_add(struct jn_spec *spec, const char *name)
{
    struct jn_spec_node *n = GROW(spec->nodes, spec->nnodes);
    memset(n, 0, sizeof(*n));
    n->name = jn_strdup(name);
    return n;
}

const struct jn_spec_node *jn_spec_node_find(const struct jn_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->nnodes; i++)
        if (strcmp(spec->nodes[i].name, name) == 0)
            return &spec->nodes[i];
    return NULL;
}

const struct jn_spec_app *jn_spec_app_find(const struct jn_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->napps; i++)
        if (strcmp(spec->apps[i].name, name) == 0)
            return &spec->apps[i];
    return NULL;
}

const struct jn_spec_db *jn_spec_db_find(const struct jn_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->ndbs; i++)
        if (strcmp(spec->dbs[i].name, name) == 0)
            return &spec->dbs[i];
    return NULL;
}

const struct jn_spec_upstream *jn_spec_upstream_find(const struct jn_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->nupstreams; i++)
        if (strcmp(spec->upstreams[i].name, name) == 0)
            return &spec->upstreams[i];
    return NULL;
}

const struct jn_spec_kv *jn_spec_kvs_find(const struct jn_spec_kvs *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++)
        if (strcmp(kv->v[i].key, key) == 0)
            return &kv->v[i];
    return NULL;
}

bool jn_spec_list_has(const struct jn_spec_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static void list_free(struct jn_spec_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void jn_spec_kvs_free(struct jn_spec_kvs *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->v[i].key);
        free(kv->v[i].value);
    }
    free(kv->v);
    memset(kv, 0, sizeof(*kv));
}

void jn_spec_free(struct jn_spec *spec)
{
    for (size_t i = 0; i < spec->napps; i++) {
        struct jn_spec_app *a = &spec->apps[i];
        free(a->name);
        free(a->image);
        free(a->command);
        free(a->workdir);
        free(a->health);
        free(a->https);
        jn_spec_kvs_free(&a->env);
        jn_spec_kvs_free(&a->require);
        jn_spec_kvs_free(&a->prefer);
        list_free(&a->domains);
        list_free(&a->env_diff);
        list_free(&a->config_keys);
    }
    for (size_t i = 0; i < spec->ndbs; i++) {
        free(spec->dbs[i].name);
        free(spec->dbs[i].image);
        list_free(&spec->dbs[i].attach);
    }
    for (size_t i = 0; i < spec->nupstreams; i++) {
        struct jn_spec_upstream *u = &spec->upstreams[i];
        for (size_t j = 0; j < u->nservers; j++) {
            free(u->servers[j].addr);
            free(u->servers[j].state);
        }
        free(u->servers);
        free(u->name);
    }
    for (size_t i = 0; i < spec->nnodes; i++) {
        free(spec->nodes[i].name);
        free(spec->nodes[i].ssh);
        jn_spec_kvs_free(&spec->nodes[i].labels);
    }
    free(spec->apps);
    free(spec->dbs);
    free(spec->upstreams);
    free(spec->nodes);
    memset(spec, 0, sizeof(*spec));
}
