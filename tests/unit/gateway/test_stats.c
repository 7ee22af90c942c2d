#include "jn_test.h"

#include "gateway/stats.h"
#include "gateway/upstream.h"

#include <pthread.h>

static struct jn_peer *peer(void)
{
    struct jn_conf_upstream_server s;
    memset(&s, 0, sizeof(s));
    s.text = "127.0.0.1:8001";
    s.weight = 1;
    struct jn_peer *p = jn_peer_new(&s);
    assert_non_null(p);
    return p;
}

static void test_classes_and_cumulative_buckets(void **state)
{
    (void)state;
    struct jn_peer *p = peer();
    jn_peer_stats_record(p, 0, 200, 1000);     /* <= 5 ms */
    jn_peer_stats_record(p, 1, 204, 5000);     /* exactly on a bound: in it */
    jn_peer_stats_record(p, 2, 404, 30000);    /* <= 50 ms */
    jn_peer_stats_record(p, 3, 503, 20000000); /* beyond 10 s: +Inf only */
    jn_peer_stats_record(p, 40, 101, -1);      /* untimed; worker beyond the slots */
    jn_peer_stats_record(p, 0, 999, 1000);     /* no class, still timed */
    struct jn_peer_stats st;
    jn_peer_stats_read(p, &st);
    assert_int_equal(st.status[0], 1);
    assert_int_equal(st.status[1], 2);
    assert_int_equal(st.status[2], 0);
    assert_int_equal(st.status[3], 1);
    assert_int_equal(st.status[4], 1);
    assert_int_equal(st.bucket[0], 3); /* le 0.005 */
    assert_int_equal(st.bucket[1], 3); /* le 0.01 */
    assert_int_equal(st.bucket[2], 3); /* le 0.025 */
    assert_int_equal(st.bucket[3], 4); /* le 0.05 */
    assert_int_equal(st.bucket[JN_STATS_NBOUNDS - 1], 4);
    assert_int_equal(st.bucket[JN_STATS_NBOUNDS], 5); /* +Inf */
    assert_int_equal(st.count, 5);
    assert_true(st.time_sum_s > 20.03 && st.time_sum_s < 20.04);
    jn_peer_unref(p);
}

struct hammer {
    struct jn_peer *p;
    int worker;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 100000; i++)
        jn_peer_stats_record(h->p, h->worker, 200 + (i % 4) * 100, i % 3 ? 1000 : 60000);
    return NULL;
}

static void test_concurrent_workers_sum_exactly(void **state)
{
    (void)state;
    struct jn_peer *p = peer();
    pthread_t t[20];
    struct hammer h[20];
    for (int i = 0; i < 20; i++) { /* 20 workers: some share a slot */
        h[i] = (struct hammer){p, i};
        pthread_create(&t[i], NULL, hammer_run, &h[i]);
    }
    for (int i = 0; i < 20; i++)
        pthread_join(t[i], NULL);
    struct jn_peer_stats st;
    jn_peer_stats_read(p, &st);
    assert_int_equal(st.count, 2000000);
    assert_int_equal(st.status[1] + st.status[2] + st.status[3] + st.status[4], 2000000);
    assert_int_equal(st.status[1], 500000);
    assert_int_equal(st.bucket[0], 20 * 66666); /* i % 3 != 0 */
    jn_peer_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_cumulative_buckets),
        cmocka_unit_test(test_concurrent_workers_sum_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
