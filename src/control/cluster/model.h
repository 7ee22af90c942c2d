/*
 * model.h: the cluster's model in etcd (docs/CLUSTER.md) and the pure
 * decisions over it: label matching and the scheduler's placement. No I/O;
 * any thread.
 *
 * Keys (values are JSON objects; /jern/data/NODE holds the credentials of
 * apps attached to NODE's databases, as app env in /jern/apps does, and its
 * archived backups, {archives: {DIR: {apps, backups}}}):
 *   /jern/nodes/NODE          {name, advertise, gateway, labels{}, memory, health}
 *                              under NODE's lease: gone a TTL after NODE dies
 *   /jern/apps/APP            {version, instances, memory, require{}, prefer{},
 *                              image | command, env{}, spec{},
 *                              domains[], https, servers[], config_version,
 *                              autoscale{}, autoscale_state{}} the desired state
 *   /jern/assign/APP          {version, nodes{NODE: count}, error?}  the scheduler's
 *   /jern/instances/APP/NODE  {version, addrs[], healthy}  under NODE's lease
 *   /jern/leader              NODE  under the scheduler's lease
 *   /jern/drain/NODE          "1": NODE takes no instances
 *   /jern/secret-key          hex: the key of the secrets in etcd (secrets.c)
 *   /jern/dbmoves/DB          {db, from, to, state, purge?, error?}  a database's
 *                              move between nodes (dbmove.c)
 *   /jern/load/NODE           {APP: {stable, panic, waiting, active_ms}}  the
 *                              concurrency NODE's gateway sees of autoscaled apps
 *                              (scaling.c), under NODE's lease
 *   /jern/dbasks/DB           {db, node, op, state, job?, ...}  an operation on
 *                              a database (or a new one) asked on another node
 *                              than the one it is on (dbask.c)
 *   /jern/certs/DOMAIN        {chain, key (sealed), serial, not_after, node}
 *   /jern/acme/lock/DOMAIN    {node, until_ms}: the node that orders DOMAIN's
 *   /jern/acme/challenge/TOKEN {keyauth}: every gateway answers it (certshare.c)
 */
#ifndef JN_CONTROL_CLUSTER_MODEL_H
#define JN_CONTROL_CLUSTER_MODEL_H

#include "core/common.h"

struct cJSON;

#define JN_CLUSTER_PREFIX "/jern/"
#define JN_CLUSTER_NODES "/jern/nodes/"
#define JN_CLUSTER_APPS "/jern/apps/"
#define JN_CLUSTER_ASSIGN "/jern/assign/"
#define JN_CLUSTER_INSTANCES "/jern/instances/"
#define JN_CLUSTER_LEADER "/jern/leader"
#define JN_CLUSTER_DRAIN "/jern/drain/"
/* {labels: {}}: a node's labels set through the API, over its --label flags */
#define JN_CLUSTER_LABELS "/jern/labels/"
#define JN_CLUSTER_DATA "/jern/data/" /* NODE: its databases, backups, logs (lease) */
/* DB: {db, from, to, state, purge?, error?, ...}: a database's move (dbmove.c) */
#define JN_CLUSTER_DBMOVES "/jern/dbmoves/"
/* NODE: {APP: {stable, panic, waiting, active_ms}}: what NODE's gateway sees of
 * each autoscaled app (scaling.c; lease) */
#define JN_CLUSTER_LOAD "/jern/load/"
/* DB: {db, node, op, state, job?, ...}: an operation asked of DB's node (dbask.c) */
#define JN_CLUSTER_DBASKS "/jern/dbasks/"
/* certshare.c: DOMAIN: {chain, key (sealed), serial, not_after, node} */
#define JN_CLUSTER_CERTS "/jern/certs/"
#define JN_CLUSTER_ACME_LOCK "/jern/acme/lock/"           /* DOMAIN: {node, until_ms} */
#define JN_CLUSTER_ACME_CHALLENGE "/jern/acme/challenge/" /* TOKEN: {keyauth} (lease) */
/* An instance whose app does not say its memory counts as this much. */
#define JN_CLUSTER_DEFAULT_MEMORY (256LL * 1024 * 1024)

/* Whether "key=value" is a valid label (both [A-Za-z0-9_.-]{1,63}). */
bool jn_cluster_label_ok(const char *kv);

/* Adds "key=value" to the object labels. Returns 0 or JN_EBADINPUT. */
int jn_cluster_label_add(struct cJSON *labels, const char *kv);

/* Whether every key=value of want (an object; NULL: none) is in labels. */
bool jn_cluster_labels_match(const struct cJSON *labels, const struct cJSON *want);

/* "k=v, k2=v2" of an object of labels into out. */
void jn_cluster_labels_text(const struct cJSON *labels, char *out, size_t len);

/* A node's databases as its data record keeps them ({NAME: {apps: [APP],
 * backups: N}}), from jern_dbs_list_json's {databases: [...]} (NULL: none).
 * The caller frees. */
struct cJSON *jn_cluster_data_dbs(const struct cJSON *list);

/* Calls add(arg, kind, where) for each database of dbs (as
 * jn_cluster_data_dbs makes it) that app is attached to ("database", "NAME
 * (STATE/db/NAME)") and for its backups when it has some ("backups", "N of
 * NAME (STATE/db/NAME/backups)"). */
void jn_cluster_data_databases(const struct cJSON *dbs, const char *app,
                               void (*add)(void *arg, const char *kind, const char *where),
                               void *arg);

/* Whether the array arr holds the string s. */
bool jn_cluster_has_string(const struct cJSON *arr, const char *s);

/* The scheduler: places every app of apps ({APP: app value}) on nodes
 * ({NODE: node value, plus "draining": true for drained ones}), given the
 * current placement cur (as this returns it, {APP: {nodes{NODE: count}}}; may be NULL). Instances go
 * only to undrained nodes whose labels hold the app's require labels, one
 * by one to the node with the fewest of the app's instances (spread), then
 * preferring nodes with the prefer labels, then nodes that already run it
 * (no needless moves), then the least memory used, then by name; a node
 * never takes more than its memory (less its databases', "db_memory"). Returns {APP: {version, nodes{NODE:
 * count}, error?}}; error says why not all instances could be placed. The
 * caller owns the result. */
struct cJSON *jn_cluster_schedule(const struct cJSON *nodes, const struct cJSON *apps,
                                  const struct cJSON *cur);

/* The node whose data record (of data: {NODE: record}) lists db; NULL:
 * none. */
const char *jn_cluster_db_node(const struct cJSON *data, const char *db);

/* The memory (bytes) the databases of a node's data record take. */
double jn_cluster_db_memory(const struct cJSON *rec);

/* Whether node (of nodes) has bytes more memory free for a database: its
 * memory less its databases' (data) and its instances' in plan (as
 * jn_cluster_schedule returns it, apps giving their memory). */
bool jn_cluster_db_fits(const struct cJSON *nodes, const char *node, const struct cJSON *apps,
                        const struct cJSON *plan, const struct cJSON *data, double bytes);

/* The node a database of bytes for the apps named in attached (an array;
 * may be empty) goes to: a live, undrained node of nodes (as for
 * jn_cluster_schedule) other than skip (NULL: none) that has every label the
 * apps require and the memory for it (jn_cluster_db_fits, with plan);
 * nodes with the labels they prefer first, then the fewest databases, then
 * by name. NULL: none fits. */
const char *jn_cluster_db_target(const struct cJSON *nodes, const struct cJSON *apps,
                                 const struct cJSON *data, const struct cJSON *plan,
                                 const struct cJSON *attached, const char *skip, double bytes);

/* A move's first record (dbmove.c): db from node from to node to, made
 * like dbrec (its entry in from's data record: memory_mb, dedicated,
 * image); purge: it must leave from's labels (its backups go too). */
struct cJSON *jn_cluster_db_move_new(const char *db, const char *from, const char *to,
                                     const struct cJSON *dbrec, bool purge, int64_t now_ms);

/* The moves the scheduler starts: each database on a live node of nodes (as
 * for jn_cluster_schedule) that is drained, or whose labels lack a label an
 * attached app (apps) requires, and that no move of moves ({DB: record}) is
 * about, goes to the node jn_cluster_db_target chooses for its apps. data:
 * {NODE: data record}. Returns {DB: {from, to, purge?}} (purge: outside its
 * labels), possibly empty; the caller owns it. */
struct cJSON *jn_cluster_db_moves(const struct cJSON *nodes, const struct cJSON *apps,
                                  const struct cJSON *data, const struct cJSON *moves,
                                  const struct cJSON *plan);

#endif
