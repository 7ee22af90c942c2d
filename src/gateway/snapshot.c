#include "gateway/snapshot.h"

#include "core/log.h"

#include <ctype.h>
#include <stdarg.h>

static atomic_uint_fast64_t generation;

static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= errlen)
        return JN_ECONFIG;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return JN_ECONFIG;
}

/* The synthetic upstream block for "proxy_pass http://HOST:PORT". */
struct addr_up {
    struct jn_conf_upstream cu;
    struct jn_conf_upstream_server srv;
};

/* Declares a user variable (map or set) once; builtin names are refused. */
static int user_var_add(struct jn_gw_routes *r, const char *name, bool is_map, int line, char *err,
                        size_t errlen)
{
    if (jn_var_is_builtin(name))
        return fail(err, errlen, r->conf->path, line,
                    "the variable $%s is built in: \"%s\" cannot redefine it", name,
                    is_map ? "map" : "set");
    ssize_t i = jn_user_var_find(&r->uvars, name, strlen(name));
    if (i >= 0) {
        r->uvars.v[i].is_map |= is_map;
        return 0;
    }
    struct jn_user_vars *u = &r->uvars;
    u->v = jn_realloc(u->v, (u->n + 1) * sizeof(*u->v));
    memset(&u->v[u->n], 0, sizeof(u->v[u->n]));
    u->v[u->n].name = jn_strdup(name);
    u->v[u->n].is_map = is_map;
    u->n++;
    return 0;
}

/* map blocks and every set name become user variables; then the maps'
 * templates and keys are compiled (they may name each other). */
static int build_user_vars(struct jn_gw_routes *r, char *err, size_t errlen)
{
    const struct jn_conf *conf = r->conf;
    for (size_t i = 0; i < conf->nmaps; i++) {
        int rc = user_var_add(r, conf->maps[i].name, true, conf->maps[i].line, err, errlen);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < conf->nservers; i++) {
        const struct jn_conf_server *cs = &conf->servers[i];
        for (size_t k = 0; k <= cs->nlocations; k++) {
            const struct jn_conf_settings *s = k < cs->nlocations ? &cs->locations[k].s : &cs->s;
            int line = k < cs->nlocations ? cs->locations[k].line : cs->line;
            for (size_t j = 0; j < s->nsets; j++) {
                int rc = user_var_add(r, s->sets[j].name, false, line, err, errlen);
                if (rc < 0)
                    return rc;
            }
        }
    }
    for (size_t i = 0; i < conf->nmaps; i++) {
        const struct jn_conf_map *m = &conf->maps[i];
        struct jn_user_var *v = &r->uvars.v[jn_user_var_find(&r->uvars, m->name, strlen(m->name))];
        char terr[256];
        if (jn_template_compile_user(m->source, &r->uvars, &v->source, terr, sizeof(terr)) < 0 ||
            jn_template_compile_user(m->dflt, &r->uvars, &v->dflt, terr, sizeof(terr)) < 0)
            return fail(err, errlen, conf->path, m->line, "map $%s: %s", m->name, terr);
        v->entries = jn_calloc(m->nentries ? m->nentries : 1, sizeof(*v->entries));
        for (size_t k = 0; k < m->nentries; k++) {
            const struct jn_conf_kv *kv = &m->entries[k];
            struct jn_map_entry *e = &v->entries[k];
            v->nentries = k + 1;
            bool re = kv->name[0] == '~' && !kv->always; /* always: "\\~" was written */
            if (re) {
                bool caseless = kv->name[1] == '*';
                if (jn_regex_compile(kv->name + (caseless ? 2 : 1), caseless, &e->re, terr,
                                     sizeof(terr)) < 0)
                    return fail(err, errlen, conf->path, m->line, "map $%s: %s", m->name, terr);
            } else {
                e->key = kv->name;
                e->key_len = strlen(kv->name);
            }
            if (jn_template_compile_user(kv->value, &r->uvars, &e->value, terr, sizeof(terr)) < 0)
                return fail(err, errlen, conf->path, m->line, "map $%s: %s", m->name, terr);
        }
    }
    return 0;
}

static int up_index(struct jn_gw_routes *r, const char *name)
{
    for (size_t i = 0; i < r->nups; i++)
        if (strcmp(r->up_names[i], name) == 0)
            return (int)i;
    return -1;
}

static int add_addr_up(struct jn_gw_routes *r, const struct jn_conf_location *cl)
{
    int i = up_index(r, cl->pass_target);
    if (i >= 0)
        return i;
    struct addr_up *a = jn_calloc(1, sizeof(*a));
    a->srv.text = cl->pass_target;
    a->srv.addr = cl->pass_addr;
    a->srv.weight = 1;
    a->srv.max_fails = 1;
    a->srv.fail_timeout_ms = 10000;
    a->srv.line = cl->line;
    a->cu.name = cl->pass_target;
    a->cu.line = cl->line;
    a->cu.servers = &a->srv;
    a->cu.nservers = 1;
    a->cu.keepalive_timeout_ms = 60000;
    a->cu.keepalive_requests = 1000;
    r->up_names = jn_realloc(r->up_names, (r->nups + 1) * sizeof(*r->up_names));
    r->up_confs = jn_realloc(r->up_confs, (r->nups + 1) * sizeof(*r->up_confs));
    r->up_names[r->nups] = cl->pass_target;
    r->up_confs[r->nups] = &a->cu;
    return (int)r->nups++;
}

static bool is_addr_up(const struct jn_gw_routes *r, size_t i)
{
    return i >= r->conf->nupstreams;
}

static int compile_response(struct jn_gw_routes *r, const struct jn_conf_server *cs,
                            const struct jn_conf_location *cl, struct jn_gw_location *gl, char *err,
                            size_t errlen);
static int resolve_error_pages(struct jn_gw_routes *r, struct jn_gw_server *gs,
                               struct jn_gw_location *gl, char *err, size_t errlen);

static int compile_location(struct jn_gw_routes *r, const struct jn_conf_server *cs,
                            const struct jn_conf_location *cl, struct jn_gw_location *gl, char *err,
                            size_t errlen)
{
    gl->cl = cl;
    gl->server_name = cs->nserver_names ? cs->server_names[0] : "";
    gl->prefix = cl ? cl->prefix : "/";
    gl->prefix_len = strlen(gl->prefix);
    gl->exact = cl ? cl->exact : false;
    gl->stop_regex = cl ? cl->stop_regex : false;
    if (cl && cl->regex) {
        char rerr[256];
        if (jn_regex_compile(cl->prefix, cl->caseless, &gl->re, rerr, sizeof(rerr)) < 0)
            return fail(err, errlen, r->conf->path, cl->line, "location: %s", rerr);
    }
    gl->upstream = -1;
    gl->s = cl ? &cl->s : &cs->s;
    if (cl && cl->pass_var) {
        char terr[256];
        if (jn_template_compile_user(cl->pass_target, &r->uvars, &gl->pass_tpl, terr,
                                     sizeof(terr)) < 0)
            return fail(err, errlen, r->conf->path, cl->line, "proxy_pass: %s", terr);
        gl->has_pass_tpl = true;
    } else if (cl && cl->pass_target) {
        gl->upstream =
            cl->pass_upstream ? up_index(r, cl->pass_upstream->name) : add_addr_up(r, cl);
        if (gl->upstream < 0)
            return fail(err, errlen, r->conf->path, cl->line, "upstream \"%s\" not found",
                        cl->pass_target);
        gl->pass_uri = cl->pass_uri;
        gl->pass_uri_len = cl->pass_uri ? strlen(cl->pass_uri) : 0;
        gl->proxy_host = cl->pass_target;
    }
    const struct jn_conf_settings *s = gl->s;
    gl->alog = -1;
    if (s->access_log_path) {
        const char *fmt = s->access_log_format ? s->access_log_format : JN_LOG_FORMAT_COMBINED;
        for (size_t i = 0; i < r->nalogs && gl->alog < 0; i++)
            if (strcmp(r->alogs[i].path, s->access_log_path) == 0 &&
                strcmp(r->alogs[i].format, fmt) == 0)
                gl->alog = (int)i;
        if (gl->alog < 0) {
            struct jn_gw_alog_conf a = {.path = s->access_log_path, .format = fmt};
            char terr[256];
            if (jn_template_compile_user(fmt, &r->uvars, &a.fmt, terr, sizeof(terr)) < 0)
                return fail(err, errlen, r->conf->path, cl ? cl->line : cs->line,
                            "access_log format: %s", terr);
            r->alogs = jn_realloc(r->alogs, (r->nalogs + 1) * sizeof(*r->alogs));
            r->alogs[r->nalogs] = a;
            gl->alog = (int)r->nalogs++;
        }
    }
    gl->nset = s->nset_headers;
    gl->set = jn_calloc(s->nset_headers ? s->nset_headers : 1, sizeof(*gl->set));
    for (size_t i = 0; i < s->nset_headers; i++) {
        struct jn_gw_set_header *h = &gl->set[i];
        h->name = s->set_headers[i].name;
        h->name_len = strlen(h->name);
        h->is_empty = s->set_headers[i].value[0] == '\0';
        char terr[256];
        if (jn_template_compile_user(s->set_headers[i].value, &r->uvars, &h->value, terr, sizeof(terr)) < 0) {
            gl->nset = i;
            return fail(err, errlen, r->conf->path, cl ? cl->line : cs->line,
                        "proxy_set_header %s: %s", h->name, terr);
        }
        if (strcasecmp(h->name, "host") == 0)
            gl->sets_host = true;
        if (strcasecmp(h->name, "connection") == 0)
            gl->sets_connection = true;
    }
    if (cl && cl->return_code && cl->return_text) {
        char terr[256];
        if (jn_template_compile_user(cl->return_text, &r->uvars, &gl->ret, terr, sizeof(terr)) < 0)
            return fail(err, errlen, r->conf->path, cl->line, "return: %s", terr);
        gl->has_ret = true;
    }
    char serr[300];
    if (gw_static_compile(cl, gl->prefix ? gl->prefix : "", &r->uvars, &gl->st, serr,
                          sizeof(serr)) < 0)
        return fail(err, errlen, r->conf->path, cl->line, "%s", serr);
    int rline = 0;
    char rerr[300];
    if (gw_rewrites_compile(cl, &r->uvars, &gl->rewrites, &gl->nrewrites, &rline, rerr,
                            sizeof(rerr)) < 0)
        return fail(err, errlen, r->conf->path, rline, "%s", rerr);
    return compile_response(r, cs, cl, gl, err, errlen);
}

static void add_redirect(struct jn_gw_location *gl, const char *from, size_t fl, const char *to,
                         size_t tl)
{
    gl->redirects = jn_realloc(gl->redirects, (gl->nredirects + 1) * sizeof(*gl->redirects));
    struct jn_gw_redirect *rd = &gl->redirects[gl->nredirects++];
    rd->from = jn_strndup(from, fl);
    rd->from_len = fl;
    rd->to = jn_strndup(to, tl);
    rd->to_len = tl;
}

/* proxy_redirect default: the proxy_pass URL (with "/" when it has no URI)
 * becomes the location's prefix (or "/"), as nginx. */
static void add_default_redirect(struct jn_gw_location *gl)
{
    if (!gl->proxy_host || !gl->cl)
        return;
    char from[1024];
    int n = snprintf(from, sizeof(from), "http://%s%s", gl->proxy_host,
                     gl->pass_uri ? gl->pass_uri : "/");
    if (n < 0 || (size_t)n >= sizeof(from))
        return;
    const char *to = gl->pass_uri ? gl->prefix : "/";
    add_redirect(gl, from, (size_t)n, to, strlen(to));
}

static int compile_response(struct jn_gw_routes *r, const struct jn_conf_server *cs,
                            const struct jn_conf_location *cl, struct jn_gw_location *gl, char *err,
                            size_t errlen)
{
    const struct jn_conf_settings *s = gl->s;
    int line = cl ? cl->line : cs->line;
    gl->default_type = s->default_type ? s->default_type : "text/plain";
    if (!s->redirect_off && s->nredirects == 0) {
        add_default_redirect(gl);
    } else {
        for (size_t i = 0; i < s->nredirects; i++) {
            const struct jn_conf_kv *kv = &s->redirects[i];
            if (!kv->name[0]) {
                add_default_redirect(gl);
                continue;
            }
            if (strchr(kv->name, '$') || strchr(kv->value, '$'))
                return fail(err, errlen, r->conf->path, line,
                            "proxy_redirect \"%s\" \"%s\": variables are not supported here; "
                            "write the literal text",
                            kv->name, kv->value);
            add_redirect(gl, kv->name, strlen(kv->name), kv->value, strlen(kv->value));
        }
    }
    if (s->nsets)
        gl->sets = jn_calloc(s->nsets, sizeof(*gl->sets));
    for (size_t i = 0; i < s->nsets; i++) {
        char terr[256];
        gl->sets[i].index = (size_t)jn_user_var_find(&r->uvars, s->sets[i].name,
                                                     strlen(s->sets[i].name));
        if (jn_template_compile_user(s->sets[i].value, &r->uvars, &gl->sets[i].value, terr,
                                     sizeof(terr)) < 0)
            return fail(err, errlen, r->conf->path, line, "set $%s: %s", s->sets[i].name, terr);
        gl->nsets = i + 1;
    }
    gl->adds = jn_calloc(s->nadd_headers ? s->nadd_headers : 1, sizeof(*gl->adds));
    for (size_t i = 0; i < s->nadd_headers; i++) {
        struct jn_gw_add_header *h = &gl->adds[i];
        h->name = s->add_headers[i].name;
        h->name_len = strlen(h->name);
        h->always = s->add_headers[i].always;
        char terr[256];
        if (jn_template_compile_user(s->add_headers[i].value, &r->uvars, &h->value, terr, sizeof(terr)) < 0)
            return fail(err, errlen, r->conf->path, line, "add_header %s: %s", h->name, terr);
        gl->nadds = i + 1;
    }
    return 0;
}

static void free_location(struct jn_gw_location *gl)
{
    if (gl->has_pass_tpl)
        jn_template_free(&gl->pass_tpl);
    gl->has_pass_tpl = false;
    for (size_t i = 0; i < gl->nsets; i++)
        jn_template_free(&gl->sets[i].value);
    free(gl->sets);
    gl->sets = NULL;
    gl->nsets = 0;
    free(gl->errs);
    gl->errs = NULL;
    gl->nerrs = 0;
    jn_regex_free(gl->re);
    gl->re = NULL;
    for (size_t i = 0; i < gl->nredirects; i++) {
        free(gl->redirects[i].from);
        free(gl->redirects[i].to);
    }
    free(gl->redirects);
    gl->redirects = NULL;
    gl->nredirects = 0;
    for (size_t i = 0; i < gl->nadds; i++)
        jn_template_free(&gl->adds[i].value);
    free(gl->adds);
    gl->adds = NULL;
    gl->nadds = 0;
    if (gl->has_ret)
        jn_template_free(&gl->ret);
    gl->has_ret = false;
    gw_static_free(gl->st);
    gl->st = NULL;
    gw_rewrites_free(gl->rewrites, gl->nrewrites);
    gl->rewrites = NULL;
    gl->nrewrites = 0;
    for (size_t i = 0; i < gl->nset; i++)
        jn_template_free(&gl->set[i].value);
    free(gl->set);
    gl->set = NULL;
    gl->nset = 0;
}

static int loc_order(const void *a, const void *b)
{
    const struct jn_gw_location *x = a, *y = b;
    if (!x->re != !y->re)
        return x->re ? 1 : -1; /* regular expressions last, */
    if (x->re)
        return x->order - y->order; /* in file order */
    if (x->exact != y->exact)
        return x->exact ? -1 : 1;
    if (x->prefix_len != y->prefix_len)
        return x->prefix_len > y->prefix_len ? -1 : 1;
    return 0;
}

static struct jn_gw_listen *find_listen(struct jn_gw_routes *r, const struct jn_addr *a)
{
    for (size_t i = 0; i < r->nlistens; i++)
        if (jn_addr_equal(&r->listens[i].addr, a))
            return &r->listens[i];
    return NULL;
}

int jn_gw_routes_build(struct jn_conf *conf, struct jn_gw_routes **out, char *err, size_t errlen)
{
    struct jn_gw_routes *r = jn_calloc(1, sizeof(*r));
    atomic_init(&r->refs, 1);
    r->conf = conf;
    char terr[128];
    if (jn_template_compile(JN_LOG_FORMAT_COMBINED, &r->app_fmt, terr, sizeof(terr)) < 0)
        jn_error("gateway: the combined log format does not compile: %s", terr);
    r->nups = conf->nupstreams;
    r->up_names = jn_calloc(r->nups + 1, sizeof(*r->up_names));
    r->up_confs = jn_calloc(r->nups + 1, sizeof(*r->up_confs));
    for (size_t i = 0; i < conf->nupstreams; i++) {
        r->up_names[i] = conf->upstreams[i].name;
        r->up_confs[i] = &conf->upstreams[i];
        for (size_t k = 0; k < conf->upstreams[i].nservers; k++) {
            struct jn_conf_upstream_server *sv = &conf->upstreams[i].servers[k];
            if (sv->addr.len == 0) {
                int rc = fail(err, errlen, conf->path, sv->line,
                              "upstream server \"%s\": not a numeric address (jern does not "
                              "resolve names at run time; write IP:PORT)",
                              sv->text);
                jn_gw_routes_unref(r);
                return rc;
            }
        }
    }
    int urc = build_user_vars(r, err, errlen);
    if (urc < 0) {
        jn_gw_routes_unref(r);
        return urc;
    }
    r->servers = jn_calloc(conf->nservers ? conf->nservers : 1, sizeof(*r->servers));
    r->nservers = conf->nservers;
    r->max_head = 0;
    for (size_t i = 0; i < conf->nservers; i++) {
        const struct jn_conf_server *cs = &conf->servers[i];
        struct jn_gw_server *gs = &r->servers[i];
        gs->cs = cs;
        gs->locs = jn_calloc(cs->nlocations ? cs->nlocations : 1, sizeof(*gs->locs));
        gs->name_re = jn_calloc(cs->nserver_names ? cs->nserver_names : 1, sizeof(*gs->name_re));
        for (size_t k = 0; k < cs->nserver_names; k++) {
            if (cs->server_names[k][0] != '~')
                continue;
            char rerr[256];
            if (jn_regex_compile(cs->server_names[k] + 1, false, &gs->name_re[k], rerr,
                                 sizeof(rerr)) < 0) {
                int rc = fail(err, errlen, conf->path, cs->line, "server_name: %s", rerr);
                jn_gw_routes_unref(r);
                return rc;
            }
        }
        for (size_t k = 0; k < cs->nlocations; k++) {
            gs->nlocs = k + 1;
            gs->locs[k].order = (int)k;
            int rc = compile_location(r, cs, &cs->locations[k], &gs->locs[k], err, errlen);
            if (rc < 0) {
                jn_gw_routes_unref(r);
                return rc;
            }
        }
        qsort(gs->locs, gs->nlocs, sizeof(*gs->locs), loc_order);
        gs->nplain = gs->nlocs;
        while (gs->nplain > 0 && gs->locs[gs->nplain - 1].re)
            gs->nplain--;
        int rc = compile_location(r, cs, NULL, &gs->app_loc, err, errlen);
        for (size_t k = 0; k < gs->nlocs && rc == 0; k++)
            rc = resolve_error_pages(r, gs, &gs->locs[k], err, errlen);
        if (rc == 0)
            rc = resolve_error_pages(r, gs, &gs->app_loc, err, errlen);
        if (rc < 0) {
            jn_gw_routes_unref(r);
            return rc;
        }
        size_t head = (size_t)cs->s.large_header_num * cs->s.large_header_size;
        if (head > r->max_head)
            r->max_head = head;
        for (size_t k = 0; k < cs->nlistens; k++) {
            const struct jn_conf_listen *cls = &cs->listens[k];
            struct jn_gw_listen *l = find_listen(r, &cls->addr);
            if (!l) {
                r->listens = jn_realloc(r->listens, (r->nlistens + 1) * sizeof(*r->listens));
                l = &r->listens[r->nlistens++];
                memset(l, 0, sizeof(*l));
                l->addr = cls->addr;
                l->id = -1;
            }
            l->servers = jn_realloc(l->servers, (l->nservers + 1) * sizeof(*l->servers));
            l->servers[l->nservers++] = gs;
            if (cls->default_server) {
                if (l->def && l->def->cs->listens) {
                    bool was_default = false;
                    for (size_t m = 0; m < l->def->cs->nlistens; m++)
                        if (l->def->cs->listens[m].default_server &&
                            jn_addr_equal(&l->def->cs->listens[m].addr, &cls->addr))
                            was_default = true;
                    if (was_default) {
                        int rc2 = fail(err, errlen, conf->path, cls->line,
                                       "a duplicate default server for %s", cls->text);
                        jn_gw_routes_unref(r);
                        return rc2;
                    }
                }
                l->def = gs;
            } else if (!l->def) {
                l->def = gs;
            }
        }
    }
    if (r->max_head == 0)
        r->max_head = 32768;
    int rc = jn_gw_routes_build_tls(r, err, errlen);
    if (rc < 0) {
        jn_gw_routes_unref(r);
        return rc;
    }
    *out = r;
    return 0;
}

void jn_gw_routes_ref(struct jn_gw_routes *r)
{
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void jn_gw_routes_unref(struct jn_gw_routes *r)
{
    if (!r || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    jn_gw_routes_free_tls(r);
    for (size_t i = 0; i < r->nservers; i++) {
        for (size_t k = 0; k < r->servers[i].nlocs; k++)
            free_location(&r->servers[i].locs[k]);
        free_location(&r->servers[i].app_loc);
        free(r->servers[i].locs);
        if (r->servers[i].name_re)
            for (size_t k = 0; k < r->servers[i].cs->nserver_names; k++)
                jn_regex_free(r->servers[i].name_re[k]);
        free(r->servers[i].name_re);
    }
    free(r->servers);
    for (size_t i = 0; i < r->nlistens; i++)
        free(r->listens[i].servers);
    free(r->listens);
    for (size_t i = r->conf->nupstreams; i < r->nups; i++)
        free(JN_CONTAINER_OF(r->up_confs[i], struct addr_up, cu));
    free(r->up_names);
    free(r->up_confs);
    for (size_t i = 0; i < r->nalogs; i++)
        jn_template_free(&r->alogs[i].fmt);
    free(r->alogs);
    jn_user_vars_free(&r->uvars);
    jn_template_free(&r->app_fmt);
    jn_conf_free(r->conf);
    free(r);
}

static const struct jn_gw_up *prev_up(const struct jn_gw_snapshot *prev, const char *name)
{
    if (!prev)
        return NULL;
    for (size_t i = 0; i < prev->nups; i++)
        if (strcmp(prev->routes->up_names[i], name) == 0)
            return &prev->ups[i];
    return NULL;
}

struct jn_gw_snapshot *jn_gw_snapshot_build(struct jn_gw_routes *routes,
                                            const struct jn_gw_snapshot *prev)
{
    struct jn_gw_snapshot *s = jn_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->generation = atomic_fetch_add(&generation, 1) + 1;
    jn_gw_routes_ref(routes);
    s->routes = routes;
    s->nups = routes->nups;
    s->ups = jn_calloc(s->nups ? s->nups : 1, sizeof(*s->ups));
    for (size_t i = 0; i < s->nups; i++) {
        const struct jn_gw_up *p = prev_up(prev, routes->up_names[i]);
        s->ups[i].u = jn_upstream_new(routes->up_confs[i], p ? p->u : NULL);
        (void)is_addr_up;
    }
    if (prev && prev->napps) {
        s->napps = prev->napps;
        s->apps = jn_calloc(s->napps, sizeof(*s->apps));
        for (size_t i = 0; i < s->napps; i++) {
            s->apps[i] = prev->apps[i];
            s->apps[i].host = jn_strdup(prev->apps[i].host);
            if (prev->apps[i].access_log)
                s->apps[i].access_log = jn_strdup(prev->apps[i].access_log);
            jn_upstream_ref(s->apps[i].u);
        }
    }
    if (prev)
        jn_gw_certs_copy(s, prev);
    return s;
}

struct jn_gw_snapshot *jn_gw_snapshot_clone(const struct jn_gw_snapshot *o)
{
    struct jn_gw_snapshot *s = jn_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->generation = atomic_fetch_add(&generation, 1) + 1;
    jn_gw_routes_ref(o->routes);
    s->routes = o->routes;
    s->nups = o->nups;
    s->ups = jn_calloc(s->nups ? s->nups : 1, sizeof(*s->ups));
    for (size_t i = 0; i < s->nups; i++) {
        s->ups[i] = o->ups[i];
        jn_upstream_ref(s->ups[i].u);
    }
    s->napps = o->napps;
    s->apps = jn_calloc(s->napps ? s->napps : 1, sizeof(*s->apps));
    for (size_t i = 0; i < s->napps; i++) {
        s->apps[i] = o->apps[i];
        s->apps[i].host = jn_strdup(o->apps[i].host);
        if (o->apps[i].access_log)
            s->apps[i].access_log = jn_strdup(o->apps[i].access_log);
        jn_upstream_ref(s->apps[i].u);
    }
    jn_gw_certs_copy(s, o);
    return s;
}

void jn_gw_snapshot_ref(struct jn_gw_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void jn_gw_snapshot_unref(struct jn_gw_snapshot *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->nups; i++)
        jn_upstream_unref(s->ups[i].u);
    free(s->ups);
    for (size_t i = 0; i < s->napps; i++) {
        free(s->apps[i].host);
        free(s->apps[i].access_log);
        jn_upstream_unref(s->apps[i].u);
    }
    free(s->apps);
    jn_gw_certs_free(s);
    jn_gw_routes_unref(s->routes);
    free(s);
}

const struct jn_gw_listen *jn_gw_snapshot_listen(const struct jn_gw_snapshot *s, int id)
{
    for (size_t i = 0; i < s->routes->nlistens; i++)
        if (s->routes->listens[i].id == id)
            return &s->routes->listens[i];
    return NULL;
}

/* Lower-cases host into out without the port and a trailing dot. */
static size_t norm_host(const char *h, size_t n, char *out, size_t cap)
{
    if (n && h[0] == '[') { /* IPv6 literal: keep up to ']' */
        const char *e = memchr(h, ']', n);
        n = e ? (size_t)(e - h + 1) : n;
    } else {
        const char *c = memchr(h, ':', n);
        if (c)
            n = (size_t)(c - h);
    }
    if (n && h[n - 1] == '.')
        n--;
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)h[i]);
    out[n] = '\0';
    return n;
}

/* nginx order: exact name, longest leading wildcard, trailing wildcard,
 * then the first regular expression in file order. */
const struct jn_gw_server *jn_gw_match_server(const struct jn_gw_listen *l, const char *host,
                                              size_t n)
{
    const struct jn_gw_server *best = NULL;
    size_t best_len = 0;
    int best_kind = 3;
    bool has_re = false;
    for (size_t i = 0; i < l->nservers; i++) {
        const struct jn_conf_server *cs = l->servers[i]->cs;
        for (size_t k = 0; k < cs->nserver_names; k++) {
            const char *name = cs->server_names[k];
            if (name[0] == '~') {
                has_re = true;
                continue;
            }
            size_t len = strlen(name);
            if (len == n && memcmp(name, host, n) == 0)
                return l->servers[i];
            if (name[0] == '*' && name[1] == '.') { /* *.example.com */
                size_t suf = len - 1;               /* ".example.com" */
                if (n > suf && memcmp(host + n - suf, name + 1, suf) == 0 &&
                    (best_kind > 1 || suf > best_len)) {
                    best = l->servers[i];
                    best_len = suf;
                    best_kind = 1;
                }
            } else if (name[0] == '.') { /* .example.com: itself and subdomains */
                bool self = n == len - 1 && memcmp(host, name + 1, n) == 0;
                bool sub = n > len && memcmp(host + n - len, name, len) == 0;
                if ((self || sub) && (best_kind > 1 || len > best_len)) {
                    best = l->servers[i];
                    best_len = len;
                    best_kind = 1;
                }
            } else if (len >= 2 && name[len - 1] == '*' && name[len - 2] == '.') { /* www.* */
                if (n > len - 1 && memcmp(host, name, len - 1) == 0 && best_kind > 2) {
                    best = l->servers[i];
                    best_len = len;
                    best_kind = 2;
                }
            }
        }
    }
    if (best || !has_re)
        return best;
    for (size_t i = 0; i < l->nservers; i++) {
        const struct jn_gw_server *gs = l->servers[i];
        for (size_t k = 0; k < gs->cs->nserver_names; k++)
            if (gs->name_re[k] && jn_regex_match(gs->name_re[k], host, n))
                return gs;
    }
    return best;
}

static const struct jn_gw_app *find_app(const struct jn_gw_snapshot *s, const char *host)
{
    size_t lo = 0, hi = s->napps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->apps[mid].host, host);
        if (c == 0)
            return &s->apps[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The location of srv for path (the query, if any, is not matched), in
 * nginx's order: exact, then the longest prefix (final if it is ^~), then
 * the regular expressions in file order, then that longest prefix. */
static const struct jn_gw_location *route_in_server(const struct jn_gw_server *srv,
                                                    const char *path, size_t path_len)
{
    const char *q = memchr(path, '?', path_len);
    size_t plen = q ? (size_t)(q - path) : path_len;
    const struct jn_gw_location *best = NULL;
    for (size_t i = 0; i < srv->nplain; i++) {
        const struct jn_gw_location *loc = &srv->locs[i];
        if (loc->exact) {
            if (plen == loc->prefix_len && memcmp(path, loc->prefix, plen) == 0)
                return loc;
        } else if (plen >= loc->prefix_len && memcmp(path, loc->prefix, loc->prefix_len) == 0) {
            best = loc;
            break;
        }
    }
    if (best && best->stop_regex)
        return best;
    for (size_t i = srv->nplain; i < srv->nlocs; i++)
        if (jn_regex_match(srv->locs[i].re, path, plen))
            return &srv->locs[i];
    return best;
}

const struct jn_gw_error_page *jn_gw_error_page_find(const struct jn_gw_location *loc, int status)
{
    for (size_t i = 0; i < loc->nerrs; i++)
        for (size_t k = 0; k < loc->errs[i].ce->ncodes; k++)
            if (loc->errs[i].ce->codes[k] == status)
                return &loc->errs[i];
    return NULL;
}

/* Resolves gl's error_page URIs to locations of gs (after gs is sorted). */
static int resolve_error_pages(struct jn_gw_routes *r, struct jn_gw_server *gs,
                               struct jn_gw_location *gl, char *err, size_t errlen)
{
    const struct jn_conf_settings *s = gl->s;
    if (!s->nerror_pages)
        return 0;
    gl->errs = jn_calloc(s->nerror_pages, sizeof(*gl->errs));
    gl->nerrs = s->nerror_pages;
    for (size_t i = 0; i < s->nerror_pages; i++) {
        const struct jn_conf_error_page *ce = &s->error_pages[i];
        gl->errs[i].ce = ce;
        if (ce->uri[0] != '/')
            continue;
        const struct jn_gw_location *t = route_in_server(gs, ce->uri, strlen(ce->uri));
        int line = gl->cl ? gl->cl->line : gs->cs->line;
        if (!t || !t->cl || !t->cl->return_code || t->cl->return_code == 444)
            return fail(err, errlen, r->conf->path, line,
                        "error_page %s: no location of this server answers it with \"return\" "
                        "(jern serves error pages from a return location or an http(s):// URL; "
                        "write e.g. location = %s { return 404 \"...\"; })",
                        ce->uri, ce->uri);
        gl->errs[i].target = t;
    }
    return 0;
}

const struct jn_gw_location *jn_gw_route(const struct jn_gw_snapshot *s,
                                         const struct jn_gw_listen *l, const char *host,
                                         size_t host_len, const char *path, size_t path_len,
                                         const struct jn_gw_app **app)
{
    *app = NULL;
    char h[256];
    size_t n = host ? norm_host(host, host_len, h, sizeof(h)) : 0;
    const struct jn_gw_server *srv = n ? jn_gw_match_server(l, h, n) : NULL;
    if (!srv && n && s->napps) {
        const struct jn_gw_app *a = find_app(s, h);
        if (a) {
            *app = a;
            return &l->def->app_loc;
        }
    }
    if (!srv)
        srv = l->def;
    return route_in_server(srv, path, path_len);
}
