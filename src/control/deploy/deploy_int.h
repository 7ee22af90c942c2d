/* deploy_int.h: what the deploy files share (src/control/deploy/, and the
 * pause/resume jobs of scale/warm.c and the autoscaler's scale jobs). */
#ifndef JN_CONTROL_DEPLOY_INT_H
#define JN_CONTROL_DEPLOY_INT_H

#include "control/deploy/build.h"
#include "control/deploy/deploy.h"
#include "runtime/driver.h"
#include "store/release.h"

#include <pthread.h>

#define DEP_HEALTH_EVERY_MS 250
#define DEP_PROBE_TIMEOUT_MS 1000
#define DEP_HEALTH_DEADLINE_MS 30000
#define DEP_LOG_TAIL 10
#define DEP_PORT_LO 20000
#define DEP_PORT_HI 29999

/* One lifecycle run; its progress lines are read by GET /v1/jobs/ID/AFTER. */
struct dep_job {
    int id;
    enum jn_job_kind kind;
    char app[JN_STORE_NAME_MAX];
    int64_t release_id; /* deploy, rollback: the release to serve */
    int count;          /* instances wanted */
    bool cold;          /* scale: a cold start (fast probes; failures reach the waiters) */
    bool new_app;       /* deploy: the app was created for it (removed if it fails) */
    bool background;    /* started by the autoscaler, not asked for through the API */
    struct jn_registry_auth auth;
    char *auth_buf[3];
    struct jn_deployer *d;
    int64_t t0;
    pthread_mutex_t mu; /* guards the fields below */
    char **lines;
    size_t nlines;
    char error[512]; /* the first "error: " line, repeated in the last one */
    bool done, ok;
    int64_t done_ms;
    struct dep_job *next;
};

/* The drivers one thread uses, created on first need; indexed as the
 * registry's kinds (jn_driver_kinds). */
struct dep_rt {
    struct jn_deployer *d;
    struct jn_driver *drv[JN_DRIVER_KINDS_MAX];
};

/* A release's settings, parsed from its snapshot. */
/* deploy --socket unix, a container: the directory with its socket is
 * mounted here, and $JERN_SOCKET names the socket the app must listen on. */
#define DEP_SOCK_DIR "/run/jern"
#define DEP_SOCK_FILE "http.sock"

struct dep_spec {
    char driver[16]; /* the runtime driver's name (runtime/registry.c) */
    bool images;     /* the driver runs images (else command) */
    char image[512]; /* what to start: the image ID once resolved */
    char *command;
    char **env; /* "K=V", NULL-terminated */
    int port;   /* images: the port inside */
    char health[256];
    int64_t memory;
    double cpus;
    struct jn_volume *volumes;
    char **vol_buf;
    size_t nvolumes;
    char workdir[1024];
    int64_t health_timeout_ms;
    int probe_every_ms; /* 0: DEP_HEALTH_EVERY_MS; cold starts: see probe_fast */
    bool probe_fast;    /* someone waits: probe after 100 us, doubling up to probe_every_ms */
    bool listen_fds;    /* exec: jern binds the port and hands the socket over (LISTEN_FDS) */
    char bind_host[64]; /* where the port is published or bound; "": 127.0.0.1. Set
                         * by a cluster node's agent only ("0.0.0.0") */
    bool unix_socket;   /* the app listens on a unix socket, not on $PORT (instance.c) */
    struct jn_build_src build; /* deploy --build: context[0] != 0 */
    /* A one-off process (jern run, run.c): argv replaces the image's command
     * (images) and command is its shell-quoted line (exec); no port; the name
     * is APP-vN-run-TAG and its instance label "run". */
    bool one_off;
    char **argv;
    /* A one-off's stdin: stdin_fd (exec; not owned), or the container's
     * attached stdin put into *stdin_conn (docker; see runtime/driver.h). */
    bool has_stdin;
    int stdin_fd;
    int *stdin_conn;
    int *output_conn; /* docker: the one-off's output attached (see runtime/driver.h) */
};

struct jn_deployer {
    struct jn_loop *loop;
    struct jn_control *ctl;
    char *state_dir;
    char *docker_socket;
    struct jn_driver_env env; /* state_dir, docker_socket: what drivers are made with */
    char daemon_id[40];       /* label jern.daemon of the instances this daemon creates */
    int64_t drain_timeout_ms, stop_timeout_ms;
    int64_t linger_ms; /* a drained instance stays up at least this long (deploy.h) */
    int64_t log_size, log_retention_ms; /* instances' logs (deploy.h) */
    int log_files;
    struct dep_rt rt;     /* the control thread's drivers (adoption, logs) */
    pthread_mutex_t mu;   /* guards everything below */
    struct dep_job *jobs; /* newest first */
    int next_job;
    char (*busy)[JN_STORE_NAME_MAX]; /* apps a job or the supervisor works on */
    size_t nbusy, capbusy;
    bool app_destroyed;             /* since the supervisor last looked: it sweeps at once */
    char revive[JN_STORE_NAME_MAX]; /* an app wanted again while it lingers ("" none) */
    int revive_count;               /* the instances it wants */
    bool stopping;
    int threads;               /* job threads running */
    struct dep_run_slot *runs; /* one-off processes of jern run now running (run.c) */
    size_t nruns;
    pthread_t sup;
    bool sup_started;
    void (*on_cold_failure)(void *arg, const char *app, const char *msg);
    void *on_cold_failure_arg;
};

/* Claims nothing: the caller has claimed app. Starts a job thread (for the
 * autoscaler: kind JN_JOB_SCALE, cold for a start from zero). Returns 0 or
 * JN_EBASE (no thread; app unclaimed). Control thread. */
int dep_job_start(struct jn_deployer *d, enum jn_job_kind kind, const char *app, int64_t release_id,
                  int count, bool cold);

/* The count a revive of app asked for (jn_deployer_revive), 0 when none;
 * takes it. Any thread. */
int dep_revive_take(struct jn_deployer *d, const char *app);

/* Runs fn(d, arg) on the control thread and returns its result, or
 * JN_ECLOSED when the daemon is stopping. Any thread but the control one. */
int dep_on_control(struct jn_deployer *d, int (*fn)(struct jn_deployer *, void *), void *arg);

/* Starts fn(arg) on a detached thread counted in d->threads (fn decrements
 * it when done, so the deployer's stop can wait for it). Returns 0 or the
 * pthread_create error. Any thread. */
int dep_thread_start(struct jn_deployer *d, void *(*fn)(void *), void *arg);

/* A start from zero of app failed with msg: tells the callback registered
 * with jn_deployer_on_cold_failure. Control thread. */
void dep_cold_failed(struct jn_deployer *d, const char *app, const char *msg);

/* Claims app for a job or a supervisor restart: false when already claimed. */
bool dep_claim(struct jn_deployer *d, const char *app);
void dep_unclaim(struct jn_deployer *d, const char *app);
bool dep_is_busy(struct jn_deployer *d, const char *app);

/* The driver named driver ("exec", "docker": the registry's names), made on
 * first use; NULL with msg set on failure or for an unknown name. */
struct jn_driver *dep_rt_get(struct dep_rt *rt, const char *driver, char *msg, size_t msglen);
void dep_rt_free(struct dep_rt *rt);

/* Parses a release's snapshot into s (dep_spec_free it): its environment is
 * the release's config with its --env over it, secrets opened with the key
 * of state_dir. Returns 0 or a negative code with msg. */
int dep_spec_parse(const char *state_dir, const struct jn_store_release *r, struct dep_spec *s,
                   char *msg, size_t msglen);
void dep_spec_free(struct dep_spec *s);

/* The instance name: APP-vVERSION-ID-TAG[-rRESTARTS] (TAG: 4 hex digits). */
void dep_instance_name(char *out, size_t len, const char *app, int version, int64_t id,
                       int restarts);

/* Starts one instance of release rel (spec s) for row in (port, name set
 * here), fills external_id/started_at. Returns 0 or an error with msg. Any
 * non-control thread. dep_instance_start_routed: with s->listen_fds, calls
 * routed(arg) with in filled as the start will fill it once the instance's
 * socket listens (jn_instance_spec.on_listening), before the start ends. */
int dep_instance_start_routed(struct dep_rt *rt, const struct dep_spec *s,
                              struct jn_store_instance *in, void (*routed)(void *arg), void *arg,
                              char *msg, size_t msglen);
int dep_instance_start(struct dep_rt *rt, const struct dep_spec *s, struct jn_store_instance *in,
                       char *msg, size_t msglen);

/* Waits until in is healthy (probe every 250 ms) or deadline_ms passes or it
 * exits. Returns 0, JN_ETIMEDOUT or JN_EUPSTREAM (it exited), with msg. */
int dep_wait_healthy(struct dep_rt *rt, const struct dep_spec *s,
                     const struct jn_store_instance *in, int64_t deadline_ms, char *msg,
                     size_t msglen);

/* One HTTP GET of path (NULL: only a connect) on addr ("127.0.0.1:PORT" or
 * "unix:PATH", jn_store_instance_addr) within timeout_ms. Returns 0 when it
 * answers 2xx/3xx, else an error with msg. */
int jn_health_probe(const char *addr, const char *path, int timeout_ms, char *msg, size_t msglen);

/* Picks a free 127.0.0.1 port from DEP_PORT_LO..HI that no instance row uses
 * and that binds now. Control thread. Returns the port or a negative code. */
int dep_port_alloc(struct jn_deployer *d);

/* Appends the instance's output to STATE/logs/APP/vN/NAME.log (kept after
 * the instance is removed). Best effort. */
void dep_logs_save(struct dep_rt *rt, const struct jn_store_instance *in);

/* The last n lines the instance wrote, joined by newlines, into buf. */
void dep_logs_tail(struct dep_rt *rt, const struct jn_store_instance *in, int n, char *buf,
                   size_t len);

/* The output of release version of app: kept files, then the live instances
 * among live[0..n) of that version: a JSON array of {name, total, lines}
 * (the last 200 lines of each). Control thread (rt is its drivers). */
struct cJSON;
struct cJSON *dep_logs_json(struct dep_rt *rt, const char *app, int version,
                            const struct jn_store_instance *live, size_t nlive,
                            const char *const *mask, size_t nmask);

/* Removes STATE/logs/APP/vN. */
void dep_logs_drop(struct jn_deployer *d, const char *app, int version);

/* Removes the kept logs (STATE/logs/APP/vN) of destroyed apps and of failed or
 * pruned releases once they are older than log_retention. Control thread. */
void dep_logs_retention(struct jn_deployer *d);

/* Stops (SIGTERM, stop timeout, SIGKILL), saves the logs of and removes the
 * driver instance of in. Best effort; errors are logged. */
void dep_instance_destroy(struct dep_rt *rt, const struct jn_store_instance *in);

/* Publishes app's upstream from the store's server rows (control thread). */
int dep_publish(struct jn_deployer *d, const char *app);

/* In-flight requests on the servers addrs of app's upstream (control thread). */
int dep_conns(struct jn_deployer *d, const char *app, char (*addrs)[JN_STORE_ADDR_MAX], size_t n);

/* True while name is a one-off process of jern run (the sweep leaves it). */
bool dep_run_active(struct jn_deployer *d, const char *name);

/* A one-off of jern run while it runs: its instance name and where its
 * stdin is written: the write end of a pipe (exec; -1: none, or closed by
 * the caller's end of input) or the connection attached to a container's
 * stdin (stdin_sock; shut for writing at the end of input, stdin_ended, and
 * closed with the run). */
struct dep_run_slot {
    char name[132];
    int stdin_fd;
    bool stdin_sock;
    bool stdin_ended;
};

/* Supervisor thread body and adoption (supervise.c). */
void *dep_supervise(void *arg);
void dep_adopt(struct jn_deployer *d);

/* Job threads (deploy.c). */
void *dep_job_run(void *arg);
void dep_job_log(struct dep_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
