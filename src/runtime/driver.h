/*
 * driver.h: runtime drivers behind one interface. A driver starts, stops,
 * inspects and lists the instances of a release: containers through the Docker
 * Engine API (docker.c: Docker or Podman's compatible service) or plain
 * processes (exec.c).
 *
 * Every instance carries the labels jern.app, jern.release and jern.instance, so a
 * restarted daemon finds the instances still running with jn_driver_list() and
 * adopts them instead of starting duplicates (docs/RUNTIME.md).
 *
 * Threads: every call blocks (HTTP to the engine, fork, waiting for a process to
 * stop), so drivers belong to the control thread, never to a gateway worker. One
 * driver object is used by one thread at a time; two drivers may run concurrently.
 *
 * Errors: the usual vocabulary (core/common.h). Every failing call also leaves a
 * message for people in jn_driver_errmsg(), naming the thing and the fix, e.g.
 * "docker: pull 127.0.0.1:5000/app:v2: unauthorized: authentication required".
 */
#ifndef JN_RUNTIME_DRIVER_H
#define JN_RUNTIME_DRIVER_H

#include "core/common.h"

#define JN_DRIVER_ERRMSG_MAX 512
#define JN_LABEL_APP "jern.app"
#define JN_LABEL_RELEASE "jern.release"
#define JN_LABEL_INSTANCE "jern.instance"
/* The id of the jern daemon that created the instance: adoption and sweeps
 * only ever act on their own daemon's instances (an engine may be shared). */
#define JN_LABEL_DAEMON "jern.daemon"
/* The jern.app label of a managed database's container (src/db/image.c): no
 * app's name (app names hold no '.'); deploy leaves such containers alone. */
#define JN_DB_CONTAINER_APP "jern.db"

/* Credentials for a private registry. server is "host[:port]" as in the image name. */
struct jn_registry_auth {
    const char *username;
    const char *password;
    const char *server;
};

/* A bind mount (docker only): host path -> container path. */
struct jn_volume {
    const char *host;
    const char *container;
    bool read_only;
};

/* What to start. The driver copies what it needs; the spec may be freed afterwards. */
struct jn_instance_spec {
    /* Unique among this driver's instances; [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. */
    const char *name;
    /* docker: image reference or ID (image_ensure it first). exec: unused. */
    const char *image;
    /* docker: replaces the image's CMD when not NULL (NULL-terminated argv). */
    const char *const *argv;
    /* exec: the command, run as /bin/sh -c COMMAND. docker: unused. */
    const char *command;
    /* "KEY=VALUE" strings, NULL-terminated; may be NULL. */
    const char *const *env;
    /* docker: the port the app listens on inside the container; $PORT is set to it
     * unless env sets PORT. exec: unused ($PORT is host_port). */
    int app_port;
    /* Published on bind_host:host_port (docker); the port the process must listen on
     * (exec). 0: none. */
    int host_port;
    /* The IPv4 address host_port is published (docker) or, with listen_fds,
     * bound (exec) on; NULL: 127.0.0.1. A cluster node gives "0.0.0.0", so
     * other nodes' gateways reach the instance. */
    const char *bind_host;
    const struct jn_volume *volumes; /* docker only; exec refuses volumes */
    size_t n_volumes;
    int64_t memory; /* bytes; 0 = no limit. exec: RLIMIT_AS */
    double cpus;    /* CPU share, e.g. 0.5; 0 = no limit. docker only; exec refuses it */
    /* exec: working directory; NULL = the instance's directory in the state dir. */
    const char *workdir;
    /* Labels, each at most 63 bytes, required: */
    const char *app;
    const char *release;
    const char *instance;
    /* Optional label jern.daemon (NULL: none): the owner's id, same rules as
     * the labels above. */
    const char *daemon;
    /* Output kept per instance: the log rotates once it passes log_size bytes
     * (0: no cap) and log_files rotated files are kept (0-9; 0: the log is
     * cut back to empty). exec: STATE/exec/instances/NAME/log, log.1...;
     * docker: the engine's json-file/k8s-file log options. */
    int64_t log_size;
    int log_files;
    /* exec: the driver binds bind_host:host_port itself and the app gets the
     * listening socket as fd 3 with LISTEN_FDS=1 and LISTEN_PID (systemd's
     * socket activation); the command must be one program (it is exec'd by
     * the shell, so LISTEN_PID is its pid). Connections made before the app
     * accepts wait in the socket's queue. docker: refused. */
    bool listen_fds;
    /* exec, with listen_fds: the socket handed over is a unix socket bound at
     * this path (replacing a file left there) instead of 127.0.0.1:host_port,
     * and the app gets no $PORT. NULL: TCP. The caller removes the file. */
    const char *unix_path;
    /* exec, with listen_fds: when set, called on the starting thread once
     * the socket listens and the app's monitor has it, before start waits
     * for the app's process (about a millisecond): connections made from
     * then on wait in the socket's queue, so the caller may route to the
     * instance at once. A start that fails after it still returns the error. */
    void (*on_listening)(void *arg);
    void *on_listening_arg;
    /* The app reads its stdin from the caller rather than an empty one
     * (/dev/null, a container's closed stdin). exec: from stdin_fd (a pipe's
     * read end, say; the driver hands a copy to the app and the caller keeps
     * and closes its own). docker: the container is created with its stdin
     * open (OpenStdin, StdinOnce, as docker run -i) and the driver attaches
     * to it before the start (docker_attach.c); a successful start puts the
     * attached connection into *stdin_conn: a non-blocking unix socket the
     * caller owns, where what it writes is the container's stdin and
     * shutdown(SHUT_WR) its end (the engine sends nothing back but, perhaps,
     * a line about its own failure). */
    bool has_stdin;
    int stdin_fd;
    int *stdin_conn;
    /* docker, when not NULL: the driver also attaches to the container's
     * output before the start and a successful start puts that connection
     * into *output_conn (the caller's to close): all of its stdout and stderr
     * from its first byte, read with jn_driver_attached_output. exec: unused
     * (its log holds every line). */
    int *output_conn;
    /* docker: the container shares the host's network (NetworkMode "host"):
     * it listens on the host's own loopback, so app_port and host_port stay 0.
     * A managed database uses it (src/db/image.c). exec: unused. */
    bool host_network;
};

/* What a driver knows about one instance. */
struct jn_instance {
    char id[132];   /* the driver's handle: container ID, or the exec instance name */
    char name[132]; /* the spec's name */
    char app[64];
    char release[64];
    char instance[64];
    bool running;
    bool paused;
    int exit_code;      /* when !running: exit status, 128+N for signal N, -1 unknown */
    int64_t started_at; /* unix seconds (wall clock), 0 unknown */
    int pid;            /* main process (host pid namespace), 0 when not running */
    int host_port;      /* 127.0.0.1 port, 0 none */
    char daemon[64];    /* label jern.daemon, "" when absent */
};

/* An image build (docker: POST /build). */
struct jn_build_spec {
    const char *context_tar; /* path of a tar file of the build context */
    const char *dockerfile;  /* its name inside the context: "Dockerfile", "Containerfile" */
    const char *tag;         /* the image's name, e.g. "localhost/web:3f2a9c1d04be" */
    /* Called with each line of the build's output (may be NULL). */
    void (*progress)(void *arg, const char *line);
    void *arg;
};

enum jn_log_stream { JN_STREAM_STDOUT = 1, JN_STREAM_STDERR = 2 };

/* Receives log data: whole lines for exec, engine frames for docker (usually whole
 * lines). Return 0 to continue, non-zero to stop reading. */
typedef int (*jn_log_sink)(void *arg, enum jn_log_stream stream, const char *data, size_t len);

struct jn_logs_opts {
    int64_t since;             /* unix seconds: only output written at or after; 0 = all */
    int tail;                  /* only the last N lines (before following); 0 = all */
    bool follow;               /* keep reading until the instance stops, the sink says stop,
                                * or timeout_ms passes */
    int timeout_ms;            /* bound on a follow; 0 = none */
    bool timestamps;           /* each line starts with when it was written and a space: unix
                                * ms (exec) or RFC 3339 (docker); core/timefmt.h reads both */
    const volatile bool *stop; /* when set and true, a follow ends (checked often) */
};

struct jn_driver;

/* The operations each driver implements; callers use the jn_driver_* wrappers. */
struct jn_driver_ops {
    const char *name;
    int (*version)(struct jn_driver *d, char *out, size_t len);
    int (*image_ensure)(struct jn_driver *d, const char *image, const struct jn_registry_auth *auth,
                        char *id, size_t idlen);
    int (*start)(struct jn_driver *d, const struct jn_instance_spec *spec, struct jn_instance *out);
    int (*stop)(struct jn_driver *d, const char *id, int timeout_ms);
    int (*remove)(struct jn_driver *d, const char *id);
    int (*inspect)(struct jn_driver *d, const char *id, struct jn_instance *out);
    int (*list)(struct jn_driver *d, const char *app, struct jn_instance **out);
    int (*logs)(struct jn_driver *d, const char *id, const struct jn_logs_opts *opts,
                jn_log_sink sink, void *arg);
    int (*pause)(struct jn_driver *d, const char *id, bool pause);
    /* NULL: the driver builds no images. */
    int (*build)(struct jn_driver *d, const struct jn_build_spec *b, char *id, size_t idlen);
    void (*destroy)(struct jn_driver *d);
};

/* The common head of every driver object (drivers embed it first). */
struct jn_driver {
    const struct jn_driver_ops *ops;
    char errmsg[JN_DRIVER_ERRMSG_MAX];
};

/* A driver for the Docker Engine API on the unix socket at socket_path (Docker's
 * /var/run/docker.sock, or Podman's service: scripts/podman-service.sh). Connects
 * lazily: the first call negotiates the API version from GET /version. Returns a
 * driver the caller owns (jn_driver_destroy); never NULL. */
struct jn_driver *jn_driver_docker_new(const char *socket_path);

/* A driver for plain processes, keeping per-instance state, labels and logs under
 * state_dir/instances/NAME/ (created if missing). Returns a driver the caller owns,
 * or NULL with *err set (-errno) when state_dir cannot be created. */
struct jn_driver *jn_driver_exec_new(const char *state_dir, int *err);

/* The unprivileged user exec apps run as when jern runs as root (exec.c). */
#define JN_EXEC_USER "jern-app"

/* Can an exec app, as the user it runs as, use the absolute path: search
 * every directory on it, then enter it (want_dir) or read and execute it?
 * Judged by mode bits. Returns true (also when the answer must wait for the
 * start, such as a missing JN_EXEC_USER), or false with why (naming the
 * path and the fix). Any thread. */
bool jn_exec_can_use(const char *path, bool want_dir, char *why, size_t len);

/* What creating a driver may need (borrowed). */
struct jn_driver_env {
    const char *state_dir;     /* jern's state directory: exec keeps STATE/exec */
    const char *docker_socket; /* the Engine API's unix socket */
};

/* A kind of driver, found by name in the registry (registry.c). Adding a
 * driver: write its file beside docker.c and exec.c, add one row there. */
struct jn_driver_kind {
    const char *name; /* as releases and instance rows name it: "docker", "exec" */
    bool images;      /* runs images (deploy --image), else commands (--cmd) */
    /* Creates a driver; NULL with msg on failure. */
    struct jn_driver *(*create)(const struct jn_driver_env *env, char *msg, size_t msglen);
    /* Whether its runtime can be asked now without waiting for a timeout
     * (docker: the socket exists); false with msg. NULL: always. */
    bool (*reachable)(const struct jn_driver_env *env, char *msg, size_t msglen);
    /* Whether its instances, which see this machine's files, may use the
     * absolute path (see jn_exec_can_use); NULL: instances do not see the
     * host's paths (containers: volumes are checked by the engine). */
    bool (*can_use)(const char *path, bool want_dir, char *why, size_t len);
};

#define JN_DRIVER_KINDS_MAX 8

/* The kinds, in registry order (*n of them). */
const struct jn_driver_kind *jn_driver_kinds(size_t *n);

/* The kind named name, or NULL. Its index in jn_driver_kinds() in *index
 * when index is not NULL. */
const struct jn_driver_kind *jn_driver_kind(const char *name, size_t *index);

/* The kind that runs images (images true) or commands: the first such row. */
const struct jn_driver_kind *jn_driver_kind_for(bool images);

/* Whether kind's runtime can be asked now (see reachable above). */
bool jn_driver_reachable(const struct jn_driver_kind *kind, const struct jn_driver_env *env,
                         char *msg, size_t msglen);

/* The driver's kind name ("docker", "exec"). */
const char *jn_driver_name(const struct jn_driver *d);

/* The message of the last failing call, "" if none. Valid until the next call. */
const char *jn_driver_errmsg(const struct jn_driver *d);

/* Checks that the runtime answers; writes a one-line description ("Podman Engine
 * 4.3.1, API 1.41") into out. Returns 0 or an error. */
int jn_driver_version(struct jn_driver *d, char *out, size_t len);

/* Makes sure image is present, pulling it when missing (auth may be NULL). Writes
 * the image ID ("sha256:...") into id. exec: returns JN_EUNSUPPORTED. */
int jn_driver_image_ensure(struct jn_driver *d, const char *image,
                           const struct jn_registry_auth *auth, char *id, size_t idlen);

/* Builds an image from b (its output to b->progress line by line) and tags
 * it; the image ID ("sha256:...") into id. JN_EUNSUPPORTED for a driver that
 * runs no images; JN_EBADINPUT when the build itself failed (errmsg holds
 * the build's error). */
int jn_driver_build(struct jn_driver *d, const struct jn_build_spec *b, char *id, size_t idlen);

/* Creates and starts an instance; fills out (may be NULL). On failure nothing is left
 * behind. JN_EEXIST when the name is taken, JN_EBADINPUT for an invalid spec. */
int jn_driver_start(struct jn_driver *d, const struct jn_instance_spec *spec,
                    struct jn_instance *out);

/* SIGTERM, then SIGKILL after timeout_ms (exec: to the whole process group). Returns
 * once it has stopped; 0 when it was not running. JN_ENOTFOUND for an unknown id. */
int jn_driver_stop(struct jn_driver *d, const char *id, int timeout_ms);

/* Removes an instance, killing it first if it still runs; its logs go with it.
 * JN_ENOTFOUND for an unknown id. */
int jn_driver_remove(struct jn_driver *d, const char *id);

/* Fills out for id (an ID or a name). JN_ENOTFOUND for an unknown id. */
int jn_driver_inspect(struct jn_driver *d, const char *id, struct jn_instance *out);

/* Lists the instances labelled jern.app=app (every jern instance when app is NULL),
 * running or not. Returns the count and a malloc'd array in *out (free() it), or
 * an error. */
int jn_driver_list(struct jn_driver *d, const char *app, struct jn_instance **out);

/* Streams stdout/stderr of an instance to sink (see jn_logs_opts). Returns 0, or an
 * error; a sink asking to stop is not an error. */
int jn_driver_logs(struct jn_driver *d, const char *id, const struct jn_logs_opts *opts,
                   jn_log_sink sink, void *arg);

/* Freezes / thaws an instance (docker: cgroup freezer; exec: SIGSTOP / SIGCONT to
 * the group). */
int jn_driver_pause(struct jn_driver *d, const char *id);
int jn_driver_unpause(struct jn_driver *d, const char *id);

/* Reads an output connection (jn_instance_spec.output_conn) to its end,
 * handing the container's output to sink as it comes. Ends when the engine
 * closes it, when *stop is set, when the sink asks to, or once *ended (set by
 * the caller when the container has stopped) and nothing came for a few
 * seconds. Returns 0, or -errno. Blocks: the caller's own thread. */
int jn_driver_attached_output(int conn, const volatile bool *stop, const volatile bool *ended,
                              jn_log_sink sink, void *arg);

/* Frees the driver; running instances are left running (they are adopted later). */
void jn_driver_destroy(struct jn_driver *d);

/* For drivers: sets d->errmsg (printf-style) and returns err. */
int jn_driver_fail(struct jn_driver *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For drivers: checks a spec's name and labels; on error sets errmsg and returns
 * JN_EBADINPUT. */
int jn_driver_check_spec(struct jn_driver *d, const struct jn_instance_spec *spec);

#endif
