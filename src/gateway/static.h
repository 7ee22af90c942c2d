/*
 * static.h: the files a location serves (root or alias, index, try_files,
 * types; src/config/static_files.c reads them), compiled with the routes;
 * static_run.c answers with them. Control thread builds, workers read.
 */
#ifndef JN_GATEWAY_STATIC_H
#define JN_GATEWAY_STATIC_H

#include "config/conf.h"
#include "gateway/vars.h"

struct jn_gw_static {
    const char *dir; /* root, or alias (borrowed from the conf), without a trailing '/' */
    size_t dir_len;
    size_t strip; /* alias: the location prefix's length, taken off the URI */
    char *const *index;
    size_t nindex;
    const struct jn_conf_kv *types; /* NULL: jern's table of common types */
    size_t ntypes;
    const char *default_type;
    struct jn_template *tries; /* try_files but the last, compiled */
    size_t ntries;
    int try_code;        /* try_files ... =CODE */
    const char *try_uri; /* try_files ... /URI */
};

/* Whether cl serves files: neither proxy_pass nor return, and a root or an
 * alias. */
bool gw_static_wanted(const struct jn_conf_location *cl);

/* Compiles cl's files. Returns 0, or JN_ECONFIG with the message. */
int gw_static_compile(const struct jn_conf_location *cl, const char *prefix,
                      const struct jn_user_vars *u, struct jn_gw_static **out, char *err,
                      size_t errlen);
void gw_static_free(struct jn_gw_static *st);

/* The Content-Type of a file name (by its extension). */
const char *gw_static_type(const struct jn_gw_static *st, const char *name, size_t len);

#endif
