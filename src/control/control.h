/*
 * control.h: the control plane's model. It owns the store and the file
 * config's view of static upstreams, and it is the only writer of routing
 * state: every change is validated, written to the store (durable), then
 * published to the gateway as a new snapshot before the call returns.
 *
 * Every function here runs on the control thread (the daemon's main loop):
 * they block on SQLite. Failing functions return a core/common.h code and put
 * a message for the user in err:
 *   JN_EBADINPUT invalid name/value, JN_ENOTFOUND no such app/upstream/server,
 *   JN_EEXIST already there, JN_EBASE store or gateway failure.
 */
#ifndef JN_CONTROL_CONTROL_H
#define JN_CONTROL_CONTROL_H

#include "core/common.h"
#include "config/conf.h"
#include "gateway/stats.h"
#include "store/store.h"

struct jn_control;
struct jn_gateway;

/* Creates the control plane over an open store (ownership passes to it),
 * with the file config conf (borrowed; may be NULL: no static upstreams) and
 * the base domain apps answer under (APP.BASE). */
struct jn_control *jn_control_new(struct jn_store *st, const struct jn_conf *conf,
                                  const char *base_domain);

/* Frees the control plane, its store and the upstreams it published. */
void jn_control_free(struct jn_control *ctl);

/* Attaches the gateway that receives snapshots (borrowed; NULL detaches). */
void jn_control_set_gateway(struct jn_control *ctl, struct jn_gateway *gw);

/* Replaces the file config (after HUP; borrowed, must outlive its use).
 * Live state from the store is re-applied on top. Call jn_control_publish_all
 * afterwards. */
void jn_control_set_conf(struct jn_control *ctl, const struct jn_conf *conf);

/* Publishes every upstream and app host from the config and the store (at
 * start, after a reload). Returns 0 or a negative code (err says why). */
int jn_control_publish_all(struct jn_control *ctl, char *err, size_t errlen);

struct jn_store *jn_control_store(struct jn_control *ctl);
const char *jn_control_base_domain(const struct jn_control *ctl);
const struct jn_conf *jn_control_conf(const struct jn_control *ctl);
struct jn_gateway *jn_control_gateway(const struct jn_control *ctl); /* NULL: none attached */

/* Apps. create makes the app, its upstream (named like the app, no servers
 * yet) and its domains in one transaction; domains may be NULL. */
int jn_control_app_create(struct jn_control *ctl, const char *name, const char *const *domains,
                          size_t ndomains, char *err, size_t errlen);
int jn_control_app_delete(struct jn_control *ctl, const char *name, char *err, size_t errlen);

/* Registers cb(arg, app), called on the control thread right after an app was
 * deleted from the store, so the owner of its instances learns of it even if
 * it never saw them (a deploy and a destroy within one supervisor tick), and
 * the autoscaler forgets its settings. Up to 4 hooks; cb NULL removes the
 * hooks registered with arg. */
void jn_control_on_app_deleted(struct jn_control *ctl, void (*cb)(void *arg, const char *app),
                               void *arg);
int jn_control_domain_add(struct jn_control *ctl, const char *app, const char *domain, char *err,
                          size_t errlen);
int jn_control_domain_remove(struct jn_control *ctl, const char *app, const char *domain, char *err,
                             size_t errlen);

/* Upstream servers (HAProxy runtime API parity). addr is normalised first.
 * weight 0 and state -1 mean "unchanged" in set. Servers written in the
 * config file can be changed and removed too (the store keeps an override).
 * A server set to drain or removed takes no new requests; in-flight ones
 * finish on the peer object they hold. */
int jn_control_server_add(struct jn_control *ctl, const char *upstream, const char *addr,
                          int weight, int state, char *err, size_t errlen);
/* Whether addr is the address of one of app's own instances (whose server
 * rows the deployer keeps), not a server added at runtime. */
bool jn_control_is_instance_addr(struct jn_control *ctl, const char *app, const char *addr);
int jn_control_server_remove(struct jn_control *ctl, const char *upstream, const char *addr,
                             char *err, size_t errlen);
int jn_control_server_set(struct jn_control *ctl, const char *upstream, const char *addr,
                          int weight, int state, char *err, size_t errlen);

/* Sets the addresses of app's instances on other nodes of the cluster
 * (docs/CLUSTER.md), published with the app's own instances: as backups
 * while this node has instances of its own. The first nnear of addrs are
 * nearby (the node's site): while there are some and the node has no
 * instance of its own, the others are backups. addrs[0..n) are copied; n 0
 * clears. Republishes the app only when the list changed. Returns 0 or a
 * negative code (err says why). */
int jn_control_set_remote(struct jn_control *ctl, const char *app, const char *const *addrs,
                          size_t n, size_t nnear, char *err, size_t errlen);

/* A read-only view of an upstream and its servers with live counters. */
struct jn_ctl_server {
    char addr[JN_STORE_ADDR_MAX];
    int weight;
    int state;         /* enum jn_peer_state */
    bool from_config;  /* written in the config file */
    int conns;         /* in flight now */
    uint64_t requests; /* total sent */
    uint64_t failures; /* total failed attempts */
    struct jn_peer_stats stats; /* responses by class, response-time histogram */
};

struct jn_ctl_upstream {
    char name[JN_STORE_NAME_MAX];
    bool is_app;         /* an app's upstream (else an upstream block of the config) */
    const char *balance; /* "round_robin", "least_conn" or "p2c" (jn_balance_name) */
    struct jn_ctl_server *servers;
    size_t nservers;
};

/* Lists the upstreams (config ones in file order, then apps by name), or the
 * one named (JN_ENOTFOUND when none). Returns the count and *out; free with
 * jn_control_upstreams_free. */
int jn_control_upstreams(struct jn_control *ctl, const char *name, struct jn_ctl_upstream **out);
void jn_control_upstreams_free(struct jn_ctl_upstream *v, int n);

#endif
