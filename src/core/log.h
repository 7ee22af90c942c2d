/*
 * log.h: the error log. One line per call, written with a single write(2) so
 * lines from several threads never interleave. Any thread may call.
 */
#ifndef JN_CORE_LOG_H
#define JN_CORE_LOG_H

#include "core/common.h"

enum jn_log_level { JN_LOG_DEBUG, JN_LOG_INFO, JN_LOG_NOTICE, JN_LOG_WARN, JN_LOG_ERROR, JN_LOG_CRIT };

/* Sets the minimum level written. Default: JN_LOG_NOTICE. */
void jn_log_set_level(enum jn_log_level level);
enum jn_log_level jn_log_get_level(void);

/* Parses "debug|info|notice|warn|error|crit"; returns the level or -1. */
int jn_log_level_parse(const char *name);

/* Sends the log to PATH (appending), or to stderr when path is NULL or "stderr".
 * Returns 0 or -errno. The path is remembered for jn_log_reopen(). */
int jn_log_open(const char *path);

/* Reopens the remembered path (after rotation; SIGUSR1). Returns 0 or -errno. */
int jn_log_reopen(void);

/* Writes "YYYY/MM/DD HH:MM:SS [level] pid#tid: message\n". */
void jn_log(enum jn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define jn_debug(...)                                                                              \
    do {                                                                                           \
        if (jn_log_get_level() <= JN_LOG_DEBUG)                                                    \
            jn_log(JN_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
#define jn_info(...) jn_log(JN_LOG_INFO, __VA_ARGS__)
#define jn_notice(...) jn_log(JN_LOG_NOTICE, __VA_ARGS__)
#define jn_warn(...) jn_log(JN_LOG_WARN, __VA_ARGS__)
#define jn_error(...) jn_log(JN_LOG_ERROR, __VA_ARGS__)

#endif
