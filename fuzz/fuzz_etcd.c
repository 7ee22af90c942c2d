/*
 * fuzz_etcd.c: etcd's JSON gateway answers (etcd/codec.c): a range answer and
 * a watch message. Whatever the input, the parsers return 0 or a code, and
 * on 0 every pair has a terminated key and a value of its stated length.
 */
#include "fuzz/check.h"

#include "etcd/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = fuzz_copy(data, size);
    char err[128];
    struct jn_etcd_kv *kvs = NULL;
    size_t n = 0;
    int64_t rev = 0;
    if (jn_etcd_parse_range(p, size, &kvs, &n, &rev, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(kvs[i].key && kvs[i].value && kvs[i].value[kvs[i].value_len] == '\0');
        jn_etcd_kvs_free(kvs, n);
    }
    kvs = NULL;
    n = 0;
    if (jn_etcd_parse_watch(p, size, &kvs, &n, &rev, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(kvs[i].key != NULL);
        jn_etcd_kvs_free(kvs, n);
    }
    bool ok;
    struct jn_etcd_kv cur;
    if (jn_etcd_parse_txn(p, size, &ok, &cur, err, sizeof(err)) == 0) {
        free(cur.key);
        free(cur.value);
    }
    int ttl;
    jn_etcd_parse_keepalive(p, size, &ttl, err, sizeof(err));
    free(p);
    return 0;
}
