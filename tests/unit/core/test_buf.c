#include "jn_test.h"

#include "core/buf.h"

static void test_append_and_cap(void **state)
{
    struct jn_buf b;
    jn_buf_init(&b, 10);
    assert_int_equal(jn_buf_append(&b, "hello", 5), 0);
    assert_int_equal(jn_buf_append(&b, "world", 5), 0);
    assert_int_equal(b.len, 10);
    /* past the cap: refused, buffer unchanged */
    assert_int_equal(jn_buf_append(&b, "!", 1), JN_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    jn_buf_free(&b);
}

static void test_consume_and_printf(void **state)
{
    struct jn_buf b;
    jn_buf_init(&b, 1024);
    assert_int_equal(jn_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(jn_buf_cstr(&b), "42-x");
    jn_buf_consume(&b, 3);
    assert_string_equal(jn_buf_cstr(&b), "x");
    jn_buf_consume(&b, 99);
    assert_int_equal(b.len, 0);
    jn_buf_free(&b);
}

static void test_printf_respects_cap(void **state)
{
    struct jn_buf b;
    jn_buf_init(&b, 8);
    assert_int_equal(jn_buf_printf(&b, "%s", "0123456789"), JN_ETOOBIG);
    assert_int_equal(b.len, 0);
    jn_buf_free(&b);
}

static void test_strerror(void **state)
{
    assert_string_equal(jn_strerror(JN_ETOOBIG), "size limit exceeded");
    assert_string_equal(jn_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
    assert_string_equal(jn_strerror(0), "success");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_consume_and_printf),
        cmocka_unit_test(test_printf_respects_cap),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
