/*
 * statedir.h: claiming the state directory at `jern serve` start.
 *
 * The state dir holds secrets (env values in jern.db, app output in logs), so
 * it is 0700 and every file in it 0600: each is created with that mode (the
 * store, the exec driver and the kept logs say so explicitly), and a directory
 * that already existed with looser modes is tightened (one log line says so). One daemon owns a
 * state dir at a time: an exclusive flock on STATE/jern.lock, which holds the owner's pid, is taken
 * before anything else there is touched.
 */
#ifndef JN_CONTROL_STATEDIR_H
#define JN_CONTROL_STATEDIR_H

#include "core/common.h"

/* Creates path (mkdir -p, 0700), tightens its modes, and locks it. Returns the
 * lock's descriptor (keep it open for the daemon's life; closing it or exiting
 * releases the lock), or a negative code with err set: JN_EEXIST when another
 * live process holds the lock ("state dir PATH in use by pid N ..."). Main
 * thread, before the store is opened. */
int jn_statedir_claim(const char *path, char *err, size_t errlen);

#endif
