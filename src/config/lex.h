/*
 * lex.h: the tokenizer of nginx-syntax configuration text. Pure: it reads a
 * (buf, len) span it does not own and allocates nothing, so it can be fuzzed.
 * Tokens: words, '…' and "…" strings, '{', '}', ';'. In both words and
 * strings \" \' \\ \n \r \t are escapes and any other backslash is kept;
 * in a word a backslash also keeps the next character from ending it. A '#'
 * at the start of a token comments out the rest of the line.
 * A "${name}" inside a word is part of the word, as in nginx.
 */
#ifndef JN_CONFIG_LEX_H
#define JN_CONFIG_LEX_H

#include "core/common.h"

enum jn_tok_type {
    JN_TOK_EOF = 0,
    JN_TOK_WORD,   /* unquoted text */
    JN_TOK_STRING, /* quoted text; start/len span the inside of the quotes */
    JN_TOK_LBRACE,
    JN_TOK_RBRACE,
    JN_TOK_SEMI,
    JN_TOK_ERROR, /* token.error says what; token.line where */
};

struct jn_lexer {
    const char *buf;
    size_t len;
    size_t pos;
    int line;
    const char *error; /* set once an error was returned: it is returned again */
};

struct jn_token {
    enum jn_tok_type type;
    const char *start; /* points into the lexer's buffer */
    size_t len;
    int line;          /* 1-based line the token starts on */
    const char *error; /* static text, for JN_TOK_ERROR */
};

/* Starts lexing buf[0..len). The buffer must outlive the lexer and its tokens. */
void jn_lex_init(struct jn_lexer *lx, const char *buf, size_t len);

/* Reads the next token into *t and returns its type. After JN_TOK_EOF or
 * JN_TOK_ERROR further calls return the same. */
enum jn_tok_type jn_lex_next(struct jn_lexer *lx, struct jn_token *t);

/* Writes the token's value into dst (room for t->len + 1 bytes), decoding
 * escapes, and NUL-terminates it. Returns the value's length. */
size_t jn_lex_value(const struct jn_token *t, char *dst);

#endif
