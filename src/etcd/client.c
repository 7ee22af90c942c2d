/*
 * client.c: the etcd v3 JSON gateway over libcurl (client.h). Each call is a
 * POST of a JSON body to /v3/...; the answer is parsed by codec.c.
 */
#include "core/common.h"

#include "etcd/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>

#define MAX_ENDPOINTS 8

struct jn_etcd {
    char *urls[MAX_ENDPOINTS];
    size_t nurls;
    size_t cur; /* the endpoint that answered last */
    int timeout_ms;
    CURL *h;
    char err[512];
};

struct answer {
    char *data;
    size_t len, cap;
    bool toobig;
    /* watch: called per complete line */
    jn_etcd_watch_cb cb;
    void *arg;
    bool stop;
    struct jn_etcd *e;
    int failed; /* a watch message that could not be read */
};

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct jn_etcd *jn_etcd_new(const char *endpoints, int timeout_ms, char *msg, size_t msglen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init);
    struct jn_etcd *e = jn_calloc(1, sizeof(*e));
    e->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    char *list = jn_strdup(endpoints), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(t);
        while (n && t[n - 1] == '/')
            t[--n] = '\0';
        if (strncmp(t, "http://", 7) != 0 || n <= 7 || e->nurls == MAX_ENDPOINTS) {
            snprintf(msg, msglen,
                     "invalid etcd endpoint \"%s\" (give up to %d http://HOST:PORT URLs, comma "
                     "separated, e.g. http://127.0.0.1:2379)",
                     t, MAX_ENDPOINTS);
            free(list);
            jn_etcd_free(e);
            return NULL;
        }
        e->urls[e->nurls++] = jn_strdup(t);
    }
    free(list);
    if (!e->nurls) {
        snprintf(msg, msglen, "no etcd endpoint given (e.g. --cluster http://127.0.0.1:2379)");
        jn_etcd_free(e);
        return NULL;
    }
    e->h = curl_easy_init();
    if (!e->h)
        abort();
    return e;
}

void jn_etcd_free(struct jn_etcd *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nurls; i++)
        free(e->urls[i]);
    if (e->h)
        curl_easy_cleanup(e->h);
    free(e);
}

const char *jn_etcd_errmsg(const struct jn_etcd *e)
{
    return e->err;
}

static void deliver_lines(struct answer *a)
{
    char *nl;
    while (!a->stop && (nl = memchr(a->data, '\n', a->len))) {
        size_t line = (size_t)(nl - a->data);
        struct jn_etcd_kv *kvs = NULL;
        size_t n = 0;
        int64_t rev = 0;
        if (line > 0) {
            int r = jn_etcd_parse_watch(a->data, line, &kvs, &n, &rev, a->e->err,
                                        sizeof(a->e->err));
            if (r < 0) {
                a->failed = r;
                a->stop = true;
            } else if (n && a->cb(a->arg, kvs, n, rev)) {
                a->stop = true;
            }
            jn_etcd_kvs_free(kvs, n);
        }
        memmove(a->data, nl + 1, a->len - line - 1);
        a->len -= line + 1;
    }
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;
    if (a->len + n + 1 > JN_ETCD_MAX_ANSWER) {
        a->toobig = true;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        a->cap = (a->len + n + 1) * 2;
        a->data = realloc(a->data, a->cap);
        if (!a->data)
            abort();
    }
    memcpy(a->data + a->len, p, n);
    a->len += n;
    a->data[a->len] = '\0';
    if (a->cb) {
        deliver_lines(a);
        if (a->stop)
            return 0; /* ends the transfer */
    }
    return n;
}

/* POSTs body to path on the endpoints in turn until one answers. */
static int post(struct jn_etcd *e, const char *path, const char *body, struct answer *a,
                int timeout_ms)
{
    int r = JN_ECLOSED;
    for (size_t k = 0; k < e->nurls; k++) {
        size_t i = (e->cur + k) % e->nurls;
        char url[512];
        snprintf(url, sizeof(url), "%s%s", e->urls[i], path);
        a->len = 0;
        curl_easy_reset(e->h);
        curl_easy_setopt(e->h, CURLOPT_URL, url);
        curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e->h, CURLOPT_WRITEDATA, a);
        curl_easy_setopt(e->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e->h, CURLOPT_CONNECTTIMEOUT_MS, (long)JN_MIN(e->timeout_ms, 1000));
        curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(e->h, CURLOPT_PROTOCOLS_STR, "http");
        struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(e->h, CURLOPT_HTTPHEADER, hdr);
        CURLcode c = curl_easy_perform(e->h);
        curl_slist_free_all(hdr);
        if (a->cb && (a->stop || c == CURLE_OPERATION_TIMEDOUT) && !a->failed) {
            e->cur = i;
            return 0; /* a watch ends by its callback or its time */
        }
        if (a->failed)
            return a->failed;
        if (c == CURLE_OK) {
            e->cur = i;
            if (!a->data) { /* an empty answer */
                a->data = jn_strdup("");
            }
            return 0;
        }
        if (a->toobig) {
            snprintf(e->err, sizeof(e->err), "etcd at %s: answer larger than %d bytes",
                     e->urls[i], JN_ETCD_MAX_ANSWER);
            return JN_ETOOBIG;
        }
        r = c == CURLE_OPERATION_TIMEDOUT ? JN_ETIMEDOUT : JN_ECLOSED;
        snprintf(e->err, sizeof(e->err),
                 "etcd is unreachable (%s: %s); check that etcd runs and that --cluster names "
                 "it",
                 e->urls[i], curl_easy_strerror(c));
    }
    return r;
}

/* One request and its whole answer in *a (free a->data). */
static int call(struct jn_etcd *e, const char *path, char *body, struct answer *a)
{
    memset(a, 0, sizeof(*a));
    e->err[0] = '\0';
    int r = post(e, path, body, a, e->timeout_ms);
    free(body);
    if (r < 0) {
        free(a->data);
        a->data = NULL;
    }
    return r;
}

int jn_etcd_put(struct jn_etcd *e, const char *key, const char *value, int64_t lease)
{
    struct answer a;
    int r = call(e, "/v3/kv/put", jn_etcd_req_put(key, value, strlen(value), lease), &a);
    if (r == 0)
        r = jn_etcd_parse_ok(a.data, a.len, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

int jn_etcd_range(struct jn_etcd *e, const char *key, bool prefix, struct jn_etcd_kv **kvs,
                  size_t *n, int64_t *revision)
{
    struct answer a;
    int r = call(e, "/v3/kv/range", jn_etcd_req_range(key, prefix), &a);
    if (r == 0)
        r = jn_etcd_parse_range(a.data, a.len, kvs, n, revision, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

int jn_etcd_delete(struct jn_etcd *e, const char *key, bool prefix)
{
    struct answer a;
    int r = call(e, "/v3/kv/deleterange", jn_etcd_req_delete(key, prefix), &a);
    if (r == 0)
        r = jn_etcd_parse_ok(a.data, a.len, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

static int txn(struct jn_etcd *e, char *body, struct jn_etcd_kv *cur)
{
    struct answer a;
    bool ok = false;
    int r = call(e, "/v3/kv/txn", body, &a);
    if (r == 0)
        r = jn_etcd_parse_txn(a.data, a.len, &ok, cur, e->err, sizeof(e->err));
    free(a.data);
    return r < 0 ? r : ok ? 1 : 0;
}

int jn_etcd_create(struct jn_etcd *e, const char *key, const char *value, int64_t lease,
                   struct jn_etcd_kv *cur)
{
    return txn(e, jn_etcd_req_create(key, value, lease), cur);
}

int jn_etcd_cas(struct jn_etcd *e, const char *key, int64_t mod_revision, const char *value)
{
    return txn(e, jn_etcd_req_cas(key, mod_revision, value), NULL);
}

int jn_etcd_lease_grant(struct jn_etcd *e, int ttl_s, int64_t *id)
{
    struct answer a;
    int ttl = 0;
    int r = call(e, "/v3/lease/grant", jn_etcd_req_lease_grant(ttl_s), &a);
    if (r == 0)
        r = jn_etcd_parse_lease_grant(a.data, a.len, id, &ttl, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

int jn_etcd_lease_keepalive(struct jn_etcd *e, int64_t id, int *ttl_s)
{
    struct answer a;
    int r = call(e, "/v3/lease/keepalive", jn_etcd_req_lease_id(id), &a);
    if (r == 0)
        r = jn_etcd_parse_keepalive(a.data, a.len, ttl_s, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

int jn_etcd_lease_revoke(struct jn_etcd *e, int64_t id)
{
    struct answer a;
    int r = call(e, "/v3/lease/revoke", jn_etcd_req_lease_id(id), &a);
    if (r == 0)
        r = jn_etcd_parse_ok(a.data, a.len, e->err, sizeof(e->err));
    free(a.data);
    return r;
}

int jn_etcd_watch(struct jn_etcd *e, const char *prefix, int64_t start_revision, int timeout_ms,
                  jn_etcd_watch_cb cb, void *arg)
{
    struct answer a = {.cb = cb, .arg = arg, .e = e};
    e->err[0] = '\0';
    char *body = jn_etcd_req_watch(prefix, start_revision);
    int r = post(e, "/v3/watch", body, &a, timeout_ms);
    free(body);
    free(a.data);
    return r;
}
