/* The dashboard's pure parts: the one-hour ring, per-second samples from
 * counters (rates, quantiles from histogram differences) and sessions. */
#include "jn_test.h"

#include "control/ui/ring.h"
#include "control/ui/sample.h"
#include "control/ui/session.h"

#include <math.h>

static void vals_of(float x, float v[JN_RING_NSERIES])
{
    for (int s = 0; s < JN_RING_NSERIES; s++)
        v[s] = x + (float)s / 10;
}

static void test_ring_appends_and_wraps(void **state)
{
    static struct jn_ring r;
    jn_ring_init(&r);
    int64_t first;
    assert_int_equal(jn_ring_since(&r, 0, &first), 0);
    float v[JN_RING_NSERIES];
    int64_t t0 = 1000000;
    for (int64_t i = 0; i < JN_RING_LEN + 100; i++) {
        vals_of((float)i, v);
        assert_true(jn_ring_push(&r, t0 + i, v));
    }
    /* Full: the hour ends at the newest second, the first 100 are gone. */
    int64_t last = t0 + JN_RING_LEN + 99;
    assert_int_equal(r.len, JN_RING_LEN);
    assert_int_equal(jn_ring_since(&r, 0, &first), JN_RING_LEN);
    assert_int_equal(first, t0 + 100);
    assert_true(jn_ring_get(&r, t0 + 100, JN_RING_RPS) == 100.0f);
    assert_true(jn_ring_get(&r, last, JN_RING_RPS) == (float)(JN_RING_LEN + 99));
    assert_true(fabsf(jn_ring_get(&r, last, JN_RING_P99) - ((float)(JN_RING_LEN + 99) + 0.2f)) <
                1e-3f);
    assert_true(jn_ring_get(&r, t0 + 99, JN_RING_RPS) == 0.0f); /* fell off */
    assert_true(jn_ring_get(&r, last + 1, JN_RING_RPS) == 0.0f);
    /* Incremental reads: only what is newer. */
    assert_int_equal(jn_ring_since(&r, last - 3, &first), 3);
    assert_int_equal(first, last - 2);
    assert_int_equal(jn_ring_since(&r, last, &first), 0);
    /* An older second is ignored; the newest again replaces it. */
    vals_of(7, v);
    assert_false(jn_ring_push(&r, last - 1, v));
    assert_true(jn_ring_push(&r, last, v));
    assert_true(jn_ring_get(&r, last, JN_RING_RPS) == 7.0f);
    assert_int_equal(r.len, JN_RING_LEN);
}

static void test_ring_gaps(void **state)
{
    static struct jn_ring r;
    jn_ring_init(&r);
    float v[JN_RING_NSERIES];
    vals_of(5, v);
    jn_ring_push(&r, 100, v);
    jn_ring_push(&r, 104, v); /* 101..103 missed: zeros */
    assert_int_equal(r.len, 5);
    assert_true(jn_ring_get(&r, 102, JN_RING_RPS) == 0.0f);
    assert_true(jn_ring_get(&r, 104, JN_RING_RPS) == 5.0f);
    assert_true(jn_ring_get(&r, 100, JN_RING_RPS) == 5.0f);
    /* A jump past a whole hour starts over. */
    jn_ring_push(&r, 104 + 2 * JN_RING_LEN, v);
    assert_int_equal(r.len, 1);
    int64_t first;
    assert_int_equal(jn_ring_since(&r, 0, &first), 1);
    assert_int_equal(first, 104 + 2 * JN_RING_LEN);
}

/* n responses of us microseconds each, into c's cumulative histogram. */
static void record(struct jn_sample_counters *c, int cls, int64_t us, uint64_t n)
{
    c->status[cls] += n;
    for (int b = 0; b < JN_STATS_NBUCKETS; b++)
        if (b == JN_STATS_NBOUNDS || us <= jn_stats_bounds_us[b])
            c->bucket[b] += n;
}

static void test_sample_rates_and_quantiles(void **state)
{
    struct jn_sample_counters a = {.servers = 2}, b;
    record(&a, 1, 3000, 1000); /* history before the second: not counted */
    b = a;
    record(&b, 1, 3000, 90);    /* 90 fast 2xx (0..5 ms bucket) */
    record(&b, 3, 30000, 8);    /* 8 4xx in 25..50 ms */
    record(&b, 4, 20000000, 2); /* 2 5xx past the last bound */
    float v[JN_RING_NSERIES];
    jn_sample_values(&a, &b, 2.0, v);
    assert_true(v[JN_RING_RPS] == 50.0f);
    assert_true(v[JN_RING_2XX] == 45.0f);
    assert_true(v[JN_RING_4XX] == 4.0f);
    assert_true(v[JN_RING_5XX] == 1.0f);
    assert_true(v[JN_RING_INST] == 2.0f);
    /* p50: the 50th of 90 in 0..5 ms, linear: 50/90 * 5 ms. */
    assert_true(fabs(v[JN_RING_P50] - 5.0 * 50 / 90) < 1e-3);
    /* p99: the 99th of 100 is in the unbounded bucket: its lower bound. */
    assert_true(fabs(v[JN_RING_P99] - 10000.0) < 1e-3);
    /* Nothing between the readings: zeros, not NaN. */
    jn_sample_values(&b, &b, 1.0, v);
    for (int s = 0; s < JN_RING_INST; s++)
        assert_true(v[s] == 0.0f);
    /* A counter that went down (a server left) counts as nothing. */
    jn_sample_values(&b, &a, 1.0, v);
    assert_true(v[JN_RING_RPS] == 0.0f && v[JN_RING_P50] == 0.0f);
}

static void test_sessions_and_codes(void **state)
{
    static struct jn_ui_sessions t;
    struct jn_ui_session *s = jn_ui_session_open(&t, 1000);
    assert_non_null(s);
    assert_int_equal(strlen(s->id), JN_UI_SECRET_LEN);
    assert_int_equal(strlen(s->csrf), JN_UI_SECRET_LEN);
    assert_string_not_equal(s->id, s->csrf);
    char id[JN_UI_SECRET_LEN + 1];
    memcpy(id, s->id, sizeof(id));
    assert_ptr_equal(jn_ui_session_find(&t, id, strlen(id), 2000), s);
    assert_null(jn_ui_session_find(&t, id, strlen(id) - 1, 2000)); /* a prefix is no id */
    assert_null(jn_ui_session_find(&t, "", 0, 2000));
    /* Idle too long: gone. */
    assert_null(jn_ui_session_find(&t, id, strlen(id), 2000 + JN_UI_SESSION_MS + 1));
    /* The table is fixed: the least recently used one makes room. */
    struct jn_ui_session *keep = jn_ui_session_open(&t, 5000);
    char kid[JN_UI_SECRET_LEN + 1];
    memcpy(kid, keep->id, sizeof(kid));
    for (int i = 0; i < JN_UI_MAX_SESSIONS - 1; i++)
        assert_non_null(jn_ui_session_open(&t, 6000 + i));
    assert_non_null(jn_ui_session_find(&t, kid, strlen(kid), 7000)); /* touched: now the newest */
    assert_non_null(jn_ui_session_open(&t, 7001));
    assert_non_null(jn_ui_session_find(&t, kid, strlen(kid), 7002));
    /* A one-time code works once, and not after it expired. */
    char code[JN_UI_SECRET_LEN + 1], old[JN_UI_SECRET_LEN + 1];
    assert_int_equal(jn_ui_code_new(&t, 1000, code), 0);
    assert_int_equal(jn_ui_code_new(&t, 1000, old), 0);
    assert_false(jn_ui_code_use(&t, "nope", 4, 1001));
    assert_true(jn_ui_code_use(&t, code, strlen(code), 1001));
    assert_false(jn_ui_code_use(&t, code, strlen(code), 1002));
    assert_false(jn_ui_code_use(&t, old, strlen(old), 1000 + JN_UI_CODE_MS + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_appends_and_wraps),
        cmocka_unit_test(test_ring_gaps),
        cmocka_unit_test(test_sample_rates_and_quantiles),
        cmocka_unit_test(test_sessions_and_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
