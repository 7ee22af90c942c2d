/*
 * process.h: what `jern gateway` and `jern serve` share as processes: the
 * error log from the config (stderr when it cannot be opened), SIGPIPE
 * ignored, the main loop with the signals routed to it (signalfd: HUP
 * reload, QUIT graceful stop, TERM/INT stop, USR1 reopen the logs), the pid
 * file while the loop runs. Main thread only, before any other thread
 * starts (the threads inherit the blocked signal mask).
 */
#ifndef JN_PROC_PROCESS_H
#define JN_PROC_PROCESS_H

#include "core/common.h"

struct jn_conf;
struct jn_loop;

/* What the signals do; each is called on the main loop with arg. NULL:
 * nothing (QUIT then stops at once). quit starts a graceful stop and calls
 * jn_process_stop when it is done. */
struct jn_process_ops {
    void (*reload)(void *arg);
    void (*quit)(void *arg);
    void (*reopen)(void *arg);
    void *arg;
};

struct jn_process {
    struct jn_loop *loop; /* the main loop, owned */
    const char *prefix;   /* "gateway: " for log lines, or "" */
    struct jn_process_ops ops;
    char *pid_path; /* written while the loop runs; NULL: none */
    bool pid_written;
};

/* Opens conf's error log and level, ignores SIGPIPE, creates p->loop and
 * routes the signals to ops. Returns 0 or a negative code with err set. */
int jn_process_start(struct jn_process *p, const struct jn_conf *conf, const char *prefix,
                     const struct jn_process_ops *ops, char *err, size_t errlen);

/* Writes the pid file (conf's pid directive) and runs the loop until a
 * signal stops it; removes the pid file. Returns 0 or a negative code. */
int jn_process_run(struct jn_process *p);

/* Stops the loop (from a handler, or when a graceful stop is done). */
void jn_process_stop(struct jn_process *p);

/* Frees the loop. Safe on a process that never started. */
void jn_process_free(struct jn_process *p);

#endif
