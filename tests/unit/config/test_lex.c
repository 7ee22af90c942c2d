#include "jn_test.h"

#include "config/lex.h"
#include "config/tree.h"

static enum jn_tok_type next(struct jn_lexer *lx, struct jn_token *t, char *val)
{
    enum jn_tok_type ty = jn_lex_next(lx, t);
    if (ty == JN_TOK_WORD || ty == JN_TOK_STRING)
        jn_lex_value(t, val);
    return ty;
}

static void test_tokens_and_lines(void **state)
{
    const char *s = "worker_processes auto; # comment ; {\n"
                    "events {\n  use epoll;\n}\n";
    struct jn_lexer lx;
    struct jn_token t;
    char v[64];
    jn_lex_init(&lx, s, strlen(s));
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "worker_processes");
    assert_int_equal(t.line, 1);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "auto");
    assert_int_equal(next(&lx, &t, v), JN_TOK_SEMI);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "events");
    assert_int_equal(t.line, 2);
    assert_int_equal(next(&lx, &t, v), JN_TOK_LBRACE);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_int_equal(t.line, 3);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "epoll");
    assert_int_equal(next(&lx, &t, v), JN_TOK_SEMI);
    assert_int_equal(next(&lx, &t, v), JN_TOK_RBRACE);
    assert_int_equal(t.line, 4);
    assert_int_equal(next(&lx, &t, v), JN_TOK_EOF);
    assert_int_equal(next(&lx, &t, v), JN_TOK_EOF);
}

static void test_quoted_strings(void **state)
{
    const char *s = "a \"x y\\\"z\\n\" 'it\\'s' \"multi\nline\" \"\\d\" b;";
    struct jn_lexer lx;
    struct jn_token t;
    char v[64];
    jn_lex_init(&lx, s, strlen(s));
    next(&lx, &t, v);
    assert_int_equal(next(&lx, &t, v), JN_TOK_STRING);
    assert_string_equal(v, "x y\"z\n");
    assert_int_equal(next(&lx, &t, v), JN_TOK_STRING);
    assert_string_equal(v, "it's");
    assert_int_equal(next(&lx, &t, v), JN_TOK_STRING);
    assert_string_equal(v, "multi\nline");
    assert_int_equal(t.line, 1);
    assert_int_equal(next(&lx, &t, v), JN_TOK_STRING);
    assert_string_equal(v, "\\d"); /* unknown escapes are kept, as nginx does */
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "b");
    assert_int_equal(t.line, 2);
}

static void test_variable_braces_and_hash_in_word(void **state)
{
    const char *s = "x ${host}:80 a#b;";
    struct jn_lexer lx;
    struct jn_token t;
    char v[64];
    jn_lex_init(&lx, s, strlen(s));
    next(&lx, &t, v);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "${host}:80");
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "a#b"); /* '#' starts a comment only at a token's start */
    assert_int_equal(next(&lx, &t, v), JN_TOK_SEMI);
}

static void test_backslash_in_words(void **state)
{
    const char *s = "x a\\;b c\\d \\\"q\\\" e\\tf;";
    struct jn_lexer lx;
    struct jn_token t;
    char v[64];
    jn_lex_init(&lx, s, strlen(s));
    next(&lx, &t, v);
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "a\\;b"); /* the ';' does not end the word; unknown escape kept */
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "c\\d");
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "\"q\""); /* a word may start with an escaped quote */
    assert_int_equal(next(&lx, &t, v), JN_TOK_WORD);
    assert_string_equal(v, "e\tf");
    assert_int_equal(next(&lx, &t, v), JN_TOK_SEMI);
}

static void test_lex_errors(void **state)
{
    struct jn_lexer lx;
    struct jn_token t;
    const char *unterminated = "a \"never closed;\n\n";
    jn_lex_init(&lx, unterminated, strlen(unterminated));
    jn_lex_next(&lx, &t);
    assert_int_equal(jn_lex_next(&lx, &t), JN_TOK_ERROR);
    assert_string_equal(t.error, "unexpected end of file in a quoted string");
    assert_int_equal(jn_lex_next(&lx, &t), JN_TOK_ERROR);

    const char *glued = "a \"x\"y;";
    jn_lex_init(&lx, glued, strlen(glued));
    jn_lex_next(&lx, &t);
    assert_int_equal(jn_lex_next(&lx, &t), JN_TOK_ERROR);

    const char nul[] = "a b\0c;";
    jn_lex_init(&lx, nul, sizeof(nul) - 1);
    jn_lex_next(&lx, &t);
    assert_int_equal(jn_lex_next(&lx, &t), JN_TOK_ERROR);
    assert_string_equal(t.error, "unexpected NUL byte");
}

static int parse(const char *text, struct jn_conf_node **nodes, size_t *n, char *err)
{
    static struct jn_conf_src src = {.name = "t.conf", .dir = "."};
    return jn_conf_parse(&src, text, strlen(text), nodes, n, err, 256);
}

static void test_parse_tree(void **state)
{
    struct jn_conf_node *nodes;
    size_t n;
    char err[256];
    assert_int_equal(parse("a 1 2;\nb {\n c;\n d { }\n}\n", &nodes, &n, err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(nodes[0].name, "a");
    assert_int_equal(nodes[0].nargs, 2);
    assert_string_equal(nodes[0].args[1], "2");
    assert_false(nodes[0].block);
    assert_true(nodes[1].block);
    assert_int_equal(nodes[1].line, 2);
    assert_int_equal(nodes[1].nchildren, 2);
    assert_string_equal(nodes[1].children[0].name, "c");
    assert_int_equal(nodes[1].children[0].line, 3);
    assert_true(nodes[1].children[1].block);
    assert_int_equal(nodes[1].children[1].nchildren, 0);
    jn_conf_nodes_free(nodes, n);
}

static void expect_parse_error(const char *text, const char *msg)
{
    struct jn_conf_node *nodes;
    size_t n;
    char err[256];
    assert_int_equal(parse(text, &nodes, &n, err), JN_ECONFIG);
    assert_string_equal(err, msg);
    assert_null(nodes);
}

static void test_parse_errors(void **state)
{
    expect_parse_error(
        "a {\n b;\n", "t.conf:3: unexpected end of file, expecting \"}\" (block opened on line 1)");
    expect_parse_error("a b", "t.conf:1: unexpected end of file, expecting \";\" or \"}\"");
    expect_parse_error("a;\n}\n", "t.conf:2: unexpected \"}\"");
    expect_parse_error("a {\n b }\n", "t.conf:2: unexpected \"}\"");
    expect_parse_error("a;\n;\n", "t.conf:2: unexpected \";\"");
    expect_parse_error("{ }", "t.conf:1: unexpected \"{\"");
    expect_parse_error("a \"b", "t.conf:1: unexpected end of file in a quoted string");
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        strncat(deep, "a{", sizeof(deep) - strlen(deep) - 1);
    expect_parse_error(deep, "t.conf:1: blocks nested too deeply (more than 32 levels)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_and_lines),
        cmocka_unit_test(test_quoted_strings),
        cmocka_unit_test(test_variable_braces_and_hash_in_word),
        cmocka_unit_test(test_backslash_in_words),
        cmocka_unit_test(test_lex_errors),
        cmocka_unit_test(test_parse_tree),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
