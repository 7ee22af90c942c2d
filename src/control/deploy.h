/*
 * deploy.h: immutable deploys, rollbacks, scaling, rolling restarts and the
 * supervision of app instances (docs/DEPLOY.md).
 *
 * The deployer is created and freed on the control thread. Every lifecycle
 * (a "job": deploy, rollback, scale, restart) runs on its own thread with its
 * own runtime drivers, because drivers and health checks block; the store and
 * the gateway are touched only on the control thread, through jn_loop_post.
 * A supervisor thread restarts crashed instances with backoff.
 */
#ifndef JN_CONTROL_DEPLOY_H
#define JN_CONTROL_DEPLOY_H

#include "core/common.h"
#include "control/api.h"

struct jn_deployer;
struct jn_control;
struct jn_loop;

struct jn_deploy_opts {
    const char *state_dir;     /* instances, logs: STATE/exec, STATE/logs */
    const char *docker_socket; /* NULL: $DOCKER_HOST (unix://PATH), else /var/run/docker.sock */
    int64_t drain_timeout_ms;  /* how long old instances may finish requests; 0:
                                * $JERN_DRAIN_TIMEOUT seconds, else 30 s */
    int64_t stop_timeout_ms;   /* SIGTERM -> SIGKILL; 0: $JERN_STOP_TIMEOUT, else 10 s */
    int64_t log_size;          /* an instance's log rotates past this; 0: 10 MiB */
    int log_files;             /* rotated files kept per instance */
    int64_t log_retention_ms;  /* kept logs of destroyed apps / failed releases; 0: 24 h */
};

/* Creates the deployer (borrowing loop and ctl, which must outlive it). Control
 * thread. Never NULL. */
struct jn_deployer *jn_deployer_new(struct jn_loop *loop, struct jn_control *ctl,
                                    const struct jn_deploy_opts *o);

/* At daemon start, before publishing and before the admin API: adopts the
 * instances still running (labels jern.app / jern.release; exec: pid + start
 * time) that belong to the release their app serves, removes orphans, marks
 * vanished instances for restart, then starts the supervisor. Blocks on the
 * drivers. Control thread. Returns 0 (problems are logged, never fatal). */
int jn_deployer_start(struct jn_deployer *d);

/* Stops the supervisor and waits (bounded) for running jobs; instances keep
 * running (the next daemon adopts them). Control thread, after the loop
 * stopped or before it runs again. NULL is fine. */
void jn_deployer_free(struct jn_deployer *d);

/* Answers the deploy routes when seg[0..nseg) names one (POST
 * /v1/apps/APP/deploy|rollback|scale|restart, GET /v1/apps/APP/releases|ps|logs[/N],
 * GET /v1/ps, GET /v1/jobs/ID/AFTER) and returns true; false otherwise.
 * Control thread. */
bool jn_deployer_api(struct jn_deployer *d, const char *const *seg, int nseg,
                     const struct jn_api_req *req, struct jn_api_resp *resp);

/* Claims app so that no deploy, scale, restart or supervisor action runs on it
 * (destroying an app holds it meanwhile). Returns false when one is running.
 * Release with jn_deployer_unclaim. Any thread. */
bool jn_deployer_claim(struct jn_deployer *d, const char *app);
void jn_deployer_unclaim(struct jn_deployer *d, const char *app);

#endif
