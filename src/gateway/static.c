/*
 * static.c: a location's static files compiled with the routes (static.h),
 * and the Content-Type of a file by its extension: the location's types
 * block when the config has one (nginx's mime.types), else a table of the
 * types a web site beside an API uses.
 */
#include "gateway/static.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static char *const default_index[] = {"index.html"};

bool gw_static_wanted(const struct jn_conf_location *cl)
{
    return cl && !cl->return_code && !cl->pass_target && (cl->alias || cl->s.root);
}

int gw_static_compile(const struct jn_conf_location *cl, const char *prefix,
                      const struct jn_user_vars *u, struct jn_gw_static **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (!gw_static_wanted(cl)) {
        if (cl && cl->ntry_files && !cl->return_code && !cl->pass_target) {
            snprintf(err, errlen,
                     "try_files needs a root (or alias) to look for files in: add root DIR");
            return JN_ECONFIG;
        }
        return 0;
    }
    const struct jn_conf_settings *s = &cl->s;
    struct jn_gw_static *st = jn_calloc(1, sizeof(*st));
    st->dir = cl->alias ? cl->alias : s->root;
    st->dir_len = strlen(st->dir);
    if (st->dir_len == 1 && st->dir[0] == '/')
        st->dir_len = 0; /* root /: the URI brings the slash */
    if (cl->alias) {
        st->strip = strlen(prefix);
        if (st->strip && prefix[st->strip - 1] == '/')
            st->strip--; /* location /a/ { alias /x/; }: /a/b is /x/b */
    }
    st->index = s->index ? s->index : default_index;
    st->nindex = s->index ? s->nindex : 1;
    st->types = s->types;
    st->ntypes = s->ntypes;
    st->default_type = s->default_type ? s->default_type : "text/plain";
    if (cl->ntry_files) {
        const char *last = cl->try_files[cl->ntry_files - 1];
        if (last[0] == '=')
            st->try_code = atoi(last + 1);
        else
            st->try_uri = last;
        st->tries = jn_calloc(cl->ntry_files, sizeof(*st->tries));
        for (size_t i = 0; i + 1 < cl->ntry_files; i++) {
            char e[256];
            if (jn_template_compile_user(cl->try_files[i], u, &st->tries[i], e, sizeof(e)) < 0) {
                snprintf(err, errlen, "try_files: %s", e);
                gw_static_free(st);
                return JN_ECONFIG;
            }
            st->ntries = i + 1;
        }
    }
    *out = st;
    return 0;
}

void gw_static_free(struct jn_gw_static *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->ntries; i++)
        jn_template_free(&st->tries[i]);
    free(st->tries);
    free(st);
}

static const struct {
    const char *ext, *type;
} common[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "application/javascript"},
    {"mjs", "application/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain"},
    {"xml", "text/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"pdf", "application/pdf"},
    {"webmanifest", "application/manifest+json"},
};

const char *gw_static_type(const struct jn_gw_static *st, const char *name, size_t len)
{
    size_t i = len;
    while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
        i--;
    if (i == 0 || name[i - 1] != '.')
        return st->default_type;
    const char *ext = name + i;
    size_t el = len - i;
    if (st->types) {
        /* nginx matches extensions case-insensitively; the last entry wins */
        const char *found = NULL;
        for (size_t k = 0; k < st->ntypes; k++)
            if (strlen(st->types[k].name) == el && strncasecmp(st->types[k].name, ext, el) == 0)
                found = st->types[k].value;
        return found ? found : st->default_type;
    }
    for (size_t k = 0; k < JN_ARRAY_LEN(common); k++)
        if (strlen(common[k].ext) == el && strncasecmp(common[k].ext, ext, el) == 0)
            return common[k].type;
    return st->default_type;
}
