/*
 * cluster.h: a jern serve node in a cluster whose state is in etcd
 * (docs/CLUSTER.md). Without --cluster none of this exists and jern is the
 * single-node SQLite platform it always was.
 *
 * Two halves:
 *   - the cluster thread (cluster.c) is the only one that waits on etcd in
 *     the background: it keeps the node's lease alive (5 s TTL), writes the
 *     node's record and its instances under that lease, runs for scheduler
 *     (create-if-absent of /jern/leader under the lease) and, while it is the
 *     scheduler, writes placements; each round it reads /jern/ whole into a
 *     view and hands it to the control thread. Between rounds it waits on a
 *     watch of /jern/ (at most 1 s), so changes are seen at once.
 *   - the control thread (agent.c) applies each view: the local app exists,
 *     its local instances match the placement (deploy and scale jobs of the
 *     node's own deployer and drivers), and the instances on other nodes are
 *     published to the gateway as the app's remote servers. It reports the
 *     node's running instances back to the cluster thread.
 * The gateway's workers never see any of this but new snapshots: the data
 * path never waits on etcd; with etcd away, the last view keeps serving.
 */
#ifndef JN_CONTROL_CLUSTER_H
#define JN_CONTROL_CLUSTER_H

#include "core/common.h"

struct jn_cluster;
struct jn_control;
struct jn_dbs;
struct jn_deployer;
struct jn_loop;
struct cJSON;

#define JN_CLUSTER_LEASE_TTL_S 5

struct jn_cluster_opts {
    const char *endpoints; /* etcd: "http://H:P[,http://H:P]" */
    const char *node;      /* this node's name */
    const char *advertise; /* the host other nodes reach this one's instances at */
    const char *gateway;   /* "HOST:PORT" where this node's gateway answers */
    const char *state_dir; /* the node's STATE (where its logs and databases are) */
    const char *const *labels; /* "key=value" */
    size_t nlabels;
    int64_t memory; /* bytes offered to instances; 0: the machine's memory */
};

/* Checks opts and creates the node (nothing runs yet). NULL with msg naming
 * the bad option and the fix. Control thread. */
struct jn_cluster *jn_cluster_new(const struct jn_cluster_opts *opts, struct jn_loop *loop,
                                  struct jn_control *ctl, struct jn_deployer *d, char *msg,
                                  size_t msglen);

/* Names the node's managed databases, so the node reports where they and
 * their backups are (jern where). Control thread, before the first view. */
void jn_cluster_set_dbs(struct jn_cluster *c, struct jn_dbs *dbs);

/* Shares the node's certificates with the cluster (certshare.c): one node
 * orders each, every node answers its challenges and serves it. Control
 * thread, right after jn_certs_new. */
struct jn_certs;
void jn_cluster_set_certs(struct jn_cluster *c, struct jn_certs *cm);

/* Starts the cluster thread. Returns 0 or -errno. */
int jn_cluster_start(struct jn_cluster *c);

/* Stops the thread (revoking the lease, so other nodes see this one leave
 * at once) and frees. NULL is fine. Control thread, loop stopped. */
void jn_cluster_free(struct jn_cluster *c);

/* The node's name, and the host other nodes reach its instances at. */
const char *jn_cluster_node(const struct jn_cluster *c);
const char *jn_cluster_advertise(const struct jn_cluster *c);

/* The last view read from etcd (borrowed, control thread, until the next
 * view): {etcd: bool, error?, at_ms, node, leader, nodes{}, apps{}, assign{},
 * instances{APP: {NODE: {...}}}, drain{}, labels{NODE: {labels}},
 * data{NODE: {...}}}. Never NULL. */
const struct cJSON *jn_cluster_view(const struct jn_cluster *c);

/* Where everything of app is (where.c), from the last view: {app, require,
 * items: [{kind: instance|logs|access-log|database|backups, node, where, labels,
 * inside}], inside, placement_error?}; each item's node labels checked
 * against the app's required labels. NULL when the cluster has no app.
 * The caller frees. Control thread. */
struct cJSON *jn_cluster_where(const struct jn_cluster *c, const char *app);

/* Whether this node may hold data of app (jern db attach): 0 when its
 * labels hold every label the app requires (or the cluster has no such
 * app), JN_EBADINPUT with a message for the user in err when not (naming
 * the move of database db that would let it, and the nodes it may go to).
 * Control thread. */
int jn_cluster_may_hold(const struct jn_cluster *c, const char *app, const char *db, char *err,
                        size_t errlen);

/* The cluster's app as an app of this node's store too (made when missing:
 * an app set or created elsewhere that has not run here yet), so that a
 * database here can be attached to it. 0, or a negative code with err.
 * Control thread. */
int jn_cluster_app_here(struct jn_cluster *c, const char *app, char *err, size_t errlen);

/* Control changes, written to etcd from the control thread (blocking, with
 * a short deadline). Each returns 0, or a negative code with a message for
 * the user in err: JN_ECLOSED / JN_ETIMEDOUT etcd unreachable (the change
 * is refused, nothing was written), JN_EBADINPUT the placement cannot be
 * met, JN_EEXIST a concurrent change won (try again). */

/* Sets app's desired release: the fields of a deploy (image or command, env,
 * spec, instances) as a new version. registry_auth ({username, server,
 * password: sealed with jn_cluster_seal}; NULL: the last one given stays)
 * lets every node pull a private image. Returns the version (>= 1). */
int jn_cluster_deploy(struct jn_cluster *c, const char *app, const char *image,
                      const char *command, const struct cJSON *env, const struct cJSON *spec,
                      int instances, const struct cJSON *registry_auth, char *err,
                      size_t errlen);

/* name's value plain sealed with the cluster's key (the caller frees), or
 * NULL with err; and the way back (0 and *plain, which the caller frees). */
char *jn_cluster_seal(struct jn_cluster *c, const char *name, const char *plain, char *err,
                      size_t errlen);
int jn_cluster_open(struct jn_cluster *c, const char *name, const char *sealed, char **plain,
                    char *err, size_t errlen);

/* Moves database db (on whichever node has it) to node to: a record in
 * etcd that the two nodes carry out (dbmove.c): refused when to lacks a
 * label an attached app requires, or the database listens on loopback
 * only. */
int jn_cluster_db_move(struct jn_cluster *c, const char *db, const char *to, char *err,
                       size_t errlen);
/* 0, or JN_EEXIST with err when db is moving (no attach, detach, restore
 * or destroy meanwhile). */
int jn_cluster_db_busy(const struct jn_cluster *c, const char *db, char *err, size_t errlen);
/* {move: the record or null, nodes: [the nodes that have db now]} from the
 * last view; the caller frees. */
struct cJSON *jn_cluster_db_move_json(const struct jn_cluster *c, const char *db);

/* dbask.c: operations on databases, asked on any node of the cluster and
 * carried out by the node that holds the database (or is to hold a new one).
 * The node that holds db: this one when its manager has it, else the one
 * whose data record lists it; NULL: none. */
const char *jn_cluster_db_holder(const struct jn_cluster *c, const char *db);
/* The node a new database of memory_mb for app (NULL: none) goes to: node
 * when given (checked: live, undrained, the labels app requires, the
 * memory), else the scheduler's choice (jn_cluster_db_target). 0 with the
 * name in out, or a negative code with err for the user. */
int jn_cluster_db_place(const struct jn_cluster *c, const char *app, const char *node,
                        int64_t memory_mb, char *out, size_t outlen, char *err, size_t errlen);
/* Asks node to carry out ask ({op: create | attach | detach | destroy |
 * backup | restore, and its fields: app, memory_mb, dedicated, port, image,
 * force, backup, to})
 * on db: written to /jern/dbasks/DB unless an operation on db is under way
 * (JN_EEXIST). *at_ms names the request. */
int jn_cluster_db_ask(struct jn_cluster *c, const char *db, const char *node, struct cJSON *ask,
                      int64_t *at_ms, char *err, size_t errlen);
/* {ask: the record or null (job: the answer once it ended), node: where db
 * is or null}; the caller frees. */
struct cJSON *jn_cluster_db_ask_json(const struct jn_cluster *c, const char *db);
/* Adds the databases of the other nodes to list ({databases: [...]}, as
 * jn_dbs_list_json makes it) as {name, state: "elsewhere", node, memory_mb,
 * apps}. */
void jn_cluster_db_list_others(const struct jn_cluster *c, struct cJSON *list);

/* Restarts app's instances on every node: its release again, as a new
 * version. Returns the version. */
int jn_cluster_restart(struct jn_cluster *c, const char *app, char *err, size_t errlen);

/* Changes app's config (every node's instances get it): set (an object of
 * NAME: value, secrets sealed with the cluster's key) over it, the names in
 * unset (an array) removed from it; JN_EBADINPUT when one is not there. With
 * rollout and a release, every node rolls its instances onto it: returns
 * the new version; else 0 (the next deploy carries it). */
int jn_cluster_config(struct jn_cluster *c, const char *app, const struct cJSON *set,
                      const struct cJSON *unset, bool rollout, char *err, size_t errlen);

/* Seals the sealed values of vars again with the cluster's key, for etcd
 * (a node's own key opens nothing on another node). */
int jn_cluster_seal_for_cluster(struct jn_cluster *c, struct cJSON *vars, char *err,
                                size_t errlen);

/* Sets app's instance count. */
int jn_cluster_scale(struct jn_cluster *c, const char *app, int instances, char *err,
                     size_t errlen);
/* Autoscales app cluster-wide with settings (every setting, as
 * jn_autoscale_check gives them): the scheduler decides its count from every
 * node's samples (scaling.c); jn_cluster_scale fixes it again. */
int jn_cluster_autoscale(struct jn_cluster *c, const char *app, const struct cJSON *settings,
                         char *err, size_t errlen);

/* The node's autoscaler samples and the scheduler decides (scaling.c).
 * Control thread, before the first view. */
struct jn_autoscaler;
void jn_cluster_set_autoscaler(struct jn_cluster *c, struct jn_autoscaler *as);

/* Sets app's placement labels (require, prefer: objects of key -> value;
 * NULL leaves one unchanged). Refused when no live node has require. */
int jn_cluster_placement(struct jn_cluster *c, const char *app, const struct cJSON *require,
                         const struct cJSON *prefer, char *err, size_t errlen);

/* jern cluster init: writes a single node's app (its serving release,
 * scale and domains, an array) into the cluster unless the cluster has a
 * release of that app already. Returns 1 when written, 0 when the cluster had it. */
int jn_cluster_import(struct jn_cluster *c, const char *app, const char *image,
                      const char *command, const struct cJSON *env, const struct cJSON *spec,
                      int instances, const struct cJSON *domains, char *err, size_t errlen);

/* Adds (add) or removes domain (normalised) in app's domains, which every
 * node then serves. base (an array: this node's domains of app) is the
 * list to start from when the cluster has none for app yet. Returns 1 when
 * the cluster listed domain before, else 0. */
int jn_cluster_domain(struct jn_cluster *c, const char *app, const char *domain, bool add,
                      const struct cJSON *base, char *err, size_t errlen);

/* Sets app's runtime upstream servers (jern upstream APP add|set|remove),
 * which every node then routes to: servers is the whole list, [{addr,
 * weight, state}]. */
int jn_cluster_servers(struct jn_cluster *c, const char *app, const struct cJSON *servers,
                       char *err, size_t errlen);

/* jern destroy on a cluster node: app leaves the cluster, and every node
 * destroys its own copy (its instances, domains, releases). Returns 1 when
 * the cluster had app, else 0. */
int jn_cluster_destroy(struct jn_cluster *c, const char *app, char *err, size_t errlen);

/* Sets app's https mode ("off", "redirect", "only"), which every node
 * then follows. */
int jn_cluster_https(struct jn_cluster *c, const char *app, const char *mode, char *err,
                     size_t errlen);

/* Drains node (true: it takes no instances; its instances move) or undrains. */
int jn_cluster_drain(struct jn_cluster *c, const char *node, bool drain, char *err,
                     size_t errlen);

/* Sets node's labels (an object of key -> value), over its --label flags,
 * until set again; NULL goes back to the flags'. The node rewrites its
 * record within a round; the scheduler then places by the new labels. */
int jn_cluster_node_labels(struct jn_cluster *c, const char *node, const struct cJSON *labels,
                           char *err, size_t errlen);

/* For agent.c: the view was replaced; apply it. */
void jn_cluster_agent_apply(struct jn_cluster *c);

#endif
