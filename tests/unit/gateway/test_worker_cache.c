#include "jn_test.h"

#include "gateway/worker.h"

/* The free lists keep what the busiest of the last GW_TRIM_PERIODS periods
 * used and give back what none of them needed. */
static void test_trim_keeps_reused_blocks_and_frees_idle_ones(void **state)
{
    (void)state;
    struct gw_worker *w = gw_worker_new(NULL, 0, 16);
    assert_non_null(w);
    enum { N = 100 };
    char *bufs[N];
    size_t cap;
    for (int i = 0; i < N; i++) {
        bufs[i] = gw_buf_get(w, &cap);
        assert_int_equal(cap, GW_CLIENT_BUF);
    }
    /* A burst of N is over: all N are cached, above the old cap of 64. */
    for (int i = 0; i < N; i++)
        gw_buf_put(w, bufs[i], GW_CLIENT_BUF);
    assert_int_equal(w->nfree_bufs, N);

    /* The first trim closes the period in which the burst took them. */
    gw_worker_trim(w);
    assert_int_equal(w->nfree_bufs, N);

    /* A steady load of 10 in flight: the burst's peak is kept while it is in
     * the window, then only the 10 are. */
    for (int p = 1; p <= GW_TRIM_PERIODS; p++) {
        for (int i = 0; i < 10; i++)
            bufs[i] = gw_buf_get(w, &cap);
        for (int i = 0; i < 10; i++)
            gw_buf_put(w, bufs[i], GW_CLIENT_BUF);
        gw_worker_trim(w);
        assert_int_equal(w->nfree_bufs, p < GW_TRIM_PERIODS ? N : 10);
    }

    /* Periods with no use at all give back the rest once the window has none
     * that needed them. */
    for (int p = 1; p < GW_TRIM_PERIODS; p++) {
        gw_worker_trim(w);
        assert_int_equal(w->nfree_bufs, 10);
    }
    gw_worker_trim(w);
    assert_int_equal(w->nfree_bufs, 0);
    assert_null(w->free_bufs);

    /* Response buffers and request objects follow the same rule. */
    char *rb = gw_rbuf_get(w);
    struct gw_req *r = gw_req_get(w);
    gw_rbuf_put(w, rb);
    gw_req_put(w, r);
    assert_int_equal(w->nfree_rbufs, 1);
    assert_int_equal(w->nfree_reqs, 1);
    for (int p = 0; p <= GW_TRIM_PERIODS; p++)
        gw_worker_trim(w);
    assert_int_equal(w->nfree_rbufs, 0);
    assert_int_equal(w->nfree_reqs, 0);
    /* Never started: gw_worker_free would join a thread that does not exist. */
    jn_loop_free(w->loop);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_keeps_reused_blocks_and_frees_idle_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
