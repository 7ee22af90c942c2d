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

enum db_state { DB_STARTING, DB_RUNNING, DB_RESTARTING, DB_FAILED };

/* One database's live state. */
struct db_rt {
    struct jn_store_db row;
    struct jn_db_paths p;
    char admin_pass[JN_DB_PASS_LEN + 1];
    pid_t pid;
    enum db_state state;
    int restarts;
    int64_t state_since_ms, next_try_ms, backoff_ms;
    struct jn_db_conn *mon; /* the admin connection for status and attach */
    struct jn_db_status last;
    int64_t last_ms;
    double qps, hit_rate; /* hit_rate < 0: no reads yet */
    int64_t next_backup_ms;
    struct db_rt *next;
};

struct jn_dbs {
    struct jn_loop *loop;
    struct jn_store *st;
    const char *state_dir;
    struct jn_timer tick;
    unsigned ticks;
    struct db_rt *dbs;
};

/* What a create needs; port 0 picks a free one. */
struct db_create {
    const char *name;
    int64_t memory_mb;
    bool dedicated;
    int port;
};

int db_create(struct jn_dbs *m, const struct db_create *c, char *err, size_t errlen);
int db_destroy(struct jn_dbs *m, const char *name, bool force, char *final_id, char *err,
               size_t errlen);
int db_attach(struct jn_dbs *m, const char *name, const char *app, char *err, size_t errlen);
int db_detach(struct jn_dbs *m, const char *name, const char *app, char *err, size_t errlen);
int db_backup(struct jn_dbs *m, struct db_rt *d, const char *kind, struct jn_db_backup *out,
              char *err, size_t errlen);
int db_restore(struct jn_dbs *m, const char *name, const char *id, const char *to, char *err,
               size_t errlen);
int db_schedule(struct jn_dbs *m, const char *name, int64_t every_s, int keep, char *err,
                size_t errlen);
struct db_rt *db_find(struct jn_dbs *m, const char *name);
const char *db_state_name(enum db_state s);
/* The admin connection of d, (re)connected on demand; NULL with err. */
struct jn_db_conn *db_conn(struct db_rt *d, char *err, size_t errlen);
/* Renders d's my.cnf lines; returns the count or JN_EBADINPUT with err. */
int db_conf_lines(const struct db_rt *d, struct jn_db_conf_line *lines, size_t max, char *err,
                  size_t errlen);

#endif
