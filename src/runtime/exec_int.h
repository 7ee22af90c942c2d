/* exec_int.h: what the exec driver's files share (exec.c: the driver's
 * operations; exec_monitor.c: the monitor process it forks). Internal to
 * src/runtime. */
#ifndef JN_RUNTIME_EXEC_INT_H
#define JN_RUNTIME_EXEC_INT_H

#include "core/common.h"

#include "runtime/driver.h"

#include <sys/types.h>

#define LINE_CAP 4096 /* longer output lines are split */
#define PATH_CAP 4096

/* The identity apps run as, looked up at each start (the user may be made
 * while the daemon runs). */
struct run_as {
    bool drop; /* jern is root: setgid/setuid to uid/gid before exec */
    uid_t uid;
    gid_t gid;
    char home[PATH_CAP]; /* $HOME and the default working directory */
};

/* Everything the monitor needs, prepared before fork: after fork in a threaded
 * process only async-signal-safe calls are allowed, so no malloc, no stdio. */
#define EXEC_ARGS_CAP 64 /* words of a command run without a shell */

/* A command that needs no shell, split into argv (at most EXEC_ARGS_CAP
 * words; *words holds them, freed by the caller): only words of letters,
 * digits and _-./,:@%+=, separated by blanks, the first not an assignment,
 * and no PATH of the app's own in env (the monitor searches the daemon's).
 * false: run it as `sh -c COMMAND`. Pure; a shell would run it the same way,
 * without the extra exec of /bin/sh and its fork. */
bool jn_exec_split_simple(const char *command, char *const *env, char **words, char **argv);

struct mon_args {
    int log_fd, devnull, out_r, out_w, err_r, err_w, ready_w;
    int listen_fd;     /* -1: none; else the app's fd 3 (LISTEN_FDS, socket activation) */
    int stdin_fd;      /* -1: /dev/null; else the app's stdin */
    char *const *argv; /* sh -c COMMAND, or the command's own words */
    bool shell;        /* argv runs under /bin/sh; else looked up in envp's PATH */
    bool fresh;        /* in jern-monitor: every signal at its default; else
                        * in a fork of the daemon */
    char *const *envp;
    const char *workdir;
    char workdir_buf[PATH_CAP]; /* jern-monitor's copy of its argument */
    int64_t memory;
    const struct run_as *as;
    char exit_path[PATH_CAP];
    char exit_tmp[PATH_CAP];
    char pids_path[PATH_CAP];
    char pids_tmp[PATH_CAP];
    char log_path[PATH_CAP];
    int64_t log_size;  /* rotate past this (0: never) */
    int log_files;     /* rotated files kept, 0-9 */
    int64_t log_bytes; /* in the current log */
};

struct ready_msg {
    int32_t monitor;
    int32_t app;
};

/* exec_spawn.c: starts the monitor for a, detached from the daemon (its own
 * session, adopted by init): hands a to the spare jern-monitor that waits
 * ready, else spawns one. Returns the pid to reap (it exits as soon as the
 * monitor runs; 0: nothing to reap), or -1 with errno. */
pid_t exec_spawn_monitor(struct mon_args *a);

/* exec_spawn.c: reads the monitor's ready message from fd: false when the
 * pipe closed first (the monitor died) or it could not start the app. */
bool exec_read_ready(int fd, struct ready_msg *msg);

/* The name of rotated log k of path ("PATH.K"); async-signal-safe. */
void exec_rotated_name(char *out, const char *path, int k);

/* The monitor's body, in the child after fork: forks the app, writes the
 * pids file, timestamps its output into the log (rotating it), writes the
 * exit status when it ends. Only async-signal-safe calls. Never returns. */
__attribute__((noreturn)) void exec_run_monitor(struct mon_args *a);

/* exec_logrec.c: an output record "MS s TEXT" parsed (false: not one). */
bool jn_exec_parse_record(const char *line, int64_t *ms, char *stream, const char **text);
/* Hands one record to sink: its text, or with stamps "MS TEXT". */
int jn_exec_emit(jn_log_sink sink, void *arg, bool stamps, const char *line, size_t len,
                 char stream, const char *text);
/* Sends the whole records of path from off on (those from since_ms); 1 when
 * the sink stopped. */
int jn_exec_emit_file(const char *path, long off, int64_t since_ms, bool stamps, jn_log_sink sink,
                      void *arg);

#endif
