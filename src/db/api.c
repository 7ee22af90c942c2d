/*
 * api.c: the admin API's /v1/databases routes (docs/API.md), one table of
 * (method, path shape) -> handler. Each handler checks its whole input
 * before it changes anything. Passwords appear only in GET .../url.
 */
#include "core/common.h"

#include "control/api.h"
#include "db/db_int.h"
#include "db/env.h"

#include <cjson/cJSON.h>

#define ANY NULL /* a path segment that matches any name */

struct call {
    struct jn_dbs *m;
    const char *const *seg;
    int nseg;
    const struct jn_api_req *req;
    struct jn_api_resp *resp;
    cJSON *body; /* the parsed JSON object ({} when none) */
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
    struct db_rt *d = db_find(c->m, c->seg[2]);
    if (!d)
        jn_api_error(c->resp, 404, "database '%.64s' does not exist (see: jern db ls)",
                     c->seg[2]);
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
    int r = db_destroy(c->m, c->seg[2], cJSON_IsTrue(force), final_id, err, sizeof(err));
    if (r < 0) {
        send_err(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", "database");
    cJSON_AddStringToObject(o, "name", c->seg[2]);
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
    int r = db_attach(c->m, c->seg[2], app, &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_detach(struct call *c)
{
    char err[1024] = "";
    int r = db_detach(c->m, c->seg[2], c->seg[4], err, sizeof(err));
    if (r < 0) {
        send_err(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detached", c->seg[4]);
    cJSON_AddStringToObject(o, "database", c->seg[2]);
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
    int r = db_restore(c->m, c->seg[2], id, to, &job, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, job);
}

struct route {
    enum jn_http_method method;
    int nseg;
    const char *leaf;  /* seg[3], or ANY */
    const char *allow; /* every method of this path, for a 405 */
    void (*fn)(struct call *c);
};

static const struct route routes[] = {
    {JN_HTTP_GET, 2, ANY, "GET, POST", h_list},
    {JN_HTTP_POST, 2, ANY, "GET, POST", h_create},
    {JN_HTTP_GET, 3, ANY, "GET, DELETE", h_show},
    {JN_HTTP_DELETE, 3, ANY, "GET, DELETE", h_destroy},
    {JN_HTTP_GET, 4, "config", "GET", h_config},
    {JN_HTTP_POST, 4, "attachments", "POST", h_attach},
    {JN_HTTP_DELETE, 5, "attachments", "DELETE", h_detach},
    {JN_HTTP_GET, 4, "url", "GET", h_url},
    {JN_HTTP_GET, 4, "backups", "GET, POST", h_backups},
    {JN_HTTP_POST, 4, "backups", "GET, POST", h_backup},
    {JN_HTTP_POST, 4, "restore", "POST", h_restore},
};

static cJSON *parse_body(const struct jn_api_req *req, struct jn_api_resp *resp)
{
    if (req->body_len == 0)
        return cJSON_CreateObject();
    if (memchr(req->body, '\0', req->body_len)) {
        jn_api_error(resp, 400, "invalid JSON: NUL in the body");
        return NULL;
    }
    cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        jn_api_error(resp, 400, "the request body must be a JSON object");
        return NULL;
    }
    return o;
}

/* GET /v1/db-jobs/ID: a job of the manager, running or finished (kept ten
 * minutes): {"id", "kind", "database", "state", "elapsed_ms", and when it
 * ended "status" with "result" or "error"}. */
static void job_route(struct jn_dbs *m, const char *const *seg, int nseg,
                      const struct jn_api_req *req, struct jn_api_resp *resp)
{
    if (nseg != 3) {
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
        return;
    }
    if (req->method != JN_HTTP_GET && req->method != JN_HTTP_HEAD) {
        jn_api_error(resp, 405, "method not allowed here (allowed: GET)");
        resp->allow = "GET";
        return;
    }
    char *end;
    long id = strtol(seg[2], &end, 10);
    struct db_job *j = *seg[2] && !*end && id > 0 && id < INT32_MAX ? db_job_find(m, (int)id)
                                                                     : NULL;
    if (!j) {
        jn_api_error(resp, 404, "database job '%.32s' does not exist (jobs are kept 10 minutes)",
                     seg[2]);
        return;
    }
    jn_api_send_json(resp, 200, db_job_json(j));
}

bool jn_dbs_api(struct jn_dbs *m, const char *const *seg, int nseg, const struct jn_api_req *req,
                struct jn_api_resp *resp)
{
    if (nseg >= 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "db-jobs") == 0) {
        job_route(m, seg, nseg, req, resp);
        return true;
    }
    if (nseg < 2 || strcmp(seg[0], "v1") != 0 || strcmp(seg[1], "databases") != 0)
        return false;
    enum jn_http_method method = req->method == JN_HTTP_HEAD ? JN_HTTP_GET : req->method;
    const char *allow = NULL;
    for (size_t i = 0; i < JN_ARRAY_LEN(routes); i++) {
        const struct route *r = &routes[i];
        if (r->nseg != nseg || (r->leaf && strcmp(r->leaf, seg[3]) != 0))
            continue;
        allow = r->allow;
        if (r->method != method)
            continue;
        struct call c = {.m = m, .seg = seg, .nseg = nseg, .req = req, .resp = resp};
        if (!(c.body = parse_body(req, resp)))
            return true;
        r->fn(&c);
        cJSON_Delete(c.body);
        return true;
    }
    if (allow) {
        jn_api_error(resp, 405, "method not allowed here (allowed: %s)", allow);
        resp->allow = allow;
    } else {
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
    }
    return true;
}
