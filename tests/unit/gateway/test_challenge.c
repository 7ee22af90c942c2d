/* test_challenge.c: the HTTP-01 answer table: lookups by path, bad input,
 * a full table, and readers that never see a half-written answer. */
#include "jn_test.h"

#include "gateway/challenge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define P JN_CHALLENGE_PREFIX

static int answer(const char *path, char *out)
{
    return jn_challenge_answer(path, strlen(path), out);
}

static void test_put_answer_remove(void **state)
{
    char out[JN_CHALLENGE_MAX];
    assert_int_equal(answer(P "abc-_9", out), -1);
    assert_int_equal(jn_challenge_put("abc-_9.THUMB"), 0);
    assert_int_equal(answer(P "abc-_9", out), 12);
    assert_string_equal(out, "abc-_9.THUMB");
    /* only the exact token: no prefix match, no longer token, no query */
    assert_int_equal(answer(P "abc-_", out), -1);
    assert_int_equal(answer(P "abc-_99", out), -1);
    assert_int_equal(answer(P "abc-_9?x=1", out), -1);
    assert_int_equal(answer("/.well-known/acme-challenge", out), -1);
    assert_int_equal(answer(P, out), -1);
    assert_int_equal(answer("/abc-_9", out), -1);
    /* put again: replaces, one slot */
    assert_int_equal(jn_challenge_put("abc-_9.OTHER"), 0);
    assert_int_equal(answer(P "abc-_9", out), 12);
    assert_string_equal(out, "abc-_9.OTHER");
    jn_challenge_remove("abc-_9");
    assert_int_equal(answer(P "abc-_9", out), -1);
}

static void test_bad_input(void **state)
{
    char big[JN_CHALLENGE_MAX + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '.';
    assert_int_equal(jn_challenge_put(big), JN_EBADINPUT);
    assert_int_equal(jn_challenge_put("no-dot"), JN_EBADINPUT);
    assert_int_equal(jn_challenge_put(".THUMB"), JN_EBADINPUT);
    assert_int_equal(jn_challenge_put("to/ken.THUMB"), JN_EBADINPUT);
    assert_int_equal(jn_challenge_put("to..ken.THUMB"), JN_EBADINPUT);
}

static void test_full_table(void **state)
{
    char ka[64], out[JN_CHALLENGE_MAX];
    for (int i = 0; i < JN_CHALLENGE_SLOTS; i++) {
        snprintf(ka, sizeof(ka), "t%d.x", i);
        assert_int_equal(jn_challenge_put(ka), 0);
    }
    assert_int_equal(jn_challenge_put("one-more.x"), JN_ETOOBIG);
    assert_int_equal(answer(P "t31", out), 5);
    jn_challenge_remove("t7");
    assert_int_equal(jn_challenge_put("one-more.x"), 0);
    assert_int_equal(answer(P "one-more", out), 10);
    for (int i = 0; i < JN_CHALLENGE_SLOTS; i++) {
        snprintf(ka, sizeof(ka), "t%d", i);
        jn_challenge_remove(ka);
    }
    jn_challenge_remove("one-more");
    assert_int_equal(answer(P "t31", out), -1);
}

static char ka_a[JN_CHALLENGE_MAX], ka_b[JN_CHALLENGE_MAX];
static atomic_bool stop;

static void *writer(void *arg)
{
    while (!atomic_load(&stop)) {
        jn_challenge_put(ka_a);
        jn_challenge_put(ka_b);
        jn_challenge_remove("tok");
    }
    return NULL;
}

static void test_readers_never_see_a_torn_answer(void **state)
{
    memset(ka_a, 'A', JN_CHALLENGE_MAX - 1);
    memset(ka_b, 'B', JN_CHALLENGE_MAX - 1);
    memcpy(ka_a, "tok.", 4);
    memcpy(ka_b, "tok.", 4);
    ka_a[JN_CHALLENGE_MAX - 1] = ka_b[JN_CHALLENGE_MAX - 1] = '\0';
    pthread_t th;
    atomic_store(&stop, false);
    assert_int_equal(pthread_create(&th, NULL, writer, NULL), 0);
    char out[JN_CHALLENGE_MAX];
    long seen[2] = {0, 0};
    int64_t end = jn_now_ms() + 300;
    while (jn_now_ms() < end) {
        for (int i = 0; i < 1000; i++) {
            int n = answer(P "tok", out);
            if (n < 0)
                continue;
            assert_int_equal(n, JN_CHALLENGE_MAX - 1);
            bool a = strcmp(out, ka_a) == 0, b = strcmp(out, ka_b) == 0;
            assert_true(a || b);
            seen[b]++;
        }
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    jn_challenge_remove("tok");
    assert_true(seen[0] + seen[1] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_answer_remove),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_readers_never_see_a_torn_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
