/*
 * parse.c: jern.yaml -> the plan model (spec.h), with libyaml's document
 * loader. Every mapping is read through a table of its keys, so an unknown
 * key is named with its place and the nearest known one, as the nginx-syntax
 * config does (src/config/directives.c).
 */
#include "core/common.h"

#include "apply/spec.h"
#include "config/value.h"

#include <ctype.h>
#include <stdarg.h>
#include <yaml.h>

/* Nodes visited per parse: aliases may point many times at one big node
 * (the "billion laughs"); past this the file is refused. */
#define VISIT_BUDGET 200000

struct ctx {
    yaml_document_t *doc;
    const char *file;
    jn_spec_lookup lookup;
    void *arg;
    char *err;
    size_t errlen;
    long budget;
    struct jn_spec *spec;
};

static int fail(struct ctx *x, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *x, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(x->err, x->errlen, "%s:%zu:%zu: %s", x->file, n ? n->start_mark.line + 1 : 1,
             n ? n->start_mark.column + 1 : 1, msg);
    return JN_EBADINPUT;
}

static const char *kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a scalar";
}

static yaml_node_t *node(struct ctx *x, int id)
{
    if (--x->budget < 0)
        return NULL;
    return yaml_document_get_node(x->doc, id);
}

/* The scalar's text, or NULL after reporting that what must be one. */
static const char *scalar(struct ctx *x, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        fail(x, n, "%s must be a single value, not %s", what, kind_name(n));
        return NULL;
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        fail(x, n, "%s contains a NUL character", what);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* A non-empty string without control characters. */
static const char *text(struct ctx *x, const yaml_node_t *n, const char *what)
{
    const char *s = scalar(x, n, what);
    if (!s)
        return NULL;
    if (!*s) {
        fail(x, n, "%s must not be empty", what);
        return NULL;
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fail(x, n, "%s contains a control character", what);
            return NULL;
        }
    return s;
}

static int integer(struct ctx *x, const yaml_node_t *n, const char *what, long lo, long hi,
                   int *out)
{
    const char *s = scalar(x, n, what);
    if (!s)
        return JN_EBADINPUT;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return fail(x, n, "%s must be a whole number from %ld to %ld, not \"%.40s\"", what, lo, hi,
                    s);
    *out = (int)v;
    return 0;
}

static int boolean(struct ctx *x, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s = scalar(x, n, what);
    if (!s)
        return JN_EBADINPUT;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = false;
    else
        return fail(x, n, "%s must be true or false, not \"%.40s\"", what, s);
    return 0;
}

/* "256m", "1g", "4096k", "1048576" -> bytes; -1 when malformed. */
static long long size_bytes(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || v > 1e15 || !isdigit((unsigned char)*s))
        return -1;
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0':
        break;
    case 'k':
        mult = 1024;
        end++;
        break;
    case 'm':
        mult = 1024.0 * 1024;
        end++;
        break;
    case 'g':
        mult = 1024.0 * 1024 * 1024;
        end++;
        break;
    default:
        return -1;
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    return *end ? -1 : (long long)(v * mult);
}

/* "5m", "30s", "250ms", "1h", or plain seconds -> ms; -1 when malformed. */
static long long duration_ms(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || v > 1e9 || !isdigit((unsigned char)*s))
        return -1;
    double mult = !strcmp(end, "ms")           ? 1
                  : !strcmp(end, "s") || !*end ? 1000
                  : !strcmp(end, "m")          ? 60000
                  : !strcmp(end, "h")          ? 3600000
                                               : -1;
    return mult < 0 ? -1 : (long long)(v * mult);
}

/* App, database and upstream names: DNS labels, as the daemon wants them. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !(*s >= 'a' && *s <= 'z') || s[n - 1] == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

static bool label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_./", *s))
            return false;
    return true;
}

/* ---- the key tables ---- */

struct key {
    const char *name;
    int (*fn)(struct ctx *x, yaml_node_t *v, void *obj);
};

/* Walks mapping m through keys: every key once, each one known. */
static int walk(struct ctx *x, yaml_node_t *m, const char *what, const struct key *keys,
                size_t nkeys, void *obj)
{
    if (m->type != YAML_MAPPING_NODE)
        return fail(x, m, "%s must be a mapping of keys, not %s", what, kind_name(m));
    bool seen[32] = {false};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(x, p->key), *v = node(x, p->value);
        if (!k || !v)
            return fail(x, m, "the file is too large or too nested (aliases?)");
        const char *name = scalar(x, k, "a key");
        if (!name)
            return JN_EBADINPUT;
        size_t i = 0;
        while (i < nkeys && strcmp(keys[i].name, name) != 0)
            i++;
        if (i == nkeys) {
            const char *hint = NULL;
            int best = 3;
            for (size_t j = 0; j < nkeys; j++) {
                int d = jn_conf_edit_distance(name, keys[j].name);
                if (d < best) {
                    best = d;
                    hint = keys[j].name;
                }
            }
            char known[256] = "";
            size_t len = 0;
            for (size_t j = 0; j < nkeys && len < sizeof(known); j++)
                len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", j ? ", " : "",
                                        keys[j].name);
            if (hint)
                return fail(x, k, "unknown key \"%.60s\" in %s (did you mean \"%s\"?)", name, what,
                            hint);
            return fail(x, k, "unknown key \"%.60s\" in %s (known: %s)", name, what, known);
        }
        if (seen[i])
            return fail(x, k, "\"%s\" is given twice in %s", name, what);
        seen[i] = true;
        int r = keys[i].fn(x, v, obj);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A mapping of NAME: value under a section: each name once and valid. */
static int each_named(struct ctx *x, yaml_node_t *m, const char *section, const char *what,
                      bool dns,
                      int (*fn)(struct ctx *x, const char *name, yaml_node_t *k, yaml_node_t *v))
{
    if (m->type == YAML_SCALAR_NODE && !*m->data.scalar.value)
        return 0; /* "apps:" with nothing under it */
    if (m->type != YAML_MAPPING_NODE)
        return fail(x, m, "\"%s\" must be a mapping of %s names to their settings, not %s", section,
                    what, kind_name(m));
    if (m->data.mapping.pairs.top - m->data.mapping.pairs.start > 1000)
        return fail(x, m, "\"%s\" holds more than 1000 entries", section);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(x, p->key), *v = node(x, p->value);
        if (!k || !v)
            return fail(x, m, "the file is too large or too nested (aliases?)");
        const char *name = scalar(x, k, "a name");
        if (!name)
            return JN_EBADINPUT;
        if (dns ? !name_ok(name) : !label_ok(name))
            return fail(x, k,
                        "%s name \"%.64s\" is invalid: lower-case letters, digits and -, "
                        "starting with a letter, at most 63",
                        what, name);
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(x->doc, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                strcmp((const char *)k2->data.scalar.value, name) == 0)
                return fail(x, k, "duplicate %s \"%s\" (first at line %zu)", what, name,
                            k2->start_mark.line + 1);
        }
        int r = fn(x, name, k, v);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A list of strings (or one string) into l. */
static int strings(struct ctx *x, yaml_node_t *v, const char *what, struct jn_spec_list *l)
{
    if (v->type == YAML_SCALAR_NODE) {
        const char *s = text(x, v, what);
        if (!s)
            return JN_EBADINPUT;
        jn_spec_list_add(l, s);
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(x, v, "%s must be a list, not %s", what, kind_name(v));
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *e = node(x, *i);
        if (!e)
            return fail(x, v, "the file is too large or too nested (aliases?)");
        const char *s = text(x, e, what);
        if (!s)
            return JN_EBADINPUT;
        if (jn_spec_list_has(l, s))
            return fail(x, e, "%s: \"%.100s\" is listed twice", what, s);
        jn_spec_list_add(l, s);
    }
    return 0;
}

/* A mapping of label: value into kv. */
static int labels(struct ctx *x, yaml_node_t *v, const char *what, struct jn_spec_kvs *kv)
{
    if (v->type != YAML_MAPPING_NODE)
        return fail(x, v, "%s must be a mapping of label: value, not %s", what, kind_name(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(x, p->key), *e = node(x, p->value);
        if (!k || !e)
            return fail(x, v, "the file is too large or too nested (aliases?)");
        const char *key = scalar(x, k, "a label");
        if (!key)
            return JN_EBADINPUT;
        if (!label_ok(key) || strchr(key, '/'))
            return fail(x, k, "label \"%.64s\" is invalid: letters, digits, - _ . (up to 63)", key);
        if (jn_spec_kvs_find(kv, key))
            return fail(x, k, "label \"%s\" is given twice in %s", key, what);
        const char *val = scalar(x, e, "a label's value");
        if (!val)
            return JN_EBADINPUT;
        if (!label_ok(val) || strchr(val, '/'))
            return fail(x, e,
                        "label value \"%.64s\" is invalid: letters, digits, - _ . (up to 63, "
                        "not empty)",
                        val);
        jn_spec_kvs_add(kv, key, val, false);
    }
    return 0;
}

/* ---- apps ---- */

#define APP(o) ((struct jn_spec_app *)(o))

static int set_str(struct ctx *x, yaml_node_t *v, const char *what, char **out)
{
    const char *s = text(x, v, what);
    if (!s)
        return JN_EBADINPUT;
    *out = jn_strdup(s);
    return 0;
}

static int app_image(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = text(x, v, "image");
    if (!s)
        return JN_EBADINPUT;
    if (strchr(s, ' ') || strlen(s) >= 500)
        return fail(x, v, "image must be a reference like registry.example.com/app:v2 (no spaces)");
    APP(o)->image = jn_strdup(s);
    return 0;
}

static int app_command(struct ctx *x, yaml_node_t *v, void *o)
{
    return set_str(x, v, "command", &APP(o)->command);
}

static int app_workdir(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = text(x, v, "workdir");
    if (!s)
        return JN_EBADINPUT;
    if (s[0] != '/')
        return fail(x, v, "workdir must be an absolute path, like /srv/app");
    APP(o)->workdir = jn_strdup(s);
    return 0;
}

static int app_port(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "port", 1, 65535, &APP(o)->port);
}

static int app_instances(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "instances", 1, 32, &APP(o)->instances);
}

static int app_health(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = text(x, v, "health");
    if (!s)
        return JN_EBADINPUT;
    if (s[0] != '/' || strchr(s, ' ') || strlen(s) >= 200)
        return fail(x, v, "health must be a path starting with / (no spaces), e.g. /health");
    APP(o)->health = jn_strdup(s);
    return 0;
}

static int app_health_timeout(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "health_timeout");
    if (!s)
        return JN_EBADINPUT;
    long long ms = duration_ms(s);
    if (ms < 1000 || ms > 600000 || ms % 1000)
        return fail(x, v, "health_timeout must be whole seconds from 1s to 600s, like 30s");
    APP(o)->health_timeout = (int)(ms / 1000);
    return 0;
}

static int app_memory(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "memory");
    if (!s)
        return JN_EBADINPUT;
    long long b = size_bytes(s);
    if (b < 4 * 1024 * 1024)
        return fail(x, v, "memory \"%.40s\" is not a size of at least 4m: like 256m or 1g", s);
    APP(o)->memory = b;
    return 0;
}

static int app_domains(struct ctx *x, yaml_node_t *v, void *o)
{
    int r = strings(x, v, "domains", &APP(o)->domains);
    for (size_t i = 0; r == 0 && i < APP(o)->domains.n; i++)
        for (char *p = APP(o)->domains.v[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p); /* the daemon stores them lower-cased */
    return r;
}

static int app_https(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "https");
    if (!s)
        return JN_EBADINPUT;
    /* YAML 1.1 reads a bare off as false: "https: off" means off. */
    if (!strcmp(s, "false") || !strcmp(s, "no"))
        s = "off";
    if (strcmp(s, "off") && strcmp(s, "redirect") && strcmp(s, "only"))
        return fail(x, v, "https must be off, redirect or only, not \"%.40s\"", s);
    APP(o)->https = jn_strdup(s);
    return 0;
}

static int app_require(struct ctx *x, yaml_node_t *v, void *o)
{
    return labels(x, v, "require", &APP(o)->require);
}

static int app_prefer(struct ctx *x, yaml_node_t *v, void *o)
{
    return labels(x, v, "prefer", &APP(o)->prefer);
}

/* ${VAR} and $$ in an env value; marks it secret when it used a variable. */
static int interpolate(struct ctx *x, yaml_node_t *v, const char *key, const char *s,
                       struct jn_buf *out, bool *secret)
{
    while (*s) {
        if (s[0] == '$' && s[1] == '$') {
            jn_buf_append(out, "$", 1);
            s += 2;
        } else if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s + 2, '}');
            size_t n = end ? (size_t)(end - s - 2) : 0;
            char name[129];
            if (!end || n == 0 || n >= sizeof(name))
                return fail(x, v,
                            "env %s: \"${\" without a variable name and \"}\" (write $$ for "
                            "a literal $)",
                            key);
            memcpy(name, s + 2, n);
            name[n] = '\0';
            for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char)name[i]) || name[i] == '_') ||
                    (i == 0 && isdigit((unsigned char)name[0])))
                    return fail(x, v, "env %s: \"${%.64s}\" is not a variable name", key, name);
            const char *val = x->lookup ? x->lookup(name, x->arg) : NULL;
            if (!val)
                return fail(x, v,
                            "env %s: variable %s is not set (export it, or put it in the file "
                            "given with --env-file)",
                            key, name);
            if (jn_buf_puts(out, val) < 0)
                return fail(x, v, "env %s: the value is too long", key);
            *secret = true;
            s = end + 1;
        } else {
            if (jn_buf_append(out, s, 1) < 0)
                return fail(x, v, "env %s: the value is too long", key);
            s++;
        }
    }
    return 0;
}

static int app_env(struct ctx *x, yaml_node_t *v, void *o)
{
    struct jn_spec_app *a = APP(o);
    if (v->type != YAML_MAPPING_NODE)
        return fail(x, v, "env must be a mapping of NAME: value, not %s", kind_name(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(x, p->key), *e = node(x, p->value);
        if (!k || !e)
            return fail(x, v, "the file is too large or too nested (aliases?)");
        const char *key = scalar(x, k, "an env name");
        if (!key)
            return JN_EBADINPUT;
        bool ok = *key && strlen(key) <= 128 && !isdigit((unsigned char)*key);
        for (const char *q = key; *q && ok; q++)
            ok = isalnum((unsigned char)*q) || *q == '_';
        if (!ok)
            return fail(x, k,
                        "env name \"%.64s\" is invalid: letters, digits and _, not starting with "
                        "a digit",
                        key);
        if (jn_spec_kvs_find(&a->env, key))
            return fail(x, k, "env %s is given twice", key);
        const char *val = scalar(x, e, "an env value");
        if (!val)
            return JN_EBADINPUT;
        struct jn_buf b;
        jn_buf_init(&b, 32768);
        bool secret = false;
        int r = interpolate(x, e, key, val, &b, &secret);
        if (r == 0)
            jn_spec_kvs_add(&a->env, key, jn_buf_cstr(&b), secret);
        jn_buf_free(&b);
        if (r < 0)
            return r;
        a->env.v[a->env.n - 1].line = (int)k->start_mark.line + 1;
        a->env.v[a->env.n - 1].col = (int)k->start_mark.column + 1;
    }
    return 0;
}

static int scale_min(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "scale.min", 0, 32, &APP(o)->scale_min);
}

static int scale_max(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "scale.max", 1, 32, &APP(o)->scale_max);
}

static int scale_idle(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "scale.idle");
    if (!s)
        return JN_EBADINPUT;
    if ((APP(o)->idle_ms = duration_ms(s)) < 0)
        return fail(x, v, "scale.idle \"%.40s\" is not a duration (e.g. 30s, 5m, 250ms)", s);
    return 0;
}

static int scale_concurrency(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "scale.concurrency", 1, 100000, &APP(o)->concurrency);
}

static const struct key scale_keys[] = {
    {"min", scale_min},
    {"max", scale_max},
    {"idle", scale_idle},
    {"concurrency", scale_concurrency},
};

static int app_scale(struct ctx *x, yaml_node_t *v, void *o)
{
    int r = walk(x, v, "scale", scale_keys, JN_ARRAY_LEN(scale_keys), o);
    if (r < 0)
        return r;
    struct jn_spec_app *a = APP(o);
    if (a->scale_min < 0 || a->scale_max < 0)
        return fail(x, v, "scale needs both min and max (a fixed count: instances: N)");
    if (a->scale_min > a->scale_max)
        return fail(x, v, "scale: min %d is above max %d", a->scale_min, a->scale_max);
    return 0;
}

static const struct key app_keys[] = {
    {"image", app_image},     {"command", app_command}, {"workdir", app_workdir},
    {"port", app_port},       {"env", app_env},         {"instances", app_instances},
    {"scale", app_scale},     {"health", app_health},   {"health_timeout", app_health_timeout},
    {"memory", app_memory},   {"domains", app_domains}, {"https", app_https},
    {"require", app_require}, {"prefer", app_prefer},
};

static int one_app(struct ctx *x, const char *name, yaml_node_t *k, yaml_node_t *v)
{
    struct jn_spec_app *a = jn_spec_app_add(x->spec, name);
    a->line = (int)k->start_mark.line + 1;
    a->col = (int)k->start_mark.column + 1;
    char what[96];
    snprintf(what, sizeof(what), "app \"%s\"", name);
    int r = walk(x, v, what, app_keys, JN_ARRAY_LEN(app_keys), a);
    if (r < 0)
        return r;
    if (!a->image == !a->command)
        return fail(x, k, "app \"%s\" needs exactly one of image: IMAGE or command: \"COMMAND\"",
                    name);
    if (a->workdir && !a->command)
        return fail(x, k, "app \"%s\": workdir is for a command, not an image", name);
    if (a->instances >= 0 && a->scale_min >= 0)
        return fail(x, k, "app \"%s\": give instances or scale, not both", name);
    return 0;
}

/* ---- databases ---- */

#define DB(o) ((struct jn_spec_db *)(o))

static int db_memory(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "memory");
    if (!s)
        return JN_EBADINPUT;
    long long b = size_bytes(s);
    if (b < 128LL * 1024 * 1024 || (b / (1024 * 1024)) * 1024 * 1024 != b)
        return fail(x, v, "memory \"%.40s\" is not whole megabytes of at least 128M, like 1G", s);
    DB(o)->memory_mb = b / (1024 * 1024);
    return 0;
}

static int db_dedicated(struct ctx *x, yaml_node_t *v, void *o)
{
    return boolean(x, v, "dedicated", &DB(o)->dedicated);
}

static int db_port(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "port", 1, 65535, &DB(o)->port);
}

static int db_image(struct ctx *x, yaml_node_t *v, void *o)
{
    return set_str(x, v, "image", &DB(o)->image);
}

static int db_attach(struct ctx *x, yaml_node_t *v, void *o)
{
    int r = strings(x, v, "attach", &DB(o)->attach);
    for (size_t i = 0; r == 0 && i < DB(o)->attach.n; i++)
        if (!name_ok(DB(o)->attach.v[i]))
            return fail(x, v, "attach: \"%.64s\" is not an app name", DB(o)->attach.v[i]);
    return r;
}

static const struct key db_keys[] = {
    {"memory", db_memory}, {"dedicated", db_dedicated}, {"port", db_port},
    {"image", db_image},   {"attach", db_attach},
};

static int one_db(struct ctx *x, const char *name, yaml_node_t *k, yaml_node_t *v)
{
    struct jn_spec_db *d = jn_spec_db_add(x->spec, name);
    d->line = (int)k->start_mark.line + 1;
    d->col = (int)k->start_mark.column + 1;
    if (v->type == YAML_SCALAR_NODE && !*v->data.scalar.value)
        return 0; /* "shop-db:" with the defaults */
    char what[96];
    snprintf(what, sizeof(what), "database \"%s\"", name);
    return walk(x, v, what, db_keys, JN_ARRAY_LEN(db_keys), d);
}

/* ---- upstreams ---- */

#define SRV(o) ((struct jn_spec_server *)(o))

static int srv_addr(struct ctx *x, yaml_node_t *v, void *o)
{
    return set_str(x, v, "addr", &SRV(o)->addr);
}

static int srv_weight(struct ctx *x, yaml_node_t *v, void *o)
{
    return integer(x, v, "weight", 1, 1000, &SRV(o)->weight);
}

static int srv_state(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = scalar(x, v, "state");
    if (!s)
        return JN_EBADINPUT;
    if (strcmp(s, "ready") && strcmp(s, "drain") && strcmp(s, "maint"))
        return fail(x, v, "state must be ready, drain or maint, not \"%.40s\"", s);
    SRV(o)->state = jn_strdup(s);
    return 0;
}

static const struct key srv_keys[] = {
    {"addr", srv_addr},
    {"weight", srv_weight},
    {"state", srv_state},
};

static int up_servers(struct ctx *x, yaml_node_t *v, void *o)
{
    struct jn_spec_upstream *u = o;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(x, v, "servers must be a list of ADDR or {addr, weight, state}, not %s",
                    kind_name(v));
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *e = node(x, *i);
        if (!e)
            return fail(x, v, "the file is too large or too nested (aliases?)");
        u->servers = jn_realloc(u->servers, (u->nservers + 1) * sizeof(*u->servers));
        struct jn_spec_server *s = &u->servers[u->nservers++];
        memset(s, 0, sizeof(*s));
        int r = e->type == YAML_SCALAR_NODE
                    ? set_str(x, e, "a server address", &s->addr)
                    : walk(x, e, "a server", srv_keys, JN_ARRAY_LEN(srv_keys), s);
        if (r < 0)
            return r;
        if (!s->addr)
            return fail(x, e, "a server needs addr: HOST:PORT");
        for (size_t j = 0; j + 1 < u->nservers; j++)
            if (strcmp(u->servers[j].addr, s->addr) == 0)
                return fail(x, e, "server %s is listed twice in upstream \"%s\"", s->addr, u->name);
    }
    return 0;
}

static const struct key up_keys[] = {{"servers", up_servers}};

static int one_upstream(struct ctx *x, const char *name, yaml_node_t *k, yaml_node_t *v)
{
    struct jn_spec_upstream *u = jn_spec_upstream_add(x->spec, name);
    u->line = (int)k->start_mark.line + 1;
    u->col = (int)k->start_mark.column + 1;
    char what[96];
    snprintf(what, sizeof(what), "upstream \"%s\"", name);
    return walk(x, v, what, up_keys, JN_ARRAY_LEN(up_keys), u);
}

/* ---- nodes ---- */

#define NODE(o) ((struct jn_spec_node *)(o))

static int node_ssh(struct ctx *x, yaml_node_t *v, void *o)
{
    const char *s = text(x, v, "ssh");
    if (!s)
        return JN_EBADINPUT;
    if (strncmp(s, "ssh://", 6) != 0 || !strchr(s + 6, '@') || strchr(s, ' '))
        return fail(x, v, "ssh must be ssh://USER@HOST[:PORT], not \"%.100s\"", s);
    NODE(o)->ssh = jn_strdup(s);
    return 0;
}

static int node_labels(struct ctx *x, yaml_node_t *v, void *o)
{
    NODE(o)->labels_given = true;
    return labels(x, v, "labels", &NODE(o)->labels);
}

static const struct key node_keys[] = {{"ssh", node_ssh}, {"labels", node_labels}};

static int one_node(struct ctx *x, const char *name, yaml_node_t *k, yaml_node_t *v)
{
    struct jn_spec *sp = x->spec;
    sp->nodes = jn_realloc(sp->nodes, (sp->nnodes + 1) * sizeof(*sp->nodes));
    struct jn_spec_node *n = &sp->nodes[sp->nnodes++];
    memset(n, 0, sizeof(*n));
    n->name = jn_strdup(name);
    n->line = (int)k->start_mark.line + 1;
    n->col = (int)k->start_mark.column + 1;
    char what[96];
    snprintf(what, sizeof(what), "node \"%s\"", name);
    return walk(x, v, what, node_keys, JN_ARRAY_LEN(node_keys), n);
}

/* ---- the top level ---- */

static int top_version(struct ctx *x, yaml_node_t *v, void *o)
{
    int ver;
    int r = integer(x, v, "version", 1, 1, &ver);
    return r < 0 ? fail(x, v, "version must be 1 (the only format so far)") : 0;
}

static int top_apps(struct ctx *x, yaml_node_t *v, void *o)
{
    return each_named(x, v, "apps", "app", true, one_app);
}

static int top_databases(struct ctx *x, yaml_node_t *v, void *o)
{
    return each_named(x, v, "databases", "database", true, one_db);
}

static int top_upstreams(struct ctx *x, yaml_node_t *v, void *o)
{
    return each_named(x, v, "upstreams", "upstream", false, one_upstream);
}

static int top_nodes(struct ctx *x, yaml_node_t *v, void *o)
{
    return each_named(x, v, "nodes", "node", true, one_node);
}

static const struct key top_keys[] = {
    {"version", top_version},     {"apps", top_apps},   {"databases", top_databases},
    {"upstreams", top_upstreams}, {"nodes", top_nodes},
};

/* Cross-references: what a database attaches must be an app of the file or
 * one that exists already; the latter is the plan's to check. Here: none. */
int jn_spec_parse(const char *buf, size_t len, const char *file, jn_spec_lookup lookup, void *arg,
                  struct jn_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct ctx x = {.file = file ? file : "jern.yaml",
                    .lookup = lookup,
                    .arg = arg,
                    .err = err,
                    .errlen = errlen,
                    .budget = VISIT_BUDGET,
                    .spec = out};
    if (errlen)
        err[0] = '\0';
    if (len > JN_SPEC_MAX_BYTES)
        return fail(&x, NULL, "the file is larger than %d bytes", JN_SPEC_MAX_BYTES);
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p))
        return fail(&x, NULL, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: invalid YAML: %s%s%s", x.file, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
                 p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return JN_EBADINPUT;
    }
    x.doc = &doc;
    int r = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !(root->type == YAML_SCALAR_NODE && !*root->data.scalar.value)) {
        r = walk(&x, root, "the file", top_keys, JN_ARRAY_LEN(top_keys), NULL);
    }
    if (r == 0) {
        /* One document per file: a second one would be silently ignored. */
        yaml_document_t more;
        if (!yaml_parser_load(&p, &more)) {
            r = fail(&x, NULL, "invalid YAML after the first document: %s",
                     p.problem ? p.problem : "syntax error");
        } else {
            if (yaml_document_get_root_node(&more))
                r = fail(&x, NULL,
                         "the file holds more than one YAML document (--- ...): "
                         "write everything in one");
            yaml_document_delete(&more);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return r;
}
