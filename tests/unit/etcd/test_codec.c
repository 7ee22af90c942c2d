#include "jn_test.h"

#include "etcd/codec.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static void test_base64_round_trip(void **state)
{
    const char *in[] = {"", "a", "ab", "abc", "/jern/nodes/n1", "\xff\x00\x01"};
    size_t lens[] = {0, 1, 2, 3, 14, 3};
    for (size_t i = 0; i < 6; i++) {
        char *enc = jn_etcd_b64_encode(in[i], lens[i]);
        size_t n = 99;
        char *dec = jn_etcd_b64_decode(enc, &n);
        assert_non_null(dec);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(dec, in[i], n);
        free(enc);
        free(dec);
    }
    size_t n;
    assert_null(jn_etcd_b64_decode("abc", &n));   /* not a multiple of 4 */
    assert_null(jn_etcd_b64_decode("a*c=", &n));  /* not the alphabet */
}

static void test_prefix_end(void **state)
{
    char *e = jn_etcd_prefix_end("/jern/nodes/");
    assert_string_equal(e, "/jern/nodes0");
    free(e);
    e = jn_etcd_prefix_end("a\xff");
    assert_string_equal(e, "b");
    free(e);
    e = jn_etcd_prefix_end("");
    assert_string_equal(e, "");
    free(e);
}

static const char *field(cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(x));
    return x->valuestring;
}

static void test_put_body_encodes_key_value_and_lease(void **state)
{
    char *s = jn_etcd_req_put("/k", "v1", 2, 7587);
    cJSON *o = cJSON_Parse(s);
    assert_string_equal(field(o, "key"), "L2s=");
    assert_string_equal(field(o, "value"), "djE=");
    assert_string_equal(field(o, "lease"), "7587");
    cJSON_Delete(o);
    free(s);
    s = jn_etcd_req_put("/k", "", 0, 0);
    o = cJSON_Parse(s);
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "lease"));
    assert_string_equal(field(o, "value"), "");
    cJSON_Delete(o);
    free(s);
}

static void test_range_body_for_prefix(void **state)
{
    char *s = jn_etcd_req_range("/a/", true);
    cJSON *o = cJSON_Parse(s);
    assert_string_equal(field(o, "key"), "L2Ev");      /* "/a/" */
    assert_string_equal(field(o, "range_end"), "L2Ew"); /* "/a0" */
    cJSON_Delete(o);
    free(s);
    s = jn_etcd_req_range("/a/", false);
    o = cJSON_Parse(s);
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "range_end"));
    cJSON_Delete(o);
    free(s);
}

static void test_create_txn_compares_create_revision_zero(void **state)
{
    char *s = jn_etcd_req_create("/leader", "n1", 42);
    cJSON *o = cJSON_Parse(s);
    cJSON *cmp = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "compare"), 0);
    assert_string_equal(field(cmp, "target"), "CREATE");
    assert_string_equal(field(cmp, "create_revision"), "0");
    cJSON *put = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "success"), 0),
                                     "request_put");
    assert_string_equal(field(put, "lease"), "42");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "failure"), 0),
                                        "request_range"));
    cJSON_Delete(o);
    free(s);
}

static void test_parse_range_answer(void **state)
{
    const char *a = "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"L2EveA==\","
                    "\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"1\","
                    "\"value\":\"aGk=\",\"lease\":\"41\"},{\"key\":\"L2EveQ==\"}],\"count\":\"2\"}";
    struct jn_etcd_kv *kvs;
    size_t n;
    int64_t rev;
    char err[128];
    assert_int_equal(jn_etcd_parse_range(a, strlen(a), &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rev, 9);
    assert_string_equal(kvs[0].key, "/a/x");
    assert_string_equal(kvs[0].value, "hi");
    assert_int_equal(kvs[0].mod_revision, 3);
    assert_int_equal(kvs[0].lease, 41);
    assert_string_equal(kvs[1].value, ""); /* an empty value is omitted by etcd */
    jn_etcd_kvs_free(kvs, n);
    const char *none = "{\"header\":{\"revision\":\"9\"}}";
    assert_int_equal(jn_etcd_parse_range(none, strlen(none), &kvs, &n, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(n, 0);
    jn_etcd_kvs_free(kvs, n);
}

static void test_parse_errors(void **state)
{
    struct jn_etcd_kv *kvs;
    size_t n;
    char err[128];
    const char *e = "{\"error\":\"etcdserver: requested lease not found\",\"code\":5}";
    assert_int_equal(jn_etcd_parse_ok(e, strlen(e), err, sizeof(err)), JN_EUPSTREAM);
    assert_string_equal(err, "etcd: etcdserver: requested lease not found");
    assert_int_equal(jn_etcd_parse_range("[1]", 3, &kvs, &n, NULL, err, sizeof(err)),
                     JN_EBADINPUT);
    assert_int_equal(jn_etcd_parse_range("{\"kvs\"", 6, &kvs, &n, NULL, err, sizeof(err)),
                     JN_EBADINPUT);
    const char *badkey = "{\"kvs\":[{\"key\":\"@@@\"}]}";
    assert_int_equal(jn_etcd_parse_range(badkey, strlen(badkey), &kvs, &n, NULL, err, sizeof(err)),
                     JN_EBADINPUT);
    const char *notarray = "{\"kvs\":{}}";
    assert_int_equal(
        jn_etcd_parse_range(notarray, strlen(notarray), &kvs, &n, NULL, err, sizeof(err)),
        JN_EBADINPUT);
}

static void test_parse_txn_and_leases(void **state)
{
    char err[128];
    bool ok;
    struct jn_etcd_kv cur;
    const char *won = "{\"header\":{},\"succeeded\":true,\"responses\":[{\"response_put\":{}}]}";
    assert_int_equal(jn_etcd_parse_txn(won, strlen(won), &ok, &cur, err, sizeof(err)), 0);
    assert_true(ok);
    assert_null(cur.key);
    const char *lost = "{\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"L2s=\","
                       "\"value\":\"bjI=\",\"mod_revision\":\"5\"}]}}]}";
    assert_int_equal(jn_etcd_parse_txn(lost, strlen(lost), &ok, &cur, err, sizeof(err)), 0);
    assert_false(ok);
    assert_string_equal(cur.value, "n2");
    free(cur.key);
    free(cur.value);
    int64_t id;
    int ttl;
    const char *g = "{\"ID\":\"4111120440742143493\",\"TTL\":\"5\"}";
    assert_int_equal(jn_etcd_parse_lease_grant(g, strlen(g), &id, &ttl, err, sizeof(err)), 0);
    assert_int_equal(id, 4111120440742143493LL);
    assert_int_equal(ttl, 5);
    const char *alive = "{\"result\":{\"ID\":\"1\",\"TTL\":\"5\"}}";
    assert_int_equal(jn_etcd_parse_keepalive(alive, strlen(alive), &ttl, err, sizeof(err)), 0);
    assert_int_equal(ttl, 5);
    const char *gone = "{\"result\":{\"ID\":\"1\"}}";
    assert_int_equal(jn_etcd_parse_keepalive(gone, strlen(gone), &ttl, err, sizeof(err)), 0);
    assert_int_equal(ttl, 0);
}

static void test_parse_watch_events(void **state)
{
    const char *m = "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":"
                    "\"L2EveA==\",\"value\":\"aGk=\",\"mod_revision\":\"7\"}},{\"type\":\"DELETE\","
                    "\"kv\":{\"key\":\"L2EveQ==\",\"mod_revision\":\"7\"}}]}}";
    struct jn_etcd_kv *kvs;
    size_t n;
    int64_t rev;
    char err[128];
    assert_int_equal(jn_etcd_parse_watch(m, strlen(m), &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rev, 7);
    assert_string_equal(kvs[0].value, "hi");
    assert_string_equal(kvs[1].key, "/a/y");
    assert_null(kvs[1].value);
    jn_etcd_kvs_free(kvs, n);
    const char *created = "{\"result\":{\"header\":{\"revision\":\"3\"},\"created\":true}}";
    assert_int_equal(jn_etcd_parse_watch(created, strlen(created), &kvs, &n, &rev, err, sizeof(err)),
                     0);
    assert_int_equal(n, 0);
    jn_etcd_kvs_free(kvs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_prefix_end),
        cmocka_unit_test(test_put_body_encodes_key_value_and_lease),
        cmocka_unit_test(test_range_body_for_prefix),
        cmocka_unit_test(test_create_txn_compares_create_revision_zero),
        cmocka_unit_test(test_parse_range_answer),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_txn_and_leases),
        cmocka_unit_test(test_parse_watch_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
