/*
 * run.h: the MariaDB tools jern runs (mariadb-install-db, mariadb-dump,
 * mariadb, mariadbd) as child processes with clean signal state. Control
 * thread (they block) or any thread for jn_db_run.
 */
#ifndef JN_DB_RUN_H
#define JN_DB_RUN_H

#include "core/common.h"

/* Runs argv (argv[0] looked up in PATH) to completion: stdin from in_path
 * (NULL: /dev/null), stdout to out_path (NULL: the log), stderr appended to
 * log_path. Killed after timeout_ms. Returns the exit status (0 = success),
 * JN_ETIMEDOUT, or -errno when it could not run. */
int jn_db_run(char *const argv[], const char *in_path, const char *out_path, const char *log_path,
              int64_t timeout_ms);

/* Starts argv detached (own session, re-parented to init, so it outlives the
 * daemon), stdout and stderr appended to log_path. cgroup_fd >= 0: an open
 * cgroup.procs the process enters before exec (a failure is written to the
 * log, and it runs on). Returns its pid or -errno. */
pid_t jn_db_spawn(char *const argv[], const char *log_path, int cgroup_fd);

/* The last lines (at most max bytes) of path into out (size n), for messages. */
void jn_db_tail(const char *path, char *out, size_t n);

#endif
