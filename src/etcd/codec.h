/*
 * codec.h: etcd v3's JSON gateway, the pure half: request bodies and the
 * parsing of answers (keys and values travel base64-encoded, 64-bit numbers
 * as decimal strings). No I/O; any thread. client.c does the HTTP.
 *
 * Builders return a malloc'd NUL-terminated JSON body (free() it). Parsers
 * take (text, len) and return 0, JN_EBADINPUT for text that is not the
 * expected JSON, or JN_EUPSTREAM when etcd answered an error object (its
 * message in err).
 */
#ifndef JN_ETCD_CODEC_H
#define JN_ETCD_CODEC_H

#include "core/common.h"

#define JN_ETCD_MAX_ANSWER (16 * 1024 * 1024) /* the largest answer read */

/* One key-value pair (malloc'd strings; values may hold any bytes, NUL-terminated). */
struct jn_etcd_kv {
    char *key;
    char *value;
    size_t value_len;
    int64_t create_revision;
    int64_t mod_revision;
    int64_t lease;
};

/* base64 (standard alphabet, padded). encode: a malloc'd string. decode: a
 * malloc'd NUL-terminated buffer and its length in *len, or NULL for input
 * that is not base64. */
char *jn_etcd_b64_encode(const void *data, size_t len);
char *jn_etcd_b64_decode(const char *text, size_t *len);

/* The key just past every key starting with prefix (etcd's range_end for a
 * prefix scan): the prefix with its last byte below 0xff incremented. A
 * malloc'd string; "\0" (all keys) when every byte is 0xff or prefix is "". */
char *jn_etcd_prefix_end(const char *prefix);

/* Bodies. lease 0: none. */
char *jn_etcd_req_put(const char *key, const char *value, size_t value_len, int64_t lease);
/* Range over exactly key (prefix false) or every key under it (prefix true). */
char *jn_etcd_req_range(const char *key, bool prefix);
char *jn_etcd_req_delete(const char *key, bool prefix);
/* A txn: if key does not exist, put value (with lease); else read key. */
char *jn_etcd_req_create(const char *key, const char *value, int64_t lease);
/* A txn: if key's mod_revision is mod_revision (0: the key does not exist),
 * put value; else read key. */
char *jn_etcd_req_cas(const char *key, int64_t mod_revision, const char *value);
char *jn_etcd_req_lease_grant(int ttl_s);
char *jn_etcd_req_lease_id(int64_t id); /* keep-alive and revoke */
/* A watch on every key under prefix from revision start_revision (0: now). */
char *jn_etcd_req_watch(const char *prefix, int64_t start_revision);

/* Answers. Every parser writes etcd's error message into err for
 * JN_EUPSTREAM. */
/* kv/range: the pairs (*kvs, *n; free with jn_etcd_kvs_free) and the store's
 * revision (may be NULL). */
int jn_etcd_parse_range(const char *text, size_t len, struct jn_etcd_kv **kvs, size_t *n,
                        int64_t *revision, char *err, size_t errlen);
void jn_etcd_kvs_free(struct jn_etcd_kv *kvs, size_t n);
/* kv/txn: whether the compare held, and the failure branch's range (the
 * current pair) in *cur when it did not (cur may be NULL; *cur->key NULL
 * when there is none). */
int jn_etcd_parse_txn(const char *text, size_t len, bool *succeeded, struct jn_etcd_kv *cur,
                      char *err, size_t errlen);
/* lease/grant: the id and granted TTL. */
int jn_etcd_parse_lease_grant(const char *text, size_t len, int64_t *id, int *ttl_s, char *err,
                              size_t errlen);
/* lease/keepalive: the remaining TTL; 0 when the lease is gone. */
int jn_etcd_parse_keepalive(const char *text, size_t len, int *ttl_s, char *err, size_t errlen);
/* Any write (put, deleterange, revoke): 0 or the error. */
int jn_etcd_parse_ok(const char *text, size_t len, char *err, size_t errlen);

/* One message of a watch stream (one line of JSON): its events in *kvs
 * (value NULL for a delete), the header's revision. A message without events
 * (the "created" answer, progress) gives *n 0. */
int jn_etcd_parse_watch(const char *text, size_t len, struct jn_etcd_kv **kvs, size_t *n,
                        int64_t *revision, char *err, size_t errlen);

#endif
