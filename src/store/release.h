/*
 * release.h: releases and instances in the store (control/deploy/ is the
 * user). A release is immutable once created, except for its status and the
 * image ID resolved while it is deployed. Same threading and return rules as
 * store.h: one connection, the control thread, JN_ENOTFOUND/JN_EBASE.
 */
#ifndef JN_STORE_RELEASE_H
#define JN_STORE_RELEASE_H

#include "store/store.h"

#define JN_RELEASE_KEEP 5 /* releases kept per app (besides the one serving) */

/* status: "pending" (being deployed), "active" (serving), "retired" (served
 * before; a rollback target), "failed" (never served). */
struct jn_store_release {
    int64_t id;
    int version;
    char status[12];
    int64_t created_at;
    char image[512];  /* as the user wrote it; "" for a command release */
    char image_id[160];
    char *command; /* malloc'd; "" for an image release */
    char *env;     /* malloc'd JSON object KEY -> VALUE: --env of this deploy */
    char *config;  /* malloc'd JSON object: the app's config it was made with; "" for a
                    * release of before config (env holds everything) */
    char *spec;    /* malloc'd JSON object of the settings */
};

/* Frees the strings of r (not r itself). NULL is fine. */
void jn_store_release_clear(struct jn_store_release *r);

/* Creates the next release of app (version = highest + 1), status pending,
 * with config_json (the app's config; NULL: none) and env_json (this
 * release's overrides). Fills out (caller clears it). JN_ENOTFOUND when the
 * app does not exist. */
int jn_store_release_create(struct jn_store *st, const char *app, const char *image,
                            const char *command, const char *config_json, const char *env_json,
                            const char *spec_json, struct jn_store_release *out);

/* Finds release version of app (by id when version is 0 and id > 0). */
int jn_store_release_get(struct jn_store *st, const char *app, int version, int64_t id,
                         struct jn_store_release *out);

/* Lists app's releases, newest first. Returns the count and *out (free with
 * jn_store_release_list_free), or a negative code. */
int jn_store_release_list(struct jn_store *st, const char *app, struct jn_store_release **out);
void jn_store_release_list_free(struct jn_store_release *v, int n);

int jn_store_release_set_status(struct jn_store *st, int64_t id, const char *status);
int jn_store_release_set_image_id(struct jn_store *st, int64_t id, const char *image_id);
int jn_store_release_delete(struct jn_store *st, int64_t id);

/* The release app serves (0 when none yet) and the number of instances it
 * wants. */
int jn_store_app_serving(struct jn_store *st, const char *app, int64_t *release_id, int *scale);
int jn_store_app_set_serving(struct jn_store *st, const char *app, int64_t release_id, int scale);

/* An instance's state; stored as its name (jn_inst_state_name). */
enum jn_inst_state {
    JN_INST_STARTING,
    JN_INST_RUNNING,
    JN_INST_CRASHED,  /* restart pending */
    JN_INST_FAILED,   /* crash loop: no more restarts */
    JN_INST_DRAINING, /* replaced: finishing its requests, then removed */
    JN_INST_PAUSED,   /* scaled to zero warm (control/scale/warm.c) */
};

/* An instance's last health verdict; stored as its name. */
enum jn_inst_health { JN_HEALTH_UNKNOWN, JN_HEALTH_HEALTHY, JN_HEALTH_UNHEALTHY };

/* The names of states and health verdicts ("running", "healthy"), and back:
 * parse returns the value or -1 for a name that is none (states.c). */
const char *jn_inst_state_name(enum jn_inst_state s);
int jn_inst_state_parse(const char *name);
const char *jn_inst_health_name(enum jn_inst_health h);
int jn_inst_health_parse(const char *name);

/* An instance row. */
struct jn_store_instance {
    int64_t id;
    char app[JN_STORE_NAME_MAX];
    int64_t release_id;
    int version; /* of release_id */
    char driver[16];       /* the runtime driver's name (runtime/registry.c) */
    char name[132];        /* the driver's instance name */
    char external_id[132]; /* the driver's handle */
    int host_port;
    /* The unix socket the app listens on (deploy --socket unix), "" when it
     * listens on 127.0.0.1:host_port. Shorter than sockaddr_un's sun_path. */
    char sock[108];
    enum jn_inst_state state;
    enum jn_inst_health health;
    int64_t started_at;
    int restarts;
};

/* The address the gateway and the health probe reach the instance at:
 * "unix:PATH" or "127.0.0.1:PORT" (net/sock.h jn_addr_parse reads both). */
void jn_store_instance_addr(const struct jn_store_instance *in, char *out, size_t len);

/* Inserts a row (state from in, id assigned into in->id). */
int jn_store_instance_create(struct jn_store *st, struct jn_store_instance *in);

/* Writes every mutable field of in (by in->id). */
int jn_store_instance_update(struct jn_store *st, const struct jn_store_instance *in);
int jn_store_instance_delete(struct jn_store *st, int64_t id);

/* Lists instances of app (every app when NULL), by app then id. Returns the
 * count and *out (caller frees), or a negative code. */
int jn_store_instance_list(struct jn_store *st, const char *app, struct jn_store_instance **out);

#endif
