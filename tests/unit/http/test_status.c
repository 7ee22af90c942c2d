#include "jn_test.h"

#include "http/status.h"

static void test_one_phrase_per_code(void **state)
{
    assert_string_equal(jn_http_reason(200), "OK");
    assert_string_equal(jn_http_reason(413), "Content Too Large");
    assert_string_equal(jn_http_reason(503), "Service Unavailable");
    assert_string_equal(jn_http_reason(599), "Error");
    assert_string_equal(jn_http_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_phrase_per_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
