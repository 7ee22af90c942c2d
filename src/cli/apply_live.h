/* apply_live.h: the daemon's state as a plan model, read through the admin
 * API (`jern plan`, `jern apply`, `jern export`). CLI process, main thread. */
#ifndef JN_CLI_APPLY_LIVE_H
#define JN_CLI_APPLY_LIVE_H

#include "apply/spec.h"

struct jn_client;

/* Fills *live (free with jn_spec_free, also after an error). want (may be
 * NULL) names the apps whose env values the daemon compares. Returns 0, or 1
 * after printing why. */
int jn_cli_live_fetch(struct jn_client *c, const struct jn_spec *want, struct jn_spec *live);

#endif
