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

/* Matches re against s[0..n): keeps the captures (and a copy of s) on a
 * match. */
static bool match(const char *s, size_t n, const struct jn_regex *re, struct caps *c)
{
    size_t ovec[2 * JN_REGEX_MAX_GROUPS];
    if (n > sizeof(c->subj))
        return false;
    int k = jn_regex_exec(re, s, n, ovec);
    if (k > 0) {
        memcpy(c->subj, s, n);
        memcpy(c->ovec, ovec, sizeof(ovec));
        c->n = k;
    }
    return k > 0;
}

/* Evaluates the if's $variable and matches re against it. */
static bool match_var(struct gw_req *r, const struct jn_template *t, const struct jn_regex *re,
                      struct caps *c)
{
    char buf[sizeof(c->subj)];
    ssize_t len = gw_eval_template(r, t, buf, sizeof(buf));
    return len >= 0 && match(buf, (size_t)len, re, c);
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
        return match_var(r, &w->subject, w->cond_re, c);
    case JN_COND_NOT_RE:
        return !match_var(r, &w->subject, w->cond_re, c);
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
    /* $uri and $args: the request's path before and after its '?' */
    const char *path = r->hreq.path, *q = memchr(path, '?', r->hreq.path_len);
    size_t ul = q ? (size_t)(q - path) : r->hreq.path_len;
    size_t al = q ? r->hreq.path_len - ul - 1 : 0;
    struct caps c = {.n = 0};
    for (size_t i = 0; i < n; i++) {
        const struct jn_gw_rewrite *w = &v[i];
        if (!cond_holds(r, w, &c))
            continue;
        if (!w->is_return && !match(path, ul, w->re, &c))
            continue;
        *len = -1;
        if (w->has_text && (*len = expand(r, w, &c, out, cap)) < 0)
            return -1;
        if (!w->is_return && w->keep_args && al > 0) {
            bool has_q = memchr(out, '?', (size_t)*len) != NULL;
            if ((size_t)*len + 1 + al > cap)
                return -1;
            out[(*len)++] = has_q ? '&' : '?';
            memcpy(out + *len, q + 1, al);
            *len += (ssize_t)al;
        }
        return w->code;
    }
    return 0;
}
