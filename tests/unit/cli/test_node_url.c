/* test_node_url.c: ssh://USER@HOST[:PORT] as `jern node add` reads it. */
#include "jn_test.h"

#include "cli/node_url.h"

static void test_good(void **state)
{
    static const struct {
        const char *in, *user, *host;
        int port;
    } cases[] = {
        {"ssh://root@10.0.0.2", "root", "10.0.0.2", 22},
        {"ssh://deploy@node-1.example.com:2222", "deploy", "node-1.example.com", 2222},
        {"ssh://root@[::1]:22022", "root", "::1", 22022},
        {"ssh://a.b_c-d@h/", "a.b_c-d", "h", 22},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        struct jn_node_url u;
        char err[256];
        assert_int_equal(jn_node_url_parse(cases[i].in, &u, err, sizeof(err)), 0);
        assert_string_equal(u.user, cases[i].user);
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
    }
}

static void test_bad(void **state)
{
    static const char *const cases[] = {
        "root@host",
        "ssh://host",
        "ssh://@host",
        "ssh://root@",
        "ssh://root@host:0",
        "ssh://root@host:65536",
        "ssh://root@host:2x",
        "ssh://root@-oProxyCommand=x",
        "ssh://-l@host",
        "ssh://root@ho st",
        "ssh://root@[::1",
        "ssh://ro'ot@host",
        "ssh://root@host/path",
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        struct jn_node_url u;
        char err[256] = "";
        if (jn_node_url_parse(cases[i], &u, err, sizeof(err)) != JN_EBADINPUT || !err[0])
            fail_msg("accepted \"%s\"", cases[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_good), cmocka_unit_test(test_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
