/*
 * daemon.h: `jern serve`: the gateway and the control plane in one process.
 * The main thread runs the control loop (admin API, signals, store); the
 * gateway runs its own worker threads. Foreground; logs to stderr.
 * Signals: TERM/INT stop, QUIT stops after in-flight requests finish, HUP
 * re-reads the config file keeping live state, USR1 reopens the logs.
 */
#ifndef JN_CONTROL_DAEMON_H
#define JN_CONTROL_DAEMON_H

struct jn_daemon_flags;

/* Runs the daemon until stopped. config_path NULL: embedded defaults; flags
 * (may be NULL) override the file's cluster settings. Returns the process
 * exit code (0 after a clean stop). Main thread only. */
int jn_daemon_run(const char *config_path, const struct jn_daemon_flags *flags);

#endif
