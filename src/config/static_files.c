/*
 * static_files.c: the directives of static files beside an API, as nginx
 * users write them:
 *
 *   root /srv/site;  index index.html;  types { text/css css; }
 *   location /assets/ { alias /srv/build/assets/; }
 *   location / { try_files $uri $uri/ /index.html; }
 *
 * A location with neither proxy_pass nor return serves files when it has a
 * root (its own or inherited) or an alias; src/gateway/static.c does it.
 * Paths are fixed (no $variables) and resolved against the directory of the
 * file that names them.
 */
#include "config/build.h"

#include "config/value.h"

/* A fixed path for root or alias, without the trailing slashes (the URI
 * brings its own). */
static int path_arg(struct jn_conf_build *b, const struct jn_conf_node *n, char **out)
{
    const char *p = n->args[0];
    if (!*p)
        return jn_conf_error(b, n, "empty path in \"%s\" directive", n->name);
    if (strchr(p, '$'))
        return jn_conf_error(b, n, "variables in \"%s\" are not supported: give a fixed directory",
                             n->name);
    char *r = jn_conf_path(n, p);
    size_t len = strlen(r);
    while (len > 1 && r[len - 1] == '/')
        r[--len] = '\0';
    *out = r;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_root)
{
    struct jn_conf_level *lvl = target;
    if (lvl->ctx == JN_CTX_LOCATION && ((struct jn_conf_location_build *)target)->loc->alias)
        return jn_conf_error(b, n,
                             "\"root\" directive is duplicate, \"alias\" directive was "
                             "specified earlier");
    char *p;
    int rc = path_arg(b, n, &p);
    if (rc < 0)
        return rc;
    free(lvl->s->root);
    lvl->s->root = p;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_alias)
{
    struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
    if (loc->regex)
        return jn_conf_error(b, n,
                             "\"alias\" in a regular expression location needs its captures, "
                             "which jern does not do: use a prefix location, or root");
    if (loc->exact)
        return jn_conf_error(b, n,
                             "\"alias\" in an exact (=) location is not supported: use "
                             "a prefix location, or root");
    return path_arg(b, n, &loc->alias);
}

JN_CONF_HANDLER(jn_conf_set_index)
{
    struct jn_conf_settings *s = ((struct jn_conf_level *)target)->s;
    for (size_t i = 0; i < n->nargs; i++)
        if (!n->args[i][0] || strchr(n->args[i], '/') || strchr(n->args[i], '$'))
            return jn_conf_error(b, n,
                                 "invalid index \"%s\": a file name in the directory, without "
                                 "'/' or $variables",
                                 n->args[i]);
    for (size_t i = 0; i < s->nindex; i++)
        free(s->index[i]);
    free(s->index);
    s->index = jn_malloc(n->nargs * sizeof(char *));
    for (size_t i = 0; i < n->nargs; i++)
        s->index[i] = jn_strdup(n->args[i]);
    s->nindex = n->nargs;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_try_files)
{
    struct jn_conf_level *lvl = target;
    if (lvl->ctx == JN_CTX_SERVER)
        return jn_conf_error(b, n,
                             "\"try_files\" at server level is not supported: put it in "
                             "a location (location / { try_files ...; })");
    struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
    const char *last = n->args[n->nargs - 1];
    long code;
    if (last[0] == '@')
        return jn_conf_error(b, n,
                             "try_files's last argument \"%s\" names a named location, which "
                             "jern does not have: end with =404, or a URI of a file",
                             last);
    if (last[0] == '=' && jn_conf_parse_int(last + 1, 100, 599, &code) < 0)
        return jn_conf_error(b, n, "invalid try_files code \"%s\": expected =100 to =599", last);
    if (last[0] != '=' && last[0] != '/')
        return jn_conf_error(b, n,
                             "invalid try_files last argument \"%s\": expected =CODE or a URI "
                             "starting with /",
                             last);
    if (last[0] == '/' && strchr(last, '$'))
        return jn_conf_error(b, n,
                             "variables in try_files's last URI \"%s\" are not supported: give "
                             "a fixed URI such as /index.html",
                             last);
    for (size_t i = 0; i + 1 < n->nargs; i++)
        if (n->args[i][0] != '/' && n->args[i][0] != '$')
            return jn_conf_error(b, n,
                                 "invalid try_files file \"%s\": expected a URI such as $uri, "
                                 "$uri/ or /index.html",
                                 n->args[i]);
    loc->try_files = jn_malloc(n->nargs * sizeof(char *));
    for (size_t i = 0; i < n->nargs; i++)
        loc->try_files[i] = jn_strdup(n->args[i]);
    loc->ntry_files = n->nargs;
    return 0;
}

/* types { TYPE EXT...; }: replaces what the level inherited, as in nginx. */
JN_CONF_HANDLER(jn_conf_set_types)
{
    struct jn_conf_settings *s = ((struct jn_conf_level *)target)->s;
    for (size_t i = 0; i < s->ntypes; i++) {
        free(s->types[i].name);
        free(s->types[i].value);
    }
    free(s->types);
    s->types = jn_malloc(sizeof(*s->types)); /* not NULL: an empty block is a table */
    s->ntypes = 0;
    for (size_t i = 0; i < n->nchildren; i++) {
        const struct jn_conf_node *t = &n->children[i];
        for (size_t k = 0; k < t->nargs; k++) {
            struct jn_conf_kv *kv = jn_conf_grow(&s->types, &s->ntypes, sizeof(*kv));
            kv->name = jn_strdup(t->args[k]);
            kv->value = jn_strdup(t->name);
        }
    }
    return 0;
}
