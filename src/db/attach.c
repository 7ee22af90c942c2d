/*
 * attach.c: an app's own database and account on a managed server (jern db
 * attach / detach, docs/DATABASES.md): a database and a user named after the
 * app with a random password, granted that database alone, and the app's
 * settings file (STATE/db/env/APP) its instances get DATABASE_URL from. The
 * grant runs as a job (jobs.c); the attachment row is written after it, on
 * the control thread, or both are undone.
 */
#include "core/common.h"

#include "core/log.h"
#include "db/db_int.h"
#include "db/env.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static void db_sql_names(const char *app, char *dbname, char *user, size_t n)
{
    jn_db_sql_ident(app, dbname, n);
    jn_db_sql_ident(app, user, n < 33 ? n : 33); /* user names: 32 characters at most */
}

/* What an attach job needs, copied: its thread never reads the manager. */
struct attach_job {
    int port;
    char admin_pass[JN_DB_PASS_LEN + 1];
    char app[JN_STORE_NAME_MAX], dbname[JN_STORE_NAME_MAX], user[JN_STORE_NAME_MAX];
    char pass[JN_DB_PASS_LEN + 1];
    char run[JN_DB_PATH_MAX]; /* the socket's directory */
    const char *state_dir;
};

static void attach_job_free(struct attach_job *a)
{
    explicit_bzero(a, sizeof(*a));
    free(a);
}

/* The job's thread: the user and its grant, then the app's settings file. */
static int attach_job_work(struct db_job *j)
{
    struct attach_job *a = j->arg;
    struct jn_db_conn *c =
        jn_db_connect(a->port, JN_DB_ADMIN_USER, a->admin_pass, 5, j->err, sizeof(j->err));
    int r = c ? jn_db_grant(c, a->dbname, a->user, a->pass, j->err, sizeof(j->err)) : JN_EBASE;
    if (r == 0 &&
        (r = jn_db_env_write(a->state_dir, a->app, a->port, a->run, a->user, a->pass,
                                 a->dbname)) < 0) {
        snprintf(j->err, sizeof(j->err), "cannot write the app's database settings: %s",
                 jn_strerror(r));
        char e2[256];
        jn_db_revoke(c, a->user, e2, sizeof(e2));
    }
    jn_db_close(c);
    return r;
}

static void attach_job_done(struct db_job *j)
{
    struct attach_job *a = j->arg;
    struct jn_dbs *m = j->m;
    struct db_rt *d = db_find(m, j->db);
    int r = j->r;
    if (r == 0 && (r = jn_store_db_attach(m->st, j->db, a->app)) < 0) {
        /* Undo: no user or settings file without the attachment row. */
        snprintf(j->err, sizeof(j->err), "the state store failed (see the daemon's log)");
        char e2[256];
        if (d && db_conn(d, e2, sizeof(e2)))
            jn_db_revoke(d->mon, a->user, e2, sizeof(e2));
        jn_db_env_remove(m->state_dir, a->app);
    }
    if (r == 0) {
        jn_notice("database %s: attached app %s (database %s, user %s)", j->db, a->app,
                  a->dbname, a->user);
        j->status = 201;
        j->result = d ? db_json(m, d) : NULL;
    } else {
        j->status = jn_dbs_http_status(r);
    }
    attach_job_free(a);
}

int jn_dbs_attach(struct jn_dbs *m, const char *name, const char *app, int *job_id, char *err,
              size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    if (jn_store_app_get(m->st, app, NULL) < 0) {
        snprintf(err, errlen, "app '%.64s' does not exist (create it with: jern create %.64s)",
                 app, app);
        return JN_ENOTFOUND;
    }
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, NULL, &v);
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].app, app) == 0) {
            snprintf(err, errlen, "app '%s' is attached to database '%s' already%s", app, v[i].db,
                     strcmp(v[i].db, name) ? " (detach it first)" : "");
            free(v);
            return JN_EEXIST;
        }
    }
    free(v);
    if (d->state != DB_RUNNING) {
        snprintf(err, errlen, "database '%s' is %s; attach when it runs", name,
                 db_state_name(d->state));
        return JN_EBASE;
    }
    for (struct db_job *o = m->jobs; o; o = o->next) {
        if (o->state == DB_JOB_RUNNING && strcmp(o->kind, "attach") == 0 &&
            strcmp(((struct attach_job *)o->arg)->app, app) == 0) {
            snprintf(err, errlen, "app '%s' is being attached already (job %d)", app, o->id);
            return JN_EEXIST;
        }
    }
    struct attach_job *a = jn_calloc(1, sizeof(*a));
    a->port = d->row.port;
    snprintf(a->run, sizeof(a->run), "%s", d->p.run);
    snprintf(a->admin_pass, sizeof(a->admin_pass), "%s", d->admin_pass);
    snprintf(a->app, sizeof(a->app), "%s", app);
    db_sql_names(app, a->dbname, a->user, sizeof(a->dbname));
    jn_db_password(a->pass);
    a->state_dir = m->state_dir;
    struct db_job *j = jn_calloc(1, sizeof(*j));
    j->kind = "attach";
    snprintf(j->db, sizeof(j->db), "%s", name);
    j->work = attach_job_work;
    j->done = attach_job_done;
    j->arg = a;
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        attach_job_free(a);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}

int jn_dbs_detach(struct jn_dbs *m, const char *name, const char *app, char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    int r = jn_store_db_detach(m->st, name, app);
    if (r == JN_ENOTFOUND) {
        snprintf(err, errlen, "app '%.64s' is not attached to database '%s'", app, name);
        return r;
    }
    if (r < 0) {
        snprintf(err, errlen, "the state store failed (see the daemon's log)");
        return r;
    }
    jn_db_env_remove(m->state_dir, app);
    char dbname[JN_STORE_NAME_MAX], user[JN_STORE_NAME_MAX], e2[256];
    db_sql_names(app, dbname, user, sizeof(dbname));
    struct jn_db_conn *c = db_conn(d, e2, sizeof(e2));
    if (!c || jn_db_revoke(c, user, e2, sizeof(e2)) < 0) {
        db_drop_conn(d);
        jn_warn("database %s: detach %s: cannot drop user %s: %s", name, app, user, e2);
    }
    jn_notice("database %s: detached app %s (its rows stay in database %s)", name, app, dbname);
    return 0;
}
