#include "jn_test.h"

#include "cli/cmd_scale.h"
#include "control/scale/autoscale.h"

/* A steady app: 2 instances, target 10 per instance, not idle. */
static struct jn_autoscale_in base(void)
{
    return (struct jn_autoscale_in){.cur = 2,
                                    .min = 1,
                                    .max = 5,
                                    .target = 10,
                                    .stable = 20,
                                    .panic = 20,
                                    .window_passed = true};
}

static void test_stable_window_sets_the_count(void **state)
{
    bool panic;
    struct jn_autoscale_in in = base();
    assert_int_equal(jn_autoscale_want(&in, &panic), 2);
    assert_false(panic);
    in.stable = 31; /* 3.1 instances' worth: round up */
    assert_int_equal(jn_autoscale_want(&in, &panic), 4);
    in.stable = 500; /* never above max */
    in.panic = 500;
    assert_int_equal(jn_autoscale_want(&in, &panic), 5);
}

static void test_panic_on_a_burst_and_never_down_while_panicking(void **state)
{
    bool panic;
    struct jn_autoscale_in in = base();
    in.panic = 30; /* 3 wanted by the short window: not yet twice 2 */
    assert_int_equal(jn_autoscale_want(&in, &panic), 2);
    assert_false(panic);
    in.panic = 40; /* twice what runs: panic, follow the short window */
    assert_int_equal(jn_autoscale_want(&in, &panic), 4);
    assert_true(panic);
    in = base();
    in.cur = 4;
    in.stable = 5;
    in.panic = 0;
    in.panicking = true; /* load fell, but the panic holds the count */
    assert_int_equal(jn_autoscale_want(&in, &panic), 4);
}

static void test_down_only_after_a_whole_stable_window(void **state)
{
    bool panic;
    struct jn_autoscale_in in = base();
    in.cur = 4;
    in.stable = in.panic = 9;
    in.window_passed = false;
    assert_int_equal(jn_autoscale_want(&in, &panic), 4);
    in.window_passed = true;
    assert_int_equal(jn_autoscale_want(&in, &panic), 1);
}

static void test_zero_only_when_idle_with_nobody_waiting(void **state)
{
    bool panic;
    struct jn_autoscale_in in = base();
    in.min = 0;
    in.cur = 1;
    in.stable = in.panic = 0.2; /* a cold start's waiter still in the average */
    in.window_passed = false;
    assert_int_equal(jn_autoscale_want(&in, &panic), 1);
    in.idle = true; /* idle wins over the averages and the window */
    assert_int_equal(jn_autoscale_want(&in, &panic), 0);
    in.cur = 0;
    in.waiting = true; /* a request waits: start one */
    assert_int_equal(jn_autoscale_want(&in, &panic), 1);
    in.min = 2; /* min above zero: never zero */
    in.waiting = false;
    in.cur = 2;
    assert_int_equal(jn_autoscale_want(&in, &panic), 2);
}

static void test_cli_durations(void **state)
{
    assert_int_equal(jn_cli_duration_ms("5m"), 300000);
    assert_int_equal(jn_cli_duration_ms("30s"), 30000);
    assert_int_equal(jn_cli_duration_ms("30"), 30000);
    assert_int_equal(jn_cli_duration_ms("250ms"), 250);
    assert_int_equal(jn_cli_duration_ms("1.5s"), 1500);
    assert_int_equal(jn_cli_duration_ms("2h"), 7200000);
    assert_int_equal(jn_cli_duration_ms("soon"), -1);
    assert_int_equal(jn_cli_duration_ms("-1s"), -1);
    assert_int_equal(jn_cli_duration_ms("5d"), -1);
    assert_int_equal(jn_cli_duration_ms(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_window_sets_the_count),
        cmocka_unit_test(test_panic_on_a_burst_and_never_down_while_panicking),
        cmocka_unit_test(test_down_only_after_a_whole_stable_window),
        cmocka_unit_test(test_zero_only_when_idle_with_nobody_waiting),
        cmocka_unit_test(test_cli_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
