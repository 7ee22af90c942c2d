/*
 * env.h: the environment an attached app gets (DATABASE_URL, MYSQL_*), kept
 * in STATE/db/env/APP (0600, in a 0700 directory) so that any thread starting
 * an instance can read it without the store. Written by attach, removed by
 * detach and destroy.
 */
#ifndef JN_DB_ENV_H
#define JN_DB_ENV_H

#include "core/common.h"

/* Writes the file for app (atomically: temp + rename). Returns 0 or -errno. */
int jn_db_env_write(const char *state_dir, const char *app, int port, const char *user,
                    const char *pass, const char *dbname);

/* Removes it (missing is fine). */
void jn_db_env_remove(const char *state_dir, const char *app);

/* Reads KEY from app's file into out (size n). Returns 0 or JN_ENOTFOUND. */
int jn_db_env_get(const char *state_dir, const char *app, const char *key, char *out, size_t n);

/* env (NULL-terminated "K=V", may be NULL) plus app's database variables for
 * keys env does not set already (a release's own DATABASE_URL wins). A new
 * NULL-terminated array: free with jn_db_env_free. Any thread. */
char **jn_db_env_merge(const char *state_dir, const char *app, const char *const *env);
void jn_db_env_free(char **env);

#endif
