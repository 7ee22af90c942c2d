/*
 * databases.c: the /v1/databases and /v1/db-jobs routes (docs/API.md,
 * docs/DATABASES.md). Each handler checks its whole input before it starts
 * anything; create, attach, backup and restore answer 202 with a job of the
 * database manager (db/jobs.c). Passwords appear only in GET .../url.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "db/db_int.h"
#include "db/env.h"

#include <cjson/cJSON.h>

/* One request: the manager, the route's call and its parsed body. */
struct call {
    struct jn_dbs *m;
    struct jn_api_call *api;
    struct jn_api_resp *resp;
    const char *name; /* :name, or NULL */
    cJSON *body;      /* the parsed JSON object ({} when none) */
};

static void send_err(struct jn_api_resp *resp, int r, const char *err)
{
    jn_api_error(resp, db_http_status(r), "%s", *err ? err : jn_strerror(r));
}

/* 202: the job started; the client follows GET /v1/db-jobs/ID. */
static void send_job(struct call *c, int id)
{
    struct db_job *j = db_job_find(c->m, id);
    jn_api_send_json(c->resp, 202, db_job_json(j));
}

cJSON *db_json(struct jn_dbs *m, struct db_rt *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    cJSON_AddStringToObject(o, "state", db_state_name(d->state));
    cJSON_AddNumberToObject(o, "pid", d->pid > 0 ? d->pid : 0);
    cJSON_AddStringToObject(o, "host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "port", d->row.port);
    cJSON_AddNumberToObject(o, "memory_mb", (double)d->row.memory_mb);
    cJSON_AddBoolToObject(o, "dedicated", d->row.dedicated);
    cJSON_AddNumberToObject(o, "restarts", d->restarts);
    cJSON_AddNumberToObject(o, "connections", (double)d->last.threads_connected);
    cJSON_AddNumberToObject(o, "queries_per_s", d->qps);
    if (d->hit_rate >= 0)
        cJSON_AddNumberToObject(o, "buffer_pool_hit_rate", d->hit_rate);
    else
        cJSON_AddNullToObject(o, "buffer_pool_hit_rate");
    cJSON_AddNumberToObject(o, "backup_every_s", (double)d->row.backup_every_s);
    cJSON_AddNumberToObject(o, "backup_keep", d->row.backup_keep);
    cJSON_AddNumberToObject(o, "created_at", (double)d->row.created_at);
    cJSON *apps = cJSON_AddArrayToObject(o, "apps");
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, d->row.name, &v);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(apps, cJSON_CreateString(v[i].app));
    free(v);
    return o;
}

/* The database the path names, or NULL after a 404. */
static struct db_rt *named(struct call *c)
{
    struct db_rt *d = db_find(c->m, c->name);
    if (!d)
        jn_api_error(c->resp, 404, "database '%.64s' does not exist (see: jern db ls)",
                     c->name);
    return d;
}

static const char *str_field(struct call *c, const char *key, bool required, bool *ok)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(c->body, key);
    if (!f && !required)
        return NULL;
    if (!cJSON_IsString(f)) {
        jn_api_error(c->resp, 400, "field '%s' (a string) is %s", key,
                     f ? "not a string" : "required");
        *ok = false;
        return NULL;
    }
    return f->valuestring;
}

static bool int_field(struct call *c, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(c->body, key);
    if (!f)
        return true;
    if (!cJSON_IsNumber(f) || f->valuedouble != (double)(int64_t)f->valuedouble ||
        f->valuedouble < (double)lo || f->valuedouble > (double)hi) {
        jn_api_error(c->resp, 400, "field '%s' must be a whole number from %lld to %lld", key,
                     (long long)lo, (long long)hi);
        return false;
    }
    *out = (int64_t)f->valuedouble;
    return true;
}

static void h_list(struct call *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "databases");
    for (struct db_rt *d = c->m->dbs; d; d = d->next)
        cJSON_AddItemToArray(arr, db_json(c->m, d));
    cJSON *jobs = cJSON_AddArrayToObject(o, "jobs"); /* the running ones */
    for (struct db_job *j = c->m->jobs; j; j = j->next)
        if (j->state == DB_JOB_RUNNING)
            cJSON_AddItemToArray(jobs, db_job_json(j));
    jn_api_send_json(c->resp, 200, o);
}

static void h_create(struct call *c)
{
    bool ok = true;
    const char *name = str_field(c, "name", true, &ok);
    if (!ok)
        return;
    int64_t mem = 1024, port = 0;
    cJSON *mf = cJSON_GetObjectItemCaseSensitive(c->body, "memory");
    if (cJSON_IsString(mf)) {
        if (jn_db_memory_parse(mf->valuestring, &mem) < 0) {
            jn_api_error(c->resp, 400,
                         "invalid memory '%.32s' (examples: 512M, 1G, 1.5G; at least %dM)",
                         mf->valuestring, JN_DB_MEMORY_MIN_MB);
            return;
        }
    } else if (mf && !int_field(c, "memory", 0, JN_DB_MEMORY_MAX_MB * 2, &mem)) {
        return;
    }
    cJSON *ded = cJSON_GetObjectItemCaseSensitive(c->body, "dedicated");
    if (ded && !cJSON_IsBool(ded)) {
        jn_api_error(c->resp, 400, "field 'dedicated' must be true or false");
        return;
    }
    if (!int_field(c, "port", 1, 65535, &port))
        return;
    const char *image = str_field(c, "image", false, &ok);
    if (!ok)
        return;
    if (image && (!*image || strlen(image) > 255 || strpbrk(image, " \t\r\n"))) {
        jn_api_error(c->resp, 400,
                     "invalid image '%.64s' (a name like localhost/mariadb:10.11, at most 255 "
                     "characters, no spaces)",
                     image);
        return;
    }
    struct db_create dc = {.name = name,
                           .memory_mb = mem,
                           .dedicated = cJSON_IsTrue(ded),
                           .port = (int)port,
                           .image = image};
    char err[1024] = "";
    int id;
    int r = db_create(c->m, &dc, &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_show(struct call *c)
{
    struct db_rt *d = named(c);
    if (d)
        jn_api_send_json(c->resp, 200, db_json(c->m, d));
}

static void h_destroy(struct call *c)
{
    cJSON *force = cJSON_GetObjectItemCaseSensitive(c->body, "force");
    if (force && !cJSON_IsBool(force)) {
        jn_api_error(c->resp, 400, "field 'force' must be true or false");
        return;
    }
    char err[1024] = "", final_id[JN_DB_BACKUP_ID_MAX];
    int r = db_destroy(c->m, c->name, cJSON_IsTrue(force), final_id, err, sizeof(err));
    if (r < 0) {
        send_err(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", "database");
    cJSON_AddStringToObject(o, "name", c->name);
    if (final_id[0])
        cJSON_AddStringToObject(o, "final_backup", final_id);
    jn_api_send_json(c->resp, 200, o);
}

static void h_config(struct call *c)
{
    struct db_rt *d = named(c);
    if (!d)
        return;
    struct jn_db_conf_line lines[JN_DB_CONF_MAX_LINES];
    char err[512];
    int n = db_conf_lines(d, lines, JN_ARRAY_LEN(lines), err, sizeof(err));
    if (n < 0) {
        jn_api_error(c->resp, 500, "%s", err);
        return;
    }
    struct jn_buf text;
    jn_buf_init(&text, 256 * 1024);
    jn_db_conf_render(lines, n, &text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
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
    jn_api_send_json(c->resp, 200, o);
}

static void h_attach(struct call *c)
{
    bool ok = true;
    const char *app = str_field(c, "app", true, &ok);
    if (!ok)
        return;
    char err[1024] = "";
    int id;
    int r = db_attach(c->m, c->name, app, &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_detach(struct call *c)
{
    char err[1024] = "";
    int r = db_detach(c->m, c->name, jn_api_param(c->api, "app"), err, sizeof(err));
    if (r < 0) {
        send_err(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detached", jn_api_param(c->api, "app"));
    cJSON_AddStringToObject(o, "database", c->name);
    jn_api_send_json(c->resp, 200, o);
}

static void h_url(struct call *c)
{
    struct db_rt *d = named(c);
    if (!d)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->row.name);
    char url[512];
    snprintf(url, sizeof(url), "mysql://%s:%s@127.0.0.1:%d/", JN_DB_ADMIN_USER, d->admin_pass,
             d->row.port);
    cJSON_AddStringToObject(o, "admin_url", url);
    cJSON *apps = cJSON_AddArrayToObject(o, "apps");
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(c->m->st, d->row.name, &v);
    for (int i = 0; i < n; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "app", v[i].app);
        if (jn_db_env_get(c->m->state_dir, v[i].app, "DATABASE_URL", url, sizeof(url)) == 0)
            cJSON_AddStringToObject(a, "url", url);
        cJSON_AddItemToArray(apps, a);
    }
    free(v);
    explicit_bzero(url, sizeof(url));
    jn_api_send_json(c->resp, 200, o);
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

static void h_backups(struct call *c)
{
    struct db_rt *d = named(c);
    if (!d)
        return;
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
    jn_api_send_json(c->resp, 200, o);
}

/* {} makes a backup now; {"every_s": N, "keep": K} sets the schedule. */
static void h_backup(struct call *c)
{
    struct db_rt *d = named(c);
    if (!d)
        return;
    int64_t every = -1, keep = 0;
    if (!int_field(c, "every_s", 0, 366 * 86400, &every) || !int_field(c, "keep", 0, 10000, &keep))
        return;
    char err[1024] = "";
    if (every >= 0) {
        int r = db_schedule(c->m, d->row.name, every, (int)keep, err, sizeof(err));
        if (r < 0)
            send_err(c->resp, r, err);
        else
            h_backups(c);
        return;
    }
    int id;
    int r = db_backup_job(c->m, d, "manual", &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_restore(struct call *c)
{
    bool ok = true;
    const char *id = str_field(c, "backup", true, &ok);
    const char *to = ok ? str_field(c, "to", false, &ok) : NULL;
    if (!ok)
        return;
    char err[1024] = "";
    int job;
    int r = db_restore(c->m, c->name, id, to, &job, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, job);
}

/* Runs fn with the manager, :name and the body (only the allowed fields). */
static void run(struct jn_api_call *ac, const char *const *allowed, void (*fn)(struct call *c))
{
    struct call c = {.m = ac->api->dbs,
                     .api = ac,
                     .resp = ac->resp,
                     .name = jn_api_param(ac, "name")};
    if (!(c.body = jn_api_body(ac, allowed, false)))
        return;
    fn(&c);
    cJSON_Delete(c.body);
}

static const char *const NONE[] = {NULL};
static const char *const CREATE[] = {"name", "memory", "dedicated", "port", "image", NULL};
static const char *const FORCE[] = {"force", NULL};
static const char *const APP[] = {"app", NULL};
static const char *const BACKUP[] = {"every_s", "keep", NULL};
static const char *const RESTORE[] = {"backup", "to", NULL};

static void r_list(struct jn_api_call *c) { run(c, NONE, h_list); }
static void r_create(struct jn_api_call *c) { run(c, CREATE, h_create); }
static void r_show(struct jn_api_call *c) { run(c, NONE, h_show); }
static void r_destroy(struct jn_api_call *c) { run(c, FORCE, h_destroy); }
static void r_config(struct jn_api_call *c) { run(c, NONE, h_config); }
static void r_attach(struct jn_api_call *c) { run(c, APP, h_attach); }
static void r_detach(struct jn_api_call *c) { run(c, NONE, h_detach); }
static void r_url(struct jn_api_call *c) { run(c, NONE, h_url); }
static void r_backups(struct jn_api_call *c) { run(c, NONE, h_backups); }
static void r_backup(struct jn_api_call *c) { run(c, BACKUP, h_backup); }
static void r_restore(struct jn_api_call *c) { run(c, RESTORE, h_restore); }

/* GET /v1/db-jobs/:id: a job of the manager, running or finished (kept ten
 * minutes): {"id", "kind", "database", "state", "elapsed_ms", and when it
 * ended "status" with "result" or "error"}. */
static void r_job(struct jn_api_call *c)
{
    const char *s = jn_api_param(c, "id");
    char *end;
    long id = strtol(s, &end, 10);
    struct db_job *j =
        *s && !*end && id > 0 && id < INT32_MAX ? db_job_find(c->api->dbs, (int)id) : NULL;
    if (!j) {
        jn_api_error(c->resp, 404,
                     "database job '%.32s' does not exist (jobs are kept 10 minutes)", s);
        return;
    }
    jn_api_send_json(c->resp, 200, db_job_json(j));
}

const struct jn_route jn_database_routes[] = {
    {JN_HTTP_GET, "/v1/databases", JN_ROUTE_DATABASES, r_list, NULL},
    {JN_HTTP_POST, "/v1/databases", JN_ROUTE_DATABASES, r_create, "db create"},
    {JN_HTTP_GET, "/v1/databases/:name", JN_ROUTE_DATABASES, r_show, NULL},
    {JN_HTTP_DELETE, "/v1/databases/:name", JN_ROUTE_DATABASES, r_destroy, "db destroy"},
    {JN_HTTP_GET, "/v1/databases/:name/config", JN_ROUTE_DATABASES, r_config, NULL},
    {JN_HTTP_POST, "/v1/databases/:name/attachments", JN_ROUTE_DATABASES, r_attach, "db attach"},
    {JN_HTTP_DELETE, "/v1/databases/:name/attachments/:app", JN_ROUTE_DATABASES, r_detach, "db detach"},
    {JN_HTTP_GET, "/v1/databases/:name/url", JN_ROUTE_DATABASES, r_url, NULL},
    {JN_HTTP_GET, "/v1/databases/:name/backups", JN_ROUTE_DATABASES, r_backups, NULL},
    {JN_HTTP_POST, "/v1/databases/:name/backups", JN_ROUTE_DATABASES, r_backup, "db backup"},
    {JN_HTTP_POST, "/v1/databases/:name/restore", JN_ROUTE_DATABASES, r_restore, "db restore"},
    {JN_HTTP_GET, "/v1/db-jobs/:id", JN_ROUTE_DATABASES, r_job, NULL},
    {0, NULL, 0, NULL, NULL},
};
