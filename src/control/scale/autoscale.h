/*
 * autoscale.h: scale to zero, cold starts and concurrency autoscaling
 * (docs/SCALING.md), in the style of Knative's KPA.
 *
 * The gateway tells the control plane two things without any per-request
 * lock: the live counters already on every peer (requests, conns) that the
 * control thread samples, and, for an app with no ready instance, a post to
 * the control loop from the first request that starts waiting (struct
 * jn_upstream's on_wait). Decisions start JN_JOB_SCALE jobs of the deployer, so
 * instances are started, health-gated (probed every 20 ms for a cold start),
 * published and drained exactly as `jern scale` does.
 *
 * Everything here runs on the control thread unless said otherwise.
 */
#ifndef JN_CONTROL_AUTOSCALE_H
#define JN_CONTROL_AUTOSCALE_H

#include "core/common.h"
#include "core/buf.h"

struct jn_autoscaler;
struct cJSON;
struct jn_deployer;
struct jn_upstream;

/* One decision's inputs (see jn_autoscale_want). */
struct jn_autoscale_in {
    int cur;              /* instances the app has now */
    int min, max, target; /* settings; target: concurrency per instance */
    double stable, panic; /* average concurrency over the stable / panic window */
    bool idle;            /* no request for the idle time */
    bool waiting;         /* requests wait for an instance now */
    bool panicking;       /* within a stable window of the last panic start */
    bool window_passed;   /* a whole stable window since the last change */
};

/* The KPA rule: ceil(stable / target) instances; while panicking (the panic
 * window's count reaching twice cur starts or extends it: *panic) the larger
 * of that, the panic window's count and cur (never down in a panic); within
 * [min, max], at least 1 unless min is 0 and the app is idle with nobody
 * waiting (then 0 at once); and never below cur before a whole stable window
 * since the last change. Pure. */
int jn_autoscale_want(const struct jn_autoscale_in *in, bool *panic);

/* Creates the autoscaler of d, loading every app's settings from the store,
 * and registers its hooks: on d's control plane (app upstreams are hooked up
 * when published; a deleted app's settings go) and on d (failed cold
 * starts). Never NULL. */
struct jn_autoscaler *jn_autoscaler_new(struct jn_deployer *d);

/* Starts sampling (a timer on the deployer's loop). */
void jn_autoscaler_start(struct jn_autoscaler *as);

/* Stops the timer, detaches and frees. NULL is fine. */
void jn_autoscaler_free(struct jn_autoscaler *as);

/* The publish hook (control_int.h) for an app's upstream u before it is handed to the
 * gateway: hooks u up (on_wait, queue bound, last cold-start failure) and
 * sets *wait_ready / *wait_timeout_ms for the gateway's app entry. Leaves
 * them unchanged for apps with a fixed instance count. as may be NULL. */
void jn_autoscale_decorate(struct jn_autoscaler *as, const char *app, struct jn_upstream *u,
                           bool *wait_ready, int64_t *wait_timeout_ms);

/* `jern scale APP N`: the app's count is fixed again (autoscale off). */
void jn_autoscale_clear(struct jn_autoscaler *as, const char *app);

/* The app was destroyed: its settings and state go (control thread). */
void jn_autoscale_forget(struct jn_autoscaler *as, const char *app);

/* A cold start of app failed with msg (a deployer job thread calls this
 * through dep_on_control): requests waiting since before now get 503 msg. */
void jn_autoscale_failed(struct jn_autoscaler *as, const char *app, const char *msg);

/* Replaces app's settings with settings (a JSON object; absent fields keep
 * their value), stores them and republishes the app. Returns 0 with *saved
 * (the settings in force, caller owns), JN_EBADINPUT (invalid) or another
 * code (the store failed), with err. */
int jn_autoscale_set(struct jn_autoscaler *as, const char *app, const struct cJSON *settings,
                     struct cJSON **saved, char *err, size_t errlen);

/* The app's settings and state as a JSON object for `jern ps APP`, or NULL
 * when its count is fixed (caller owns the result). */
struct cJSON *jn_autoscale_json(struct jn_autoscaler *as, const char *app);

/* On a cluster node: the autoscaler samples each app's concurrency and
 * starts nothing; the cluster's scheduler decides the count from every
 * node's samples (jn_autoscale_load_json). A request that waits for an app
 * at zero calls wake(arg) at once (control thread). */
void jn_autoscale_set_clustered(struct jn_autoscaler *as, void (*wake)(void *arg), void *arg);

/* Checks settings (as jn_autoscale_set takes them, over the defaults):
 * 0 with *norm every setting (caller owns), or JN_EBADINPUT with err. */
int jn_autoscale_check(const struct cJSON *settings, struct cJSON **norm, char *err,
                       size_t errlen);

/* app's settings in force here (as jn_autoscale_check gives them), or NULL
 * when its count is fixed. The caller owns the result. */
struct cJSON *jn_autoscale_settings(struct jn_autoscaler *as, const char *app);

/* What this node sees of each autoscaled app: {APP: {stable, panic (average
 * concurrency over each window, in tenths), waiting (requests wait for an
 * instance now), active_ms (its last request)}}. The caller owns it. */
struct cJSON *jn_autoscale_load_json(struct jn_autoscaler *as);

/* Appends the Prometheus series of every autoscaled app to out. */
void jn_autoscale_metrics(struct jn_autoscaler *as, struct jn_buf *out);

#endif
