#include "jn_test.h"

#include "core/timefmt.h"

static void test_duration(void **state)
{
    int64_t ms;
    struct {
        const char *in;
        int64_t ms;
    } good[] = {{"10m", 600000},  {"90s", 90000},     {"500ms", 500},   {"2h", 7200000},
                {"1d", 86400000}, {"1h30m", 5400000}, {"45", 45000},    {"0s", 0},
                {"1m500ms", 60500}};
    for (size_t i = 0; i < JN_ARRAY_LEN(good); i++) {
        assert_int_equal(jn_duration_parse(good[i].in, &ms), 0);
        assert_int_equal(ms, good[i].ms);
    }
    const char *bad[] = {"", "m", "10x", "-5m", "1.5h", "10 m", "5mm", "99999999999999d", "1h2"};
    for (size_t i = 0; i < JN_ARRAY_LEN(bad); i++)
        assert_int_equal(jn_duration_parse(bad[i], &ms), JN_EBADINPUT);
}

static void test_rfc3339(void **state)
{
    int64_t ms;
    const char *t = "2026-12-04T18:47:27Z";
    assert_int_equal(jn_rfc3339_parse(t, strlen(t), &ms), 20);
    assert_int_equal(ms, 1796410047000LL);
    t = "2026-12-04T18:47:27.123456789Z rest";
    assert_int_equal(jn_rfc3339_parse(t, strlen(t), &ms), 30);
    assert_int_equal(ms, 1796410047123LL);
    t = "2026-12-04T20:47:27.5+02:00";
    assert_int_equal(jn_rfc3339_parse(t, strlen(t), &ms), (int)strlen(t));
    assert_int_equal(ms, 1796410047500LL);
    t = "2026-12-04 18:47:27Z";
    assert_int_equal(jn_rfc3339_parse(t, strlen(t), &ms), 20);
    const char *bad[] = {"2026-12-04T18:47:27", "2026-13-04T18:47:27Z", "2026-12-04T18:47Z",
                         "2026-12-04T18:47:27.Z", "2026-12-04T18:47:27+2", "26-12-04T18:47:27Z"};
    for (size_t i = 0; i < JN_ARRAY_LEN(bad); i++)
        assert_int_equal(jn_rfc3339_parse(bad[i], strlen(bad[i]), &ms), JN_EBADINPUT);
    /* A cut buffer is never read past. */
    assert_int_equal(jn_rfc3339_parse("2026-12-04T18:47:27Z", 12, &ms), JN_EBADINPUT);
    char out[32];
    jn_rfc3339_format(1796410047123LL, out, sizeof(out));
    assert_string_equal(out, "2026-12-04T18:47:27.123Z");
}

static void test_time_arg_and_stamp(void **state)
{
    int64_t ms, now = 1796410047000LL;
    assert_int_equal(jn_time_arg_parse("10m", now, &ms), 0);
    assert_int_equal(ms, now - 600000);
    assert_int_equal(jn_time_arg_parse("@1796410000", now, &ms), 0);
    assert_int_equal(ms, 1796410000000LL);
    assert_int_equal(jn_time_arg_parse("2026-12-04T18:00:00Z", now, &ms), 0);
    assert_int_equal(ms, 1796407200000LL);
    assert_int_equal(jn_time_arg_parse("yesterday", now, &ms), JN_EBADINPUT);
    assert_int_equal(jn_time_arg_parse("@", now, &ms), JN_EBADINPUT);
    assert_int_equal(jn_time_arg_parse("2026-12-04T18:00:00Z junk", now, &ms), JN_EBADINPUT);

    const char *exec_line = "1796410047123 hello world";
    assert_int_equal(jn_log_stamp_parse(exec_line, strlen(exec_line), &ms), 14);
    assert_int_equal(ms, 1796410047123LL);
    const char *engine_line = "2026-12-04T18:47:27.123456789Z hello";
    assert_int_equal(jn_log_stamp_parse(engine_line, strlen(engine_line), &ms), 31);
    assert_int_equal(ms, 1796410047123LL);
    const char *plain[] = {"hello", "42 is the answer", "", "1796410047123", "2026 was a year"};
    for (size_t i = 0; i < JN_ARRAY_LEN(plain); i++)
        assert_int_equal(jn_log_stamp_parse(plain[i], strlen(plain[i]), &ms), JN_EBADINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_time_arg_and_stamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
