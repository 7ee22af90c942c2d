/*
 * certshare.c: certificates on a cluster (docs/CLUSTER.md, "Certificates").
 * With DNS round robin the CA's HTTP-01 request may reach any node, and
 * every node must serve the domain's certificate, so:
 *
 *   - one node orders a certificate: the one that holds /jern/acme/lock/DOMAIN
 *     ({node, until_ms}; taken over once until_ms has passed);
 *   - its challenge answers go to /jern/acme/challenge/TOKEN (under a lease
 *     of their own); every node's gateway answers them, and the CA is let in
 *     only once each live node's gateway does;
 *   - the certificate goes to /jern/certs/DOMAIN {chain, key (sealed with the
 *     cluster's key), serial, not_after, node}; every node installs a newer
 *     one than it holds.
 *
 * A certificate of the user's own (jern cert add on any node) goes to the
 * same key with "own": true; every node installs it as the user's own,
 * whether it serves the domain yet or not, and removes it once the record
 * goes (jern cert remove on any node). The scheduler's pruning of domains
 * no app has leaves these alone. One added before the cluster stays on its
 * node (add it again to share it).
 */
#include "core/common.h"

#include "control/certs/certs.h"
#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "core/log.h"
#include "etcd/client.h"
#include "gateway/challenge.h"
#include "acme/certfile.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LOCK_MS (10 * 60 * 1000)    /* an order takes at most this long */
#define LOCK_AFTER_MS 5000          /* the lock outlives a successful order by this */
#define CHAL_TTL_S 600              /* a challenge left behind goes after this */
#define CHAL_WAIT_MS 10000          /* every gateway answers within this, or the order fails */
#define RENEW_BEFORE_S (30 * 86400) /* as the manager's */

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *x = get(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* The lock's value: this node's for ms from now. */
static char *lock_value(struct jn_cluster *c, int64_t ms)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "node", c->node);
    cJSON_AddNumberToObject(v, "until_ms", (double)(jn_now_ms() + ms));
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return s;
}

static bool may_issue(void *arg, const char *domain, bool force)
{
    struct jn_cluster *c = arg;
    if (!cJSON_IsTrue(get(c->view, "etcd")))
        return false; /* nobody can tell the others */
    /* one the cluster has, not due for renewal: installed here soon (asked
     * of etcd, not of the view: another node may have just shared it) */
    char key[512];
    snprintf(key, sizeof(key), JN_CLUSTER_CERTS "%s", domain);
    struct jn_etcd_kv *kvs;
    size_t n;
    if (jn_etcd_range(c->ce, key, false, &kvs, &n, NULL) < 0)
        return false;
    cJSON *have = n ? cJSON_Parse(kvs[0].value) : NULL;
    jn_etcd_kvs_free(kvs, n);
    bool fresh =
        have && cJSON_GetNumberValue(get(have, "not_after")) - (double)time(NULL) > RENEW_BEFORE_S;
    cJSON_Delete(have);
    if (fresh && !force)
        return false;
    snprintf(key, sizeof(key), JN_CLUSTER_ACME_LOCK "%s", domain);
    char *s = lock_value(c, LOCK_MS);
    struct jn_etcd_kv cur = {0};
    int r = jn_etcd_create(c->ce, key, s, 0, &cur);
    if (r == 0) { /* held: by this node, or by one whose time is up */
        cJSON *o = cJSON_Parse(cur.value);
        const char *holder = str(o, "node");
        bool ours = holder && strcmp(holder, c->node) == 0;
        bool stale = cJSON_GetNumberValue(get(o, "until_ms")) < (double)jn_now_ms();
        r = (ours || stale) && jn_etcd_cas(c->ce, key, cur.mod_revision, s) == 1;
        if (!r && !ours)
            jn_debug("certificate for %s: node %s orders it", domain, holder ? holder : "?");
        cJSON_Delete(o);
    }
    free(cur.key);
    free(cur.value);
    free(s);
    return r == 1;
}

/* The files of domain's certificate as the manager wrote them. */
static int read_pair(struct jn_cluster *c, const char *domain, char **chain, char **key)
{
    char cp[4200], kp[4200];
    snprintf(cp, sizeof(cp), "%s/certs/%s/cert.pem", c->state_dir, domain);
    snprintf(kp, sizeof(kp), "%s/certs/%s/key.pem", c->state_dir, domain);
    *chain = *key = NULL;
    ssize_t r = jn_cert_read_file(cp, chain);
    if (r >= 0)
        r = jn_cert_read_file(kp, key);
    if (r < 0) {
        free(*chain);
        *chain = NULL;
        return (int)r;
    }
    return 0;
}

/* domain's certificate, as this node just obtained it (own: the user
 * installed it here), for every node. */
static void share(struct jn_cluster *c, const char *domain, bool own)
{
    char name[512], err[512] = "its files cannot be read";
    char *chain = NULL, *pem = NULL, *sealed = NULL;
    struct jn_cert_info info;
    if (read_pair(c, domain, &chain, &pem) == 0 &&
        jn_cert_inspect(chain, strlen(chain), pem, strlen(pem), domain, &info, err, sizeof(err)) ==
            0) {
        snprintf(name, sizeof(name), "certkey:%s", domain);
        sealed = jn_cluster_seal(c, name, pem, err, sizeof(err));
    }
    if (pem)
        explicit_bzero(pem, strlen(pem));
    free(pem);
    if (!sealed) {
        jn_error("certificate for %s: cannot share it with the cluster: %s", domain, err);
        free(chain);
        return;
    }
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "chain", chain);
    cJSON_AddStringToObject(v, "key", sealed);
    cJSON_AddStringToObject(v, "serial", info.serial);
    cJSON_AddNumberToObject(v, "not_after", (double)info.not_after);
    cJSON_AddStringToObject(v, "node", c->node);
    if (own)
        cJSON_AddTrueToObject(v, "own");
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    free(chain);
    free(sealed);
    snprintf(name, sizeof(name), JN_CLUSTER_CERTS "%s", domain);
    if (jn_etcd_put(c->ce, name, s, 0) < 0)
        jn_error("certificate for %s: cannot share it with the cluster: %s", domain,
                 jn_etcd_errmsg(c->ce));
    else
        jn_notice("certificate for %s shared with the cluster (serial %s)", domain, info.serial);
    free(s);
}

static void issued(void *arg, const char *domain, bool ok)
{
    struct jn_cluster *c = arg;
    if (ok)
        share(c, domain, false);
    /* The lock goes, a few seconds later when the order succeeded: a node
     * that looked for the certificate just before it was shared must not
     * take the lock and order it again. */
    char key[512];
    snprintf(key, sizeof(key), JN_CLUSTER_ACME_LOCK "%s", domain);
    if (ok) {
        char *s = lock_value(c, LOCK_AFTER_MS);
        jn_etcd_put(c->ce, key, s, 0);
        free(s);
    } else {
        jn_etcd_delete(c->ce, key, false);
    }
}

static size_t into_buf(char *p, size_t size, size_t n, void *arg)
{
    char *out = arg;
    size_t have = strlen(out), add = size * n;
    if (have + add < JN_CHALLENGE_MAX) {
        memcpy(out + have, p, add);
        out[have + add] = '\0';
    }
    return add;
}

/* Whether the gateway at hostport answers token with keyauth. */
static bool answers(CURL *h, const char *hostport, const char *token, const char *keyauth)
{
    char url[1024], body[JN_CHALLENGE_MAX] = "";
    snprintf(url, sizeof(url), "http://%s" JN_CHALLENGE_PREFIX "%s", hostport, token);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, into_buf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)body);
    long status = 0;
    return curl_easy_perform(h) == CURLE_OK &&
           curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
           strcmp(body, keyauth) == 0;
}

/* Job thread (a client of its own): the challenge in etcd, then every live
 * node's gateway answering it. */
static int chal_put(void *arg, const char *keyauth, bool (*cancelled)(void *), void *carg,
                    char *err, size_t errlen)
{
    struct jn_cluster *c = arg;
    char token[JN_CHALLENGE_MAX];
    snprintf(token, sizeof(token), "%.*s", (int)strcspn(keyauth, "."), keyauth);
    struct jn_etcd *e = jn_etcd_new(c->endpoints, 1500, err, errlen);
    if (!e)
        return JN_EBASE;
    char key[JN_CHALLENGE_MAX + 64];
    snprintf(key, sizeof(key), JN_CLUSTER_ACME_CHALLENGE "%s", token);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "keyauth", keyauth);
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    int64_t lease = 0;
    int r = jn_etcd_lease_grant(e, CHAL_TTL_S, &lease);
    if (r == 0)
        r = jn_etcd_put(e, key, s, lease);
    free(s);
    if (r < 0)
        snprintf(err, errlen, "cannot give the challenge to the cluster: %s", jn_etcd_errmsg(e));
    CURL *h = r == 0 ? curl_easy_init() : NULL;
    int64_t deadline = jn_now_ms() + CHAL_WAIT_MS;
    char missing[256] = "";
    while (h) {
        struct jn_etcd_kv *kvs;
        size_t n;
        if ((r = jn_etcd_range(e, JN_CLUSTER_NODES, true, &kvs, &n, NULL)) < 0) {
            snprintf(err, errlen, "the cluster's etcd failed: %s", jn_etcd_errmsg(e));
            break;
        }
        missing[0] = '\0';
        for (size_t i = 0; i < n; i++) {
            cJSON *node = cJSON_Parse(kvs[i].value);
            const char *gw = str(node, "gateway");
            if (gw && !answers(h, gw, token, keyauth) && !missing[0])
                snprintf(missing, sizeof(missing), "%s (%s)",
                         str(node, "name") ? str(node, "name") : "?", gw);
            cJSON_Delete(node);
        }
        jn_etcd_kvs_free(kvs, n);
        if (!missing[0])
            break;
        if (jn_now_ms() > deadline || cancelled(carg)) {
            snprintf(err, errlen, "node %s does not answer the challenge", missing);
            r = JN_ETIMEDOUT;
            break;
        }
        usleep(100 * 1000);
    }
    if (h)
        curl_easy_cleanup(h);
    if (r < 0) {
        jn_warn("certificate: %s", err);
        jn_etcd_delete(e, key, false);
    }
    jn_etcd_free(e);
    return r;
}

static void chal_del(void *arg, const char *token)
{
    struct jn_cluster *c = arg;
    char msg[256];
    struct jn_etcd *e = jn_etcd_new(c->endpoints, 1500, msg, sizeof(msg));
    if (!e)
        return;
    char key[JN_CHALLENGE_MAX + 64];
    snprintf(key, sizeof(key), JN_CLUSTER_ACME_CHALLENGE "%.*s", (int)strcspn(token, "."), token);
    jn_etcd_delete(e, key, false);
    jn_etcd_free(e);
}

static void own_put(void *arg, const char *domain)
{
    share(arg, domain, true);
}

/* The user removed domain's certificate here: the cluster's copy of one of
 * theirs goes too (an ordered one stays: it serves the other nodes). */
static void own_del(void *arg, const char *domain)
{
    struct jn_cluster *c = arg;
    char key[512];
    snprintf(key, sizeof(key), JN_CLUSTER_CERTS "%s", domain);
    struct jn_etcd_kv *kvs;
    size_t n;
    if (jn_etcd_range(c->ce, key, false, &kvs, &n, NULL) < 0) {
        jn_error("certificate for %s: removed here, but its copy in the cluster stays (etcd: "
                 "%s); remove it again once etcd answers",
                 domain, jn_etcd_errmsg(c->ce));
        return;
    }
    cJSON *rec = n ? cJSON_Parse(kvs[0].value) : NULL;
    jn_etcd_kvs_free(kvs, n);
    if (cJSON_IsTrue(get(rec, "own")) && jn_etcd_delete(c->ce, key, false) == 0)
        jn_notice("certificate for %s: the cluster's copy is removed too", domain);
    cJSON_Delete(rec);
}

void jn_cluster_set_certs(struct jn_cluster *c, struct jn_certs *cm)
{
    c->certs = cm;
    struct jn_certs_share s = {.may_issue = may_issue,
                               .issued = issued,
                               .chal_put = chal_put,
                               .chal_del = chal_del,
                               .own_put = own_put,
                               .own_del = own_del,
                               .arg = c};
    jn_certs_set_share(cm, &s);
}

/* The challenges of other nodes' orders, answered by this node's gateway. */
static void follow_challenges(struct jn_cluster *c)
{
    const cJSON *want = get(c->view, "challenges"), *x;
    cJSON_ArrayForEach(x, want)
    {
        const char *ka = str(x, "keyauth");
        if (ka && !get(c->challenges, x->string) && jn_challenge_put(ka) == 0)
            cJSON_AddTrueToObject(c->challenges, x->string);
    }
    cJSON *h = c->challenges->child;
    while (h) {
        cJSON *next = h->next;
        if (!get(want, h->string)) {
            jn_challenge_remove(h->string);
            cJSON_DeleteItemFromObjectCaseSensitive(c->challenges, h->string);
        }
        h = next;
    }
}

/* A copy of the user's own certificate that another node added: installed
 * as theirs when this node holds another serial (or none). */
static void follow_own(struct jn_cluster *c, const cJSON *x)
{
    const char *chain = str(x, "chain"), *sealed = str(x, "key"), *serial = str(x, "serial");
    char err[512], name[512], have[80];
    bool shared = false;
    if (!chain || !sealed || !serial || get(c->cert_errors, serial))
        return;
    if (jn_certs_own_serial(c->certs, x->string, have, sizeof(have), &shared) &&
        strcmp(have, serial) == 0) {
        /* this node's, now that the cluster has it: it goes when that does */
        if (!shared)
            jn_certs_own_shared(c->certs, x->string);
        return;
    }
    char *key = NULL;
    snprintf(name, sizeof(name), "certkey:%s", x->string);
    int r = jn_cluster_open(c, name, sealed, &key, err, sizeof(err));
    if (r == 0)
        r = jn_certs_put_own(c->certs, x->string, chain, key, true, err, sizeof(err));
    if (key)
        explicit_bzero(key, strlen(key));
    free(key);
    if (r < 0) {
        jn_error("certificate for %s (the user's own, from node %s): not installed here: %s",
                 x->string, str(x, "node") ? str(x, "node") : "?", err);
        cJSON_AddTrueToObject(c->cert_errors, serial); /* once per serial */
    }
}

/* The user's own certificate, the cluster's (a copy from it, or added here
 * and seen in it since), whose record is gone (jern cert remove on some
 * node): removed here too. One added here is not the cluster's until this
 * node sees it there, so a view that lags behind the put cannot drop it. */
static void drop_own(void *arg, const char *domain, const char *serial, bool shared)
{
    (void)serial;
    struct jn_cluster *c = arg;
    if (shared && !cJSON_IsTrue(get(get(get(c->view, "certs"), domain), "own")) &&
        jn_certs_remove(c->certs, domain) == 0)
        jn_notice("certificate for %s: the user's own was removed from the cluster: removed "
                  "here too",
                  domain);
}

/* Certificates another node obtained, for the domains this node serves,
 * installed unless this node's expires later (all converge on the one in
 * etcd, the last shared); the user's own, on every node. */
static void follow_certs(struct jn_cluster *c)
{
    const cJSON *x;
    jn_certs_each_own(c->certs, drop_own, c);
    cJSON_ArrayForEach(x, get(c->view, "certs"))
    {
        if (cJSON_IsTrue(get(x, "own"))) {
            follow_own(c, x);
            continue;
        }
        const char *chain = str(x, "chain"), *sealed = str(x, "key"), *serial = str(x, "serial");
        double not_after = cJSON_GetNumberValue(get(x, "not_after"));
        char have[80], err[512], name[512];
        int64_t have_until = 0;
        if (!chain || !sealed || !serial || !jn_certs_wants(c->certs, x->string) ||
            (jn_certs_held(c->certs, x->string, have, sizeof(have), &have_until) &&
             (strcmp(have, serial) == 0 || (double)have_until > not_after)) ||
            get(c->cert_errors, serial))
            continue;
        char *key = NULL;
        snprintf(name, sizeof(name), "certkey:%s", x->string);
        int r = jn_cluster_open(c, name, sealed, &key, err, sizeof(err));
        if (r == 0)
            r = jn_certs_install(c->certs, x->string, chain, key, err, sizeof(err));
        if (key)
            explicit_bzero(key, strlen(key));
        free(key);
        if (r < 0) {
            jn_error("certificate for %s from node %s: not installed here: %s", x->string,
                     str(x, "node") ? str(x, "node") : "?", err);
            cJSON_AddTrueToObject(c->cert_errors, serial); /* once per serial */
        }
    }
}

void jn_cluster_certs_apply(struct jn_cluster *c)
{
    if (!c->certs || !cJSON_IsTrue(get(c->view, "etcd")))
        return;
    follow_challenges(c);
    follow_certs(c);
}

int jn_cluster_certs_prune(struct jn_cluster *c, const cJSON *v)
{
    const cJSON *x, *a;
    cJSON_ArrayForEach(x, get(v, "certs"))
    {
        bool used = cJSON_IsTrue(get(x, "own")); /* the user's: theirs to remove */
        cJSON_ArrayForEach(a, get(v, "apps")) used =
            used || jn_cluster_has_string(get(a, "domains"), x->string);
        if (used)
            continue;
        char key[512];
        snprintf(key, sizeof(key), JN_CLUSTER_CERTS "%s", x->string);
        int r = jn_etcd_delete(c->e, key, false);
        if (r < 0)
            return r;
        jn_notice("cluster: certificate for %s: no app of the cluster has the domain any more: "
                  "its copy in etcd is removed (nodes keep serving what they hold until the "
                  "domain goes there)",
                  x->string);
    }
    return 0;
}
