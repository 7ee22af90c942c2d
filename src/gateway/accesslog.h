/*
 * accesslog.h: the access log writer. Each worker thread owns one writer per
 * log file; lines are formatted straight into the writer's fixed buffer and
 * reach the file with one write(2) per flush, when the buffer is full or when
 * the worker flushes (a timer of ~100 ms bounds how stale a line gets).
 *
 * Several workers may write the same file: each opens its own descriptor with
 * O_APPEND and every flush holds whole lines, so lines never interleave.
 * A writer is not thread-safe: all calls come from the thread that owns it
 * (open and close may happen on a control thread before/after the worker runs).
 */
#ifndef JN_GATEWAY_ACCESSLOG_H
#define JN_GATEWAY_ACCESSLOG_H

#include "core/common.h"
#include "gateway/vars.h"

#define JN_ACCESSLOG_BUF_DEFAULT (64 * 1024)

struct jn_accesslog {
    char *path;
    int fd;
    char *buf; /* cap bytes, allocated once at open */
    size_t len;
    size_t cap;
    uint64_t lines;         /* lines accepted */
    uint64_t dropped_bytes; /* lost to write errors (disk full, ...) */
    int last_error;         /* the last write or reopen error (-errno), 0 if none */
};

/* Opens path for appending (created 0644 if missing) with a buffer of cap
 * bytes (0: JN_ACCESSLOG_BUF_DEFAULT; at least 256). Returns 0 and *out
 * (owned by the caller: jn_accesslog_close), or -errno with nothing opened. */
int jn_accesslog_open(const char *path, size_t cap, struct jn_accesslog **out);

/* Appends one line: fmt evaluated in log mode (see jn_template_eval), then
 * '\n'. Flushes first when the line does not fit in what is left of the
 * buffer; a line longer than the whole buffer is cut to fit. Allocates
 * nothing. Returns 0, or the -errno of a flush that failed (the line is still
 * buffered). Owning worker thread. */
int jn_accesslog_write(struct jn_accesslog *l, const struct jn_template *fmt,
                       const struct jn_var_ctx *ctx);

/* Writes out the buffered lines with one write(2) (more only after a short
 * write). Returns 0, or -errno: the buffered lines are then dropped and
 * counted in dropped_bytes, so a full disk never stalls the worker. Owning
 * worker thread. */
int jn_accesslog_flush(struct jn_accesslog *l);

/* For SIGUSR1 after a rotation: flushes the buffer to the old file, then
 * opens the path again. On failure the old descriptor stays in use and
 * -errno is returned. Owning worker thread. */
int jn_accesslog_reopen(struct jn_accesslog *l);

/* Flushes, closes and frees. NULL is fine. Owning thread, or any thread once
 * the owner is gone. */
void jn_accesslog_close(struct jn_accesslog *l);

#endif
