/*
 * views.c: the database manager as JSON for the admin API and the dashboard
 * (docs/API.md). Control thread. Passwords appear only in jn_dbs_url_json.
 */
#include "core/common.h"

#include "db/cgroup.h"
#include "db/db_int.h"
#include "db/env.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <ftw.h>

#define SIZE_EVERY_MS 10000

static _Thread_local int64_t walk_total;

static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    if (flag == FTW_F)
        walk_total += (int64_t)sb->st_blocks * 512;
    return 0;
}

/* The directory's size on disk (datadir, logs, backups), measured at most
 * every SIZE_EVERY_MS: a datadir holds a few hundred files. */
static int64_t dir_size(struct db_rt *d)
{
    int64_t now = jn_now_ms();
    if (d->size_ms && now - d->size_ms < SIZE_EVERY_MS)
        return d->size_bytes;
    walk_total = 0;
    nftw(d->p.dir, add_size, 16, FTW_PHYS);
    d->size_bytes = walk_total;
    d->size_ms = now;
    return d->size_bytes;
}

cJSON *db_backup_json(const struct jn_db_backup *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", b->id);
    cJSON_AddNumberToObject(o, "size", (double)b->size);
    cJSON_AddNumberToObject(o, "created_at", (double)b->created_at);
    cJSON_AddBoolToObject(o, "automatic", b->automatic);
    return o;
}

cJSON *db_json(struct jn_dbs *m, struct db_rt *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    cJSON_AddStringToObject(o, "state", d->destroying ? "destroying" : db_state_name(d->state));
    cJSON_AddStringToObject(o, "engine", "mariadb");
    cJSON_AddStringToObject(o, "version", d->version);
    cJSON_AddStringToObject(o, "runs_as", d->p.image[0] ? "container" : "process");
    if (d->p.image[0]) {
        char cname[128];
        jn_db_container_name(&d->p, cname, sizeof(cname));
        cJSON_AddStringToObject(o, "image", d->p.image);
        cJSON_AddStringToObject(o, "container", cname);
    } else {
        cJSON_AddNullToObject(o, "image");
    }
    cJSON_AddNumberToObject(o, "pid", d->pid > 0 ? d->pid : 0);
    cJSON_AddStringToObject(o, "host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "port", d->row.port);
    cJSON_AddNumberToObject(o, "memory_mb", (double)d->row.memory_mb);
    /* 0: the server runs in no memory cgroup of jern's (not enforced). */
    /* A container's limit is the engine's (it refuses to start one it
     * cannot limit). */
    cJSON_AddNumberToObject(o, "memory_limit_bytes",
                            d->p.image[0] ? (double)(d->row.memory_mb << 20)
                                          : (double)jn_db_cgroup_limit(d->p.dir, d->pid));
    cJSON_AddBoolToObject(o, "dedicated", d->row.dedicated);
    /* a cluster node's address it listens on too ("": loopback only) */
    cJSON_AddStringToObject(o, "bind_also", d->bind_also);
    cJSON_AddBoolToObject(o, "read_only", d->frozen);
    cJSON_AddNumberToObject(o, "size_bytes", (double)dir_size(d));
    cJSON_AddNumberToObject(o, "restarts", d->restarts);
    cJSON_AddNumberToObject(o, "connections", (double)d->last.threads_connected);
    cJSON_AddNumberToObject(o, "queries_per_s", d->qps);
    if (d->hit_rate >= 0)
        cJSON_AddNumberToObject(o, "buffer_pool_hit_rate", d->hit_rate);
    else
        cJSON_AddNullToObject(o, "buffer_pool_hit_rate");
    cJSON_AddNumberToObject(o, "backup_every_s", (double)d->row.backup_every_s);
    cJSON_AddNumberToObject(o, "backup_keep", d->row.backup_keep);
    struct jn_db_backup *b;
    int nb = jn_db_backup_list(d->p.backups, &b), newest = -1;
    for (int i = 0; i < nb; i++)
        if (newest < 0 || b[i].created_at > b[newest].created_at)
            newest = i;
    cJSON_AddNumberToObject(o, "backups", nb);
    if (newest >= 0)
        cJSON_AddItemToObject(o, "last_backup", db_backup_json(&b[newest]));
    else
        cJSON_AddNullToObject(o, "last_backup");
    free(b);
    cJSON_AddNumberToObject(o, "created_at", (double)d->row.created_at);
    cJSON *apps = cJSON_AddArrayToObject(o, "apps");
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, d->row.name, &v);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(apps, cJSON_CreateString(v[i].app));
    free(v);
    return o;
}

cJSON *jn_dbs_list_json(struct jn_dbs *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "databases");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        cJSON_AddItemToArray(arr, db_json(m, d));
    cJSON *jobs = cJSON_AddArrayToObject(o, "jobs"); /* the running ones */
    for (struct db_job *j = m->jobs; j; j = j->next)
        if (j->state == DB_JOB_RUNNING)
            cJSON_AddItemToArray(jobs, db_job_json(j));
    return o;
}

cJSON *jn_dbs_json(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    return d ? db_json(m, d) : NULL;
}

cJSON *jn_dbs_config_json(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    if (!d)
        return NULL;
    struct jn_db_conf_line lines[JN_DB_CONF_MAX_LINES];
    char err[512];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    int n = db_conf_lines(d, lines, JN_ARRAY_LEN(lines), err, sizeof(err));
    if (n < 0) {
        cJSON_AddStringToObject(o, "error", err);
        return o;
    }
    struct jn_buf text;
    jn_buf_init(&text, 256 * 1024);
    jn_db_conf_render(lines, n, &text);
    cJSON_AddStringToObject(o, "config", jn_buf_cstr(&text));
    jn_buf_free(&text);
    cJSON *arr = cJSON_AddArrayToObject(o, "lines");
    for (int i = 0; i < n; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "key", lines[i].key);
        cJSON_AddStringToObject(l, "value", lines[i].value);
        cJSON_AddStringToObject(l, "reason", lines[i].reason);
        cJSON_AddItemToArray(arr, l);
    }
    return o;
}

cJSON *jn_dbs_url_json(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    if (!d)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    char url[512];
    snprintf(url, sizeof(url), "mysql://%s:%s@127.0.0.1:%d/", JN_DB_ADMIN_USER, d->admin_pass,
             d->row.port);
    cJSON_AddStringToObject(o, "admin_url", url);
    cJSON *apps = cJSON_AddArrayToObject(o, "apps");
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, d->row.name, &v);
    for (int i = 0; i < n; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "app", v[i].app);
        if (jn_db_env_get(m->state_dir, v[i].app, "DATABASE_URL", url, sizeof(url)) == 0)
            cJSON_AddStringToObject(a, "url", url);
        cJSON_AddItemToArray(apps, a);
    }
    free(v);
    explicit_bzero(url, sizeof(url));
    return o;
}

cJSON *jn_dbs_backups_json(struct jn_dbs *m, const char *name)
{
    struct db_rt *d = db_find(m, name);
    if (!d)
        return NULL;
    struct jn_db_backup *v;
    int n = jn_db_backup_list(d->p.backups, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    cJSON_AddNumberToObject(o, "backup_every_s", (double)d->row.backup_every_s);
    cJSON_AddNumberToObject(o, "backup_keep", d->row.backup_keep);
    cJSON *arr = cJSON_AddArrayToObject(o, "backups");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, db_backup_json(&v[i]));
    free(v);
    return o;
}

cJSON *jn_dbs_job_json(struct jn_dbs *m, int id)
{
    struct db_job *j = db_job_find(m, id);
    return j ? db_job_json(j) : NULL;
}
