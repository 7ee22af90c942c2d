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

struct jn_deployer;
struct jn_control;
struct jn_loop;
struct jn_registry_auth;
struct jn_store_instance;
struct cJSON;

#define JN_DEPLOY_MAX_INSTANCES 32 /* per app */

enum jn_job_kind { JN_JOB_DEPLOY, JN_JOB_ROLLBACK, JN_JOB_SCALE, JN_JOB_RESTART };

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

/* Starts a job of kind on app, which the caller has claimed (the job
 * releases the claim when it ends): serve release_id (deploy, rollback) or
 * the app's serving release with count instances; auth (copied; NULL: none)
 * for a registry pull. Returns the job's id; a job whose thread could not
 * start is already done with the reason in its lines. Control thread. */
int jn_deployer_job_start(struct jn_deployer *d, enum jn_job_kind kind, const char *app,
                          int64_t release_id, int count, const struct jn_registry_auth *auth);

/* jn_deployer_job_start(JN_JOB_DEPLOY) for an app created for this deploy:
 * when the deploy fails, the app (which serves nothing) is removed again, so
 * a first deploy that fails leaves no empty app behind. Control thread. */
int jn_deployer_first_deploy_start(struct jn_deployer *d, const char *app, int64_t release_id,
                                   int count, const struct jn_registry_auth *auth);

/* Job id's progress from line after on: {job, app, lines, next, done, ok},
 * or NULL when no such job is kept (10 minutes after its end). The caller
 * owns the result. Control thread. */
struct cJSON *jn_deployer_job_json(struct jn_deployer *d, int id, int after);

/* The id of the job running on app, or 0. */
int jn_deployer_running_job(struct jn_deployer *d, const char *app);

/* The pid of a running instance (0 when unknown or not running). Control
 * thread: it asks the instance's driver. */
int jn_deployer_instance_pid(struct jn_deployer *d, const struct jn_store_instance *in);

/* The output of release version of app as a JSON array of {name, total,
 * lines} (kept files, then the live instances among live[0..nlive)). */
struct cJSON *jn_deployer_logs_json(struct jn_deployer *d, const char *app, int version,
                                    const struct jn_store_instance *live, size_t nlive);

/* Registers cb(arg, app, msg), called on the control thread when a start
 * from zero (a cold scale job, a resume) failed. One callback; NULL clears. */
void jn_deployer_on_cold_failure(struct jn_deployer *d,
                                 void (*cb)(void *arg, const char *app, const char *msg),
                                 void *arg);

/* Claims app so that no deploy, scale, restart or supervisor action runs on it
 * (destroying an app holds it meanwhile). Returns false when one is running.
 * Release with jn_deployer_unclaim. Any thread. */
bool jn_deployer_claim(struct jn_deployer *d, const char *app);
void jn_deployer_unclaim(struct jn_deployer *d, const char *app);

#endif
