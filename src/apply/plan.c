/* plan.c: the difference of two models (plan.h). */
#include "core/common.h"

#include "apply/plan.h"

#include <stdarg.h>

static void change_free(struct jn_plan_change *c)
{
    free(c->name);
    struct jn_spec_list *ls[] = {&c->lines,   &c->dom_add, &c->dom_del, &c->attach, &c->detach,
                                 &c->srv_add, &c->srv_set, &c->srv_del, &c->unset};
    for (size_t k = 0; k < JN_ARRAY_LEN(ls); k++) {
        for (size_t j = 0; j < ls[k]->n; j++)
            free(ls[k]->v[j]);
        free(ls[k]->v);
    }
}

/* Removes the newest change: it turned out to change nothing. */
static void drop_last(struct jn_plan *p)
{
    change_free(&p->v[--p->n]);
}

static struct jn_plan_change *change(struct jn_plan *p, enum jn_plan_op op, const char *kind,
                                     const char *name)
{
    p->v = jn_realloc(p->v, (p->n + 1) * sizeof(*p->v));
    struct jn_plan_change *c = &p->v[p->n++];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->kind = kind;
    c->name = jn_strdup(name);
    return c;
}

static void line(struct jn_plan_change *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line(struct jn_plan_change *c, const char *fmt, ...)
{
    char s[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof(s), fmt, ap);
    va_end(ap);
    jn_spec_list_add(&c->lines, s);
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "\"text\"" or "(none)", for a line; long values are cut. */
static const char *show(const char *s, char *buf, size_t len)
{
    if (!s)
        return "(none)";
    snprintf(buf, len, "\"%.200s%s\"", s, strlen(s) > 200 ? "..." : "");
    return buf;
}

static void str_field(struct jn_plan_change *c, const char *name, const char *want,
                      const char *live, bool *flag)
{
    if (same(want, live))
        return;
    char a[256], b[256];
    if (c->op == JN_PLAN_CREATE)
        line(c, "%s: %s", name, show(want, a, sizeof(a)));
    else
        line(c, "%s: %s -> %s", name, show(live, a, sizeof(a)), show(want, b, sizeof(b)));
    *flag = true;
}

static void int_field(struct jn_plan_change *c, const char *name, long long want, long long live,
                      bool *flag)
{
    if (want == live)
        return;
    if (c->op == JN_PLAN_CREATE)
        line(c, "%s: %lld", name, want);
    else
        line(c, "%s: %lld -> %lld", name, live, want);
    *flag = true;
}

static const char *env_shown(const struct jn_spec_kv *e, char *buf, size_t len)
{
    return e->secret || !e->value ? "(secret)" : show(e->value, buf, len);
}

/* The file's env is the app's config (jern config), so a later plain `jern
 * deploy` keeps it; a change is recorded there and carried by a new release.
 * On a cluster the env travels with the cluster's release instead. */
static void app_env(struct jn_plan_change *c, const struct jn_spec_app *w,
                    const struct jn_spec_app *l, bool clustered)
{
    char buf[256];
    bool changed = false;
    for (size_t i = 0; i < w->env.n; i++) {
        const struct jn_spec_kv *e = &w->env.v[i];
        if (!l || !jn_spec_kvs_find(&l->env, e->key)) {
            line(c, "env.%s: %s", e->key, env_shown(e, buf, sizeof(buf)));
            changed = true;
        } else if (jn_spec_list_has(&l->env_diff, e->key)) {
            /* The old value never leaves the daemon: only that it differs. */
            line(c, "env.%s: (changed) -> %s", e->key, env_shown(e, buf, sizeof(buf)));
            changed = true;
        } else if (!clustered && !jn_spec_list_has(&l->config_keys, e->key)) {
            /* the same value, given with a deploy's --env only: into the config */
            line(c, "env.%s: into the app's config (a later jern deploy keeps it)", e->key);
            c->config = true;
        }
    }
    for (size_t i = 0; l && i < l->env.n; i++)
        if (!jn_spec_kvs_find(&w->env, l->env.v[i].key)) {
            line(c, "env.%s: removed", l->env.v[i].key);
            changed = true;
            if (!clustered && jn_spec_list_has(&l->config_keys, l->env.v[i].key))
                jn_spec_list_add(&c->unset, l->env.v[i].key);
        }
    c->deploy |= changed;
    c->config |= changed && !clustered;
    c->env_in_deploy = clustered;
}

/* "k=v, k2=v2", or "(none)". */
static const char *kvs_text(const struct jn_spec_kvs *kv, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < kv->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i ? ", " : "", kv->v[i].key,
                                kv->v[i].value ? kv->v[i].value : "");
    return kv->n ? buf : "(none)";
}

static bool kvs_same(const struct jn_spec_kvs *a, const struct jn_spec_kvs *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct jn_spec_kv *o = jn_spec_kvs_find(b, a->v[i].key);
        if (!o || !same(o->value, a->v[i].value))
            return false;
    }
    return true;
}

/* require/prefer: the file is the truth for the apps it lists. */
static void app_placement(struct jn_plan_change *c, const struct jn_spec_app *w,
                          const struct jn_spec_app *l, bool clustered)
{
    if (!clustered) {
        if (w->require.n || w->prefer.n)
            jn_spec_list_add(&c->lines, "placement (require/prefer): recorded; it takes effect "
                                        "with a cluster");
        return;
    }
    static const struct jn_spec_kvs none;
    const struct jn_spec_kvs *have[] = {l ? &l->require : &none, l ? &l->prefer : &none};
    const struct jn_spec_kvs *want[] = {&w->require, &w->prefer};
    static const char *const names[] = {"require", "prefer"};
    char a[512], b[512];
    for (int i = 0; i < 2; i++) {
        if (kvs_same(want[i], have[i]))
            continue;
        if (c->op == JN_PLAN_CREATE)
            line(c, "%s: %s", names[i], kvs_text(want[i], b, sizeof(b)));
        else
            line(c, "%s: %s -> %s", names[i], kvs_text(have[i], a, sizeof(a)),
                 kvs_text(want[i], b, sizeof(b)));
        c->placement = true;
    }
}

/* A node's labels (given in the file): set through the API on a live node. */
static void node_diff(struct jn_plan *p, const struct jn_spec_node *w, const struct jn_spec *live)
{
    if (!w->labels_given)
        return;
    const struct jn_spec_node *l = jn_spec_node_find(live, w->name);
    if (!live->clustered || !l) {
        struct jn_plan_change *n = change(p, JN_PLAN_NOTE, "node", w->name);
        if (!live->clustered)
            line(n, "labels: the daemon is a single node (a cluster node applies them: jern "
                    "serve --cluster URL)");
        else
            line(n,
                 "not a live node of the cluster: join it with jern node add %s --cluster "
                 "URL, then apply sets its labels",
                 w->ssh ? w->ssh : "ssh://USER@HOST");
        p->notes++;
        return;
    }
    struct jn_plan_change *c = change(p, JN_PLAN_UPDATE, "node", w->name);
    c->node = w;
    char a[256], b[256];
    for (size_t i = 0; i < w->labels.n; i++) {
        const struct jn_spec_kv *e = &w->labels.v[i], *h = jn_spec_kvs_find(&l->labels, e->key);
        if (!h)
            line(c, "labels.%s: + %s", e->key, show(e->value, b, sizeof(b)));
        else if (!same(h->value, e->value))
            line(c, "labels.%s: %s -> %s", e->key, show(h->value, a, sizeof(a)),
                 show(e->value, b, sizeof(b)));
    }
    for (size_t i = 0; i < l->labels.n; i++)
        if (!jn_spec_kvs_find(&w->labels, l->labels.v[i].key))
            line(c, "labels.%s: removed", l->labels.v[i].key);
    if (!c->lines.n) {
        drop_last(p);
        return;
    }
    c->labels = true;
    p->updates++;
}

static void app_diff(struct jn_plan *p, const struct jn_spec_app *w, const struct jn_spec_app *l,
                     bool clustered)
{
    struct jn_plan_change *c = change(p, l ? JN_PLAN_UPDATE : JN_PLAN_CREATE, "app", w->name);
    c->app = w;
    c->create_app = !l;
    static const struct jn_spec_app none = {.instances = -1, .scale_min = -1, .scale_max = -1};
    const struct jn_spec_app *o = l ? l : &none;
    if (l && !l->serving) {
        line(c, "release: none serving -> a new one");
        c->deploy = true;
    }
    str_field(c, "image", w->image, o->image, &c->deploy);
    str_field(c, "command", w->command, o->command, &c->deploy);
    str_field(c, "workdir", w->workdir, o->workdir, &c->deploy);
    int_field(c, "port", w->port ? w->port : 8080, l ? (o->port ? o->port : 8080) : 0, &c->deploy);
    str_field(c, "health", w->health, o->health, &c->deploy);
    int_field(c, "health_timeout", w->health_timeout ? w->health_timeout : 30,
              l ? (o->health_timeout ? o->health_timeout : 30) : 0, &c->deploy);
    int_field(c, "memory", w->memory, o->memory, &c->deploy);
    app_env(c, w, l, clustered);
    if (w->instances >= 0) {
        /* A live app that autoscales has no fixed count: changing to one. */
        long long have = o->scale_min >= 0 ? -1 : o->instances;
        if (have < 0 && l && o->scale_min >= 0)
            line(c, "instances: autoscale %d-%d -> %d", o->scale_min, o->scale_max, w->instances);
        else
            int_field(c, "instances", w->instances, l ? have : 0, &c->scale);
        c->scale |= have != w->instances;
    }
    if (w->scale_min >= 0) {
        bool diff = w->scale_min != o->scale_min || w->scale_max != o->scale_max ||
                    (w->idle_ms >= 0 && w->idle_ms != o->idle_ms) ||
                    (w->concurrency >= 0 && w->concurrency != o->concurrency);
        if (diff && o->scale_min >= 0)
            line(c, "scale: min %d max %d -> min %d max %d%s", o->scale_min, o->scale_max,
                 w->scale_min, w->scale_max,
                 w->idle_ms != o->idle_ms || w->concurrency != o->concurrency
                     ? " (idle, concurrency)"
                     : "");
        else if (diff)
            line(c, "scale: %s-> min %d max %d", l ? "fixed " : "", w->scale_min, w->scale_max);
        c->autoscale = diff;
    }
    for (size_t i = 0; i < w->domains.n; i++)
        if (!jn_spec_list_has(&o->domains, w->domains.v[i])) {
            line(c, "domains: + %s", w->domains.v[i]);
            jn_spec_list_add(&c->dom_add, w->domains.v[i]);
        }
    for (size_t i = 0; i < o->domains.n; i++)
        if (!jn_spec_list_has(&w->domains, o->domains.v[i])) {
            line(c, "domains: - %s", o->domains.v[i]);
            jn_spec_list_add(&c->dom_del, o->domains.v[i]);
        }
    if (w->https) {
        const char *have = o->https ? o->https : "off";
        if (l ? strcmp(w->https, have) != 0 : strcmp(w->https, "off") != 0) {
            str_field(c, "https", w->https, l ? have : NULL, &c->https);
        }
    }
    app_placement(c, w, l, clustered);
    bool any = c->deploy || c->scale || c->autoscale || c->https || c->dom_add.n || c->dom_del.n ||
               c->create_app || c->placement || c->config;
    if (!any) {
        drop_last(p);
        return;
    }
    if (l)
        p->updates++;
    else
        p->creates++;
}

static void db_diff(struct jn_plan *p, const struct jn_spec_db *w, const struct jn_spec_db *l,
                    bool prune)
{
    struct jn_plan_change *c = change(p, l ? JN_PLAN_UPDATE : JN_PLAN_CREATE, "database", w->name);
    c->db = w;
    struct jn_spec_list notes = {0};
    char note[512];
    bool any = !l;
    long long mem = w->memory_mb ? w->memory_mb : 1024;
    if (!l) {
        line(c, "memory: %lldM", mem);
        if (w->dedicated)
            line(c, "dedicated: true");
        if (w->port)
            line(c, "port: %d", w->port);
        if (w->image)
            line(c, "image: \"%s\"", w->image);
    } else if (mem != l->memory_mb || w->dedicated != l->dedicated ||
               (w->port && w->port != l->port)) {
        snprintf(note, sizeof(note),
                 "memory %lldM dedicated %s port %d -> memory %lldM dedicated %s port %d: not "
                 "changed in place (a new database and a restore of a backup do it)",
                 l->memory_mb, l->dedicated ? "true" : "false", l->port, mem,
                 w->dedicated ? "true" : "false", w->port ? w->port : l->port);
        jn_spec_list_add(&notes, note);
    }
    if (l && strcmp(w->image ? w->image : "", l->image ? l->image : "") != 0) {
        snprintf(note, sizeof(note),
                 "image \"%.200s\" -> \"%.200s\": not changed in place (a new database and a "
                 "restore of a backup do it)",
                 l->image ? l->image : "", w->image ? w->image : "");
        jn_spec_list_add(&notes, note);
    }
    for (size_t i = 0; i < w->attach.n; i++)
        if (!l || !jn_spec_list_has(&l->attach, w->attach.v[i])) {
            line(c, "attach: + %s", w->attach.v[i]);
            jn_spec_list_add(&c->attach, w->attach.v[i]);
            any = true;
        }
    for (size_t i = 0; l && i < l->attach.n; i++) {
        if (jn_spec_list_has(&w->attach, l->attach.v[i]))
            continue;
        if (prune) {
            line(c, "attach: - %s", l->attach.v[i]);
            jn_spec_list_add(&c->detach, l->attach.v[i]);
            any = true;
        } else {
            snprintf(note, sizeof(note),
                     "attached to app %s, which the file does not list (jern apply --prune "
                     "detaches it)",
                     l->attach.v[i]);
            jn_spec_list_add(&notes, note);
        }
    }
    if (!any)
        drop_last(p);
    else if (l)
        p->updates++;
    else
        p->creates++;
    for (size_t i = 0; i < notes.n; i++) {
        struct jn_plan_change *n = change(p, JN_PLAN_NOTE, "database", w->name);
        jn_spec_list_add(&n->lines, notes.v[i]);
        free(notes.v[i]);
        p->notes++;
    }
    free(notes.v);
}

static const struct jn_spec_server *server_find(const struct jn_spec_upstream *u, const char *a)
{
    for (size_t i = 0; i < u->nservers; i++)
        if (strcmp(u->servers[i].addr, a) == 0)
            return &u->servers[i];
    return NULL;
}

static void up_diff(struct jn_plan *p, const struct jn_spec_upstream *w,
                    const struct jn_spec_upstream *l, bool prune)
{
    if (!l) {
        struct jn_plan_change *n = change(p, JN_PLAN_NOTE, "upstream", w->name);
        line(n, "not in the daemon's configuration: declare it in an upstream block of the "
                "config file (jern serve -c), then apply sets its servers");
        p->notes++;
        return;
    }
    struct jn_plan_change *c = change(p, JN_PLAN_UPDATE, "upstream", w->name);
    c->up = w;
    for (size_t i = 0; i < w->nservers; i++) {
        const struct jn_spec_server *s = &w->servers[i], *h = server_find(l, s->addr);
        int ww = s->weight ? s->weight : 1;
        const char *ws = s->state ? s->state : "ready";
        if (!h) {
            line(c, "server + %s (weight %d, %s)", s->addr, ww, ws);
            jn_spec_list_add(&c->srv_add, s->addr);
            continue;
        }
        int hw = h->weight ? h->weight : 1;
        const char *hs = h->state ? h->state : "ready";
        if (hw != ww || strcmp(hs, ws) != 0) {
            line(c, "server ~ %s: weight %d %s -> weight %d %s", s->addr, hw, hs, ww, ws);
            jn_spec_list_add(&c->srv_set, s->addr);
        }
    }
    for (size_t i = 0; i < l->nservers; i++)
        if (!server_find(w, l->servers[i].addr)) {
            if (prune) {
                line(c, "server - %s", l->servers[i].addr);
                jn_spec_list_add(&c->srv_del, l->servers[i].addr);
            } else {
                line(c, "server %s is not in the file: kept (--prune removes it)",
                     l->servers[i].addr);
            }
        }
    if (c->srv_add.n || c->srv_set.n || c->srv_del.n) {
        p->updates++;
        return;
    }
    if (c->lines.n) { /* only kept servers: a note */
        c->op = JN_PLAN_NOTE;
        p->notes++;
        return;
    }
    drop_last(p);
}

void jn_plan_make(const struct jn_spec *want, const struct jn_spec *live, bool prune,
                  struct jn_plan *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < want->nnodes; i++)
        node_diff(out, &want->nodes[i], live);
    for (size_t i = 0; i < want->napps; i++)
        app_diff(out, &want->apps[i], jn_spec_app_find(live, want->apps[i].name), live->clustered);
    for (size_t i = 0; i < want->ndbs; i++)
        db_diff(out, &want->dbs[i], jn_spec_db_find(live, want->dbs[i].name), prune);
    for (size_t i = 0; i < want->nupstreams; i++)
        up_diff(out, &want->upstreams[i], jn_spec_upstream_find(live, want->upstreams[i].name),
                prune);
    /* Deletes last: databases before the apps they are attached to. */
    for (size_t i = 0; i < live->ndbs; i++) {
        if (jn_spec_db_find(want, live->dbs[i].name))
            continue;
        struct jn_plan_change *c =
            change(out, prune ? JN_PLAN_DELETE : JN_PLAN_NOTE, "database", live->dbs[i].name);
        if (prune) {
            line(c, "not in the file: destroyed (a final backup is kept)");
            c->remove = true;
            out->deletes++;
        } else {
            line(c, "not in the file: kept (jern apply --prune destroys it)");
            out->notes++;
        }
    }
    for (size_t i = 0; i < live->napps; i++) {
        if (jn_spec_app_find(want, live->apps[i].name))
            continue;
        struct jn_plan_change *c =
            change(out, prune ? JN_PLAN_DELETE : JN_PLAN_NOTE, "app", live->apps[i].name);
        if (prune) {
            line(c, "not in the file: destroyed with its instances and domains");
            c->remove = true;
            out->deletes++;
        } else {
            line(c, "not in the file: kept (jern apply --prune destroys it)");
            out->notes++;
        }
    }
}

bool jn_plan_changes(const struct jn_plan *p)
{
    return p->creates + p->updates + p->deletes > 0;
}

void jn_plan_print(const struct jn_plan *p, struct jn_buf *b)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct jn_plan_change *c = &p->v[i];
        const char *verb = c->op == JN_PLAN_CREATE   ? "create"
                           : c->op == JN_PLAN_UPDATE ? "update"
                           : c->op == JN_PLAN_DELETE ? "delete"
                                                     : "note";
        jn_buf_printf(b, "%c %s %s (%s)\n", (char)c->op, c->kind, c->name, verb);
        for (size_t j = 0; j < c->lines.n; j++)
            jn_buf_printf(b, "    %s\n", c->lines.v[j]);
    }
    if (!jn_plan_changes(p))
        jn_buf_puts(b, "No changes: the daemon matches the file.\n");
    else
        jn_buf_printf(b, "Plan: %d to create, %d to update, %d to delete.\n", p->creates,
                      p->updates, p->deletes);
}

void jn_plan_free(struct jn_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        change_free(&p->v[i]);
    free(p->v);
    memset(p, 0, sizeof(*p));
}
