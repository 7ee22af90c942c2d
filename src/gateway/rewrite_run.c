/*
 * rewrite_run.c: runs a location's rewrite-phase statements (rewrite.h) as
 * nginx's rewrite module does for redirects: in file order, each under its
 * if's condition; the first rewrite whose expression matches $uri, or the
 * first return reached, answers. Captures ($1..$9) come from the last
 * expression that matched (the if's or the rewrite's). A rewrite keeps the
 * request's arguments unless its replacement ends with '?'. Worker thread.
 */
#include "gateway/rewrite_run.h"

#include "gateway/proxy.h"
#include "gateway/types.h"

#include <string.h>

/* The captures of the last expression that matched: offsets into subj. */
struct caps {
    char subj[2048];
    size_t ovec[2 * JN_REGEX_MAX_GROUPS];
    int n;
};

/* Evaluates t into c->subj and matches re: keeps the captures on a match. */
static bool match(struct gw_req *r, const struct jn_template *t, const struct jn_regex *re,
                  struct caps *c)
{
    char buf[sizeof(c->subj)];
    ssize_t len = gw_eval_template(r, t, buf, sizeof(buf));
    if (len < 0)
        return false;
    size_t ovec[2 * JN_REGEX_MAX_GROUPS];
    int k = jn_regex_exec(re, buf, (size_t)len, ovec);
    if (k > 0) {
        memcpy(c->subj, buf, (size_t)len);
        memcpy(c->ovec, ovec, sizeof(ovec));
        c->n = k;
    }
    return k > 0;
}

static bool cond_holds(struct gw_req *r, const struct jn_gw_rewrite *w, struct caps *c)
{
    char a[1024], b[1024];
    ssize_t al, bl;
    switch (w->op) {
    case JN_COND_NONE:
        return true;
    case JN_COND_TRUE:
        al = gw_eval_template(r, &w->subject, a, sizeof(a));
        return al > 0 && !(al == 1 && a[0] == '0');
    case JN_COND_EQ:
    case JN_COND_NE:
        al = gw_eval_template(r, &w->subject, a, sizeof(a));
        bl = gw_eval_template(r, &w->arg, b, sizeof(b));
        return (al >= 0 && al == bl && memcmp(a, b, (size_t)al) == 0) == (w->op == JN_COND_EQ);
    case JN_COND_RE:
        return match(r, &w->subject, w->cond_re, c);
    case JN_COND_NOT_RE:
        return !match(r, &w->subject, w->cond_re, c);
    }
    return false;
}

/* Writes the pieces (captures from c) at out; returns the length or -1. */
static ssize_t expand(struct gw_req *r, const struct jn_gw_rewrite *w, const struct caps *c,
                      char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < w->npieces; i++) {
        const struct jn_gw_rw_piece *pc = &w->pieces[i];
        if (pc->group < 0) {
            ssize_t k = gw_eval_template(r, &pc->tpl, out + len, cap - len);
            if (k < 0)
                return -1;
            len += (size_t)k;
        } else if (pc->group < c->n && c->ovec[2 * pc->group] != (size_t)-1) {
            size_t from = c->ovec[2 * pc->group], k = c->ovec[2 * pc->group + 1] - from;
            if (k > cap - len)
                return -1;
            memcpy(out + len, c->subj + from, k);
            len += k;
        }
    }
    return (ssize_t)len;
}

int gw_rewrite_run(struct gw_req *r, const struct jn_gw_rewrite *v, size_t n, char *out, size_t cap,
                   ssize_t *len)
{
    struct caps c = {.n = 0};
    for (size_t i = 0; i < n; i++) {
        const struct jn_gw_rewrite *w = &v[i];
        if (!cond_holds(r, w, &c))
            continue;
        if (!w->is_return && !match(r, &w->uri, w->re, &c))
            continue;
        *len = -1;
        if (w->has_text && (*len = expand(r, w, &c, out, cap)) < 0)
            return -1;
        if (!w->is_return && w->keep_args) {
            char args[2048];
            ssize_t al = gw_eval_template(r, &w->args, args, sizeof(args));
            if (al > 0) {
                bool has_q = memchr(out, '?', (size_t)*len) != NULL;
                if ((size_t)*len + 1 + (size_t)al > cap)
                    return -1;
                out[(*len)++] = has_q ? '&' : '?';
                memcpy(out + *len, args, (size_t)al);
                *len += al;
            }
        }
        return w->code;
    }
    return 0;
}
