/*
 * admin.h: SQL against a managed server through libmariadb (the only user of
 * <mysql.h>): the admin account's connection, databases and users for
 * attached apps, and the status figures for /metrics. Control thread.
 */
#ifndef JN_DB_ADMIN_H
#define JN_DB_ADMIN_H

#include "core/common.h"

#define JN_DB_ADMIN_USER "jern_admin"
#define JN_DB_PASS_LEN 24

struct jn_db_conn;

/* Connects to 127.0.0.1:port as user (timeout_s for connect and each
 * query). Returns NULL with the server's message in err. */
struct jn_db_conn *jn_db_connect(int port, const char *user, const char *pass, int timeout_s,
                                 char *err, size_t errlen);
void jn_db_close(struct jn_db_conn *c);

/* Runs one statement (no result set). Returns 0 or JN_EBASE with err. */
int jn_db_exec(struct jn_db_conn *c, const char *sql, char *err, size_t errlen);

/* Creates database dbname (if missing) and user@'%' with pass (replacing
 * the password of an existing one), granted everything on dbname only.
 * Names are SQL identifiers of a-z, 0-9 and '_' (jn_db_sql_ident). */
int jn_db_grant(struct jn_db_conn *c, const char *dbname, const char *user, const char *pass,
                char *err, size_t errlen);

/* Drops user (if it exists); the database and its rows stay. */
int jn_db_revoke(struct jn_db_conn *c, const char *user, char *err, size_t errlen);

/* The user databases on the server (not mysql, sys, *_schema), as a
 * NULL-terminated array the caller frees with jn_db_names_free. */
char **jn_db_user_databases(struct jn_db_conn *c);
void jn_db_names_free(char **v);

struct jn_db_status {
    int64_t threads_connected;
    int64_t queries;                /* the Queries counter */
    int64_t pool_read_requests;     /* Innodb_buffer_pool_read_requests */
    int64_t pool_reads;             /* ... that had to read from disk */
};

/* SHOW GLOBAL STATUS, the figures above. Returns 0 or JN_EBASE. */
int jn_db_status_read(struct jn_db_conn *c, struct jn_db_status *out);

/* The server's version ("10.11.6-MariaDB-0+deb12u1") into out. */
void jn_db_version(struct jn_db_conn *c, char *out, size_t n);

/* A random password of JN_DB_PASS_LEN letters and digits (URL-safe). */
void jn_db_password(char out[JN_DB_PASS_LEN + 1]);

#endif
