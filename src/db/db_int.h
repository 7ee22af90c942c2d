/* db_int.h: what the manager's files share (internal to src/db). */
#ifndef JN_DB_DB_INT_H
#define JN_DB_DB_INT_H

#include "db/admin.h"
#include "db/backup.h"
#include "db/conf.h"
#include "db/db.h"
#include "db/server.h"
#include "ev/loop.h"
#include "store/databases.h"

#include <pthread.h>

struct cJSON;

enum db_state { DB_STARTING, DB_RUNNING, DB_RESTARTING, DB_FAILED };

/* One database's live state. */
struct db_rt {
    struct jn_store_db row;
    bool auto_port; /* a create's port was picked by jern, not given with --port */
    struct jn_db_paths p;
    char admin_pass[JN_DB_PASS_LEN + 1];
    pid_t pid;
    enum db_state state;
    int restarts;
    int64_t state_since_ms, next_try_ms, backoff_ms;
    struct jn_db_conn *mon; /* the admin connection for status and attach */
    struct jn_db_status last;
    int64_t last_ms;
    double qps, hit_rate;        /* hit_rate < 0: no reads yet */
    char version[64];            /* the server's, once it answered */
    int64_t size_bytes, size_ms; /* the directory's size on disk, when measured */
    int64_t next_backup_ms;
    bool destroying;     /* a destroy job runs: not supervised, shown as "destroying" */
    char bind_also[256]; /* the manager's advertised address when it was made */
    bool frozen;         /* read-only for a move (move.c), until its server restarts */
    bool rebind;         /* made on loopback alone before its node joined a cluster */
    struct db_rt *next;
};

/* A long operation (create, attach, backup, restore, destroy) runs on a thread of its
 * own (jobs.c): work() there, touching no store and no list of the manager;
 * then done() on the control thread, which writes the store, links what was
 * made and sets the outcome. One job per database at a time. */

enum db_job_state { DB_JOB_RUNNING, DB_JOB_DONE, DB_JOB_FAILED };

struct db_job {
    int id;
    const char *kind;            /* "create", "attach", "backup", "restore", "destroy" */
    char db[JN_STORE_NAME_MAX];  /* the database it works on */
    char db2[JN_STORE_NAME_MAX]; /* restore --to: the one it creates; "" none */
    int port;                    /* a port it takes for a new server; 0 none */
    enum db_job_state state;
    int status;           /* the outcome as an HTTP status */
    struct cJSON *result; /* the outcome's JSON when it succeeded */
    char err[1024];
    int64_t started_ms, ended_ms;
    int r; /* work()'s result */
    struct jn_dbs *m;
    int (*work)(struct db_job *j);
    void (*done)(struct db_job *j); /* sets status/result (or status/err) */
    void *arg;                      /* the kind's own data, freed by done */
    struct db_job *next;
};

struct jn_dbs {
    struct jn_loop *loop;
    struct jn_store *st;
    const char *state_dir;
    struct jn_timer tick;
    unsigned ticks;
    struct db_rt *dbs;
    struct db_job *jobs; /* newest first; finished ones kept a while for GET */
    int next_job_id;
    pthread_mutex_t mu; /* threads, stopping */
    int threads;        /* job threads not yet finished */
    bool stopping;
    char advertise[256]; /* a cluster node's: new servers bind it too; "" none */
};

/* Starts j (filled: kind, db, db2, port, work, done, arg) on a thread of its
 * own; the manager owns it from here. Returns 0, or JN_EEXIST with err
 * naming the job already running on one of its databases (nothing started,
 * the caller still owns j), or another error. */
int db_job_start(struct jn_dbs *m, struct db_job *j, char *err, size_t errlen);
/* A job of kind on database db, not started (for db_job_start). */
struct db_job *db_job_new(const char *kind, const char *db, int (*work)(struct db_job *j),
                          void (*done)(struct db_job *j), void *arg);
/* The running job on database name (or creating it), or NULL. */
struct db_job *db_job_running(struct jn_dbs *m, const char *name);
struct db_job *db_job_find(struct jn_dbs *m, int id);
/* Waits (bounded) for the job threads at stop; false when some still run. */
bool db_jobs_stop(struct jn_dbs *m);
void db_jobs_free(struct jn_dbs *m);
struct cJSON *db_job_json(const struct db_job *j);

/* A backup job of d (kind "manual" or "auto": the latter prunes after). */
int db_backup_job(struct jn_dbs *m, struct db_rt *d, const char *kind, int *job_id, char *err,
                  size_t errlen);
/* At start, before adopting: a directory under STATE/db that no database row
 * names was left by a create (or destroy) the daemon did not live to finish:
 * its server is stopped, its backups archived, the rest removed. */
void db_sweep_unfinished(struct jn_dbs *m);

/* Shared by db.c and destroy.c. */
/* Removes dir and everything under it (no symlink followed). */
void db_rm_tree(const char *dir);
/* Frees d (its connection too); unlink takes it off m's list first. */
void db_rt_free(struct db_rt *d);
void db_rt_unlink(struct jn_dbs *m, struct db_rt *d);
/* A consistent backup of a running server into p's backups (kind: "manual",
 * "scheduled", "final"); fills out; 0 or a negative JN_E* with err. */
int db_backup_run(const char *name, const struct jn_db_paths *p, int port, const char *pass,
                  const char *kind, struct jn_db_backup *out, char *err, size_t errlen);
struct db_rt *db_find(struct jn_dbs *m, const char *name);
const char *db_state_name(enum db_state s);
/* d as the API shows it (api.c). */
struct cJSON *db_json(struct jn_dbs *m, struct db_rt *d);
struct cJSON *db_backup_json(const struct jn_db_backup *b);
/* The admin connection of d, (re)connected on demand; NULL with err. */
struct jn_db_conn *db_conn(struct db_rt *d, char *err, size_t errlen);
/* Renders d's my.cnf lines; returns the count or JN_EBADINPUT with err. */
int db_conf_lines(const struct db_rt *d, struct jn_db_conf_line *lines, size_t max, char *err,
                  size_t errlen);

/* move.c: marks p's database as an incomplete copy of a move (on) or
 * complete. */
void db_moving_in_mark(const struct jn_db_paths *p, bool on);
/* move.c: whether p's server was made read-only for a move (a mark in its
 * directory, so that a daemon that restarts knows). */
bool db_frozen_marked(const struct jn_db_paths *p);

/* db.c */
void db_set_state(struct jn_dbs *m, struct db_rt *d, enum db_state s);
void db_drop_conn(struct db_rt *d); /* closes the admin connection */

/* image.c: checks --image: 0 when the engine has it; JN_EUPSTREAM (no engine
 * answers) or JN_EBADINPUT (no such image), with the reason in err. */
int db_image_check(const char *image, char *err, size_t errlen);

/* supervise.c: one tick's work (control thread) */
void db_supervise_one(struct jn_dbs *m, struct db_rt *d, int64_t now);
void db_scheduled_backup(struct jn_dbs *m, struct db_rt *d, int64_t now);
void db_sweep_orphans(struct jn_dbs *m);

#endif
