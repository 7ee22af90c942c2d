/*
 * env.h: the environment an attached app gets (DATABASE_URL, MYSQL_*), kept
 * in STATE/db/env/APP (0600, in a 0700 directory) so that any thread starting
 * an instance can read it without the store. Written by attach, removed by
 * detach and destroy.
 */
#ifndef JN_DB_ENV_H
#define JN_DB_ENV_H

#include "core/common.h"

/* Where an app's container finds the server's socket directory (mounted). */
#define JN_DB_CONTAINER_RUN "/run/jern-db"

/* Writes the file for app (atomically: temp + rename): the variables for a
 * process (TCP to 127.0.0.1:port) and for a container (the socket in
 * run_dir, mounted at JN_DB_CONTAINER_RUN). Returns 0 or -errno. */
int jn_db_env_write(const char *state_dir, const char *app, int port, const char *run_dir,
                    const char *user, const char *pass, const char *dbname);

/* Writes the file of an app attached to a database on another cluster node
 * (docs/CLUSTER.md): TCP to host:port for processes and containers alike,
 * and "#node=" naming that node. */
int jn_db_env_write_remote(const char *state_dir, const char *app, const char *node,
                           const char *host, int port, const char *user, const char *pass,
                           const char *dbname);

/* The node named in app's file (a database on another node) into out.
 * Returns 0, or JN_ENOTFOUND for no file or a database on this node. */
int jn_db_env_node(const char *state_dir, const char *app, char *out, size_t n);

/* Removes it (missing is fine). */
void jn_db_env_remove(const char *state_dir, const char *app);

/* Reads KEY from app's file into out (size n). Returns 0 or JN_ENOTFOUND. */
int jn_db_env_get(const char *state_dir, const char *app, const char *key, char *out, size_t n);

/* env (NULL-terminated "K=V", may be NULL) plus app's database variables for
 * keys env does not set already (a release's own DATABASE_URL wins): the
 * container's set when container. A new NULL-terminated array: free with
 * jn_db_env_free. Any thread. */
char **jn_db_env_merge(const char *state_dir, const char *app, const char *const *env,
                       bool container);

/* The host directory of the socket of app's database (to mount at
 * JN_DB_CONTAINER_RUN) into out. Returns 0, or JN_ENOTFOUND when app is not
 * attached. */
int jn_db_env_socket_dir(const char *state_dir, const char *app, char *out, size_t n);
void jn_db_env_free(char **env);

#endif
