/*
 * client.h: a small etcd v3 client over its JSON gateway (libcurl; the only
 * user of libcurl for etcd). Blocking calls with short deadlines: it belongs
 * to the control side (the cluster thread, admin API handlers), never to a
 * gateway worker. One client object is used by one thread at a time.
 *
 * endpoints is "http://HOST:PORT[,http://HOST:PORT...]": a call that cannot
 * reach one endpoint tries the next. Every failing call returns a negative
 * code and leaves a message for people in jn_etcd_errmsg():
 *   JN_ETIMEDOUT / JN_ECLOSED etcd unreachable, JN_EUPSTREAM etcd refused,
 *   JN_EBADINPUT an answer that could not be read.
 */
#ifndef JN_ETCD_CLIENT_H
#define JN_ETCD_CLIENT_H

#include "core/common.h"
#include "etcd/codec.h"

struct jn_etcd;

/* Creates a client (timeout_ms bounds each call; 0: 2000). NULL with msg
 * when endpoints is not a list of http:// URLs. */
struct jn_etcd *jn_etcd_new(const char *endpoints, int timeout_ms, char *msg, size_t msglen);
void jn_etcd_free(struct jn_etcd *e);

/* The last failure's message ("" if none). Valid until the next call. */
const char *jn_etcd_errmsg(const struct jn_etcd *e);

int jn_etcd_put(struct jn_etcd *e, const char *key, const char *value, int64_t lease);
/* Every pair under prefix (or exactly key when prefix is false); free with
 * jn_etcd_kvs_free. revision may be NULL. */
int jn_etcd_range(struct jn_etcd *e, const char *key, bool prefix, struct jn_etcd_kv **kvs,
                  size_t *n, int64_t *revision);
int jn_etcd_delete(struct jn_etcd *e, const char *key, bool prefix);
/* Puts key only if absent. Returns 1 when it did, 0 when the key exists (its
 * pair in *cur when cur is not NULL; free key and value). */
int jn_etcd_create(struct jn_etcd *e, const char *key, const char *value, int64_t lease,
                   struct jn_etcd_kv *cur);
/* Puts key only if its mod_revision is still mod_revision (0: absent).
 * Returns 1 when it did, 0 when someone changed it first. */
int jn_etcd_cas(struct jn_etcd *e, const char *key, int64_t mod_revision, const char *value);
int jn_etcd_lease_grant(struct jn_etcd *e, int ttl_s, int64_t *id);
/* Refreshes lease id; *ttl_s 0 means it is gone (expired or revoked). */
int jn_etcd_lease_keepalive(struct jn_etcd *e, int64_t id, int *ttl_s);
int jn_etcd_lease_revoke(struct jn_etcd *e, int64_t id);

/* Watches every key under prefix from start_revision (0: now): cb(arg, kvs,
 * n, revision) for each message with events (value NULL for deletes; kvs
 * borrowed). Returns when cb returns non-zero (0), after timeout_ms (0), or
 * on a failure. */
typedef int (*jn_etcd_watch_cb)(void *arg, const struct jn_etcd_kv *kvs, size_t n,
                                int64_t revision);
int jn_etcd_watch(struct jn_etcd *e, const char *prefix, int64_t start_revision, int timeout_ms,
                  jn_etcd_watch_cb cb, void *arg);

#endif
