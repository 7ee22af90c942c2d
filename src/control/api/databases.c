/*
 * databases.c: the /v1/databases and /v1/db-jobs routes (docs/API.md,
 * docs/DATABASES.md). Each handler checks its whole input before it starts
 * anything; create, attach, backup, restore and destroy answer 202 with a job of the
 * database manager (db/jobs.c). Passwords appear only in GET .../url.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/cluster/cluster.h"
#include "db/conf.h"
#include "db/db.h"

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
    jn_api_error(resp, jn_dbs_http_status(r), "%s", *err ? err : jn_strerror(r));
}

/* 202: the job started; the client follows GET /v1/db-jobs/ID. */
static void send_job(struct call *c, int id)
{
    jn_api_send_json(c->resp, 202, jn_dbs_job_json(c->m, id));
}

/* 200 with a view of the database :name, or 404. */
static void send_view(struct call *c, cJSON *(*view)(struct jn_dbs *m, const char *name))
{
    cJSON *o = view(c->m, c->name);
    struct jn_cluster *cl = c->api->api->cluster;
    const char *holder = cl && !o ? jn_cluster_db_holder(cl, c->name) : NULL;
    if (o)
        jn_api_send_json(c->resp, 200, o);
    else if (holder)
        jn_api_error(c->resp, 404,
                     "database '%.64s' is on node %s, not this one (%s): its details are read "
                     "there (see: jern where)",
                     c->name, holder, jn_cluster_node(cl));
    else
        jn_api_error(c->resp, 404, "database '%.64s' does not exist (see: jern db ls)",
                     c->name);
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

/* A database moving between cluster nodes takes no attach, detach, restore
 * or destroy until the move is over. */
static bool moving(struct call *c)
{
    char err[512];
    if (!c->api->api->cluster || jn_cluster_db_busy(c->api->api->cluster, c->name, err,
                                                    sizeof(err)) == 0)
        return false;
    jn_api_error(c->resp, 409, "%s", err);
    return true;
}

/* 202: op was asked of node; the client follows GET .../DB/ask until the
 * record of at_ms ended. */
static void send_asked(struct call *c, const char *db, const char *node, const char *op,
                       int64_t at_ms)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "database", db);
    cJSON_AddStringToObject(o, "node", node);
    cJSON_AddStringToObject(o, "op", op);
    cJSON_AddStringToObject(o, "state", "asked");
    cJSON_AddNumberToObject(o, "at_ms", (double)at_ms);
    jn_api_send_json(c->resp, 202, o);
}

/* On a cluster node, db held by another node: op (with fields, taken) is
 * asked of that node and the client follows it. False (fields freed) when
 * db is here or nowhere: the caller acts on its own manager. */
static bool ask_holder(struct call *c, const char *db, const char *op, cJSON *fields)
{
    struct jn_cluster *cl = c->api->api->cluster;
    const char *holder = cl ? jn_cluster_db_holder(cl, db) : NULL;
    if (!holder || strcmp(holder, jn_cluster_node(cl)) == 0) {
        cJSON_Delete(fields);
        return false;
    }
    char node[128], err[1024] = "";
    snprintf(node, sizeof(node), "%s", holder);
    cJSON_AddStringToObject(fields, "op", op);
    int64_t at;
    int r = jn_cluster_db_ask(cl, db, node, fields, &at, err, sizeof(err));
    cJSON_Delete(fields);
    if (r < 0)
        jn_api_cluster_fail(c->resp, r, err);
    else
        send_asked(c, db, node, op, at);
    return true;
}

/* GET /v1/databases/:name/ask: an operation asked of another node. */
static void h_ask(struct call *c)
{
    if (!c->api->api->cluster) {
        jn_api_error(c->resp, 409, "this jern is a single node: no operation is asked of others");
        return;
    }
    jn_api_send_json(c->resp, 200, jn_cluster_db_ask_json(c->api->api->cluster, c->name));
}

static void h_list(struct call *c)
{
    cJSON *o = jn_dbs_list_json(c->m);
    if (c->api->api->cluster)
        jn_cluster_db_list_others(c->api->api->cluster, o);
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
    const char *app = str_field(c, "app", false, &ok);
    const char *node = ok ? str_field(c, "node", false, &ok) : NULL;
    if (!ok)
        return;
    struct jn_cluster *cl = c->api->api->cluster;
    if (node && !cl) {
        jn_api_error(c->resp, 409,
                     "this jern is a single node: a database goes on a node of a cluster "
                     "(jern serve --cluster ...); leave out the node");
        return;
    }
    char err[1024] = "";
    if (cl) {
        const char *holder = jn_cluster_db_holder(cl, name);
        char to[128];
        if (!jn_db_name_ok(name)) { /* it names a key in etcd before a node sees it */
            jn_api_error(c->resp, 400,
                         "invalid database name '%.64s': 1-%d of a-z, 0-9 and '-', starting "
                         "with a letter (example: shop-db)",
                         name, JN_DB_NAME_MAX);
            return;
        }
        if (holder) {
            jn_api_error(c->resp, 409, "database '%.64s' exists already, on node %s", name,
                         holder);
            return;
        }
        int r = jn_cluster_db_place(cl, app, node, mem, to, sizeof(to), err, sizeof(err));
        if (r < 0) {
            jn_api_cluster_fail(c->resp, r, err);
            return;
        }
        cJSON *ask = cJSON_CreateObject();
        cJSON_AddStringToObject(ask, "op", "create");
        cJSON_AddNumberToObject(ask, "memory_mb", (double)mem);
        cJSON_AddBoolToObject(ask, "dedicated", cJSON_IsTrue(ded));
        cJSON_AddNumberToObject(ask, "port", (double)port);
        if (image)
            cJSON_AddStringToObject(ask, "image", image);
        if (app)
            cJSON_AddStringToObject(ask, "app", app);
        int64_t at;
        r = jn_cluster_db_ask(cl, name, to, ask, &at, err, sizeof(err));
        cJSON_Delete(ask);
        if (r < 0)
            jn_api_cluster_fail(c->resp, r, err);
        else
            send_asked(c, name, to, "create", at);
        return;
    }
    struct jn_db_create dc = {.name = name,
                           .memory_mb = mem,
                           .dedicated = cJSON_IsTrue(ded),
                           .port = (int)port,
                           .image = image};
    int id;
    int r = jn_dbs_create(c->m, &dc, &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_show(struct call *c)
{
    send_view(c, jn_dbs_json);
}

static void h_destroy(struct call *c)
{
    cJSON *force = cJSON_GetObjectItemCaseSensitive(c->body, "force");
    if (force && !cJSON_IsBool(force)) {
        jn_api_error(c->resp, 400, "field 'force' must be true or false");
        return;
    }
    cJSON *f = cJSON_CreateObject();
    cJSON_AddBoolToObject(f, "force", cJSON_IsTrue(force));
    if (ask_holder(c, c->name, "destroy", f) || moving(c))
        return;
    char err[1024] = "";
    int id;
    int r = jn_dbs_destroy(c->m, c->name, cJSON_IsTrue(force), &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

/* POST /v1/databases/:name/move {"to": NODE}: 202 with the move's record;
 * the client follows GET .../move. */
static void h_move(struct call *c)
{
    bool ok = true;
    const char *to = str_field(c, "to", true, &ok);
    if (!ok)
        return;
    if (!c->api->api->cluster) {
        jn_api_error(c->resp, 409,
                     "this jern is a single node: a database moves between the nodes of a "
                     "cluster (jern serve --cluster ...); on one node, restore a backup into a "
                     "new database (jern db restore %s ID --to NEW)",
                     c->name);
        return;
    }
    char err[1024] = "";
    int r = jn_cluster_db_move(c->api->api->cluster, c->name, to, err, sizeof(err));
    if (r < 0) {
        jn_api_cluster_fail(c->resp, r, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "database", c->name);
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddStringToObject(o, "state", "prepare");
    jn_api_send_json(c->resp, 202, o);
}

/* GET /v1/databases/:name/move: {move: record or null, nodes: [...]}. */
static void h_move_show(struct call *c)
{
    if (!c->api->api->cluster) {
        jn_api_error(c->resp, 409, "this jern is a single node: no database moves here");
        return;
    }
    jn_api_send_json(c->resp, 200, jn_cluster_db_move_json(c->api->api->cluster, c->name));
}

static void h_config(struct call *c)
{
    send_view(c, jn_dbs_config_json);
}

static void h_attach(struct call *c)
{
    bool ok = true;
    const char *app = str_field(c, "app", true, &ok);
    if (!ok)
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "app", app);
    if (ask_holder(c, c->name, "attach", f) || moving(c))
        return;
    char err[1024] = "";
    int id;
    /* on a cluster node, the database lives here: it must be a node the
     * app's required labels allow */
    if (c->api->api->cluster && jn_cluster_may_hold(c->api->api->cluster, app, c->name, err,
                                                    sizeof(err)) < 0) {
        jn_api_error(c->resp, 400, "%s", err);
        return;
    }
    int r;
    if (c->api->api->cluster &&
        (r = jn_cluster_app_here(c->api->api->cluster, app, err, sizeof(err))) < 0) {
        send_err(c->resp, r, err);
        return;
    }
    r = jn_dbs_attach(c->m, c->name, app, &id, err, sizeof(err));
    if (r < 0)
        send_err(c->resp, r, err);
    else
        send_job(c, id);
}

static void h_detach(struct call *c)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "app", jn_api_param(c->api, "app"));
    if (ask_holder(c, c->name, "detach", f) || moving(c))
        return;
    char err[1024] = "";
    int r = jn_dbs_detach(c->m, c->name, jn_api_param(c->api, "app"), err, sizeof(err));
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
    send_view(c, jn_dbs_url_json);
}

static void h_backups(struct call *c)
{
    send_view(c, jn_dbs_backups_json);
}

/* {} makes a backup now; {"every_s": N, "keep": K} sets the schedule. */
static void h_backup(struct call *c)
{
    int64_t every = -1, keep = 0;
    if (!int_field(c, "every_s", 0, 366 * 86400, &every) || !int_field(c, "keep", 0, 10000, &keep))
        return;
    char err[1024] = "";
    int r, id;
    if (every >= 0) {
        r = jn_dbs_schedule(c->m, c->name, every, (int)keep, err, sizeof(err));
        if (r == 0)
            h_backups(c);
    } else if (ask_holder(c, c->name, "backup", cJSON_CreateObject())) {
        return;
    } else if ((r = jn_dbs_backup(c->m, c->name, &id, err, sizeof(err))) == 0) {
        send_job(c, id);
    }
    if (r < 0)
        send_err(c->resp, r, err);
}

static void h_restore(struct call *c)
{
    bool ok = true;
    const char *id = str_field(c, "backup", true, &ok);
    const char *to = ok ? str_field(c, "to", false, &ok) : NULL;
    if (!ok)
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "backup", id);
    if (to)
        cJSON_AddStringToObject(f, "to", to);
    if (ask_holder(c, c->name, "restore", f) || moving(c))
        return;
    char err[1024] = "";
    int job;
    int r = jn_dbs_restore(c->m, c->name, id, to, &job, err, sizeof(err));
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
static const char *const CREATE[] = {"name", "memory", "dedicated", "port",
                                     "image", "app",    "node",      NULL};
static const char *const FORCE[] = {"force", NULL};
static const char *const APP[] = {"app", NULL};
static const char *const BACKUP[] = {"every_s", "keep", NULL};
static const char *const RESTORE[] = {"backup", "to", NULL};
static const char *const TO[] = {"to", NULL};

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
static void r_move(struct jn_api_call *c) { run(c, TO, h_move); }
static void r_move_show(struct jn_api_call *c) { run(c, NONE, h_move_show); }
static void r_ask(struct jn_api_call *c) { run(c, NONE, h_ask); }

/* GET /v1/db-jobs/:id: a job of the manager, running or finished (kept ten
 * minutes): {"id", "kind", "database", "state", "elapsed_ms", and when it
 * ended "status" with "result" or "error"}. */
static void r_job(struct jn_api_call *c)
{
    const char *s = jn_api_param(c, "id");
    char *end;
    long id = strtol(s, &end, 10);
    cJSON *j =
        *s && !*end && id > 0 && id < INT32_MAX ? jn_dbs_job_json(c->api->dbs, (int)id) : NULL;
    if (!j) {
        jn_api_error(c->resp, 404,
                     "database job '%.32s' does not exist (jobs are kept 10 minutes)", s);
        return;
    }
    jn_api_send_json(c->resp, 200, j);
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
    {JN_HTTP_POST, "/v1/databases/:name/move", JN_ROUTE_DATABASES, r_move, "db move"},
    {JN_HTTP_GET, "/v1/databases/:name/move", JN_ROUTE_DATABASES, r_move_show, NULL},
    {JN_HTTP_GET, "/v1/databases/:name/ask", JN_ROUTE_DATABASES, r_ask, NULL},
    {JN_HTTP_GET, "/v1/db-jobs/:id", JN_ROUTE_DATABASES, r_job, NULL},
    {0, NULL, 0, NULL, NULL},
};
