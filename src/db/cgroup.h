/*
 * cgroup.h: the memory limit of a managed mariadbd (--memory), enforced by a
 * memory cgroup of its own, a child of the daemon's: cgroup v1
 * (memory.limit_in_bytes) or v2 (memory.max, when the memory controller is
 * delegated to the daemon's cgroup). Where neither can be made the server
 * runs unlimited and the reason is logged and shown (docs/DATABASES.md).
 * Any thread; they only touch /sys/fs/cgroup and /proc.
 */
#ifndef JN_DB_CGROUP_H
#define JN_DB_CGROUP_H

#include "core/common.h"

#define JN_DB_CGROUP_MAX 1024

/* Makes (or reuses) the cgroup for the database whose directory is dir,
 * limited to bytes (page cache included), and writes its path to dir/cgroup.
 * Returns an fd open for writing on its cgroup.procs, for the server's
 * process to enter before exec (jn_db_spawn), or a negative code with the
 * reason in err. */
int jn_db_cgroup_prepare(const char *dir, int64_t bytes, char *err, size_t errlen);

/* The limit in bytes of the memory cgroup pid is in, when it is the one
 * jern made for dir; 0 when pid is in no such cgroup. */
int64_t jn_db_cgroup_limit(const char *dir, pid_t pid);

/* Removes dir's cgroup (its processes gone) and dir/cgroup. */
void jn_db_cgroup_remove(const char *dir);

#endif
