/* warm.h: pausing an idle app's instances instead of removing them, and
 * resuming them on the next request (warm.c; internal to src/control). */
#ifndef JN_CONTROL_WARM_H
#define JN_CONTROL_WARM_H

#include "core/common.h"

struct jn_deployer;

/* Starts a thread that drains and pauses app's running instances (resume
 * false), or resumes its paused ones (true) and publishes them; a failed
 * pause or resume removes that instance. The caller has claimed app; the
 * thread releases the claim. Returns 0, or JN_EBASE (no thread; unclaimed).
 * Control thread. */
int jn_warm_start(struct jn_deployer *d, const char *app, bool resume);

/* How many of app's instances are paused (store rows). Control thread. */
int jn_warm_paused(struct jn_deployer *d, const char *app);

#endif
