/*
 * store.h: jern's persistent state (apps, domains, runtime upstream servers,
 * settings, releases, instances) in one SQLite database. The only module that
 * includes <sqlite3.h>.
 *
 * Durability: WAL journal with synchronous=FULL, so a function that returned
 * success has its change on disk; a kill -9 at any moment leaves the last
 * acknowledged state. Schema changes are numbered migrations (migrations.c)
 * applied in order at open, each in its own transaction.
 *
 * A struct jn_store is one connection: use it from one thread at a time (the
 * control thread). Calls block on disk I/O: never call from a gateway worker.
 *
 * Returns follow core/common.h: 0 (or a count) on success, JN_ENOTFOUND,
 * JN_EEXIST, JN_EBADINPUT (a constraint such as a bad state name), or
 * JN_EBASE for an SQLite failure (the message is logged).
 */
#ifndef JN_STORE_STORE_H
#define JN_STORE_STORE_H

#include "core/common.h"

#define JN_STORE_NAME_MAX 64    /* app and upstream names, incl. NUL */
#define JN_STORE_DOMAIN_MAX 254 /* DNS name, incl. NUL */
#define JN_STORE_ADDR_MAX 128   /* "host:port", "[v6]:port", incl. NUL */

struct jn_store;

struct jn_store_app {
    int64_t id;
    char name[JN_STORE_NAME_MAX];
    int64_t created_at; /* unix seconds */
};

struct jn_store_domain {
    char domain[JN_STORE_DOMAIN_MAX];
    char app[JN_STORE_NAME_MAX];
};

/* A server of an upstream, as the store knows it. origin "api" rows are
 * servers added at runtime; origin "config" rows only override the weight or
 * state of a server written in the config file (state "removed" hides it). */
struct jn_store_server {
    char upstream[JN_STORE_NAME_MAX];
    char addr[JN_STORE_ADDR_MAX];
    int weight;     /* 1..1000 */
    char state[8];  /* "ready", "drain", "maint" or "removed" (config origin only) */
    char origin[8]; /* "api" or "config" */
};

/* Opens (creating if needed) the database at path and applies pending
 * migrations. Returns 0 and *out, or a negative code with a message in err.
 * Caller owns *out: jn_store_close it. */
int jn_store_open(const char *path, struct jn_store **out, char *err, size_t errlen);

/* Closes the connection. NULL is fine. */
void jn_store_close(struct jn_store *st);

/* The schema version now in the database (the highest applied migration). */
int jn_store_schema_version(struct jn_store *st);

/* The number of migrations compiled in (the version a fresh store reaches). */
int jn_store_migrations_count(void);

/* What the latest JN_EBASE was about, such as "release create: database or
 * disk is full": for messages that must say what failed. Never NULL. */
const char *jn_store_error(const struct jn_store *st);

/* Groups several calls into one durable transaction. begin returns 0 or
 * JN_EBASE; commit makes everything since begin durable at once, or, when it
 * fails (a full disk), rolls all of it back and returns the error; rollback
 * undoes it. Not nestable.
 *
 * A write that fails never leaves a transaction open behind it (a failed
 * COMMIT or RELEASE is rolled back, then sqlite3_get_autocommit() checked), so
 * the next write is durable when it returns 0, or fails itself. A write that
 * failed for lack of disk space returns -ENOSPC. */
int jn_store_begin(struct jn_store *st);
int jn_store_commit(struct jn_store *st);
void jn_store_rollback(struct jn_store *st);

/* Whether the next writes wait for the disk (default true). false, between
 * transactions only: a commit is atomic and survives a crash of the daemon
 * but not of the machine, until the next durable commit (SQLite's
 * synchronous=NORMAL in WAL mode). Only for rows that describe processes,
 * which a crash of the machine ends too (a cold start's instance): an fsync
 * there is a millisecond the first request waits for. */
void jn_store_durable(struct jn_store *st, bool durable);

/* True when a write failed for lack of disk space since the last call with
 * clear set (which resets it). The admin API asks after each request, to
 * answer 507 rather than 500. */
bool jn_store_disk_full(struct jn_store *st, bool clear);

/* Apps. Names are validated by the caller (control/names.c). create returns
 * JN_EEXIST when the name is taken; get and delete JN_ENOTFOUND when absent.
 * delete also removes the app's domains, releases, instances and the servers
 * of its upstream (the upstream named like the app). */
int jn_store_app_create(struct jn_store *st, const char *name, struct jn_store_app *out);
int jn_store_app_get(struct jn_store *st, const char *name, struct jn_store_app *out);
int jn_store_app_delete(struct jn_store *st, const char *name);

/* An app's config: a JSON object NAME -> value (secret values sealed by the
 * caller, control/appconfig/secret.h). get returns 0 and *json (caller
 * frees) or JN_ENOTFOUND; set replaces it. */
int jn_store_app_config_get(struct jn_store *st, const char *name, char **json);
int jn_store_app_config_set(struct jn_store *st, const char *name, const char *json);

/* Lists every app by name. Returns the count and *out (caller frees; NULL when 0),
 * or a negative code. */
int jn_store_app_list(struct jn_store *st, struct jn_store_app **out);

/* Domains: each belongs to exactly one app. add returns JN_ENOTFOUND when the
 * app does not exist, JN_EEXIST when the domain is taken (by any app); remove
 * returns JN_ENOTFOUND when the app does not have it. */
int jn_store_domain_add(struct jn_store *st, const char *app, const char *domain);
int jn_store_domain_remove(struct jn_store *st, const char *app, const char *domain);

/* The app that has domain: 0 with its name in app, JN_ENOTFOUND, or JN_EBASE. */
int jn_store_domain_owner(struct jn_store *st, const char *domain, char *app, size_t len);

/* Lists the domains of app, or of every app when app is NULL, sorted. Returns
 * the count and *out (caller frees), or a negative code. */
int jn_store_domain_list(struct jn_store *st, const char *app, struct jn_store_domain **out);

/* Runtime servers. add returns JN_EEXIST when upstream already has addr;
 * JN_EBADINPUT for a weight outside 1..1000 or an unknown state. */
int jn_store_server_add(struct jn_store *st, const char *upstream, const char *addr, int weight,
                        const char *state);

/* Removes a server row (either origin). JN_ENOTFOUND when absent. */
int jn_store_server_remove(struct jn_store *st, const char *upstream, const char *addr);

/* Changes weight (when > 0) and/or state (when non-NULL) of an existing row.
 * JN_ENOTFOUND when absent, JN_EBADINPUT for bad values. */
int jn_store_server_set(struct jn_store *st, const char *upstream, const char *addr, int weight,
                        const char *state);

/* Inserts or replaces the "config" origin override of a config-file server. */
int jn_store_server_override(struct jn_store *st, const char *upstream, const char *addr,
                             int weight, const char *state);

/* Lists the server rows of upstream (all upstreams when NULL), in insertion
 * order within an upstream. Returns the count and *out (caller frees). */
int jn_store_server_list(struct jn_store *st, const char *upstream, struct jn_store_server **out);

/* Looks one row up. JN_ENOTFOUND when absent. */
int jn_store_server_get(struct jn_store *st, const char *upstream, const char *addr,
                        struct jn_store_server *out);

/* Settings: a small key/value table. get copies the value into buf (truncated
 * to len) and returns its full length, or JN_ENOTFOUND. */
int jn_store_setting_set(struct jn_store *st, const char *key, const char *value);
int jn_store_setting_get(struct jn_store *st, const char *key, char *buf, size_t len);

#endif
