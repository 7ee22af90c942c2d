/*
 * model.c: labels and the scheduler's placement (model.h). Pure.
 */
#include "core/common.h"

#include "control/cluster/model.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool label_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

bool jn_cluster_label_ok(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq && label_part_ok(kv, (size_t)(eq - kv)) && label_part_ok(eq + 1, strlen(eq + 1));
}

int jn_cluster_label_add(cJSON *labels, const char *kv)
{
    if (!jn_cluster_label_ok(kv))
        return JN_EBADINPUT;
    const char *eq = strchr(kv, '=');
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    cJSON_DeleteItemFromObjectCaseSensitive(labels, key);
    cJSON_AddStringToObject(labels, key, eq + 1);
    return 0;
}

bool jn_cluster_labels_match(const cJSON *labels, const cJSON *want)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, want)
    {
        const cJSON *have = cJSON_GetObjectItemCaseSensitive(labels, w->string);
        if (!cJSON_IsString(have) || !cJSON_IsString(w) ||
            strcmp(have->valuestring, w->valuestring) != 0)
            return false;
    }
    return true;
}

void jn_cluster_labels_text(const cJSON *labels, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *l;
    cJSON_ArrayForEach(l, labels)
    {
        if (!cJSON_IsString(l) || n >= len)
            continue;
        int w = snprintf(out + n, len - n, "%s%s=%s", n ? ", " : "", l->string, l->valuestring);
        if (w > 0)
            n += (size_t)w;
    }
}

static double num(const cJSON *o, const char *name, double def)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(x) ? x->valuedouble : def;
}

struct node {
    const char *name;
    const cJSON *v;
    double capacity, used;
    bool usable; /* not draining */
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

/* Is a better than b for the app's next instance? */
static bool better(const struct node *a, int ca, int cura, bool pa, const struct node *b, int cb,
                   int curb, bool pb)
{
    if (ca != cb)
        return ca < cb; /* spread */
    if (pa != pb)
        return pa; /* prefer labels */
    if ((cura > ca) != (curb > cb))
        return cura > ca; /* keep what runs */
    if (a->used != b->used)
        return a->used < b->used;
    return strcmp(a->name, b->name) < 0;
}

/* The memory an instance of app a counts for. */
static double app_memory(const cJSON *a)
{
    double mem = num(a, "memory", 0);
    return mem > 0 ? mem : (double)JN_CLUSTER_DEFAULT_MEMORY;
}

static cJSON *place(struct node *nodes, size_t nn, const char *app, const cJSON *a,
                    const cJSON *cur)
{
    int want = (int)num(a, "instances", 1);
    double mem = app_memory(a);
    const cJSON *require = cJSON_GetObjectItemCaseSensitive(a, "require");
    const cJSON *prefer = cJSON_GetObjectItemCaseSensitive(a, "prefer");
    const cJSON *was =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cur, app), "nodes");
    int *count = jn_calloc(nn ? nn : 1, sizeof(int));
    size_t eligible = 0;
    for (size_t i = 0; i < nn; i++)
        eligible += nodes[i].usable &&
                    jn_cluster_labels_match(cJSON_GetObjectItemCaseSensitive(nodes[i].v, "labels"),
                                            require);
    int placed = 0;
    for (; placed < want; placed++) {
        ssize_t best = -1;
        bool bestp = false;
        for (size_t i = 0; i < nn; i++) {
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(nodes[i].v, "labels");
            if (!nodes[i].usable || !jn_cluster_labels_match(labels, require) ||
                nodes[i].used + mem > nodes[i].capacity)
                continue;
            bool p = prefer && jn_cluster_labels_match(labels, prefer);
            int curi = (int)num(was, nodes[i].name, 0);
            if (best < 0 || better(&nodes[i], count[i], curi, p, &nodes[best], count[best],
                                   (int)num(was, nodes[best].name, 0), bestp)) {
                best = (ssize_t)i;
                bestp = p;
            }
        }
        if (best < 0)
            break;
        count[best]++;
        nodes[best].used += mem;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "version", num(a, "version", 0));
    cJSON *on = cJSON_AddObjectToObject(out, "nodes");
    for (size_t i = 0; i < nn; i++)
        if (count[i])
            cJSON_AddNumberToObject(on, nodes[i].name, count[i]);
    if (placed < want) {
        char req[512], msg[800];
        jn_cluster_labels_text(require, req, sizeof(req));
        if (!eligible)
            snprintf(msg, sizeof(msg),
                     "no live node has the labels app '%s' requires (%s); start or label a node "
                     "that has them (jern nodes shows the labels)",
                     app, req[0] ? req : "none");
        else
            snprintf(msg, sizeof(msg),
                     "only %d of %d instances of app '%s' fit: the nodes with its labels (%s) lack "
                     "memory; add nodes or lower its memory",
                     placed, want, app, req[0] ? req : "any");
        cJSON_AddStringToObject(out, "error", msg);
    }
    free(count);
    return out;
}

cJSON *jn_cluster_schedule(const cJSON *nodes, const cJSON *apps, const cJSON *cur)
{
    size_t nn = (size_t)cJSON_GetArraySize(nodes), k = 0;
    struct node *v = jn_calloc(nn ? nn : 1, sizeof(*v));
    const cJSON *x;
    cJSON_ArrayForEach(x, nodes)
    {
        v[k] = (struct node){x->string, x, num(x, "memory", 0), num(x, "db_memory", 0),
                             !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "draining"))};
        k++;
    }
    qsort(v, nn, sizeof(*v), by_name);
    /* apps in name order, so every scheduler decides the same */
    size_t na = (size_t)cJSON_GetArraySize(apps), m = 0;
    const cJSON **av = jn_calloc(na ? na : 1, sizeof(*av));
    cJSON_ArrayForEach(x, apps) av[m++] = x;
    for (size_t i = 1; i < na; i++)
        for (size_t j = i; j > 0 && strcmp(av[j - 1]->string, av[j]->string) > 0; j--) {
            const cJSON *t = av[j];
            av[j] = av[j - 1];
            av[j - 1] = t;
        }
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; i < na; i++) {
        if (num(av[i], "version", 0) <= 0)
            continue; /* placement set, nothing deployed yet */
        cJSON_AddItemToObject(out, av[i]->string, place(v, nn, av[i]->string, av[i], cur));
    }
    free(av);
    free(v);
    return out;
}

bool jn_cluster_has_string(const cJSON *arr, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) if (cJSON_IsString(x) && strcmp(x->valuestring, s) == 0) return true;
    return false;
}

cJSON *jn_cluster_data_dbs(const cJSON *list)
{
    cJSON *dbs = cJSON_CreateObject();
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(list, "databases"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
        const cJSON *nb = cJSON_GetObjectItemCaseSensitive(d, "backups");
        if (!cJSON_IsString(name))
            continue;
        cJSON *rec = cJSON_AddObjectToObject(dbs, name->valuestring);
        cJSON_AddItemToObject(rec, "apps",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "apps"), true));
        cJSON_AddNumberToObject(rec, "backups", cJSON_IsNumber(nb) ? nb->valueint : 0);
        const cJSON *also = cJSON_GetObjectItemCaseSensitive(d, "bind_also");
        cJSON_AddBoolToObject(rec, "remote", cJSON_IsString(also) && also->valuestring[0]);
        /* what a move makes on the node it goes to */
        cJSON_AddNumberToObject(
            rec, "memory_mb",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "memory_mb")));
        cJSON_AddBoolToObject(rec, "dedicated",
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "dedicated")));
        cJSON_AddNumberToObject(rec, "port",
                                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "port")));
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(d, "image");
        if (cJSON_IsString(image))
            cJSON_AddStringToObject(rec, "image", image->valuestring);
    }
    return dbs;
}

void jn_cluster_data_databases(const cJSON *dbs, const char *app,
                               void (*add)(void *arg, const char *kind, const char *where),
                               void *arg)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, dbs)
    {
        if (!jn_cluster_has_string(cJSON_GetObjectItemCaseSensitive(d, "apps"), app))
            continue;
        char at[300];
        snprintf(at, sizeof(at), "%s (STATE/db/%s)", d->string, d->string);
        add(arg, "database", at);
        const cJSON *nb = cJSON_GetObjectItemCaseSensitive(d, "backups");
        if (cJSON_IsNumber(nb) && nb->valueint > 0) {
            snprintf(at, sizeof(at), "%d of %s (STATE/db/%s/backups)", nb->valueint, d->string,
                     d->string);
            add(arg, "backups", at);
        }
    }
}

/* Whether every app of arr (names) may have its data on a node with labels. */
/* Whether labels hold the label set key ("require" or "prefer") of every
 * app named in arr. */
static bool holds_all_of(const cJSON *labels, const cJSON *arr, const cJSON *apps,
                         const char *key)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(apps, cJSON_IsString(a) ? a->valuestring : ""),
            key);
        if (!jn_cluster_labels_match(labels, cJSON_IsObject(want) ? want : NULL))
            return false;
    }
    return true;
}

static bool holds_all(const cJSON *labels, const cJSON *arr, const cJSON *apps)
{
    return holds_all_of(labels, arr, apps, "require");
}

const char *jn_cluster_db_target(const cJSON *nodes, const cJSON *apps, const cJSON *data,
                                 const cJSON *plan, const cJSON *attached, const char *skip,
                                 double bytes)
{
    const char *best = NULL;
    int best_n = 0;
    bool best_pref = false;
    const cJSON *t;
    cJSON_ArrayForEach(t, nodes)
    {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(t, "labels");
        if ((skip && strcmp(t->string, skip) == 0) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "draining")) ||
            !holds_all(labels, attached, apps) ||
            !jn_cluster_db_fits(nodes, t->string, apps, plan, data, bytes))
            continue;
        bool pref = holds_all_of(labels, attached, apps, "prefer");
        int cnt = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(data, t->string), "databases"));
        if (!best || (pref && !best_pref) ||
            (pref == best_pref &&
             (cnt < best_n || (cnt == best_n && strcmp(t->string, best) < 0)))) {
            best = t->string;
            best_n = cnt;
            best_pref = pref;
        }
    }
    return best;
}

const char *jn_cluster_db_node(const cJSON *data, const char *db)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, data)
    {
        if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "databases"), db))
            return n->string;
    }
    return NULL;
}

double jn_cluster_db_memory(const cJSON *rec)
{
    double sum = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(rec, "databases"))
        sum += num(d, "memory_mb", 0) * 1024 * 1024;
    return sum;
}

bool jn_cluster_db_fits(const cJSON *nodes, const char *node, const cJSON *apps,
                        const cJSON *plan, const cJSON *data, double bytes)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(nodes, node);
    double cap = num(n, "memory", 0);
    if (cap <= 0)
        return true; /* it says no memory: nothing to count against */
    double used = jn_cluster_db_memory(cJSON_GetObjectItemCaseSensitive(data, node));
    const cJSON *p;
    cJSON_ArrayForEach(p, plan)
        used += num(cJSON_GetObjectItemCaseSensitive(p, "nodes"), node, 0) *
                app_memory(cJSON_GetObjectItemCaseSensitive(apps, p->string));
    return used + bytes <= cap;
}

cJSON *jn_cluster_db_moves(const cJSON *nodes, const cJSON *apps, const cJSON *data,
                           const cJSON *moves, const cJSON *plan)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *n, *d;
    cJSON_ArrayForEach(n, data)
    {
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(nodes, n->string);
        if (!node)
            continue; /* away: its databases are not reachable to copy */
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(node, "labels");
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(n, "databases"))
        {
            const cJSON *attached = cJSON_GetObjectItemCaseSensitive(d, "apps");
            int holders = 0;
            const cJSON *o;
            cJSON_ArrayForEach(o, data) holders += cJSON_GetObjectItemCaseSensitive(
                                              cJSON_GetObjectItemCaseSensitive(o, "databases"),
                                              d->string) != NULL;
            bool outside = !holds_all(labels, attached, apps);
            bool drained = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "draining"));
            if (holders > 1 || /* a move ending: its records not all written yet */
                cJSON_GetObjectItemCaseSensitive(moves, d->string) ||
                cJSON_GetObjectItemCaseSensitive(out, d->string) ||
                !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "remote")) ||
                (!outside && !drained))
                continue;
            double bytes = num(d, "memory_mb", 0) * 1024 * 1024;
            const char *best =
                jn_cluster_db_target(nodes, apps, data, plan, attached, n->string, bytes);
            if (!best)
                continue; /* nowhere fits: it stays flagged (jern where) */
            cJSON *m = cJSON_AddObjectToObject(out, d->string);
            cJSON_AddStringToObject(m, "from", n->string);
            cJSON_AddStringToObject(m, "to", best);
            if (outside)
                cJSON_AddTrueToObject(m, "purge"); /* it must leave, backups too */
        }
    }
    return out;
}

cJSON *jn_cluster_db_move_new(const char *db, const char *from, const char *to,
                              const cJSON *dbrec, bool purge, int64_t now_ms)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "db", db);
    cJSON_AddStringToObject(m, "from", from);
    cJSON_AddStringToObject(m, "to", to);
    cJSON_AddStringToObject(m, "state", "prepare");
    cJSON_AddNumberToObject(
        m, "memory_mb", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(dbrec, "memory_mb")));
    cJSON_AddBoolToObject(m, "dedicated",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dbrec, "dedicated")));
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(dbrec, "image");
    if (cJSON_IsString(image))
        cJSON_AddStringToObject(m, "image", image->valuestring);
    if (purge)
        cJSON_AddTrueToObject(m, "purge");
    cJSON_AddNumberToObject(m, "at_ms", (double)now_ms);
    return m;
}
