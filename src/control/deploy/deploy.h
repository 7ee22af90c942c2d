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
    int64_t linger_ms;         /* a drained instance stays up at least this long, so
                                * the gateways of other cluster nodes learn of the
                                * switch before it goes; 0: none (a single node) */
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

/* The id of the job running on app, or 0. *background (may be NULL) says
 * whether the daemon started it itself (an autoscaler's scale), and is set
 * true as well when no job holds a claimed app (a supervisor's restart, a
 * warm pause or resume): work that ends on its own in moments. */
int jn_deployer_running_job(struct jn_deployer *d, const char *app, bool *background);

/* The pid of a running instance (0 when unknown or not running). Control
 * thread: it asks the instance's driver. */
int jn_deployer_instance_pid(struct jn_deployer *d, const struct jn_store_instance *in);

/* The output of release version of app as a JSON array of {name, total,
 * lines} (kept files, then the live instances among live[0..nlive)). */
struct cJSON *jn_deployer_logs_json(struct jn_deployer *d, const char *app, int version,
                                    const struct jn_store_instance *live, size_t nlive,
                                    const char *const *mask, size_t nmask);

/* jern logs: which lines. */
struct jn_log_query {
    int64_t since_ms, until_ms; /* unix ms; 0: no bound */
    int tail;                   /* the last N lines (0: none); < 0: all (at most 20000) */
    int version;                /* one release; 0: every release */
    const char *const *mask;    /* secret values shown as JN_SECRET_MASK (rules.h) */
    size_t nmask;
};

/* One line of output. */
struct jn_log_line {
    int64_t at;         /* unix ms when written (0: unknown, an old kept file) */
    char instance[132]; /* the instance's name */
    int stream;         /* 1 stdout, 2 stderr */
    char *text;         /* without its newline */
    int64_t seq;        /* internal: arrival order */
};

/* app's output, from the kept files and the live instances among
 * live[0..nlive), in time order, as q asks. Returns the count and *out (free
 * with jn_log_lines_free). Control thread: it asks the drivers. */
int jn_deployer_log_lines(struct jn_deployer *d, const char *app, const struct jn_log_query *q,
                          const struct jn_store_instance *live, size_t nlive,
                          struct jn_log_line **out);
void jn_log_lines_free(struct jn_log_line *v, int n);

/* Where followed lines go. emit (any thread, called concurrently for
 * different instances: it locks) returns < 0 once the reader is gone; gone
 * says so without a line (polled every 100 ms); done is called once, last,
 * when every follower has ended. */
struct jn_log_follow_ops {
    int (*emit)(void *arg, const struct jn_log_line *l);
    bool (*gone)(void *arg);
    void (*done)(void *arg);
};

/* Follows app's output from since_ms on (mask[0..nmask) copied, as in
 * jn_log_query): every live instance's and every
 * instance started later's, until the reader is gone or the daemon stops.
 * Returns 0 (ops->done will be called) or a negative code (it will not).
 * Control thread. */
int jn_deployer_log_follow(struct jn_deployer *d, const char *app, int64_t since_ms,
                           const char *const *mask, size_t nmask,
                           const struct jn_log_follow_ops *ops, void *arg);

/* The app's own access log (jern logs --access; the gateway writes it): the
 * last tail lines (< 0: all, at most 20000) as lines of instance "gateway"
 * without times (the format carries its own). Returns the count and *out
 * (jn_log_lines_free). Control thread. */
int jn_deployer_access_lines(struct jn_deployer *d, const char *app, int tail,
                             struct jn_log_line **out);

/* Follows the app's access log from its end, as jn_deployer_log_follow
 * does its output. */
int jn_deployer_access_follow(struct jn_deployer *d, const char *app,
                              const struct jn_log_follow_ops *ops, void *arg);

/* Where a one-off process's output and end go (jern run). output (any
 * thread) returns < 0 once the caller is gone; gone says so without output;
 * finish is called once, last: code is the exit status, or -1 with msg when
 * it could not start or was stopped. */
struct jn_run_ops {
    /* Once the process runs: its instance name, and whether it reads what
     * jn_deployer_run_input gives it (else its stdin is empty). */
    void (*started)(void *arg, const char *name, bool has_stdin);
    int (*output)(void *arg, int stream, const char *data, size_t len);
    bool (*gone)(void *arg);
    void (*finish)(void *arg, int code, const char *msg);
};

/* Runs argv (one word with shell syntax: a shell line) once, with what app
 * serves: its release's image (the image's command replaced) or, exec, its
 * workdir and user, and its config. Returns 0 (ops->finish will be called)
 * or a negative code with msg (it will not). Control thread. */
int jn_deployer_run(struct jn_deployer *d, const char *app, const char *const *argv,
                    const struct jn_run_ops *ops, void *arg, char *msg, size_t msglen);

/* Gives data to the stdin of the running one-off name of app; eof (once all
 * of data is taken) closes it, so the process reads the end of its input.
 * Never blocks: returns how many bytes the pipe took (fewer than len when it
 * is full: give the rest later; all of them when the process no longer
 * reads), JN_ENOTFOUND when no such one-off runs, JN_EUNSUPPORTED when it
 * has no stdin or its input was ended. Any thread. */
ssize_t jn_deployer_run_input(struct jn_deployer *d, const char *app, const char *name,
                              const void *data, size_t len, bool eof);

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

/* app is wanted again, count instances here, while a scale job keeps the
 * instances it removed up for other nodes' gateways (a cluster node's
 * linger): that job takes as many as count needs back into service instead
 * of stopping them. Any thread. */
void jn_deployer_revive(struct jn_deployer *d, const char *app, int count);

#endif
