/*
 * cpus.h: how many CPUs this process may really use, for "worker_processes
 * auto". nginx counts online CPUs; jern also honours the affinity mask and a
 * cgroup CPU quota (containers, systemd CPUQuota=), so it does not start 64
 * workers inside a 2-CPU container. The parsers are pure, for tests.
 */
#ifndef JN_CONFIG_CPUS_H
#define JN_CONFIG_CPUS_H

#include "core/common.h"

/* CPUs allowed by a cgroup v2 "cpu.max" text ("max 100000" or "150000 100000"),
 * rounded up: 0 for no limit, JN_EBADINPUT for bad text. */
int jn_cpus_from_cpu_max(const char *text);

/* CPUs allowed by cgroup v1 cfs_quota_us / cfs_period_us, rounded up: 0 for
 * no limit (quota <= 0). */
int jn_cpus_from_cfs(long quota_us, long period_us);

#endif
