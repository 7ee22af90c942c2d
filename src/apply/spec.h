/*
 * spec.h: the plan model of a jern.yaml (docs/APPLY.md): the apps,
 * databases, static upstreams and nodes a file declares. The file is read
 * with libyaml (src/apply/ is its one owner); the same model describes the
 * live state fetched from the admin API, so a plan is the difference of two
 * models.
 *
 * Any thread; nothing here talks to the daemon.
 */
#ifndef JN_APPLY_SPEC_H
#define JN_APPLY_SPEC_H

#include "core/buf.h"
#include "core/common.h"

#define JN_SPEC_MAX_BYTES (1024 * 1024) /* a jern.yaml larger than this is refused */

struct jn_spec_kv {
    char *key;
    char *value;   /* NULL in a live model's env: values never leave the daemon */
    bool secret;   /* the value came from ${VAR}: never printed */
    int line, col; /* where it was written (0: not from a file) */
};

struct jn_spec_list {
    char **v;
    size_t n;
};

struct jn_spec_kvs {
    struct jn_spec_kv *v;
    size_t n;
};

struct jn_spec_app {
    char *name;
    int line, col;
    char *image; /* exactly one of image and command */
    char *command;
    char *workdir; /* command only: where it runs */
    int port;      /* 0: the default (8080) */
    struct jn_spec_kvs env;
    int instances;            /* -1: not given (a fixed count is min = max) */
    int scale_min, scale_max; /* -1: not given; both or neither */
    long long idle_ms;        /* -1: not given */
    int concurrency;          /* -1: not given */
    char *health;             /* NULL: healthy once it accepts TCP */
    int health_timeout;       /* seconds; 0: the default (30) */
    long long memory;         /* bytes; 0: no limit */
    struct jn_spec_list domains;
    char *https;                        /* "off", "redirect", "only"; NULL: not given */
    struct jn_spec_kvs require, prefer; /* placement labels (cluster) */
    /* Live models only: */
    bool serving;                    /* a release serves */
    struct jn_spec_list env_diff;    /* names whose value differs from the file's */
    struct jn_spec_list config_keys; /* names in the app's config (jern config) */
};

struct jn_spec_db {
    char *name;
    int line, col;
    long long memory_mb; /* 0: the default */
    bool dedicated;
    int port;    /* 0: chosen by the daemon */
    char *image; /* NULL: MariaDB from the host */
    struct jn_spec_list attach;
};

struct jn_spec_server {
    char *addr;
    int weight;  /* 1-1000; 0: not given (1) */
    char *state; /* "ready", "drain", "maint"; NULL: ready */
};

struct jn_spec_upstream {
    char *name;
    int line, col;
    struct jn_spec_server *servers;
    size_t nservers;
};

struct jn_spec_node {
    char *name;
    int line, col;
    char *ssh; /* "ssh://USER@HOST[:PORT]" */
    struct jn_spec_kvs labels;
    bool labels_given; /* the file has labels: (else they are left alone) */
};

struct jn_spec {
    struct jn_spec_app *apps;
    size_t napps;
    struct jn_spec_db *dbs;
    size_t ndbs;
    struct jn_spec_upstream *upstreams;
    size_t nupstreams;
    struct jn_spec_node *nodes;
    size_t nnodes;
    bool clustered; /* live models: the daemon is a cluster node (nodes, placement) */
};

/* Looks up ${NAME}: the value, or NULL when unset. */
typedef const char *(*jn_spec_lookup)(const char *name, void *arg);

/* Parses a jern.yaml of len bytes into *out (zeroed first; free with
 * jn_spec_free, also after an error). file names it in messages. ${VAR} in
 * an env value is replaced by lookup(VAR) ($$ is a literal $). Pure when
 * lookup is. Returns 0, or JN_EBADINPUT with "FILE:LINE:COL: what (did you
 * mean ...)" in err; on an error the model is incomplete and must not be
 * used. */
int jn_spec_parse(const char *buf, size_t len, const char *file, jn_spec_lookup lookup, void *arg,
                  struct jn_spec *out, char *err, size_t errlen);

/* Writes spec as a jern.yaml that jn_spec_parse reads back to the same
 * model. Env values that are secret or unknown (NULL) are written as
 * ${KEY}. Returns 0 or JN_ETOOBIG. */
int jn_spec_write(const struct jn_spec *spec, struct jn_buf *out);

/* Parses an env file (KEY=VALUE lines; # comments; blank lines; an optional
 * "export "; values may be quoted with ' or "). Adds each to *out. Returns 0,
 * or JN_EBADINPUT with "FILE:LINE: what" in err. Pure. */
int jn_spec_envfile_parse(const char *buf, size_t len, const char *file, struct jn_spec_kvs *out,
                          char *err, size_t errlen);

/* Frees everything the model holds and zeroes it. */
void jn_spec_free(struct jn_spec *spec);
void jn_spec_kvs_free(struct jn_spec_kvs *kv);

/* Appends helpers (the live model is built with them too). Copy their
 * arguments. */
void jn_spec_list_add(struct jn_spec_list *l, const char *s);
void jn_spec_kvs_add(struct jn_spec_kvs *kv, const char *key, const char *value, bool secret);
struct jn_spec_app *jn_spec_app_add(struct jn_spec *spec, const char *name);
struct jn_spec_db *jn_spec_db_add(struct jn_spec *spec, const char *name);
struct jn_spec_upstream *jn_spec_upstream_add(struct jn_spec *spec, const char *name);
struct jn_spec_node *jn_spec_node_add(struct jn_spec *spec, const char *name);

/* Finders: the entry named name, or NULL. */
const struct jn_spec_app *jn_spec_app_find(const struct jn_spec *spec, const char *name);
const struct jn_spec_db *jn_spec_db_find(const struct jn_spec *spec, const char *name);
const struct jn_spec_upstream *jn_spec_upstream_find(const struct jn_spec *spec, const char *name);
const struct jn_spec_node *jn_spec_node_find(const struct jn_spec *spec, const char *name);
const struct jn_spec_kv *jn_spec_kvs_find(const struct jn_spec_kvs *kv, const char *key);
bool jn_spec_list_has(const struct jn_spec_list *l, const char *s);

#endif
