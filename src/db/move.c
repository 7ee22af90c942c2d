/*
 * move.c: the database's half of a move between cluster nodes
 * (docs/CLUSTER.md, "Moving a database"). On the node it leaves, a freeze
 * makes the server read-only (writes fail with an error; none acknowledged
 * is lost); on the node it goes to, an import makes a new server, the same
 * users and passwords for its apps, and copies each app's database from the
 * frozen server over TCP (mariadb-dump --single-transaction with the app's
 * own account, loaded with the admin account). The cluster layer
 * (src/control/cluster/dbmove.c) drives both through etcd.
 */
#include "core/common.h"

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

static void freeze_job_done(struct db_job *j)
{
    struct freeze_job *k = j->arg;
    struct db_rt *d = db_find(j->m, j->db);
    if (j->r == 0 && d) {
        d->frozen = k->on;
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
    struct db_rt *d; /* the new database, linked by done */
    char *image;
    size_t n;
    struct import_app {
        char app[JN_STORE_NAME_MAX], host[256], user[64], pass[JN_DB_PASS_LEN + 1],
            database[JN_STORE_NAME_MAX];
        int port;
    } *apps;
    bool created; /* its server was made (and so must be undone on failure) */
};

static void import_job_free(struct import_job *k)
{
    free(k->image);
    if (k->apps)
        explicit_bzero(k->apps, k->n * sizeof(*k->apps));
    free(k->apps);
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

/* Copies a's database from the frozen server into d's. */
static int copy_one(struct db_rt *d, const struct import_app *a, char *err, size_t errlen)
{
    char cnf[JN_DB_PATH_MAX + 32], dump[JN_DB_PATH_MAX + 32], log[JN_DB_PATH_MAX + 16],
        defaults[JN_DB_PATH_MAX + 64];
    snprintf(cnf, sizeof(cnf), "%s/.move-client.cnf", d->p.dir);
    snprintf(dump, sizeof(dump), "%s/.move.sql", d->p.dir);
    snprintf(log, sizeof(log), "%s/move.log", d->p.dir);
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
    r = jn_db_backup_load(dump, d->p.client, log, err, errlen);
    unlink(dump);
    return r;
}

static int import_job_work(struct db_job *j)
{
    struct import_job *k = j->arg;
    struct db_rt *d = k->d;
    int r = db_create_work_image(d, k->image, j->err, sizeof(j->err));
    if (r < 0)
        return r;
    k->created = true;
    struct jn_db_conn *c =
        jn_db_connect(d->row.port, JN_DB_ADMIN_USER, d->admin_pass, 5, j->err, sizeof(j->err));
    r = c ? 0 : JN_EBASE;
    for (size_t i = 0; r == 0 && i < k->n; i++) {
        const struct import_app *a = &k->apps[i];
        r = jn_db_grant(c, a->database, a->user, a->pass, j->err, sizeof(j->err));
        if (r == 0)
            r = copy_one(d, a, j->err, sizeof(j->err));
    }
    jn_db_close(c);
    for (size_t i = 0; r == 0 && i < k->n; i++) {
        const struct import_app *a = &k->apps[i];
        if ((r = jn_db_env_write(j->m->state_dir, a->app, d->row.port, d->p.run, a->user, a->pass,
                                 a->database)) < 0)
            snprintf(j->err, sizeof(j->err), "cannot write app %s's database settings: %s",
                     a->app, jn_strerror(r));
    }
    if (r == 0) {
        jn_notice("database %s: copied %zu app database(s) from %s:%d", j->db, k->n,
                  k->n ? k->apps[0].host : "-", k->n ? k->apps[0].port : 0);
        /* Its first backup here: the ones on the node it leaves stay there
         * (or go, with a move that had to leave). */
        struct jn_db_backup b;
        char berr[512];
        if (db_backup_run(j->db, &d->p, d->row.port, d->admin_pass, "moved", &b, berr,
                          sizeof(berr)) < 0)
            jn_warn("database %s: no backup after its move: %s", j->db, berr);
    }
    return r;
}

static void import_job_done(struct db_job *j)
{
    struct import_job *k = j->arg;
    struct jn_dbs *m = j->m;
    struct db_rt *d = k->d;
    int r = j->r;
    if (r == 0) {
        r = db_create_finish(m, d, j->err, sizeof(j->err)); /* frees d on failure */
        d = NULL;
        for (size_t i = 0; r == 0 && i < k->n; i++)
            if ((r = jn_store_db_attach(m->st, j->db, k->apps[i].app)) < 0)
                snprintf(j->err, sizeof(j->err), "the state store failed (see the daemon's log)");
        /* A row without all its attachments stays: a copy to destroy by hand
         * (jern db destroy), never half-attached apps. */
    } else {
        /* Nothing half-made stays: the server and its files go. */
        if (k->created)
            db_create_undo(d);
        db_rt_free(d);
        for (size_t i = 0; i < k->n; i++) {
            char node[256];
            if (jn_db_env_node(m->state_dir, k->apps[i].app, node, sizeof(node)) < 0)
                jn_db_env_remove(m->state_dir, k->apps[i].app);
        }
    }
    j->status = r == 0 ? 201 : jn_dbs_http_status(r);
    import_job_free(k);
}

int jn_dbs_import(struct jn_dbs *m, const struct jn_db_import *imp, int *job_id, char *err,
                  size_t errlen)
{
    struct jn_db_create c = {.name = imp->name, .memory_mb = imp->memory_mb,
                             .dedicated = imp->dedicated};
    for (size_t i = 0; i < imp->napps; i++) {
        const struct jn_db_import_app *a = &imp->apps[i];
        if (!a->app || !a->host || !a->user || !a->pass || !a->database || a->port <= 0 ||
            strlen(a->pass) > JN_DB_PASS_LEN || strlen(a->host) >= 256 ||
            strlen(a->user) >= 64 || strlen(a->database) >= JN_STORE_NAME_MAX ||
            strlen(a->app) >= JN_STORE_NAME_MAX) {
            snprintf(err, errlen, "database '%.64s': the settings of an app to copy are invalid",
                     imp->name);
            return JN_EBADINPUT;
        }
    }
    struct db_rt *d;
    int r = db_create_prepare(m, &c, &d, err, errlen);
    if (r < 0)
        return r;
    struct import_job *k = jn_calloc(1, sizeof(*k));
    k->d = d;
    k->image = imp->image ? jn_strdup(imp->image) : NULL;
    k->n = imp->napps;
    k->apps = jn_calloc(imp->napps ? imp->napps : 1, sizeof(*k->apps));
    for (size_t i = 0; i < imp->napps; i++) {
        const struct jn_db_import_app *a = &imp->apps[i];
        struct import_app *b = &k->apps[i];
        snprintf(b->app, sizeof(b->app), "%s", a->app);
        snprintf(b->host, sizeof(b->host), "%s", a->host);
        snprintf(b->user, sizeof(b->user), "%s", a->user);
        snprintf(b->pass, sizeof(b->pass), "%s", a->pass);
        snprintf(b->database, sizeof(b->database), "%s", a->database);
        b->port = a->port;
    }
    struct db_job *j = db_job_new("import", imp->name, import_job_work, import_job_done, k);
    j->port = d->row.port;
    r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        db_rm_tree(d->p.dir);
        db_rt_free(d);
        import_job_free(k);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}
