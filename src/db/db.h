/*
 * db.h: managed MariaDB databases (docs/DATABASES.md). The manager owns one
 * supervised mariadbd per database: it creates them, adopts running ones at
 * start (never a second server on a datadir), restarts crashed ones, attaches
 * apps (a database and a user each; the app's next instance gets
 * DATABASE_URL), makes scheduled backups and restores. Control thread only;
 * the long operations (create, attach, backup, restore, destroy) run as jobs
 * on threads of their own (jobs.c) and report back through the loop.
 *
 * Errors: a negative code with a message for the user in err (naming the
 * thing and the fix); jn_dbs_http_status maps the code to 400, 404, 409, 501
 * or 500. Nothing is started or changed when a call fails.
 */
#ifndef JN_DB_DB_H
#define JN_DB_DB_H

#include "core/common.h"
#include "core/buf.h"

struct jn_loop;
struct jn_store;
struct jn_dbs;
struct cJSON;

/* A manager for the databases in st, files under state_dir (borrowed, must
 * outlive it). Nothing starts until jn_dbs_start. */
struct jn_dbs *jn_dbs_new(struct jn_loop *loop, struct jn_store *st, const char *state_dir);

/* A cluster node's advertised address (docs/CLUSTER.md): databases made
 * from now on listen there too, for attached apps' instances on other
 * nodes. Before jn_dbs_start. */
void jn_dbs_set_advertise(struct jn_dbs *m, const char *addr);

/* Adopts each database's running server or starts it, and arms supervision
 * (every 500 ms) and the backup schedule. */
void jn_dbs_start(struct jn_dbs *m);

/* Stops supervising. The servers keep running: the next daemon adopts them. */
void jn_dbs_free(struct jn_dbs *m);

/* Appends each database's figures in Prometheus text (state, connections,
 * queries/s, buffer pool hit rate). Never a password. */
void jn_dbs_metrics(struct jn_dbs *m, struct jn_buf *out);

/* The HTTP status of an error code from the calls below. */
int jn_dbs_http_status(int r);

/* What a create needs; port 0 picks a free one. */
struct jn_db_create {
    const char *name;
    int64_t memory_mb;
    bool dedicated;
    int port;
    const char *image; /* NULL: Debian's mariadbd as a process */
    bool moving_in;    /* made for a move: marked until its import succeeds */
};

/* The long operations start a job and answer its id (*job_id; follow it with
 * jn_dbs_job_json), or an error. */
int jn_dbs_create(struct jn_dbs *m, const struct jn_db_create *c, int *job_id, char *err,
                  size_t errlen);
/* Refused while attached unless force. The job keeps a final backup, stops
 * the server, then (control thread) deletes the row and the files. */
int jn_dbs_destroy(struct jn_dbs *m, const char *name, bool force, int *job_id, char *err,
                   size_t errlen);
/* A database and a user for app; its next instance gets DATABASE_URL. */
int jn_dbs_attach(struct jn_dbs *m, const char *name, const char *app, int *job_id, char *err,
                  size_t errlen);
/* A manual backup (never pruned). */
int jn_dbs_backup(struct jn_dbs *m, const char *name, int *job_id, char *err, size_t errlen);
/* Loads backup id into name, or into a new database to (NULL: none). */
int jn_dbs_restore(struct jn_dbs *m, const char *name, const char *id, const char *to,
                   int *job_id, char *err, size_t errlen);

/* A destroy for a database that moved to another node (see jn_dbs_import):
 * attached or not; the apps' settings that name the other node stay; purge:
 * its backups go too instead of to STATE/db-archive (it had to leave this
 * node's labels). */
int jn_dbs_destroy_moved(struct jn_dbs *m, const char *name, bool purge, int *job_id, char *err,
                         size_t errlen);

/* A move between cluster nodes (move.c, docs/CLUSTER.md). jn_dbs_freeze
 * makes name's server read-only (on) or writable again, as a job;
 * jn_dbs_frozen says whether it is read-only now (a restart of its server
 * ends that). */
int jn_dbs_freeze(struct jn_dbs *m, const char *name, bool on, char *err, size_t errlen);
bool jn_dbs_frozen(struct jn_dbs *m, const char *name);
/* Whether name was made for a move whose import has not succeeded (an
 * incomplete copy: the cluster removes it when its move is gone). */
bool jn_dbs_moving_in(struct jn_dbs *m, const char *name);
/* Whether this node has a database name. */
bool jn_dbs_has(struct jn_dbs *m, const char *name);

/* The newest job of kind on name: 0 none, 1 running, 2 succeeded, -1 failed
 * (its message in err). */
int jn_dbs_last_job(struct jn_dbs *m, const char *name, const char *kind, char *err,
                    size_t errlen);

/* One app's database on the frozen server, as its node reports it. */
struct jn_db_import_app {
    const char *app, *host, *user, *pass, *database;
    int port;
};
/* Into name, a database of this node made for the move (jn_dbs_create),
 * each app's database copied from the frozen server, with the same user and
 * password, the app attached. A job (kind "import"); on failure no app is
 * attached or pointed at it. */
int jn_dbs_import(struct jn_dbs *m, const char *name, const struct jn_db_import_app *apps,
                  size_t napps, int *job_id, char *err, size_t errlen);

/* Immediate: drops app's user (its rows stay) and its DATABASE_URL. */
int jn_dbs_detach(struct jn_dbs *m, const char *name, const char *app, char *err, size_t errlen);
/* Automatic backups every every_s seconds (0: off), keeping the newest keep. */
int jn_dbs_schedule(struct jn_dbs *m, const char *name, int64_t every_s, int keep, char *err,
                    size_t errlen);

/* The archived backups of destroyed (or moved) databases in
 * STATE/db-archive: {DIR: {apps: [the apps attached at the end], backups:
 * N}}. The caller frees. */
struct cJSON *jn_dbs_archives_json(struct jn_dbs *m);

/* JSON views for the API, owned by the caller; NULL when no database (or
 * job) has that name (id). Only jn_dbs_url_json holds passwords. */
struct cJSON *jn_dbs_list_json(struct jn_dbs *m); /* {"databases": [...], "jobs": [running]} */
struct cJSON *jn_dbs_json(struct jn_dbs *m, const char *name);
struct cJSON *jn_dbs_config_json(struct jn_dbs *m, const char *name);
struct cJSON *jn_dbs_url_json(struct jn_dbs *m, const char *name);
struct cJSON *jn_dbs_backups_json(struct jn_dbs *m, const char *name);
struct cJSON *jn_dbs_job_json(struct jn_dbs *m, int id);

#endif
