/*
 * move.c: the database's half of a move between cluster nodes
 * (docs/CLUSTER.md, "Moving a database"). On the node it leaves, a freeze
 * makes the server read-only (writes fail with an error; none acknowledged
 * is lost); on the node it goes to, a new server made beforehand (a
 * create), an import gives the same users and passwords to its apps and
 * copies each app's database from the frozen server over TCP (mariadb-dump --single-transaction with the app's
 * own account, loaded with the admin account). The cluster layer
 * (src/control/cluster/dbmove.c) drives both through etcd.
 */
#include "core/common.h"

#include "core/fault.h"
#include "core/log.h"
#include "db/db_int.h"
#include "db/env.h"
#include "db/run.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_TIMEOUT_MS (3600 * 1000)

struct freeze_job {
    int port;
    char admin_pass[JN_DB_PASS_LEN + 1];
    bool on;
};

static int freeze_job_work(struct db_job *j)
{
    struct freeze_job *k = j->arg;
    struct jn_db_conn *c =
        jn_db_connect(k->port, JN_DB_ADMIN_USER, k->admin_pass, 5, j->err, sizeof(j->err));
    if (!c)
        return JN_EBASE;
    /* read_only waits for the transactions that are committing; bounded. */
    int r = jn_db_exec(c, "SET SESSION lock_wait_timeout = 20", j->err, sizeof(j->err));
    if (r == 0)
        r = jn_db_exec(c, k->on ? "SET GLOBAL read_only = 1" : "SET GLOBAL read_only = 0",
                       j->err, sizeof(j->err));
    jn_db_close(c);
    return r;
}

/* DIR/NAME: a mark file's path. */
static void mark_path(const struct jn_db_paths *p, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", p->dir, name);
}

static void mark(const struct jn_db_paths *p, const char *name, bool on)
{
    char f[JN_DB_PATH_MAX + 32];
    mark_path(p, name, f, sizeof(f));
    int fd = on ? open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd >= 0)
        close(fd);
    else if (!on)
        unlink(f);
}

static bool marked(const struct jn_db_paths *p, const char *name)
{
    char f[JN_DB_PATH_MAX + 32];
    mark_path(p, name, f, sizeof(f));
    return access(f, F_OK) == 0;
}

bool db_frozen_marked(const struct jn_db_paths *p)
{
    return marked(p, "read-only-for-move");
}

static void freeze_job_done(struct db_job *j)
{
    struct freeze_job *k = j->arg;
    struct db_rt *d = db_find(j->m, j->db);
    if (j->r == 0 && d) {
        d->frozen = k->on;
        mark(&d->p, "read-only-for-move", k->on);
        if (k->on)
            jn_fault_point("db:move-after-freeze");
        jn_notice("database %s: %s", j->db,
                  k->on ? "read-only for its move (writes are refused)" : "takes writes again");
        j->status = 200;
    } else {
        j->status = jn_dbs_http_status(j->r < 0 ? j->r : JN_EBASE);
    }
    explicit_bzero(k, sizeof(*k));
    free(k);
}

int jn_dbs_freeze(struct jn_dbs *m, const char *name, bool on, char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist here", name);
        return JN_ENOTFOUND;
    }
    if (d->state != DB_RUNNING || d->destroying) {
        snprintf(err, errlen, "database '%s' is %s", name,
                 d->destroying ? "being destroyed" : db_state_name(d->state));
        return JN_EBASE;
    }
    struct freeze_job *k = jn_calloc(1, sizeof(*k));
    k->port = d->row.port;
    k->on = on;
    snprintf(k->admin_pass, sizeof(k->admin_pass), "%s", d->admin_pass);
    struct db_job *j = db_job_new(on ? "freeze" : "thaw", name, freeze_job_work, freeze_job_done, k);
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        explicit_bzero(k, sizeof(*k));
        free(k);
        free(j);
    }
    return r;
}

void db_moving_in_mark(const struct jn_db_paths *p, bool on)
{
    mark(p, "moving-in", on);
}

bool jn_dbs_moving_in(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    return d && marked(&d->p, "moving-in");
}

bool jn_dbs_has(struct jn_dbs *m, const char *name)
{
    return db_find(m, name) != NULL;
}

bool jn_dbs_frozen(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    return d && d->frozen && d->state == DB_RUNNING;
}

int jn_dbs_last_job(struct jn_dbs *m, const char *name, const char *kind, char *err, size_t errlen)
{
    for (struct db_job *j = m->jobs; j; j = j->next) { /* newest first */
        if (strcmp(j->kind, kind) != 0 || strcmp(j->db, name) != 0)
            continue;
        if (j->state == DB_JOB_RUNNING)
            return 1;
        if (j->state == DB_JOB_DONE)
            return 2;
        snprintf(err, errlen, "%s", j->err);
        return -1;
    }
    return 0;
}

/* What an import's thread needs, copied. */
struct import_job {
    struct jn_db_paths p;
    int port;
    char admin_pass[JN_DB_PASS_LEN + 1];
    size_t n;
    struct import_app {
        char app[JN_STORE_NAME_MAX], host[256], user[64], pass[JN_DB_PASS_LEN + 1],
            database[JN_STORE_NAME_MAX];
        int port;
    } *apps;
};

static void import_job_free(struct import_job *k)
{
    if (k->apps)
        explicit_bzero(k->apps, k->n * sizeof(*k->apps));
    free(k->apps);
    explicit_bzero(k, sizeof(*k));
    free(k);
}

/* A [client] file for the frozen server with the app's account (0600: it
 * holds the password, which stays off the command line). */
static int write_remote_cnf(const char *path, const struct import_app *a)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -errno;
    }
    fprintf(f, "[client]\nhost=%s\nport=%d\nuser=%s\npassword=%s\nprotocol=tcp\n", a->host,
            a->port, a->user, a->pass);
    return fclose(f) == 0 ? 0 : -errno;
}

/* Copies a's database from the frozen server into the one at p. */
static int copy_one(const struct jn_db_paths *p, const struct import_app *a, char *err,
                    size_t errlen)
{
    char cnf[JN_DB_PATH_MAX + 32], dump[JN_DB_PATH_MAX + 32], log[JN_DB_PATH_MAX + 16],
        defaults[JN_DB_PATH_MAX + 64];
    snprintf(cnf, sizeof(cnf), "%s/.move-client.cnf", p->dir);
    snprintf(dump, sizeof(dump), "%s/.move.sql", p->dir);
    snprintf(log, sizeof(log), "%s/move.log", p->dir);
    snprintf(defaults, sizeof(defaults), "--defaults-extra-file=%s", cnf);
    int r = write_remote_cnf(cnf, a);
    if (r < 0) {
        snprintf(err, errlen, "cannot write %.900s: %s", cnf, jn_strerror(r));
        return r;
    }
    char *argv[] = {"mariadb-dump", defaults, "--single-transaction", "--routines", "--events",
                    "--triggers", "--no-tablespaces", "--add-drop-database", "--databases",
                    (char *)a->database, NULL};
    r = jn_db_run(argv, NULL, dump, log, COPY_TIMEOUT_MS);
    unlink(cnf);
    if (r != 0) {
        char tail[300];
        jn_db_tail(log, tail, sizeof(tail));
        snprintf(err, errlen, "copying app %s's database from %s:%d failed (%s): %s", a->app,
                 a->host, a->port, r < 0 ? jn_strerror(r) : "mariadb-dump", tail);
        unlink(dump);
        return r < 0 ? r : JN_EBASE;
    }
    r = jn_db_backup_load(dump, p->client, log, err, errlen);
    unlink(dump);
    return r;
}

static int import_job_work(struct db_job *j)
{
    struct import_job *k = j->arg;
    struct jn_db_conn *c =
        jn_db_connect(k->port, JN_DB_ADMIN_USER, k->admin_pass, 5, j->err, sizeof(j->err));
    int r = c ? 0 : JN_EBASE;
    jn_fault_point("db:move-before-copy");
    for (size_t i = 0; r == 0 && i < k->n; i++) {
        const struct import_app *a = &k->apps[i];
        r = jn_db_grant(c, a->database, a->user, a->pass, j->err, sizeof(j->err));
        if (r == 0)
            r = copy_one(&k->p, a, j->err, sizeof(j->err));
    }
    jn_db_close(c);
    for (size_t i = 0; r == 0 && i < k->n; i++) {
        const struct import_app *a = &k->apps[i];
        if ((r = jn_db_env_write(j->m->state_dir, a->app, k->port, k->p.run, a->user, a->pass,
                                 a->database)) < 0)
            snprintf(j->err, sizeof(j->err), "cannot write app %s's database settings: %s",
                     a->app, jn_strerror(r));
    }
    if (r < 0)
        return r;
    jn_notice("database %s: copied %zu app database(s) from %s:%d", j->db, k->n,
              k->n ? k->apps[0].host : "-", k->n ? k->apps[0].port : 0);
    /* Its first backup here: the ones on the node it leaves stay there (or
     * go, with a move that had to leave). */
    struct jn_db_backup b;
    char berr[512];
    if (db_backup_run(j->db, &k->p, k->port, k->admin_pass, "moved", &b, berr, sizeof(berr)) < 0)
        jn_warn("database %s: no backup after its move: %s", j->db, berr);
    return 0;
}

static void import_job_done(struct db_job *j)
{
    struct import_job *k = j->arg;
    struct jn_dbs *m = j->m;
    int r = j->r;
    for (size_t i = 0; r == 0 && i < k->n; i++)
        if ((r = jn_store_db_attach(m->st, j->db, k->apps[i].app)) < 0)
            snprintf(j->err, sizeof(j->err), "the state store failed (see the daemon's log)");
    struct db_rt *d = db_find(m, j->db);
    if (r == 0 && d)
        db_moving_in_mark(&d->p, false);
    if (r < 0) {
        /* No app points at a copy that failed. */
        for (size_t i = 0; i < k->n; i++) {
            char node[256];
            if (jn_db_env_node(m->state_dir, k->apps[i].app, node, sizeof(node)) < 0)
                jn_db_env_remove(m->state_dir, k->apps[i].app);
        }
    }
    j->status = r == 0 ? 201 : jn_dbs_http_status(r);
    import_job_free(k);
}

int jn_dbs_import(struct jn_dbs *m, const char *name, const struct jn_db_import_app *apps,
                  size_t napps, int *job_id, char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d || d->state != DB_RUNNING || d->destroying) {
        snprintf(err, errlen, "database '%.64s' is not running here", name);
        return d ? JN_EBASE : JN_ENOTFOUND;
    }
    for (size_t i = 0; i < napps; i++) {
        const struct jn_db_import_app *a = &apps[i];
        if (!a->app || !a->host || !a->user || !a->pass || !a->database || a->port <= 0 ||
            strlen(a->pass) > JN_DB_PASS_LEN || strlen(a->host) >= 256 ||
            strlen(a->user) >= 64 || strlen(a->database) >= JN_STORE_NAME_MAX ||
            strlen(a->app) >= JN_STORE_NAME_MAX) {
            snprintf(err, errlen, "database '%.64s': the settings of an app to copy are invalid",
                     name);
            return JN_EBADINPUT;
        }
    }
    struct import_job *k = jn_calloc(1, sizeof(*k));
    k->p = d->p;
    k->port = d->row.port;
    snprintf(k->admin_pass, sizeof(k->admin_pass), "%s", d->admin_pass);
    k->n = napps;
    k->apps = jn_calloc(napps ? napps : 1, sizeof(*k->apps));
    for (size_t i = 0; i < napps; i++) {
        const struct jn_db_import_app *a = &apps[i];
        struct import_app *b = &k->apps[i];
        snprintf(b->app, sizeof(b->app), "%s", a->app);
        snprintf(b->host, sizeof(b->host), "%s", a->host);
        snprintf(b->user, sizeof(b->user), "%s", a->user);
        snprintf(b->pass, sizeof(b->pass), "%s", a->pass);
        snprintf(b->database, sizeof(b->database), "%s", a->database);
        b->port = a->port;
    }
    struct db_job *j = db_job_new("import", name, import_job_work, import_job_done, k);
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        import_job_free(k);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}
