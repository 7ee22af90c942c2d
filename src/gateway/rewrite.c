/*
 * rewrite.c: a location's rewrite-phase statements (rewrite.h) compiled
 * with the routes: templates for the if's operands and the replacement (cut
 * at each $1..$9), the expressions. rewrite_run.c runs them.
 */
#include "gateway/rewrite.h"

#include <stdio.h>
#include <string.h>

static void pieces_free(struct jn_gw_rewrite *w)
{
    for (size_t i = 0; i < w->npieces; i++)
        if (w->pieces[i].group < 0)
            jn_template_free(&w->pieces[i].tpl);
    free(w->pieces);
}

void gw_rewrites_free(struct jn_gw_rewrite *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct jn_gw_rewrite *w = &v[i];
        jn_template_free(&w->subject);
        jn_template_free(&w->arg);
        jn_regex_free(w->cond_re);
        jn_regex_free(w->re);
        pieces_free(w);
    }
    free(v);
}

/* Splits text at each $1..$9 into templates and captures. */
static int compile_pieces(struct jn_gw_rewrite *w, const char *text, const struct jn_user_vars *u,
                          char *err, size_t errlen)
{
    const char *p = text;
    while (*p) {
        const char *q = p;
        while (*q && !(q[0] == '$' && q[1] >= '1' && q[1] <= '9'))
            q++;
        if (q > p) {
            char *lit = jn_strndup(p, (size_t)(q - p));
            w->pieces = jn_realloc(w->pieces, (w->npieces + 1) * sizeof(*w->pieces));
            struct jn_gw_rw_piece *pc = &w->pieces[w->npieces];
            *pc = (struct jn_gw_rw_piece){.group = -1};
            int rc = jn_template_compile_user(lit, u, &pc->tpl, err, errlen);
            free(lit);
            if (rc < 0)
                return rc;
            w->npieces++;
        }
        if (*q) {
            w->pieces = jn_realloc(w->pieces, (w->npieces + 1) * sizeof(*w->pieces));
            w->pieces[w->npieces++] = (struct jn_gw_rw_piece){.group = q[1] - '0'};
            q += 2;
        }
        p = q;
    }
    w->has_text = true;
    return 0;
}

static int compile_one(const struct jn_conf_rewrite *c, const struct jn_user_vars *u,
                       struct jn_gw_rewrite *w, char *err, size_t errlen)
{
    w->op = c->op;
    w->is_return = c->is_return;
    w->code = c->code;
    int rc = 0;
    if (c->op != JN_COND_NONE)
        rc = jn_template_compile_user(c->cond_var, u, &w->subject, err, errlen);
    if (rc == 0 && (c->op == JN_COND_EQ || c->op == JN_COND_NE))
        rc = jn_template_compile_user(c->cond_arg, u, &w->arg, err, errlen);
    if (rc == 0 && (c->op == JN_COND_RE || c->op == JN_COND_NOT_RE))
        rc = jn_regex_compile(c->cond_arg, c->cond_caseless, &w->cond_re, err, errlen);
    if (rc == 0 && !c->is_return) {
        rc = jn_regex_compile(c->regex, false, &w->re, err, errlen);
        size_t tl = strlen(c->text);
        w->keep_args = !(tl && c->text[tl - 1] == '?');
        if (rc == 0) {
            char *t = jn_strndup(c->text, w->keep_args ? tl : tl - 1);
            rc = compile_pieces(w, t, u, err, errlen);
            free(t);
        }
    } else if (rc == 0 && c->text) {
        rc = compile_pieces(w, c->text, u, err, errlen);
    }
    return rc;
}

int gw_rewrites_compile(const struct jn_conf_location *cl, const struct jn_user_vars *u,
                        struct jn_gw_rewrite **out, size_t *n, int *line, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!cl || !cl->nrewrites)
        return 0;
    struct jn_gw_rewrite *v = jn_calloc(cl->nrewrites, sizeof(*v));
    for (size_t i = 0; i < cl->nrewrites; i++) {
        char e[256];
        if (compile_one(&cl->rewrites[i], u, &v[i], e, sizeof(e)) < 0) {
            const struct jn_conf_rewrite *c = &cl->rewrites[i];
            snprintf(err, errlen, "%s: %s",
                     c->op != JN_COND_NONE ? "if"
                     : c->is_return        ? "return"
                                           : "rewrite",
                     e);
            *line = cl->rewrites[i].line;
            gw_rewrites_free(v, i + 1);
            return JN_ECONFIG;
        }
    }
    *out = v;
    *n = cl->nrewrites;
    return 0;
}
