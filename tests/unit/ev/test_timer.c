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

/* Moving a timer later leaves it in place until its old key comes due;
 * it then fires at its new deadline, not before, and others still fire in
 * time. */
static void test_move_later_is_lazy(void **state)
{
    struct jn_timer_heap h;
    jn_timer_heap_init(&h);
    struct jn_timer a, b;
    jn_timer_init(&a, noop, NULL);
    jn_timer_init(&b, noop, NULL);
    jn_timer_heap_set(&h, &a, 10);
    jn_timer_heap_set(&h, &b, 20);
    jn_timer_heap_set(&h, &a, 30);
    assert_ptr_equal(jn_timer_heap_top(&h), &a); /* not moved yet */
    assert_int_equal(a.deadline, 30);
    assert_null(jn_timer_heap_expired(&h, 10));
    assert_ptr_equal(jn_timer_heap_top(&h), &b); /* moved on the way */
    assert_null(jn_timer_heap_expired(&h, 19));
    assert_ptr_equal(jn_timer_heap_expired(&h, 20), &b);
    jn_timer_heap_remove(&h, &b);
    assert_null(jn_timer_heap_expired(&h, 29));
    assert_ptr_equal(jn_timer_heap_expired(&h, 30), &a);
    /* earlier than its place: moved at once */
    jn_timer_heap_set(&h, &b, 40);
    jn_timer_heap_set(&h, &a, 50);
    jn_timer_heap_set(&h, &b, 5);
    assert_ptr_equal(jn_timer_heap_top(&h), &b);
    assert_ptr_equal(jn_timer_heap_expired(&h, 5), &b);
    jn_timer_heap_free(&h);
}

/* Random arming, moving both ways and removing: sweeping the clock forward,
 * every timer still in the heap comes out exactly at its deadline. */
static void test_expired_matches_deadlines(void **state)
{
    enum { N = 300, T = 1000 };
    struct jn_timer_heap h;
    jn_timer_heap_init(&h);
    struct jn_timer t[N];
    int64_t want[N]; /* the last deadline set, -1 when removed */
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        jn_timer_init(&t[i], noop, NULL);
        want[i] = -1;
    }
    for (int step = 0; step < 5000; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        if ((seed >> 4) % 7 == 0) {
            jn_timer_heap_remove(&h, &t[i]);
            want[i] = -1;
        } else {
            want[i] = (int64_t)((seed >> 12) % T);
            jn_timer_heap_set(&h, &t[i], want[i]);
        }
    }
    size_t armed = 0;
    for (int i = 0; i < N; i++)
        armed += want[i] >= 0;
    size_t fired = 0;
    for (int64_t now = 0; now < T; now++) {
        struct jn_timer *x;
        while ((x = jn_timer_heap_expired(&h, now))) {
            assert_int_equal(want[x - t], now);
            want[x - t] = -1;
            jn_timer_heap_remove(&h, x);
            fired++;
        }
    }
    assert_int_equal(fired, armed);
    assert_null(jn_timer_heap_top(&h));
    jn_timer_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_remove_unarmed_is_noop),
        cmocka_unit_test(test_move_later_is_lazy),
        cmocka_unit_test(test_expired_matches_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
