/*
 * secrets.c: an app's secret config values in a cluster (docs/CLUSTER.md).
 * Each node seals secrets with its own key (STATE/secret.key), which no
 * other node has. What goes into etcd (an app's config and a release's env)
 * is sealed with the cluster's key instead, /jern/secret-key (32 random
 * bytes, hex), made by the first node that needs it; a node opens the
 * cluster's values and seals them again with its own key before its store
 * sees them. So anyone who can read etcd can read the secrets: etcd belongs
 * on the nodes' private network. Control thread.
 */
#include "core/common.h"

#include "control/appconfig/secret.h"
#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "etcd/client.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>

#define KEY_PATH JN_CLUSTER_PREFIX "secret-key"

static bool parse_hex(const char *s, unsigned char *key)
{
    if (strlen(s) != 2 * JN_SECRET_KEY_LEN)
        return false;
    for (size_t i = 0; i < JN_SECRET_KEY_LEN; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        key[i] = (unsigned char)v;
    }
    return true;
}

/* The cluster's key into c->secret (read once, made when absent). */
static int cluster_key(struct jn_cluster *c, char *err, size_t errlen)
{
    if (c->secret_ok)
        return 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct jn_etcd_kv *kvs;
        size_t n;
        int r = jn_etcd_range(c->ce, KEY_PATH, false, &kvs, &n, NULL);
        if (r < 0)
            return jn_cluster_etcd_failed(c, r, err, errlen);
        bool ok = n && parse_hex(kvs[0].value, c->secret);
        jn_etcd_kvs_free(kvs, n);
        if (ok) {
            c->secret_ok = true;
            return 0;
        }
        if (n) {
            snprintf(err, errlen, "the cluster's secret key in etcd (%s) is damaged", KEY_PATH);
            return JN_EBADINPUT;
        }
        unsigned char key[JN_SECRET_KEY_LEN];
        char hex[2 * JN_SECRET_KEY_LEN + 1];
        if (RAND_bytes(key, sizeof(key)) != 1) {
            snprintf(err, errlen, "cannot make the cluster's secret key: no randomness");
            return JN_EBASE;
        }
        for (size_t i = 0; i < sizeof(key); i++)
            snprintf(hex + 2 * i, 3, "%02x", key[i]);
        r = jn_etcd_create(c->ce, KEY_PATH, hex, 0, NULL); /* another node may win: read it */
        explicit_bzero(key, sizeof(key));
        explicit_bzero(hex, sizeof(hex));
        if (r < 0)
            return jn_cluster_etcd_failed(c, r, err, errlen);
    }
    snprintf(err, errlen, "the cluster's secret key could not be read back from etcd");
    return JN_EBASE;
}

static bool any_sealed(const cJSON *vars)
{
    for (const cJSON *e = vars ? vars->child : NULL; e; e = e->next)
        if (cJSON_IsString(e) && jn_secret_is_sealed(e->valuestring))
            return true;
    return false;
}

int jn_cluster_reseal(struct jn_cluster *c, cJSON *vars, bool to_cluster, char *err,
                      size_t errlen)
{
    if (!any_sealed(vars))
        return 0;
    int r = cluster_key(c, err, errlen);
    if (r < 0)
        return r;
    unsigned char mine[JN_SECRET_KEY_LEN];
    if ((r = jn_secret_key(c->state_dir, true, mine, err, errlen)) < 0)
        return r;
    r = to_cluster ? jn_secret_reseal(vars, mine, c->secret, err, errlen)
                   : jn_secret_reseal(vars, c->secret, mine, err, errlen);
    explicit_bzero(mine, sizeof(mine));
    return r;
}

int jn_cluster_seal_for_cluster(struct jn_cluster *c, cJSON *vars, char *err, size_t errlen)
{
    return jn_cluster_reseal(c, vars, true, err, errlen);
}

char *jn_cluster_seal(struct jn_cluster *c, const char *name, const char *plain, char *err,
                      size_t errlen)
{
    if (cluster_key(c, err, errlen) < 0)
        return NULL;
    char *sealed = jn_secret_seal(c->secret, name, plain);
    if (!sealed)
        snprintf(err, errlen, "cannot encrypt %s: OpenSSL failed", name);
    return sealed;
}

int jn_cluster_open(struct jn_cluster *c, const char *name, const char *sealed, char **plain,
                    char *err, size_t errlen)
{
    int r = cluster_key(c, err, errlen);
    if (r < 0)
        return r;
    if ((r = jn_secret_open(c->secret, name, sealed, plain)) < 0)
        snprintf(err, errlen, "%s does not open with the cluster's key (%s)", name, KEY_PATH);
    return r;
}
