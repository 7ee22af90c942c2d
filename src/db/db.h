/*
 * db.h: managed MariaDB databases (docs/DATABASES.md). The manager owns one
 * supervised mariadbd per database: it creates them, adopts running ones at
 * start (never a second server on a datadir), restarts crashed ones, attaches
 * apps (a database and a user each; the app's next instance gets
 * DATABASE_URL), makes scheduled backups and restores. Control thread only;
 * the long operations (create, attach, backup, restore) run as jobs on
 * threads of their own (jobs.c) and report back through the loop.
 */
#ifndef JN_DB_DB_H
#define JN_DB_DB_H

#include "core/common.h"
#include "core/buf.h"

struct jn_loop;
struct jn_store;
struct jn_dbs;
struct jn_api_req;
struct jn_api_resp;

/* A manager for the databases in st, files under state_dir (borrowed, must
 * outlive it). Nothing starts until jn_dbs_start. */
struct jn_dbs *jn_dbs_new(struct jn_loop *loop, struct jn_store *st, const char *state_dir);

/* Adopts each database's running server or starts it, and arms supervision
 * (every 500 ms) and the backup schedule. */
void jn_dbs_start(struct jn_dbs *m);

/* Stops supervising. The servers keep running: the next daemon adopts them. */
void jn_dbs_free(struct jn_dbs *m);

/* Appends each database's figures in Prometheus text (state, connections,
 * queries/s, buffer pool hit rate). Never a password. */
void jn_dbs_metrics(struct jn_dbs *m, struct jn_buf *out);

#endif
