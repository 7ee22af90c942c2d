#include "jn_test.h"

#include "http/uri.h"

static const char *norm(const char *in)
{
    static char out[64];
    ssize_t k = jn_uri_normalize(in, strlen(in), out, sizeof(out));
    if (k < 0)
        return "(bad)";
    out[k] = '\0';
    return out;
}

static void test_segments_and_slashes(void **state)
{
    assert_string_equal(norm("/"), "/");
    assert_string_equal(norm("/a"), "/a");
    assert_string_equal(norm("/a/"), "/a/");
    assert_string_equal(norm("/a/b/../c"), "/a/c");
    assert_string_equal(norm("/a/./b"), "/a/b");
    assert_string_equal(norm("/a/.."), "/");
    assert_string_equal(norm("/a/b/."), "/a/b/");
    assert_string_equal(norm("//a//b//"), "/a/b/");
    assert_string_equal(norm("/a/..."), "/a/...");
    assert_string_equal(norm("/.well-known/x"), "/.well-known/x");
}

static void test_escapes(void **state)
{
    assert_string_equal(norm("/a/%41%62"), "/a/Ab");
    assert_string_equal(norm("/space%20name.html"), "/space name.html");
    /* decoded before the segments are resolved: escaped dots and slashes count */
    assert_string_equal(norm("/a/%2e%2e/b"), "/b");
    assert_string_equal(norm("/a%2Fb"), "/a/b");
    assert_string_equal(norm("/%00"), "(bad)");
    assert_string_equal(norm("/%zz"), "(bad)");
    assert_string_equal(norm("/%4"), "(bad)");
    assert_string_equal(norm("/%"), "(bad)");
}

static void test_refused(void **state)
{
    assert_string_equal(norm("/.."), "(bad)");
    assert_string_equal(norm("/a/../.."), "(bad)");
    assert_string_equal(norm("/%2e%2e/etc/passwd"), "(bad)");
    assert_string_equal(norm("a/b"), "(bad)");
    assert_string_equal(norm(""), "(bad)");
    char big[200];
    memset(big, 'x', sizeof(big));
    big[0] = '/';
    char out[64];
    assert_true(jn_uri_normalize(big, sizeof(big), out, sizeof(out)) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_and_slashes),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
