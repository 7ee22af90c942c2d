/*
 * history.h: the dashboard's last hour of every app: one jn_ring per app
 * (at most JN_UI_MAX_APPS, allocated once), sampled each second on the
 * control loop from the upstream counters /metrics exposes. A deleted app's
 * slot is reused. Control thread only.
 */
#ifndef JN_CONTROL_UI_HISTORY_H
#define JN_CONTROL_UI_HISTORY_H

#include "core/common.h"
#include "control/ui/ring.h"
#include "control/ui/sample.h"

#define JN_UI_MAX_APPS 32
#define JN_UI_SAMPLE_MS 1000

struct jn_loop;
struct jn_control;
struct cJSON;
struct jn_history;

/* Allocates the rings and starts sampling ctl's apps on loop. */
struct jn_history *jn_history_new(struct jn_loop *loop, struct jn_control *ctl);
void jn_history_free(struct jn_history *h);

/* Takes one sample now (the timer does this every JN_UI_SAMPLE_MS). */
void jn_history_sample(struct jn_history *h);

/* {"now": T, "apps": {NAME: {"t0": T0, "rps": [...], "p50": [...], ...}}}: the
 * samples newer than second since (0: the whole hour), of app only when app
 * is not NULL. */
struct cJSON *jn_history_json(const struct jn_history *h, const char *app, int64_t since);

/* Bytes held by the rings (fixed from jn_history_new on). */
size_t jn_history_bytes(const struct jn_history *h);

#endif
