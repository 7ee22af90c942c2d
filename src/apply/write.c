/*
 * write.c: the plan model -> jern.yaml text (`jern export`), and the env
 * file reader (`--env-file`). Strings are written double-quoted with JSON's
 * escapes, which YAML reads the same, so any value survives the round trip.
 */
#include "core/common.h"

#include "apply/spec.h"

static void quoted(struct jn_buf *b, const char *s)
{
    jn_buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jn_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            jn_buf_puts(b, "\\n");
        else if (c == '\t')
            jn_buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            jn_buf_printf(b, "\\x%02x", c);
        else
            jn_buf_append(b, s, 1);
    }
    jn_buf_puts(b, "\"");
}

static void line_str(struct jn_buf *b, const char *indent, const char *key, const char *v)
{
    if (!v)
        return;
    jn_buf_printf(b, "%s%s: ", indent, key);
    quoted(b, v);
    jn_buf_puts(b, "\n");
}

static void list(struct jn_buf *b, const char *indent, const char *key,
                 const struct jn_spec_list *l)
{
    if (!l->n)
        return;
    jn_buf_printf(b, "%s%s:\n", indent, key);
    for (size_t i = 0; i < l->n; i++) {
        jn_buf_printf(b, "%s  - ", indent);
        quoted(b, l->v[i]);
        jn_buf_puts(b, "\n");
    }
}

static void kvs(struct jn_buf *b, const char *indent, const char *key, const struct jn_spec_kvs *kv,
                bool env)
{
    if (!kv->n)
        return;
    jn_buf_printf(b, "%s%s:\n", indent, key);
    for (size_t i = 0; i < kv->n; i++) {
        const struct jn_spec_kv *e = &kv->v[i];
        jn_buf_printf(b, "%s  %s: ", indent, e->key);
        if (env && (e->secret || !e->value)) {
            jn_buf_printf(b, "\"${%s}\"\n", e->key);
            continue;
        }
        if (env) {
            /* A literal $ must not read as a variable on the way back. */
            struct jn_buf t;
            jn_buf_init(&t, 1 << 20);
            for (const char *p = e->value; *p; p++)
                jn_buf_append(&t, *p == '$' ? "$$" : p, *p == '$' ? 2 : 1);
            quoted(b, jn_buf_cstr(&t));
            jn_buf_free(&t);
        } else {
            quoted(b, e->value ? e->value : "");
        }
        jn_buf_puts(b, "\n");
    }
}

static void app(struct jn_buf *b, const struct jn_spec_app *a)
{
    jn_buf_printf(b, "  %s:\n", a->name);
    line_str(b, "    ", "image", a->image);
    line_str(b, "    ", "command", a->command);
    line_str(b, "    ", "workdir", a->workdir);
    if (a->port)
        jn_buf_printf(b, "    port: %d\n", a->port);
    if (a->instances >= 0)
        jn_buf_printf(b, "    instances: %d\n", a->instances);
    if (a->scale_min >= 0) {
        jn_buf_printf(b, "    scale:\n      min: %d\n      max: %d\n", a->scale_min, a->scale_max);
        if (a->idle_ms >= 0)
            jn_buf_printf(b, "      idle: %lldms\n", a->idle_ms);
        if (a->concurrency >= 0)
            jn_buf_printf(b, "      concurrency: %d\n", a->concurrency);
    }
    line_str(b, "    ", "health", a->health);
    if (a->health_timeout)
        jn_buf_printf(b, "    health_timeout: %ds\n", a->health_timeout);
    if (a->memory)
        jn_buf_printf(b, "    memory: %lld\n", a->memory);
    kvs(b, "    ", "env", &a->env, true);
    list(b, "    ", "domains", &a->domains);
    line_str(b, "    ", "https", a->https);
    kvs(b, "    ", "require", &a->require, false);
    kvs(b, "    ", "prefer", &a->prefer, false);
}

int jn_spec_write(const struct jn_spec *spec, struct jn_buf *b)
{
    jn_buf_puts(b, "version: 1\n");
    if (spec->napps)
        jn_buf_puts(b, "apps:\n");
    for (size_t i = 0; i < spec->napps; i++)
        app(b, &spec->apps[i]);
    if (spec->ndbs)
        jn_buf_puts(b, "databases:\n");
    for (size_t i = 0; i < spec->ndbs; i++) {
        const struct jn_spec_db *d = &spec->dbs[i];
        jn_buf_printf(b, "  %s:\n", d->name);
        if (d->memory_mb)
            jn_buf_printf(b, "    memory: %lldM\n", d->memory_mb);
        jn_buf_printf(b, "    dedicated: %s\n", d->dedicated ? "true" : "false");
        if (d->port)
            jn_buf_printf(b, "    port: %d\n", d->port);
        line_str(b, "    ", "image", d->image);
        list(b, "    ", "attach", &d->attach);
    }
    if (spec->nupstreams)
        jn_buf_puts(b, "upstreams:\n");
    for (size_t i = 0; i < spec->nupstreams; i++) {
        const struct jn_spec_upstream *u = &spec->upstreams[i];
        jn_buf_printf(b, "  %s:\n    servers:\n", u->name);
        for (size_t j = 0; j < u->nservers; j++) {
            jn_buf_puts(b, "      - addr: ");
            quoted(b, u->servers[j].addr);
            jn_buf_puts(b, "\n");
            if (u->servers[j].weight)
                jn_buf_printf(b, "        weight: %d\n", u->servers[j].weight);
            if (u->servers[j].state)
                jn_buf_printf(b, "        state: %s\n", u->servers[j].state);
        }
    }
    if (spec->nnodes)
        jn_buf_puts(b, "nodes:\n");
    for (size_t i = 0; i < spec->nnodes; i++) {
        const struct jn_spec_node *n = &spec->nodes[i];
        jn_buf_printf(b, "  %s:\n", n->name);
        line_str(b, "    ", "ssh", n->ssh);
        kvs(b, "    ", "labels", &n->labels, false);
        if (!n->ssh && !n->labels.n)
            jn_buf_puts(b, "    labels: {}\n");
    }
    return b->max && b->len >= b->max ? JN_ETOOBIG : 0;
}

static bool envname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128 || (*s >= '0' && *s <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

int jn_spec_envfile_parse(const char *buf, size_t len, const char *file, struct jn_spec_kvs *out,
                          char *err, size_t errlen)
{
    size_t at = 0;
    for (int line = 1; at < len; line++) {
        const char *l = buf + at;
        const char *nl = memchr(l, '\n', len - at);
        size_t n = nl ? (size_t)(nl - l) : len - at;
        at += n + (nl != NULL);
        if (n && l[n - 1] == '\r')
            n--;
        while (n && (*l == ' ' || *l == '\t'))
            l++, n--;
        if (n == 0 || *l == '#')
            continue;
        if (n > 7 && memcmp(l, "export ", 7) == 0)
            l += 7, n -= 7;
        const char *eq = memchr(l, '=', n);
        if (!eq || !envname_ok(l, (size_t)(eq - l))) {
            snprintf(err, errlen, "%s:%d: expected NAME=VALUE (NAME: letters, digits and _)", file,
                     line);
            return JN_EBADINPUT;
        }
        const char *v = eq + 1;
        size_t vn = n - (size_t)(v - l);
        if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0])
            v++, vn -= 2;
        if (memchr(v, '\0', vn)) {
            snprintf(err, errlen, "%s:%d: the value contains a NUL character", file, line);
            return JN_EBADINPUT;
        }
        char *key = jn_strndup(l, (size_t)(eq - l)), *val = jn_strndup(v, vn);
        jn_spec_kvs_add(out, key, val, true);
        free(key);
        free(val);
    }
    return 0;
}
