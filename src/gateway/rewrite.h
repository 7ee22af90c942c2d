/*
 * rewrite.h: a location's rewrite-phase statements (rewrite, if, the return
 * inside an if; src/config/rewrite.c reads them), compiled with the routes
 * and run for each request before the location's return or proxy_pass
 * (rewrite_run.h). jern's rewrites redirect: a statement that applies
 * answers the request.
 */
#ifndef JN_GATEWAY_REWRITE_H
#define JN_GATEWAY_REWRITE_H

#include "config/conf.h"
#include "core/regex.h"
#include "gateway/vars.h"

/* A piece of a replacement or a return text: a template, or a capture. */
struct jn_gw_rw_piece {
    int group; /* $1..$9 of the last regex that matched; -1: tpl */
    struct jn_template tpl;
};

struct jn_gw_rewrite {
    enum jn_conf_cond_op op;
    struct jn_template subject; /* the if's $variable */
    struct jn_template arg;     /* = / != : the value compared with */
    struct jn_regex *cond_re;   /* ~ / !~ */
    bool is_return;
    int code;
    struct jn_regex *re; /* rewrite: matched against $uri */
    struct jn_gw_rw_piece *pieces; /* replacement, or the return's text */
    size_t npieces;
    bool has_text;
    bool keep_args; /* rewrite: the request's arguments follow (no final '?') */
};

/* Compiles cl's statements. Returns 0, or JN_ECONFIG with the message and
 * *line of the statement. Control thread. */
int gw_rewrites_compile(const struct jn_conf_location *cl, const struct jn_user_vars *u,
                        struct jn_gw_rewrite **out, size_t *n, int *line, char *err, size_t errlen);
void gw_rewrites_free(struct jn_gw_rewrite *v, size_t n);

#endif
