#include "jn_test.h"

#include "ev/timer.h"

static void noop(struct jn_loop *l, struct jn_timer *t) {}

static void test_heap_order(void **state)
{
    struct jn_timer_heap h;
    jn_timer_heap_init(&h);
    struct jn_timer t[100];
    /* insert in a scrambled order */
    for (int i = 0; i < 100; i++) {
        jn_timer_init(&t[i], noop, NULL);
        jn_timer_heap_set(&h, &t[i], (i * 37) % 100);
    }
    /* remove a few, move a few */
    jn_timer_heap_remove(&h, &t[10]);
    jn_timer_heap_remove(&h, &t[20]);
    jn_timer_heap_set(&h, &t[30], -5); /* becomes the earliest */
    assert_ptr_equal(jn_timer_heap_top(&h), &t[30]);
    int64_t last = -100;
    size_t n = 0;
    struct jn_timer *top;
    while ((top = jn_timer_heap_top(&h))) {
        assert_true(top->deadline >= last);
        last = top->deadline;
        jn_timer_heap_remove(&h, top);
        assert_false(jn_timer_armed(top));
        n++;
    }
    assert_int_equal(n, 98);
    jn_timer_heap_free(&h);
}

static void test_remove_unarmed_is_noop(void **state)
{
    struct jn_timer_heap h;
    jn_timer_heap_init(&h);
    struct jn_timer t;
    jn_timer_init(&t, noop, NULL);
    jn_timer_heap_remove(&h, &t);
    assert_null(jn_timer_heap_top(&h));
    jn_timer_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_remove_unarmed_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
