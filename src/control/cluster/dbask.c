/*
 * dbask.c: database operations on a cluster, asked on any node
 * (docs/CLUSTER.md, "Databases on a cluster"). A database lives on one node,
 * and only that node's manager can act on it; a new one goes where the
 * scheduler's rules put it (jn_cluster_db_target). The node a request
 * reaches writes what it asks as one record, /jern/dbasks/DB, and the node
 * that holds (or is to hold) DB carries it out from its view (control
 * thread):
 *
 *   asked    by the node the request reached: {db, node, op, at_ms, by,
 *            the op's fields}                                   -> running
 *   running  node: its manager's job started (dbask_jobs)  -> done | failed
 *   done, failed  node: the job's answer in "job" ({status, result | error},
 *            as GET /v1/db-jobs/ID gives it); deleted KEEP_MS later
 *
 * The asking client follows the record (GET /v1/databases/DB/ask). One
 * record per database: two operations on one database never race, and a
 * new database's name is taken cluster-wide before it is made.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "core/log.h"
#include "db/db.h"
#include "etcd/client.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#define KEEP_MS (60 * 1000) /* an ended operation's record, for its client */

static const char *str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static bool ended(const cJSON *a)
{
    const char *s = str(a, "state");
    return s && (strcmp(s, "done") == 0 || strcmp(s, "failed") == 0);
}

/* An operation's name in dbask_jobs: the database and when it was asked. */
static void ask_id(const char *db, const cJSON *a, char *out, size_t n)
{
    snprintf(out, n, "%s@%.0f", db, cJSON_GetNumberValue(get(a, "at_ms")));
}

/* Writes a (the view's record, changed) with state over the record the view
 * read; job (taken) is the answer of an ended one. */
static void advance(struct jn_cluster *c, const char *db, cJSON *a, const char *state, cJSON *job)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DBASKS "%s", db);
    int64_t rev = (int64_t)cJSON_GetNumberValue(get(a, "mod_revision"));
    cJSON_DeleteItemFromObjectCaseSensitive(a, "mod_revision");
    cJSON_ReplaceItemInObjectCaseSensitive(a, "state", cJSON_CreateString(state));
    if (job) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, "job");
        cJSON_AddItemToObject(a, "job", job);
        cJSON_AddNumberToObject(a, "ended_ms", (double)jn_now_ms());
        const char *e = str(job, "error");
        if (e)
            jn_warn("cluster: database %s: %s asked by node %s failed: %s", db, str(a, "op"),
                    str(a, "by"), e);
        else
            jn_notice("cluster: database %s: %s asked by node %s done", db, str(a, "op"),
                      str(a, "by"));
    }
    char *s = cJSON_PrintUnformatted(a);
    if (jn_etcd_cas(c->ce, key, rev, s) < 0)
        jn_warn("cluster: database %s: cannot write its %s: %s", db, str(a, "op"),
                jn_etcd_errmsg(c->ce));
    free(s);
}

/* A job's answer as the manager would give it, for an operation refused at
 * once (status) or answered at once (result, taken). */
static cJSON *answer(int status, const char *error, cJSON *result)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "status", status);
    if (error)
        cJSON_AddStringToObject(j, "error", error);
    else
        cJSON_AddItemToObject(j, "result", result ? result : cJSON_CreateObject());
    return j;
}

/* Starts a's operation on this node's manager: a job (*job), or an answer
 * at once (returned). */
static cJSON *start(struct jn_cluster *c, const char *db, const cJSON *a, int *job)
{
    const char *op = str(a, "op"), *app = str(a, "app");
    char err[1024] = "";
    int r = JN_EBADINPUT;
    *job = 0;
    if (strcmp(op, "create") == 0) {
        struct jn_db_create cr = {.name = db,
                                  .memory_mb = (int64_t)cJSON_GetNumberValue(get(a, "memory_mb")),
                                  .dedicated = cJSON_IsTrue(get(a, "dedicated")),
                                  .port = (int)cJSON_GetNumberValue(get(a, "port")),
                                  .image = str(a, "image")};
        if (cr.port < 0)
            cr.port = 0;
        r = jn_dbs_create(c->dbs, &cr, job, err, sizeof(err));
    } else if (jn_cluster_db_busy(c, db, err, sizeof(err)) < 0) {
        return answer(409, err, NULL);
    } else if (strcmp(op, "attach") == 0 && app) {
        if ((r = jn_cluster_may_hold(c, app, db, err, sizeof(err))) == 0 &&
            (r = jn_cluster_app_here(c, app, err, sizeof(err))) == 0)
            r = jn_dbs_attach(c->dbs, db, app, job, err, sizeof(err));
    } else if (strcmp(op, "detach") == 0 && app) {
        if ((r = jn_dbs_detach(c->dbs, db, app, err, sizeof(err))) == 0) {
            cJSON *res = cJSON_CreateObject();
            cJSON_AddStringToObject(res, "detached", app);
            cJSON_AddStringToObject(res, "database", db);
            return answer(200, NULL, res);
        }
    } else if (strcmp(op, "destroy") == 0) {
        r = jn_dbs_destroy(c->dbs, db, cJSON_IsTrue(get(a, "force")), job, err, sizeof(err));
    } else if (strcmp(op, "backup") == 0) {
        r = jn_dbs_backup(c->dbs, db, job, err, sizeof(err));
    } else if (strcmp(op, "restore") == 0 && str(a, "backup")) {
        r = jn_dbs_restore(c->dbs, db, str(a, "backup"), str(a, "to"), job, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err), "unknown database operation '%s'", op);
    }
    if (r < 0)
        return answer(jn_dbs_http_status(r), *err ? err : jn_strerror(r), NULL);
    return NULL;
}

static void carry_out(struct jn_cluster *c, const char *db, cJSON *a)
{
    const char *state = str(a, "state");
    char id[300];
    ask_id(db, a, id, sizeof(id));
    if (strcmp(state, "asked") == 0) {
        if (get(c->dbask_jobs, id))
            return; /* started; the view that says so is on its way */
        int job;
        cJSON *done = start(c, db, a, &job);
        /* once only, though a view read before the answer comes again */
        cJSON_AddNumberToObject(c->dbask_jobs, id, done ? 0 : job);
        if (done) {
            advance(c, db, a, cJSON_GetObjectItemCaseSensitive(done, "error") ? "failed" : "done",
                    done);
            return;
        }
        advance(c, db, a, "running", NULL);
    } else if (strcmp(state, "running") == 0) {
        const cJSON *job = get(c->dbask_jobs, id);
        cJSON *j = job ? jn_dbs_job_json(c->dbs, (int)cJSON_GetNumberValue(job)) : NULL;
        if (!j) {
            char why[512];
            snprintf(why, sizeof(why),
                     "node %s restarted before the %s of database %s ended; see: jern db ls on "
                     "node %s",
                     c->node, str(a, "op"), db, c->node);
            advance(c, db, a, "failed", answer(500, why, NULL));
        } else if (strcmp(str(j, "state"), "running") != 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(c->dbask_jobs, id);
            advance(c, db, a, str(j, "error") ? "failed" : "done", j);
            return;
        }
        cJSON_Delete(j);
    } else if (ended(a) && (!cJSON_IsNumber(get(a, "ended_ms")) ||
                            jn_now_ms() - (int64_t)get(a, "ended_ms")->valuedouble > KEEP_MS)) {
        char key[256];
        snprintf(key, sizeof(key), JN_CLUSTER_DBASKS "%s", db);
        jn_etcd_delete(c->ce, key, false);
    }
}

void jn_cluster_dbask_apply(struct jn_cluster *c)
{
    if (!c->dbs || !cJSON_IsTrue(get(c->view, "etcd")))
        return;
    const cJSON *x;
    cJSON_ArrayForEach(x, get(c->view, "dbasks"))
    {
        const char *node = str(x, "node"), *state = str(x, "state"), *op = str(x, "op");
        if (!node || !state || !op || strcmp(node, c->node) != 0)
            continue;
        cJSON *a = cJSON_Duplicate(x, true);
        carry_out(c, x->string, a);
        cJSON_Delete(a);
    }
    /* forget the jobs of records that are gone */
    cJSON *j = c->dbask_jobs->child;
    while (j) {
        cJSON *next = j->next;
        char db[256];
        snprintf(db, sizeof(db), "%s", j->string);
        char *at = strrchr(db, '@');
        if (at)
            *at = '\0';
        char id[300] = "";
        const cJSON *a = get(get(c->view, "dbasks"), db);
        if (a)
            ask_id(db, a, id, sizeof(id));
        if (strcmp(id, j->string) != 0)
            cJSON_DeleteItemFromObjectCaseSensitive(c->dbask_jobs, j->string);
        j = next;
    }
}

const char *jn_cluster_db_holder(const struct jn_cluster *c, const char *db)
{
    if (c->dbs && jn_dbs_has(c->dbs, db))
        return c->node;
    const char *n = jn_cluster_db_node(get(c->view, "data"), db);
    if (n)
        return n;
    /* made a moment ago: its node's data record may not list it yet */
    const cJSON *a = get(get(c->view, "dbasks"), db);
    const char *op = str(a, "op"), *state = str(a, "state");
    if (op && state && strcmp(op, "create") == 0 && strcmp(state, "done") == 0)
        return str(a, "node");
    return NULL;
}

/* The live nodes, those drained marked as the scheduler marks them. */
static cJSON *live_nodes(const cJSON *view)
{
    cJSON *nodes = cJSON_Duplicate(get(view, "nodes"), true);
    cJSON *n;
    cJSON_ArrayForEach(n, nodes) if (get(get(view, "drain"), n->string))
        cJSON_AddTrueToObject(n, "draining");
    return nodes;
}

int jn_cluster_db_place(const struct jn_cluster *c, const char *app, const char *node,
                        int64_t memory_mb, char *out, size_t outlen, char *err, size_t errlen)
{
    const cJSON *view = c->view;
    if (!cJSON_IsTrue(get(view, "etcd")))
        return jn_cluster_etcd_failed((struct jn_cluster *)c, JN_ECLOSED, err, errlen);
    const cJSON *apps = get(view, "apps");
    if (app && !get(apps, app)) {
        snprintf(err, errlen, "app '%.64s' does not exist (see: jern apps)", app);
        return JN_ENOTFOUND;
    }
    cJSON *nodes = live_nodes(view);
    cJSON *attached = cJSON_CreateArray();
    if (app)
        cJSON_AddItemToArray(attached, cJSON_CreateString(app));
    double bytes = (double)memory_mb * 1024 * 1024;
    const char *to = NULL;
    int r = 0;
    if (node) {
        const cJSON *n = get(nodes, node);
        const cJSON *want = get(get(apps, app ? app : ""), "require");
        char req[512];
        jn_cluster_labels_text(want, req, sizeof(req));
        if (!n) {
            snprintf(err, errlen, "node '%.64s' is not in the cluster (see: jern nodes)", node);
            r = JN_ENOTFOUND;
        } else if (cJSON_IsTrue(get(n, "draining"))) {
            snprintf(err, errlen,
                     "node %s is drained: it takes no workloads (jern node undrain %s)", node,
                     node);
            r = JN_EBADINPUT;
        } else if (!jn_cluster_labels_match(get(n, "labels"), cJSON_IsObject(want) ? want : NULL)) {
            snprintf(err, errlen,
                     "refused: app '%s' requires the labels %s, which node %s lacks, so its data "
                     "would sit where it must not",
                     app, req, node);
            r = JN_EBADINPUT;
        } else if (!jn_cluster_db_fits(nodes, node, apps, get(view, "assign"), get(view, "data"),
                                       bytes)) {
            snprintf(err, errlen,
                     "refused: node %s lacks the memory for a database of %lldM beside its "
                     "instances and databases (see: jern nodes)",
                     node, (long long)memory_mb);
            r = JN_EBADINPUT;
        } else {
            to = node;
        }
    } else if (!(to = jn_cluster_db_target(nodes, apps, get(view, "data"), get(view, "assign"),
                                           attached, NULL, bytes))) {
        char req[512] = "";
        jn_cluster_labels_text(get(get(apps, app ? app : ""), "require"), req, sizeof(req));
        if (*req)
            snprintf(err, errlen,
                     "refused: no live, undrained node has the labels %s (app '%s' requires "
                     "them) and the memory for a database of %lldM beside its instances and "
                     "databases (see: jern nodes)",
                     req, app, (long long)memory_mb);
        else
            snprintf(err, errlen,
                     "refused: no live, undrained node has the memory for a database of %lldM "
                     "beside its instances and databases (see: jern nodes)",
                     (long long)memory_mb);
        r = JN_EBADINPUT;
    }
    if (to)
        snprintf(out, outlen, "%s", to);
    cJSON_Delete(nodes);
    cJSON_Delete(attached);
    return r;
}

int jn_cluster_db_ask(struct jn_cluster *c, const char *db, const char *node, cJSON *ask,
                      int64_t *at_ms, char *err, size_t errlen)
{
    if (!cJSON_IsTrue(get(c->view, "etcd")))
        return jn_cluster_etcd_failed(c, JN_ECLOSED, err, errlen);
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DBASKS "%s", db);
    struct jn_etcd_kv *kvs = NULL;
    size_t n = 0;
    int r = jn_etcd_range(c->ce, key, false, &kvs, &n, NULL);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    int64_t rev = 0;
    if (n == 1) {
        cJSON *cur = cJSON_Parse(kvs[0].value);
        const char *on = str(cur, "node");
        if (cur && !ended(cur) && on && get(get(c->view, "nodes"), on)) {
            snprintf(err, errlen,
                     "database '%s': a %s asked by node %s is running on node %s; try again "
                     "when it is over",
                     db, str(cur, "op") ? str(cur, "op") : "?",
                     str(cur, "by") ? str(cur, "by") : "?", on);
            r = JN_EEXIST;
        }
        rev = kvs[0].mod_revision;
        cJSON_Delete(cur);
    }
    jn_etcd_kvs_free(kvs, n);
    if (r < 0)
        return r;
    *at_ms = jn_now_ms();
    cJSON_AddStringToObject(ask, "db", db);
    cJSON_AddStringToObject(ask, "node", node);
    cJSON_AddStringToObject(ask, "by", c->node);
    cJSON_AddNumberToObject(ask, "at_ms", (double)*at_ms);
    cJSON_AddStringToObject(ask, "state", "asked");
    char *s = cJSON_PrintUnformatted(ask);
    r = jn_etcd_cas(c->ce, key, rev, s);
    free(s);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    if (r == 0) {
        snprintf(err, errlen,
                 "database '%s': another operation was asked at the same time; "
                 "try again",
                 db);
        return JN_EEXIST;
    }
    jn_notice("cluster: database %s: %s asked of node %s", db, str(ask, "op"), node);
    return 0;
}

cJSON *jn_cluster_db_ask_json(const struct jn_cluster *c, const char *db)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *a = get(get(c->view, "dbasks"), db);
    if (a) {
        cJSON *d = cJSON_Duplicate(a, true);
        cJSON_DeleteItemFromObjectCaseSensitive(d, "mod_revision");
        if (!ended(d) && !get(get(c->view, "nodes"), str(d, "node") ? str(d, "node") : "")) {
            char why[512];
            snprintf(why, sizeof(why), "node %s left the cluster before it carried this out",
                     str(d, "node") ? str(d, "node") : "?");
            cJSON_ReplaceItemInObjectCaseSensitive(d, "state", cJSON_CreateString("failed"));
            cJSON_AddItemToObject(d, "job", answer(503, why, NULL));
        }
        cJSON_AddItemToObject(o, "ask", d);
    } else {
        cJSON_AddNullToObject(o, "ask");
    }
    const char *n = jn_cluster_db_node(get(c->view, "data"), db);
    if (n)
        cJSON_AddStringToObject(o, "node", n);
    else
        cJSON_AddNullToObject(o, "node");
    return o;
}

void jn_cluster_db_list_others(const struct jn_cluster *c, cJSON *list)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(list, "databases");
    const cJSON *n, *d;
    if (!cJSON_IsArray(arr))
        return;
    cJSON_ArrayForEach(n, get(c->view, "data"))
    {
        if (strcmp(n->string, c->node) == 0)
            continue;
        cJSON_ArrayForEach(d, get(n, "databases"))
        {
            if (c->dbs && jn_dbs_has(c->dbs, d->string))
                continue; /* a move's two copies: this one is the one shown */
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", d->string);
            cJSON_AddStringToObject(o, "state", "elsewhere");
            cJSON_AddStringToObject(o, "node", n->string);
            cJSON_AddNumberToObject(o, "memory_mb", cJSON_GetNumberValue(get(d, "memory_mb")));
            cJSON_AddBoolToObject(o, "dedicated", cJSON_IsTrue(get(d, "dedicated")));
            cJSON_AddNumberToObject(o, "port", cJSON_GetNumberValue(get(d, "port")));
            if (str(d, "image"))
                cJSON_AddStringToObject(o, "image", str(d, "image"));
            cJSON_AddItemToObject(o, "apps", cJSON_Duplicate(get(d, "apps"), true));
            cJSON_AddItemToArray(arr, o);
        }
    }
}
