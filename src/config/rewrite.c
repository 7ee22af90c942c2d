/*
 * rewrite.c: the rewrite-phase directives of a server or location, as nginx
 * users write them for redirects:
 *
 *   rewrite ^/old/(.*)$ /new/$1 permanent;
 *   if ($host = www.example.com) { return 301 https://example.com$request_uri; }
 *   if ($scheme = http) { rewrite ^ https://$host$request_uri? permanent; }
 *
 * Each becomes a struct jn_conf_rewrite in file order (an if's condition is
 * copied into each statement inside it); the gateway runs them before the
 * location's return (src/gateway/rewrite.c). What nginx would do inside the
 * server (an internal rewrite: "last", "break", or no flag with a path) is
 * refused with the way to say it in jern, never taken and ignored.
 */
#include "config/build.h"

#include "config/value.h"
#include "core/regex.h"

/* An if block being read: its condition and where its statements go. */
struct if_build {
    struct jn_conf_level lvl; /* first: the handlers cast the target to it */
    struct jn_conf_rewrite cond;
    struct jn_conf_rewrite **list;
    size_t *n;
    bool returned; /* a return inside ends the block: what follows never runs */
};

static void stmt_free(struct jn_conf_rewrite *w)
{
    free(w->cond_var);
    free(w->cond_arg);
    free(w->regex);
    free(w->text);
}

void jn_conf_rewrites_free(struct jn_conf_rewrite *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        stmt_free(&v[i]);
    free(v);
}

void jn_conf_rewrites_copy(struct jn_conf_rewrite **dst, size_t *ndst,
                           const struct jn_conf_rewrite *src, size_t nsrc)
{
    for (size_t i = 0; i < nsrc; i++) {
        struct jn_conf_rewrite *w = jn_conf_grow(dst, ndst, sizeof(*w));
        *w = src[i];
        w->cond_var = src[i].cond_var ? jn_strdup(src[i].cond_var) : NULL;
        w->cond_arg = src[i].cond_arg ? jn_strdup(src[i].cond_arg) : NULL;
        w->regex = src[i].regex ? jn_strdup(src[i].regex) : NULL;
        w->text = src[i].text ? jn_strdup(src[i].text) : NULL;
    }
}

/* Where a statement at this level goes, or NULL when a return earlier at the
 * same level answers every request first (nginx never runs what follows). */
static struct jn_conf_rewrite *level_add(void *target, const struct jn_conf_node *n)
{
    struct jn_conf_level *lvl = target;
    struct jn_conf_rewrite *w = NULL;
    if (lvl->ctx == JN_CTX_SERVER) {
        struct jn_conf_server_build *sb = target;
        if (!sb->return_code)
            w = jn_conf_grow(&sb->rewrites, &sb->nrewrites, sizeof(*w));
    } else if (lvl->ctx == JN_CTX_LOCATION) {
        struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
        if (!loc->return_code)
            w = jn_conf_grow(&loc->rewrites, &loc->nrewrites, sizeof(*w));
    } else {
        struct if_build *ib = target;
        if (!ib->returned) {
            w = jn_conf_grow(ib->list, ib->n, sizeof(*w));
            w->op = ib->cond.op;
            w->cond_var = jn_strdup(ib->cond.cond_var);
            w->cond_arg = ib->cond.cond_arg ? jn_strdup(ib->cond.cond_arg) : NULL;
            w->cond_caseless = ib->cond.cond_caseless;
        }
    }
    if (w)
        w->line = n->line;
    return w;
}

JN_CONF_HANDLER(jn_conf_set_rewrite)
{
    const char *re = n->args[0], *repl = n->args[1];
    const char *flag = n->nargs == 3 ? n->args[2] : "";
    int code;
    if (strcmp(flag, "permanent") == 0)
        code = 301;
    else if (strcmp(flag, "redirect") == 0 || jn_conf_is_redirect_target(repl))
        code = 302; /* nginx: an absolute replacement redirects whatever the flag */
    else if (!*flag || strcmp(flag, "last") == 0 || strcmp(flag, "break") == 0)
        return jn_conf_error(
            b, n,
            "\"rewrite %s %s%s%s\" changes the URI inside the server (an internal rewrite), "
            "which jern does not do: add \"redirect\" or \"permanent\" to send the client to "
            "\"%s\", or use a location with proxy_pass http://UPSTREAM/NEW/ to change the path "
            "sent upstream",
            re, repl, *flag ? " " : "", flag, repl);
    else
        return jn_conf_error(b, n,
                             "invalid rewrite flag \"%s\": expected redirect or permanent "
                             "(last and break are internal rewrites, not done by jern)",
                             flag);
    struct jn_regex *cre;
    char rerr[256];
    if (jn_regex_compile(re, false, &cre, rerr, sizeof(rerr)) < 0)
        return jn_conf_error(b, n, "rewrite: %s", rerr);
    jn_regex_free(cre);
    struct jn_conf_rewrite *w = level_add(target, n);
    if (!w)
        return 0;
    w->code = code;
    w->regex = jn_strdup(re);
    w->text = jn_strdup(repl);
    return 0;
}

/* return inside if { }: the same forms as return elsewhere (server.c). */
int jn_conf_if_return(struct jn_conf_build *b, const struct jn_conf_node *n, void *target, int code,
                      const char *text)
{
    (void)b;
    struct if_build *ib = target;
    struct jn_conf_rewrite *w = level_add(target, n);
    ib->returned = true;
    if (!w)
        return 0;
    w->is_return = true;
    w->code = code;
    w->text = text ? jn_strdup(text) : NULL;
    return 0;
}

/* The condition of if (...): "($var)", "($var = text)", "( $var ~* re )". */
static int parse_cond(struct jn_conf_build *b, const struct jn_conf_node *n,
                      struct jn_conf_rewrite *c)
{
    const char *a[3];
    char *own[3] = {0};
    size_t na = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *s = n->args[i];
        size_t len = strlen(s);
        if (i == 0 && s[0] == '(')
            s++, len--;
        if (i == n->nargs - 1 && len && s[len - 1] == ')')
            len--;
        if (!len && (i == 0 || i == n->nargs - 1))
            continue; /* a lone "(" or ")" */
        if (na == 3) {
            na = 4;
            break;
        }
        own[na] = jn_strndup(s, len);
        a[na] = own[na];
        na++;
    }
    int rc = 0;
    if (n->nargs == 0 || n->args[0][0] != '(' ||
        n->args[n->nargs - 1][strlen(n->args[n->nargs - 1]) - 1] != ')' || na == 0 || na > 3) {
        rc = jn_conf_error(b, n,
                           "invalid condition in if: expected (\"$var\"), ($var = text), "
                           "($var != text), ($var ~ regex) or ~*, !~, !~*");
    } else if (a[0][0] == '-' || (a[0][0] == '!' && a[0][1] == '-')) {
        rc = jn_conf_error(b, n,
                           "if (%s ...): file tests (-f, -d, -e, -x) need static files, which "
                           "jern does not serve",
                           a[0]);
    } else if (a[0][0] != '$') {
        rc = jn_conf_error(b, n, "invalid condition in if: \"%s\" is not a $variable", a[0]);
    } else if (na == 1) {
        c->op = JN_COND_TRUE;
    } else if (na == 2) {
        rc = jn_conf_error(b, n, "invalid condition in if: \"%s %s\" needs a value after it", a[0],
                           a[1]);
    } else {
        static const struct {
            const char *op;
            enum jn_conf_cond_op v;
            bool caseless;
        } ops[] = {{"=", JN_COND_EQ, false},      {"!=", JN_COND_NE, false},
                   {"~", JN_COND_RE, false},      {"~*", JN_COND_RE, true},
                   {"!~", JN_COND_NOT_RE, false}, {"!~*", JN_COND_NOT_RE, true}};
        size_t k = 0;
        while (k < JN_ARRAY_LEN(ops) && strcmp(ops[k].op, a[1]) != 0)
            k++;
        if (k == JN_ARRAY_LEN(ops)) {
            rc = jn_conf_error(
                b, n, "invalid operator \"%s\" in if: expected =, !=, ~, ~*, !~ or !~*", a[1]);
        } else {
            c->op = ops[k].v;
            c->cond_caseless = ops[k].caseless;
            c->cond_arg = jn_strdup(a[2]);
            if (c->op == JN_COND_RE || c->op == JN_COND_NOT_RE) {
                struct jn_regex *re = NULL;
                char rerr[256];
                if (jn_regex_compile(a[2], c->cond_caseless, &re, rerr, sizeof(rerr)) < 0)
                    rc = jn_conf_error(b, n, "if: %s", rerr);
                jn_regex_free(re);
            }
        }
    }
    if (rc == 0)
        c->cond_var = jn_strdup(a[0]);
    for (size_t i = 0; i < 3; i++)
        free(own[i]);
    return rc;
}

JN_CONF_HANDLER(jn_conf_set_if)
{
    struct jn_conf_level *lvl = target;
    struct if_build ib = {.lvl = {.s = lvl->s, .ctx = JN_CTX_IF}};
    if (lvl->ctx == JN_CTX_SERVER) {
        struct jn_conf_server_build *sb = target;
        if (sb->return_code)
            return 0; /* after a return: never runs */
        ib.list = &sb->rewrites;
        ib.n = &sb->nrewrites;
    } else {
        struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
        if (loc->return_code)
            return 0;
        ib.list = &loc->rewrites;
        ib.n = &loc->nrewrites;
    }
    int rc = parse_cond(b, n, &ib.cond);
    if (rc == 0 && n->nchildren == 0)
        rc = jn_conf_error(b, n, "if without return or rewrite inside does nothing");
    if (rc == 0)
        rc = jn_conf_walk(b, n, JN_CTX_IF, &ib);
    stmt_free(&ib.cond);
    return rc;
}
