/*
 * destroy.c: a database's end: jern db destroy as a job (a final backup,
 * the server stopped, the record then the files removed, the backups
 * archived), and the start-up sweep of directories a create or destroy cut
 * short left behind. See db.h.
 */
#include "core/common.h"

#include "core/fault.h"
#include "core/log.h"
#include "db/cgroup.h"
#include "db/db_int.h"
#include "db/env.h"
#include "db/run.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Moves a database's backups to STATE/db-archive/NAME-TIME (kept after the
 * rest is gone); returns 0 or -errno, with the archive's path in out. */
static int archive_backups(const char *state_dir, const char *name, const struct jn_db_paths *p,
                           char *out, size_t n)
{
    char dir[JN_DB_PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/db-archive", state_dir);
    mkdir(dir, 0700);
    snprintf(out, n, "%s/db-archive/%s-%lld", state_dir, name, (long long)time(NULL));
    return rename(p->backups, out) < 0 && errno != ENOENT ? -errno : 0;
}

/* Writes the apps attached at the end into the archive's file "apps", one
 * a line: an archive says whose data it holds. */
static void archive_note_apps(const char *archive, const struct jn_store_db_attach *v, int n)
{
    char path[JN_DB_PATH_MAX + 160];
    snprintf(path, sizeof(path), "%s/apps", archive);
    FILE *f = fopen(path, "we");
    if (!f)
        return;
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", v[i].app);
    fclose(f);
}

cJSON *jn_dbs_archives_json(struct jn_dbs *m)
{
    cJSON *out = cJSON_CreateObject();
    char dir[JN_DB_PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/db-archive", m->state_dir);
    DIR *dh = opendir(dir);
    for (struct dirent *de; dh && (de = readdir(dh));) {
        if (de->d_name[0] == '.')
            continue;
        char sub[JN_DB_PATH_MAX + 300], line[JN_STORE_NAME_MAX + 2];
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
        DIR *sh = opendir(sub);
        if (!sh)
            continue;
        int backups = 0;
        for (struct dirent *e; (e = readdir(sh));) {
            size_t len = strlen(e->d_name);
            backups += len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
        }
        closedir(sh);
        cJSON *a = cJSON_AddObjectToObject(out, de->d_name);
        cJSON *apps = cJSON_AddArrayToObject(a, "apps");
        cJSON_AddNumberToObject(a, "backups", backups);
        snprintf(sub + strlen(sub), sizeof(sub) - strlen(sub), "/apps");
        FILE *f = fopen(sub, "re");
        while (f && fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0])
                cJSON_AddItemToArray(apps, cJSON_CreateString(line));
        }
        if (f)
            fclose(f);
    }
    if (dh)
        closedir(dh);
    return out;
}

/* Removes what is left of a database's files (the backups archived first). */
static void remove_files(const struct jn_db_paths *p)
{
    jn_db_cgroup_remove(p->dir);
    db_rm_tree(p->dir);
    unlink(p->sock);
    rmdir(p->run); /* in /tmp when the state path is long */
}

/* What a destroy job's thread needs, copied. */
struct destroy_job {
    struct jn_db_paths p;
    int port;
    pid_t pid;
    bool running; /* it was running: a final backup is made */
    char admin_pass[JN_DB_PASS_LEN + 1];
    char final_id[JN_DB_BACKUP_ID_MAX];
    bool purge; /* moved away from a node where its data must not stay: no archive */
};

static int destroy_job_work(struct db_job *j)
{
    struct destroy_job *k = j->arg;
    struct jn_db_backup b;
    char berr[512];
    if (k->running &&
        db_backup_run(j->db, &k->p, k->port, k->admin_pass, "final", &b, berr, sizeof(berr)) == 0)
        snprintf(k->final_id, sizeof(k->final_id), "%s", b.id);
    else
        jn_warn("database %s: no final backup: %s", j->db,
                k->running ? berr : "the server is not running");
    pid_t pid = jn_db_server_is(k->pid, &k->p) ? k->pid : jn_db_server_find(&k->p);
    /* Also with no server: a container of an image database goes. */
    if (jn_db_server_stop(pid, &k->p, 30000) < 0) {
        snprintf(j->err, sizeof(j->err),
                 "mariadbd (pid %d) of database '%s' did not stop; the database is kept",
                 (int)pid, j->db);
        return JN_ETIMEDOUT;
    }
    jn_fault_point("db:destroy-after-stop");
    return 0;
}

/* Control thread: the row goes first, then the files; a daemon killed in
 * between leaves a directory no row names, removed at the next start. */
static void destroy_job_done(struct db_job *j)
{
    struct destroy_job *k = j->arg;
    struct jn_dbs *m = j->m;
    struct db_rt *d = db_find(m, j->db);
    int r = j->r;
    /* The attachments as they are now (a detach may have come meanwhile);
     * the row's delete takes them along. */
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, j->db, &v);
    if (r == 0 && (r = jn_store_db_delete(m->st, j->db)) < 0)
        snprintf(j->err, sizeof(j->err), "the state store failed (see the daemon's log)");
    if (r < 0) {
        /* Kept: supervision starts its server again. */
        if (d)
            d->destroying = false;
        j->status = jn_dbs_http_status(r);
        free(v);
        explicit_bzero(k, sizeof(*k));
        free(k);
        return;
    }
    /* A file that names another node already is the app's database there
     * (a move's copy): it stays. */
    char other[256];
    for (int i = 0; i < n; i++)
        if (jn_db_env_node(m->state_dir, v[i].app, other, sizeof(other)) < 0)
            jn_db_env_remove(m->state_dir, v[i].app);
    char archive[JN_DB_PATH_MAX + 128] = "";
    if (k->purge)
        db_rm_tree(k->p.backups);
    else if (archive_backups(m->state_dir, j->db, &k->p, archive, sizeof(archive)) < 0)
        jn_warn("database %s: cannot keep its backups in %s: %s", j->db, archive,
                strerror(errno));
    else
        archive_note_apps(archive, v, n); /* whose data they hold: jern where */
    free(v);
    remove_files(&k->p);
    if (d) {
        db_rt_unlink(m, d);
        db_rt_free(d);
    }
    if (k->purge)
        jn_notice("database %s: destroyed after its move (no copy of it stays here)", j->db);
    else
        jn_notice("database %s: destroyed (backups kept in %s)", j->db, archive);
    j->status = 200;
    j->result = cJSON_CreateObject();
    cJSON_AddStringToObject(j->result, "deleted", "database");
    cJSON_AddStringToObject(j->result, "name", j->db);
    if (k->final_id[0])
        cJSON_AddStringToObject(j->result, "final_backup", k->final_id);
    explicit_bzero(k, sizeof(*k));
    free(k);
}

static int destroy_start(struct jn_dbs *m, const char *name, bool force, bool purge, int *job_id,
                         char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    struct db_job *busy = db_job_running(m, name);
    if (busy) {
        snprintf(err, errlen,
                 "database '%s' is busy: a %s is running (job %d); destroy it when that has "
                 "finished",
                 name, busy->kind, busy->id);
        return JN_EEXIST;
    }
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, name, &v);
    if (n > 0 && !force) {
        char apps[512] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof(apps); i++)
            len += (size_t)snprintf(apps + len, sizeof(apps) - len, "%s%s", i ? ", " : "",
                                    v[i].app);
        snprintf(err, errlen,
                 "database '%s' is attached to %s (detach first, or destroy with --force)", name,
                 apps);
        free(v);
        return JN_EEXIST;
    }
    free(v);
    struct destroy_job *k = jn_calloc(1, sizeof(*k));
    k->p = d->p;
    k->port = d->row.port;
    k->pid = d->pid;
    k->running = d->state == DB_RUNNING;
    k->purge = purge;
    snprintf(k->admin_pass, sizeof(k->admin_pass), "%s", d->admin_pass);
    struct db_job *j = db_job_new("destroy", name, destroy_job_work, destroy_job_done, k);
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        explicit_bzero(k, sizeof(*k));
        free(k);
        free(j);
        return r;
    }
    /* From here the tick leaves it alone: no restart of the server the job stops. */
    db_drop_conn(d);
    d->destroying = true;
    *job_id = j->id;
    return 0;
}

int jn_dbs_destroy(struct jn_dbs *m, const char *name, bool force, int *job_id, char *err,
                   size_t errlen)
{
    return destroy_start(m, name, force, false, job_id, err, errlen);
}

int jn_dbs_destroy_moved(struct jn_dbs *m, const char *name, bool purge, int *job_id, char *err,
                         size_t errlen)
{
    return destroy_start(m, name, true, purge, job_id, err, errlen);
}

void db_sweep_unfinished(struct jn_dbs *m)
{
    char parent[JN_DB_PATH_MAX + 8];
    snprintf(parent, sizeof(parent), "%s/db", m->state_dir);
    DIR *dir = opendir(parent);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        struct stat sb;
        char full[JN_DB_PATH_MAX + 300];
        snprintf(full, sizeof(full), "%s/%s", parent, e->d_name);
        /* env/ holds the attached apps' variables; other names are no database. */
        if (!jn_db_name_ok(e->d_name) || strcmp(e->d_name, "env") == 0 ||
            lstat(full, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
            jn_store_db_get(m->st, e->d_name, NULL) != JN_ENOTFOUND)
            continue;
        struct jn_db_paths p;
        jn_db_paths(m->state_dir, e->d_name, &p);
        pid_t pid = jn_db_server_find(&p);
        jn_db_server_stop(pid, &p, 30000); /* and the container, if any */
        if (pid > 0 && jn_db_server_is(pid, &p)) {
            jn_error("database %s: an unfinished create left mariadbd pid %d, which does not "
                     "stop; %s is left as it is",
                     e->d_name, (int)pid, p.dir);
            continue;
        }
        char archive[JN_DB_PATH_MAX + 128];
        struct jn_db_backup *b;
        int nb = jn_db_backup_list(p.backups, &b);
        free(b);
        if (nb > 0 && archive_backups(m->state_dir, e->d_name, &p, archive, sizeof(archive)) < 0) {
            jn_error("database %s: cannot move the backups of %s to %s (%s); it is left as it is",
                     e->d_name, p.dir, archive, strerror(errno));
            continue;
        }
        remove_files(&p);
        jn_warn("database %s: removed %s, left by a create or destroy that the daemon did not "
                "finish (no database of that name is recorded)%s%s",
                e->d_name, p.dir, nb > 0 ? "; its backups are kept in " : "",
                nb > 0 ? archive : "");
    }
    closedir(dir);
}

