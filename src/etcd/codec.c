/*
 * codec.c: etcd v3 JSON gateway bodies and answers (codec.h), over cJSON and
 * OpenSSL's base64.
 */
#include "core/common.h"

#include "etcd/codec.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>

char *jn_etcd_b64_encode(const void *data, size_t len)
{
    char *out = jn_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

char *jn_etcd_b64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4 != 0)
        return NULL;
    unsigned char *out = jn_malloc(n / 4 * 3 + 1);
    int r = n ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) : 0;
    if (r < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    for (size_t i = n; i > 0 && text[i - 1] == '=' && r > 0; i--)
        r--;
    out[r] = '\0';
    *len = (size_t)r;
    return (char *)out;
}

char *jn_etcd_prefix_end(const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = jn_malloc(n + 1);
    memcpy(end, prefix, n + 1);
    while (n > 0) {
        unsigned char c = (unsigned char)end[n - 1];
        if (c < 0xff) {
            end[n - 1] = (char)(c + 1);
            end[n] = '\0';
            return end;
        }
        n--;
    }
    end[0] = '\0'; /* every key */
    return end;
}

static void add_b64(cJSON *o, const char *name, const void *data, size_t len)
{
    char *s = jn_etcd_b64_encode(data, len);
    cJSON_AddStringToObject(o, name, s);
    free(s);
}

static void add_i64(cJSON *o, const char *name, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)v);
    cJSON_AddStringToObject(o, name, s);
}

static char *print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return s;
}

/* {"key", "range_end"?} for exactly key or its prefix */
static cJSON *key_range(const char *key, bool prefix)
{
    cJSON *o = cJSON_CreateObject();
    add_b64(o, "key", key, strlen(key));
    if (prefix) {
        char *end = jn_etcd_prefix_end(key);
        add_b64(o, "range_end", end, *end ? strlen(end) : 1);
        free(end);
    }
    return o;
}

static cJSON *put_object(const char *key, const char *value, size_t value_len, int64_t lease)
{
    cJSON *o = cJSON_CreateObject();
    add_b64(o, "key", key, strlen(key));
    add_b64(o, "value", value, value_len);
    if (lease)
        add_i64(o, "lease", lease);
    return o;
}

char *jn_etcd_req_put(const char *key, const char *value, size_t value_len, int64_t lease)
{
    return print(put_object(key, value, value_len, lease));
}

char *jn_etcd_req_range(const char *key, bool prefix)
{
    return print(key_range(key, prefix));
}

char *jn_etcd_req_delete(const char *key, bool prefix)
{
    return print(key_range(key, prefix));
}

static char *txn(const char *key, const char *target, const char *field, int64_t v,
                 const char *value, int64_t lease)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cmp = cJSON_CreateObject();
    add_b64(cmp, "key", key, strlen(key));
    cJSON_AddStringToObject(cmp, "target", target);
    cJSON_AddStringToObject(cmp, "result", "EQUAL");
    add_i64(cmp, field, v);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "compare"), cmp);
    cJSON *put = cJSON_CreateObject();
    cJSON_AddItemToObject(put, "request_put", put_object(key, value, strlen(value), lease));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "success"), put);
    cJSON *get = cJSON_CreateObject();
    cJSON_AddItemToObject(get, "request_range", key_range(key, false));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "failure"), get);
    return print(o);
}

char *jn_etcd_req_create(const char *key, const char *value, int64_t lease)
{
    return txn(key, "CREATE", "create_revision", 0, value, lease);
}

char *jn_etcd_req_cas(const char *key, int64_t mod_revision, const char *value)
{
    return txn(key, "MOD", "mod_revision", mod_revision, value, 0);
}

char *jn_etcd_req_lease_grant(int ttl_s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "TTL", ttl_s);
    return print(o);
}

char *jn_etcd_req_lease_id(int64_t id)
{
    cJSON *o = cJSON_CreateObject();
    add_i64(o, "ID", id);
    return print(o);
}

char *jn_etcd_req_watch(const char *prefix, int64_t start_revision)
{
    cJSON *c = key_range(prefix, true);
    if (start_revision)
        add_i64(c, "start_revision", start_revision);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "create_request", c);
    return print(o);
}

/* ---- answers ---- */

/* Parses text; JN_EUPSTREAM for etcd's {"error"|"message", "code"} objects. */
static int parse(const char *text, size_t len, cJSON **out, char *err, size_t errlen)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, errlen, "etcd answered something that is not a JSON object");
        return JN_EBADINPUT;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (!e)
        e = cJSON_GetObjectItemCaseSensitive(o, "message");
    if (cJSON_IsString(e) || cJSON_IsObject(e)) {
        const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
        snprintf(err, errlen, "etcd: %s", cJSON_IsString(m) ? m->valuestring : "error");
        cJSON_Delete(o);
        return JN_EUPSTREAM;
    }
    *out = o;
    return 0;
}

/* An int64 sent as a string (or, leniently, a number); 0 when absent. */
static int64_t i64(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(x))
        return strtoll(x->valuestring, NULL, 10);
    if (cJSON_IsNumber(x))
        return (int64_t)x->valuedouble;
    return 0;
}

static int kv_fill(const cJSON *x, struct jn_etcd_kv *kv, bool deleted)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(x, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "value");
    size_t klen;
    memset(kv, 0, sizeof(*kv));
    if (!cJSON_IsString(k) || !(kv->key = jn_etcd_b64_decode(k->valuestring, &klen)))
        return JN_EBADINPUT;
    if (!deleted) {
        if (v && !cJSON_IsString(v))
            return JN_EBADINPUT;
        kv->value = jn_etcd_b64_decode(v ? v->valuestring : "", &kv->value_len);
        if (!kv->value)
            return JN_EBADINPUT;
    }
    kv->create_revision = i64(x, "create_revision");
    kv->mod_revision = i64(x, "mod_revision");
    kv->lease = i64(x, "lease");
    return 0;
}

void jn_etcd_kvs_free(struct jn_etcd_kv *kvs, size_t n)
{
    for (size_t i = 0; kvs && i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].value);
    }
    free(kvs);
}

static int kvs_from(const cJSON *arr, struct jn_etcd_kv **kvs, size_t *n, bool events)
{
    size_t cap = (size_t)cJSON_GetArraySize(arr), k = 0;
    struct jn_etcd_kv *v = jn_calloc(cap ? cap : 1, sizeof(*v));
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        const cJSON *kv = x;
        bool deleted = false;
        if (events) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(x, "type");
            deleted = cJSON_IsString(t) && strcmp(t->valuestring, "DELETE") == 0;
            kv = cJSON_GetObjectItemCaseSensitive(x, "kv");
        }
        if (!cJSON_IsObject(kv) || kv_fill(kv, &v[k], deleted) < 0) {
            jn_etcd_kvs_free(v, k + 1);
            return JN_EBADINPUT;
        }
        k++;
    }
    *kvs = v;
    *n = k;
    return 0;
}

static int bad(cJSON *o, char *err, size_t errlen, const char *what)
{
    cJSON_Delete(o);
    snprintf(err, errlen, "etcd answered an unexpected %s", what);
    return JN_EBADINPUT;
}

int jn_etcd_parse_range(const char *text, size_t len, struct jn_etcd_kv **kvs, size_t *n,
                        int64_t *revision, char *err, size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r < 0)
        return r;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "kvs");
    if (arr && !cJSON_IsArray(arr))
        return bad(o, err, errlen, "range answer");
    if (kvs_from(arr, kvs, n, false) < 0)
        return bad(o, err, errlen, "key-value pair");
    if (revision)
        *revision = i64(cJSON_GetObjectItemCaseSensitive(o, "header"), "revision");
    cJSON_Delete(o);
    return 0;
}

int jn_etcd_parse_txn(const char *text, size_t len, bool *succeeded, struct jn_etcd_kv *cur,
                      char *err, size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r < 0)
        return r;
    if (cur)
        memset(cur, 0, sizeof(*cur));
    *succeeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "succeeded"));
    const cJSON *resp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "responses"), 0);
    const cJSON *rr = cJSON_GetObjectItemCaseSensitive(resp, "response_range");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rr, "kvs"), 0);
    if (!*succeeded && cur && first && kv_fill(first, cur, false) < 0) {
        free(cur->key);
        free(cur->value);
        memset(cur, 0, sizeof(*cur));
        return bad(o, err, errlen, "txn answer");
    }
    cJSON_Delete(o);
    return 0;
}

int jn_etcd_parse_lease_grant(const char *text, size_t len, int64_t *id, int *ttl_s, char *err,
                              size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r < 0)
        return r;
    *id = i64(o, "ID");
    *ttl_s = (int)i64(o, "TTL");
    if (*id == 0 || *ttl_s <= 0)
        return bad(o, err, errlen, "lease grant");
    cJSON_Delete(o);
    return 0;
}

int jn_etcd_parse_keepalive(const char *text, size_t len, int *ttl_s, char *err, size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r < 0)
        return r;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
    if (!cJSON_IsObject(res))
        return bad(o, err, errlen, "keep-alive answer");
    *ttl_s = (int)i64(res, "TTL"); /* absent (0) once the lease expired */
    cJSON_Delete(o);
    return 0;
}

int jn_etcd_parse_ok(const char *text, size_t len, char *err, size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r == 0)
        cJSON_Delete(o);
    return r;
}

int jn_etcd_parse_watch(const char *text, size_t len, struct jn_etcd_kv **kvs, size_t *n,
                        int64_t *revision, char *err, size_t errlen)
{
    cJSON *o;
    int r = parse(text, len, &o, err, errlen);
    if (r < 0)
        return r;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
    if (!cJSON_IsObject(res))
        return bad(o, err, errlen, "watch message");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(res, "events");
    if ((ev && !cJSON_IsArray(ev)) || kvs_from(ev, kvs, n, true) < 0)
        return bad(o, err, errlen, "watch event");
    if (revision)
        *revision = i64(cJSON_GetObjectItemCaseSensitive(res, "header"), "revision");
    cJSON_Delete(o);
    return 0;
}
