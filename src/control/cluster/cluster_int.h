/* cluster_int.h: struct jn_cluster, as cluster.c (the thread, the writes)
 * and agent.c (the control thread's half) share it. */
#ifndef JN_CONTROL_CLUSTER_INT_H
#define JN_CONTROL_CLUSTER_INT_H

#include "control/appconfig/secret.h"
#include "control/cluster/cluster.h"
#include "ev/timer.h"

#include <pthread.h>
#include <stdatomic.h>

struct jn_etcd;
struct jn_dbs;
struct jn_certs;

struct jn_cluster {
    char *endpoints, *node, *advertise, *gateway, *state_dir;
    struct cJSON *labels; /* {key: value} */
    int64_t memory;
    struct jn_loop *loop; /* the control loop */
    struct jn_control *ctl;
    struct jn_deployer *deployer;
    struct jn_dbs *dbs; /* NULL until jn_cluster_set_dbs */
    struct jn_certs *certs; /* NULL until jn_cluster_set_certs */

    /* cluster thread only */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct jn_etcd *e;
    int64_t lease;
    bool node_written;
    struct cJSON *labels_set; /* /jern/labels/NODE's labels, over the flags'; NULL: none */
    struct cJSON *written; /* {APP: value} of the instance keys written */
    struct cJSON *data_written; /* the data record written under this lease */
    int64_t revision;      /* of the last read */
    bool etcd_ok;
    bool watch_hit; /* the last watch saw a change */

    /* shared, under mu */
    pthread_mutex_t mu;
    struct cJSON *pending; /* the next view for the control thread */
    struct cJSON *report;  /* the node's instances, from the control thread */
    struct cJSON *data;    /* the node's data record, from the control thread */
    atomic_bool report_changed; /* report differs from the last one: a round now */

    /* control thread only */
    struct cJSON *view;
    struct jn_etcd *ce;      /* the control thread's client (API writes) */
    struct cJSON *attempts;  /* {APP: {version, at}}: local deploys started */
    struct jn_timer report_tick; /* the node's instances looked at between views */
    struct cJSON *config_written; /* {APP: config_version} of this node's own changes */
    struct cJSON *domain_errors;   /* {"APP DOMAIN": true}: domains that could not be added here */
    struct cJSON *config_seen; /* {APP: config_version} of the config copied into the store */
    unsigned char secret[JN_SECRET_KEY_LEN]; /* the cluster's key (secrets.c) */
    bool secret_ok;
    struct cJSON *seen;      /* {APP: true}: the apps of the last view */
    struct cJSON *destroyed; /* {APP: true}: destroyed here, maybe still in a view read before */
    struct cJSON *dbmove_jobs; /* {DB@AT: kind}: what this node started for DB's move */
    struct jn_autoscaler *as;      /* the node's autoscaler (scaling.c), or NULL */
    struct cJSON *load;            /* under mu: its latest samples, for the cluster thread */
    struct cJSON *load_written;    /* cluster thread: the samples last written */
    int64_t load_written_ms;
    struct cJSON *dbask_jobs;    /* {DB@AT: job id}: operations asked of this node (dbask.c) */
    struct cJSON *dbmove_before; /* {DB@AT: {APP: version}}: the apps it restarted for it */
    struct cJSON *challenges;  /* {TOKEN: true}: other nodes' challenges answered here */
    struct cJSON *cert_errors; /* {SERIAL: true}: shared certificates that did not install */
};

/* agent.c: the node's running instances as {APP: {version, addrs[], healthy}}.
 * Control thread. */
struct cJSON *jn_cluster_agent_report(struct jn_cluster *c);

/* agent.c: where the node keeps data of its apps, as written to
 * /jern/data/NODE: {databases: {DB: {apps: [APP], backups: N}}, logs: [APP],
 * access_logs: [APP]} (the apps with instance output or an access log kept in
 * STATE/logs). Control thread. */
struct cJSON *jn_cluster_agent_data(struct jn_cluster *c);

/* changes.c: err for a failed etcd call (unreachable: changes are refused);
 * returns r. */
int jn_cluster_etcd_failed(struct jn_cluster *c, int r, char *err, size_t errlen);

/* secrets.c: seals the sealed values of vars again, from this node's key
 * to the cluster's (to_cluster) or back. Returns 0 or a negative code with
 * err for the user. */
int jn_cluster_reseal(struct jn_cluster *c, struct cJSON *vars, bool to_cluster, char *err,
                      size_t errlen);

/* dbenv.c: the credentials of each app attached to a database of this
 * node, {APP: {db, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE}},
 * for its data record, from its databases (as jn_cluster_data_dbs makes them). */
struct cJSON *jn_cluster_dbenv_report(struct jn_cluster *c, const struct cJSON *dbs);

/* dbenv.c: apps attached to databases on other nodes get their settings
 * here (STATE/db/env/APP); detached there, removed here. Control thread. */
void jn_cluster_dbenv_apply(struct jn_cluster *c);

/* dbmove.c: this node's part in the databases' moves of the view. Control
 * thread. */
void jn_cluster_dbmove_apply(struct jn_cluster *c);

/* scaling.c: the autoscaler's samples handed to the cluster thread (a round
 * at once when a request starts waiting for an app at zero). Control
 * thread. */
void jn_cluster_load_sample(struct jn_cluster *c);
/* scaling.c: writes the node's samples (/jern/load/NODE) when they changed,
 * at most once a second unless a request waits. Cluster thread. */
int jn_cluster_write_load(struct jn_cluster *c);
/* scaling.c: the scheduler's autoscaling decisions, written to the apps'
 * records and to v's, before v is placed. Cluster thread. */
int jn_cluster_autoscale_round(struct jn_cluster *c, struct cJSON *v);
/* scaling.c: app's autoscale settings here as its record a has them.
 * Control thread. */
void jn_cluster_autoscale_follow(struct jn_cluster *c, const char *app, const struct cJSON *a);

/* dbask.c: the operations on databases other nodes asked of this one.
 * Control thread. */
void jn_cluster_dbask_apply(struct jn_cluster *c);

/* certshare.c: other nodes' challenges answered, their certificates
 * installed. Control thread. */
void jn_cluster_certs_apply(struct jn_cluster *c);
/* certshare.c: the scheduler removes /jern/certs/DOMAIN (a sealed key among
 * it) once no app record of v lists DOMAIN. Cluster thread. */
int jn_cluster_certs_prune(struct jn_cluster *c, const struct cJSON *v);

/* dbmove.c: whether db (a database of this node) is moving away. */
bool jn_cluster_db_moving_from_here(const struct jn_cluster *c, const char *db);

#endif
