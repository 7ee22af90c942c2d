#include "config/lex.h"

void jn_lex_init(struct jn_lexer *lx, const char *buf, size_t len)
{
    lx->buf = buf;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->error = NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool ends_word(char c)
{
    return is_space(c) || c == ';' || c == '{' || c == '}';
}

static enum jn_tok_type fail(struct jn_lexer *lx, struct jn_token *t, const char *why)
{
    t->type = JN_TOK_ERROR;
    t->error = why;
    t->line = lx->line;
    t->start = lx->buf + lx->pos;
    t->len = 0;
    lx->error = why;
    return t->type;
}

enum jn_tok_type jn_lex_next(struct jn_lexer *lx, struct jn_token *t)
{
    const char *b = lx->buf;
    memset(t, 0, sizeof(*t));
    if (lx->error)
        return fail(lx, t, lx->error);
    for (;;) {
        while (lx->pos < lx->len && is_space(b[lx->pos])) {
            if (b[lx->pos] == '\n')
                lx->line++;
            lx->pos++;
        }
        if (lx->pos < lx->len && b[lx->pos] == '#') {
            while (lx->pos < lx->len && b[lx->pos] != '\n')
                lx->pos++;
            continue;
        }
        break;
    }
    t->line = lx->line;
    t->start = b + lx->pos;
    if (lx->pos >= lx->len) {
        t->type = JN_TOK_EOF;
        return t->type;
    }
    char c = b[lx->pos];
    if (c == '\0')
        return fail(lx, t, "unexpected NUL byte");
    if (c == '{' || c == '}' || c == ';') {
        lx->pos++;
        t->len = 1;
        t->type = c == '{' ? JN_TOK_LBRACE : c == '}' ? JN_TOK_RBRACE : JN_TOK_SEMI;
        return t->type;
    }
    if (c == '"' || c == '\'') {
        size_t i = lx->pos + 1;
        int line = lx->line;
        while (i < lx->len && b[i] != c) {
            if (b[i] == '\0')
                return fail(lx, t, "unexpected NUL byte");
            if (b[i] == '\n')
                line++;
            if (b[i] == '\\' && i + 1 < lx->len) {
                if (b[i + 1] == '\n')
                    line++;
                i++;
            }
            i++;
        }
        if (i >= lx->len)
            return fail(lx, t, "unexpected end of file in a quoted string");
        t->type = JN_TOK_STRING;
        t->start = b + lx->pos + 1;
        t->len = i - lx->pos - 1;
        lx->line = line;
        lx->pos = i + 1;
        /* nginx wants a separator after a closing quote: "a"b is a typo, not one word;
         * ')' ends an if's condition: if ($a ~ "re") gives "re" and ")" */
        if (lx->pos < lx->len && !ends_word(b[lx->pos]) && b[lx->pos] != ')')
            return fail(lx, t, "unexpected character after a quoted string");
        return t->type;
    }
    size_t i = lx->pos;
    while (i < lx->len && !ends_word(b[i])) {
        if (b[i] == '\0')
            return fail(lx, t, "unexpected NUL byte");
        if (b[i] == '\\' && i + 1 < lx->len) {
            /* as nginx: a backslash keeps the next character in the word (a\;b is one word) */
            if (b[i + 1] == '\0')
                return fail(lx, t, "unexpected NUL byte");
            if (b[i + 1] == '\n')
                lx->line++;
            i += 2;
            continue;
        }
        if (b[i] == '$' && i + 1 < lx->len && b[i + 1] == '{') {
            size_t j = i + 2;
            while (j < lx->len && b[j] != '}' && !ends_word(b[j]))
                j++;
            if (j >= lx->len || b[j] != '}')
                return fail(lx, t, "missing \"}\" in a ${variable}");
            i = j + 1;
            continue;
        }
        i++;
    }
    t->type = JN_TOK_WORD;
    t->len = i - lx->pos;
    lx->pos = i;
    return t->type;
}

size_t jn_lex_value(const struct jn_token *t, char *dst)
{
    size_t n = 0;
    /* words and quoted strings decode the same escapes, as nginx does */
    for (size_t i = 0; i < t->len; i++) {
        char c = t->start[i];
        if (c == '\\' && i + 1 < t->len) {
            char e = t->start[i + 1];
            switch (e) {
            case '"':
            case '\'':
            case '\\':
                c = e;
                i++;
                break;
            case 'n':
                c = '\n';
                i++;
                break;
            case 'r':
                c = '\r';
                i++;
                break;
            case 't':
                c = '\t';
                i++;
                break;
            default:
                break; /* kept as written, as nginx does: "\d" stays "\d" */
            }
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return n;
}
