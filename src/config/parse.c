/* parse.c: tokens -> the generic directive tree (tree.h). Pure over a buffer. */
#include "config/tree.h"

#include "config/lex.h"

#include <stdarg.h>

struct parser {
    struct jn_lexer lx;
    const struct jn_conf_src *src;
    char *err;
    size_t errlen;
};

static int perr(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, int line, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->src->name, line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return JN_ECONFIG;
}

static const char *tok_text(enum jn_tok_type type)
{
    switch (type) {
    case JN_TOK_LBRACE:
        return "{";
    case JN_TOK_RBRACE:
        return "}";
    case JN_TOK_SEMI:
        return ";";
    default:
        return "?";
    }
}

static void node_free(struct jn_conf_node *n)
{
    free(n->name);
    for (size_t i = 0; i < n->nargs; i++)
        free(n->args[i]);
    free(n->args);
    jn_conf_nodes_free(n->children, n->nchildren);
}

void jn_conf_nodes_free(struct jn_conf_node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        node_free(&nodes[i]);
    free(nodes);
}

static void push_word(char ***words, size_t *n, size_t *cap, const struct jn_token *t)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *words = jn_realloc(*words, *cap * sizeof(**words));
    }
    char *s = jn_malloc(t->len + 1);
    jn_lex_value(t, s);
    (*words)[(*n)++] = s;
}

static struct jn_conf_node *push_node(struct jn_conf_node **nodes, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *nodes = jn_realloc(*nodes, *cap * sizeof(**nodes));
    }
    struct jn_conf_node *node = &(*nodes)[(*n)++];
    memset(node, 0, sizeof(*node));
    return node;
}

/* Parses directives until '}' (depth > 0) or end of input (depth 0). */
static int parse_block(struct parser *p, int depth, int open_line, struct jn_conf_node **out,
                       size_t *nout)
{
    struct jn_conf_node *nodes = NULL;
    size_t n = 0, cap = 0;
    char **words = NULL;
    size_t nwords = 0, wcap = 0;
    int first_line = 0;
    int rc = 0;
    struct jn_token t;

    for (;;) {
        enum jn_tok_type type = jn_lex_next(&p->lx, &t);
        if (type == JN_TOK_ERROR) {
            rc = perr(p, t.line, "%s", t.error);
            goto fail;
        }
        if (type == JN_TOK_WORD || type == JN_TOK_STRING) {
            if (nwords == 0)
                first_line = t.line;
            push_word(&words, &nwords, &wcap, &t);
            continue;
        }
        if (type == JN_TOK_EOF) {
            if (nwords > 0) {
                rc = perr(p, t.line, "unexpected end of file, expecting \";\" or \"}\"");
                goto fail;
            }
            if (depth > 0) {
                rc = perr(p, t.line,
                          "unexpected end of file, expecting \"}\" (block opened on line %d)",
                          open_line);
                goto fail;
            }
            break;
        }
        if (type == JN_TOK_RBRACE) {
            if (nwords > 0 || depth == 0) {
                rc = perr(p, t.line, "unexpected \"}\"");
                goto fail;
            }
            break;
        }
        /* ';' or '{' ends a directive, which needs a name */
        if (nwords == 0) {
            rc = perr(p, t.line, "unexpected \"%s\"", tok_text(type));
            goto fail;
        }
        struct jn_conf_node *node = push_node(&nodes, &n, &cap);
        node->name = words[0];
        node->nargs = nwords - 1;
        if (node->nargs > 0) {
            node->args = jn_malloc(node->nargs * sizeof(char *));
            memcpy(node->args, words + 1, node->nargs * sizeof(char *));
        }
        node->line = first_line;
        node->src = p->src;
        nwords = 0;
        if (type == JN_TOK_LBRACE) {
            node->block = true;
            if (depth + 1 >= JN_CONF_MAX_DEPTH) {
                rc = perr(p, t.line, "blocks nested too deeply (more than %d levels)",
                          JN_CONF_MAX_DEPTH);
                goto fail;
            }
            rc = parse_block(p, depth + 1, first_line, &node->children, &node->nchildren);
            if (rc < 0)
                goto fail;
        }
    }
    free(words);
    *out = nodes;
    *nout = n;
    return 0;
fail:
    for (size_t i = 0; i < nwords; i++)
        free(words[i]);
    free(words);
    jn_conf_nodes_free(nodes, n);
    *out = NULL;
    *nout = 0;
    return rc;
}

int jn_conf_parse(const struct jn_conf_src *src, const char *buf, size_t len,
                  struct jn_conf_node **out, size_t *nout, char *err, size_t errlen)
{
    struct parser p = {.src = src, .err = err, .errlen = errlen};
    jn_lex_init(&p.lx, buf, len);
    return parse_block(&p, 0, 0, out, nout);
}

const struct jn_conf_src *jn_conf_tree_add_src(struct jn_conf_tree *t, const char *name,
                                               const char *dir)
{
    struct jn_conf_src *s = jn_calloc(1, sizeof(*s));
    s->name = jn_strdup(name);
    s->dir = jn_strdup(dir ? dir : ".");
    s->next = t->srcs;
    t->srcs = s;
    return s;
}

void jn_conf_tree_free(struct jn_conf_tree *t)
{
    jn_conf_nodes_free(t->root.children, t->root.nchildren);
    t->root.children = NULL;
    t->root.nchildren = 0;
    while (t->srcs) {
        struct jn_conf_src *next = t->srcs->next;
        free(t->srcs->name);
        free(t->srcs->dir);
        free(t->srcs);
        t->srcs = next;
    }
}
