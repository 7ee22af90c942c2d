/*
 * dbmove.c: a managed database moves to another node (docs/CLUSTER.md,
 * "Moving a database"): by hand (jern db move DB --to NODE), or by the
 * scheduler when the database's node no longer has the labels an attached
 * app requires. A move is one record, /jern/dbmoves/DB {db, from, to,
 * state, ...}, that the two nodes drive forward, each from its view
 * (control thread):
 *
 *   prepare  to:   an empty server of the same size and kind (while the
 *                  old one still takes writes)                    -> freeze
 *   freeze   from: the server read-only (writes fail with an error; none
 *                  acknowledged is lost)                          -> copy
 *   copy     to:   each app's database copied from the frozen server,
 *                  the same accounts, the apps attached: its data record
 *                  names them, so every node points them here     -> switch
 *   switch   to:   once its own record is in the view, restarts the
 *                  attached apps (a new version everywhere)        -> drain
 *   drain    from: when every instance runs the new version (or after
 *                  DRAIN_MAX_MS), and GRACE_MS more for the old ones that
 *                  stop, destroys its copy (purge: its backups too); then
 *                  deletes the record
 *   failed   to:   removes what it made, then says so (cleaned);
 *            from: writable again; the record goes once to has cleaned
 *                  (or left the cluster)
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

#define DRAIN_MAX_MS (120 * 1000)
#define GRACE_MS 5000
#define FAILED_SHOW_MS 3000 /* a failed move's record outlives its cleanup this long */

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Writes m (a copy of the view's record) with state, over the record the
 * view read (a compare-and-swap: a record changed meanwhile wins). */
static void advance(struct jn_cluster *c, const char *db, cJSON *m, const char *state,
                    const char *error)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DBMOVES "%s", db);
    int64_t rev = (int64_t)cJSON_GetNumberValue(get(m, "mod_revision"));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "mod_revision");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "state");
    cJSON_AddStringToObject(m, "state", state);
    if (strcmp(state, "failed") == 0 && !get(m, "failed_ms"))
        cJSON_AddNumberToObject(m, "failed_ms", (double)jn_now_ms());
    if (error) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "error");
        cJSON_AddStringToObject(m, "error", error);
        jn_warn("cluster: database %s: its move failed: %s", db, error);
    } else if (strcmp(state, "failed") == 0) {
        jn_notice("cluster: database %s: nothing of its failed move is left on node %s", db,
                  c->node);
    } else {
        jn_notice("cluster: database %s: move %s -> %s: %s", db, str(m, "from"), str(m, "to"),
                  state);
    }
    char *s = cJSON_PrintUnformatted(m);
    int r = jn_etcd_cas(c->ce, key, rev, s);
    free(s);
    if (r < 0)
        jn_warn("cluster: database %s: cannot write its move: %s", db, jn_etcd_errmsg(c->ce));
}

static void finish(struct jn_cluster *c, const char *db)
{
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DBMOVES "%s", db);
    if (jn_etcd_delete(c->ce, key, false) < 0)
        jn_warn("cluster: database %s: cannot end its move: %s", db, jn_etcd_errmsg(c->ce));
}

/* A move's name in dbmove_jobs: the database and when the move was asked,
 * so that a job of an earlier move of the same database never counts. */
static void move_id(const char *db, const cJSON *m, char *out, size_t n)
{
    snprintf(out, n, "%s@%.0f", db, cJSON_GetNumberValue(get(m, "at_ms")));
}

/* The kind of the job this node started for m, db's move ("" none). */
static const char *started(struct jn_cluster *c, const char *db, const cJSON *m)
{
    char id[300];
    move_id(db, m, id, sizeof(id));
    const char *k = str(c->dbmove_jobs, id);
    return k ? k : "";
}

static void start(struct jn_cluster *c, const char *db, const cJSON *m, const char *kind)
{
    char id[300];
    move_id(db, m, id, sizeof(id));
    cJSON_DeleteItemFromObjectCaseSensitive(c->dbmove_jobs, id);
    cJSON_AddStringToObject(c->dbmove_jobs, id, kind);
}

static bool has_db(struct jn_cluster *c, const char *db)
{
    return c->dbs && jn_dbs_has(c->dbs, db);
}

/* A job this node started for the move: 1 running, 2 done, -1 failed (err). */
static int job_state(struct jn_cluster *c, const char *db, const cJSON *m, char *err,
                     size_t errlen)
{
    const char *kind = started(c, db, m);
    return *kind ? jn_dbs_last_job(c->dbs, db, kind, err, errlen) : 0;
}

/* Before the copy is made, a node it was to go to that left the cluster
 * fails the move (true). */
static bool to_gone(struct jn_cluster *c, const char *db, cJSON *m)
{
    const char *state = str(m, "state");
    if (strcmp(state, "switch") == 0 || get(get(c->view, "nodes"), str(m, "to")))
        return false;
    char why[512];
    snprintf(why, sizeof(why), "node %s left the cluster during the move", str(m, "to"));
    advance(c, db, m, "failed", why);
    return true;
}

/* freeze, copy and switch, on the node the database leaves: read-only
 * (again, when its server restarted). */
static void keep_frozen(struct jn_cluster *c, const char *db, cJSON *m, bool advance_when_done)
{
    char err[1024] = "";
    if (!has_db(c, db)) {
        if (advance_when_done) {
            char why[512];
            snprintf(why, sizeof(why), "node %s has no database %s (any more)", c->node, db);
            advance(c, db, m, "failed", why);
        }
        return;
    }
    if (to_gone(c, db, m))
        return;
    if (jn_dbs_frozen(c->dbs, db)) {
        if (advance_when_done)
            advance(c, db, m, "copy", NULL);
        return;
    }
    int js = job_state(c, db, m, err, sizeof(err));
    if (js == 1)
        return;
    if (js == -1 && advance_when_done) {
        char why[1200];
        snprintf(why, sizeof(why), "database %s on node %s could not be made read-only: %s", db,
                 c->node, err);
        advance(c, db, m, "failed", why);
        return;
    }
    if (jn_dbs_freeze(c->dbs, db, true, err, sizeof(err)) == 0)
        start(c, db, m, "freeze");
}

/* The apps of db on node from and their accounts, as from's record reports
 * them: 0, or JN_EBADINPUT with the reason. */
static int import_apps(struct jn_cluster *c, const char *db, const char *from,
                       struct jn_db_import_app **out, size_t *n, char *err, size_t errlen)
{
    const cJSON *rec = get(get(c->view, "data"), from);
    const cJSON *apps = get(get(get(rec, "databases"), db), "apps");
    const char *host = str(get(get(c->view, "nodes"), from), "advertise");
    if (!host || !rec) {
        snprintf(err, errlen, "node %s (where database %s is) is not in the cluster", from, db);
        return JN_EBADINPUT;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(apps);
    struct jn_db_import_app *v = jn_calloc(cnt ? cnt : 1, sizeof(*v));
    const cJSON *a;
    size_t k = 0;
    cJSON_ArrayForEach(a, apps)
    {
        const cJSON *e = get(get(rec, "dbenv"), cJSON_IsString(a) ? a->valuestring : "");
        const char *port = str(e, "MYSQL_PORT");
        v[k] = (struct jn_db_import_app){.app = a->valuestring,
                                         .host = host,
                                         .user = str(e, "MYSQL_USER"),
                                         .pass = str(e, "MYSQL_PASSWORD"),
                                         .database = str(e, "MYSQL_DATABASE"),
                                         .port = port ? atoi(port) : 0};
        if (!cJSON_IsString(a) || !v[k].user || !v[k].pass || !v[k].database || !v[k].port) {
            snprintf(err, errlen,
                     "node %s does not report the database account of app %s on %s (is its "
                     "settings file STATE/db/env/%s there?)",
                     from, cJSON_IsString(a) ? a->valuestring : "?", db,
                     cJSON_IsString(a) ? a->valuestring : "APP");
            free(v);
            return JN_EBADINPUT;
        }
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

/* A job of this move's on this node that failed: the move fails, with why. */
static bool job_failed(struct jn_cluster *c, const char *db, cJSON *m, int js, const char *err,
                       const char *what)
{
    if (js != -1)
        return false;
    char why[1400];
    snprintf(why, sizeof(why), "%s database %s on node %s failed: %s", what, db, c->node, err);
    advance(c, db, m, "failed", why);
    return true;
}

/* prepare, on the node the database goes to: an empty server like it. */
static void prepare_here(struct jn_cluster *c, const char *db, cJSON *m)
{
    char err[1024] = "";
    int js = job_state(c, db, m, err, sizeof(err));
    if (strcmp(started(c, db, m), "create") == 0) {
        if (js == 2)
            advance(c, db, m, "freeze", NULL);
        else
            job_failed(c, db, m, js, err, "making");
        return;
    }
    if (has_db(c, db)) {
        char why[512];
        snprintf(why, sizeof(why), "node %s has a database named %s already", c->node, db);
        advance(c, db, m, "failed", why);
        return;
    }
    struct jn_db_create cr = {.name = db,
                              .memory_mb = (int64_t)cJSON_GetNumberValue(get(m, "memory_mb")),
                              .dedicated = cJSON_IsTrue(get(m, "dedicated")),
                              .image = str(m, "image"),
                              .moving_in = true};
    int id;
    if (jn_dbs_create(c->dbs, &cr, &id, err, sizeof(err)) == 0)
        start(c, db, m, "create");
    else
        job_failed(c, db, m, -1, err, "making");
}

/* copy, on the node the database goes to: into the server prepare made. */
static void copy_here(struct jn_cluster *c, const char *db, cJSON *m)
{
    char err[1024] = "";
    int js = job_state(c, db, m, err, sizeof(err));
    if (strcmp(started(c, db, m), "import") == 0) {
        if (js == 2)
            advance(c, db, m, "switch", NULL);
        else
            job_failed(c, db, m, js, err, "copying");
        return;
    }
    if (strcmp(started(c, db, m), "create") != 0) {
        /* this node's daemon restarted since it made the server: the move
         * starts again from nothing (the server, marked incomplete, goes) */
        char why[512];
        snprintf(why, sizeof(why), "node %s restarted during the move; move it again", c->node);
        advance(c, db, m, "failed", why);
        return;
    }
    struct jn_db_import_app *apps;
    size_t n;
    int id;
    if (import_apps(c, db, str(m, "from"), &apps, &n, err, sizeof(err)) < 0) {
        advance(c, db, m, "failed", err);
        return;
    }
    if (jn_dbs_import(c->dbs, db, apps, n, &id, err, sizeof(err)) == 0)
        start(c, db, m, "import");
    else
        job_failed(c, db, m, -1, err, "copying");
    free(apps);
}

/* switch: once this node's own record (in the view) names the apps, every
 * node has their new settings before the restarts, which come after it. */
static void switch_here(struct jn_cluster *c, const char *db, cJSON *m)
{
    const cJSON *mine = get(get(c->view, "data"), c->node);
    const cJSON *have = get(get(get(mine, "databases"), db), "apps");
    /* the apps the frozen copy has (its node keeps it until drain) */
    const cJSON *apps = get(get(get(get(get(c->view, "data"), str(m, "from")), "databases"), db),
                            "apps"),
                *a;
    if (!have)
        return;
    if (!apps)
        apps = have;
    cJSON_ArrayForEach(a, apps) if (!jn_cluster_has_string(have, a->valuestring) ||
                                    !get(get(mine, "dbenv"), a->valuestring)) return;
    char id[300];
    move_id(db, m, id, sizeof(id));
    const cJSON *done = get(c->dbmove_before, id);
    if (strcmp(started(c, db, m), "switch") == 0) {
        /* restarted once: the advance again (a view read before it, which
         * fails the compare, or an advance that did not get through) */
        if (done) {
            cJSON_AddItemToObject(m, "before", cJSON_Duplicate(done, true));
            cJSON_AddNumberToObject(m, "drain_at", (double)jn_now_ms());
            advance(c, db, m, "drain", NULL);
        }
        return;
    }
    start(c, db, m, "switch");
    cJSON *before = cJSON_AddObjectToObject(m, "before");
    cJSON_ArrayForEach(a, apps)
    {
        int v = (int)cJSON_GetNumberValue(get(get(get(c->view, "apps"), a->valuestring),
                                              "version"));
        if (v <= 0)
            continue; /* nothing runs: its first deploy gets the settings */
        char err[512];
        int nv = jn_cluster_restart(c, a->valuestring, err, sizeof(err));
        if (nv < 0)
            jn_warn("cluster: app '%s': no restart onto database %s here: %s", a->valuestring,
                    db, err);
        else
            cJSON_AddNumberToObject(before, a->valuestring, v);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->dbmove_before, id);
    cJSON_AddItemToObject(c->dbmove_before, id, cJSON_Duplicate(before, true));
    cJSON_AddNumberToObject(m, "drain_at", (double)jn_now_ms());
    advance(c, db, m, "drain", NULL);
}

/* Whether every instance of the apps in before runs a later version. */
static bool restarted(struct jn_cluster *c, const cJSON *before)
{
    const cJSON *b, *per;
    cJSON_ArrayForEach(b, before)
    {
        cJSON_ArrayForEach(per, get(get(c->view, "instances"), b->string))
            if (cJSON_GetNumberValue(get(per, "version")) <= b->valuedouble) return false;
    }
    return true;
}

/* drain, on the node the database leaves. */
static void drain_here(struct jn_cluster *c, const char *db, cJSON *m)
{
    char err[1024] = "";
    if (!has_db(c, db)) {
        /* once this node's record without it is in etcd: no scheduler sees
         * it here after the move is over */
        if (!get(get(get(get(c->view, "data"), c->node), "databases"), db)) {
            jn_notice("cluster: database %s: moved to node %s", db, str(m, "to"));
            finish(c, db);
        }
        return;
    }
    if (strcmp(started(c, db, m), "destroy") == 0 && job_state(c, db, m, err, sizeof(err)) == 1)
        return;
    int64_t since = (int64_t)cJSON_GetNumberValue(get(m, "drain_at"));
    const cJSON *done = get(m, "restarted_ms");
    if (!done) {
        /* the old instances, stopping, may still be sent a request by a
         * gateway that has not heard yet: they keep their database GRACE_MS */
        if (restarted(c, get(m, "before")) || jn_now_ms() - since >= DRAIN_MAX_MS) {
            cJSON_AddNumberToObject(m, "restarted_ms", (double)jn_now_ms());
            advance(c, db, m, "drain", NULL);
        }
        return;
    }
    if (jn_now_ms() - (int64_t)cJSON_GetNumberValue(done) < GRACE_MS)
        return;
    int id;
    if (jn_dbs_destroy_moved(c->dbs, db, cJSON_IsTrue(get(m, "purge")), &id, err,
                             sizeof(err)) == 0)
        start(c, db, m, "destroy");
    else
        jn_warn("cluster: database %s: cannot remove the copy it left: %s", db, err);
}

/* failed, on the node the database was to go to: what this move made
 * here goes, then the record says so. */
static void failed_to(struct jn_cluster *c, const char *db, cJSON *m)
{
    char err[1024] = "";
    const char *kind = started(c, db, m);
    if (cJSON_IsTrue(get(m, "cleaned")) || job_state(c, db, m, err, sizeof(err)) == 1)
        return;
    bool made = strcmp(kind, "create") == 0 || strcmp(kind, "import") == 0;
    int id;
    if (made && has_db(c, db)) {
        if (jn_dbs_destroy_moved(c->dbs, db, true, &id, err, sizeof(err)) == 0)
            start(c, db, m, "destroy");
        else
            jn_warn("cluster: database %s: cannot remove the copy of a failed move: %s", db,
                    err);
        return;
    }
    cJSON_AddTrueToObject(m, "cleaned");
    advance(c, db, m, "failed", NULL);
}

/* failed, on the node the database was to leave: writable again; the
 * record goes once the other node has cleaned up (or is gone). */
static void failed_from(struct jn_cluster *c, const char *db, cJSON *m)
{
    char err[1024] = "";
    if (job_state(c, db, m, err, sizeof(err)) == 1)
        return;
    if (jn_dbs_frozen(c->dbs, db)) {
        if (jn_dbs_freeze(c->dbs, db, false, err, sizeof(err)) == 0)
            start(c, db, m, "thaw");
        return;
    }
    /* the reason stays a moment for clients that follow the move */
    const cJSON *at = get(m, "failed_ms");
    if (cJSON_IsNumber(at) && jn_now_ms() - (int64_t)at->valuedouble < FAILED_SHOW_MS)
        return;
    if (cJSON_IsTrue(get(m, "cleaned")) || !get(get(c->view, "nodes"), str(m, "to")))
        finish(c, db);
}

/* What a move that is over left here (this node died during it, say): an
 * incomplete copy goes; a server still read-only for it takes writes
 * again. */
static void sweep_left(struct jn_cluster *c)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, get(get(get(c->view, "data"), c->node), "databases"))
    {
        const cJSON *m = get(get(c->view, "dbmoves"), d->string);
        const char *to = str(m, "to"), *from = str(m, "from");
        char err[512];
        int id;
        if (!(to && strcmp(to, c->node) == 0) && jn_dbs_moving_in(c->dbs, d->string) &&
            jn_dbs_destroy_moved(c->dbs, d->string, true, &id, err, sizeof(err)) == 0)
            jn_notice("cluster: database %s: removing the incomplete copy of a move that is over",
                      d->string);
        if (!(from && strcmp(from, c->node) == 0) && jn_dbs_frozen(c->dbs, d->string) &&
            jn_dbs_freeze(c->dbs, d->string, false, err, sizeof(err)) == 0)
            jn_notice("cluster: database %s: read-only for a move that is over: writable again",
                      d->string);
    }
}

/* Forgets what this node did for moves that are over (in o: {id: ...}). */
static void prune_moves(struct jn_cluster *c, cJSON *o)
{
    cJSON *j = o->child;
    while (j) {
        cJSON *next = j->next;
        char db[256];
        snprintf(db, sizeof(db), "%s", j->string);
        char *at = strrchr(db, '@');
        if (at)
            *at = '\0';
        const cJSON *m = get(get(c->view, "dbmoves"), db);
        char id[300] = "";
        if (m)
            move_id(db, m, id, sizeof(id));
        if (strcmp(id, j->string) != 0)
            cJSON_DeleteItemFromObjectCaseSensitive(o, j->string);
        j = next;
    }
}

void jn_cluster_dbmove_apply(struct jn_cluster *c)
{
    if (!c->dbs)
        return;
    const cJSON *x;
    cJSON_ArrayForEach(x, get(c->view, "dbmoves"))
    {
        const char *from = str(x, "from"), *to = str(x, "to"), *state = str(x, "state");
        if (!from || !to || !state)
            continue;
        bool is_from = strcmp(from, c->node) == 0, is_to = strcmp(to, c->node) == 0;
        if (!is_from && !is_to)
            continue;
        cJSON *m = cJSON_Duplicate(x, true);
        if (strcmp(state, "failed") == 0 && is_to)
            failed_to(c, x->string, m);
        else if (strcmp(state, "failed") == 0)
            failed_from(c, x->string, m);
        else if (is_to && strcmp(state, "prepare") == 0)
            prepare_here(c, x->string, m);
        else if (is_from && strcmp(state, "prepare") == 0)
            to_gone(c, x->string, m);
        else if (is_from && strcmp(state, "freeze") == 0)
            keep_frozen(c, x->string, m, true);
        else if (is_from && (strcmp(state, "copy") == 0 || strcmp(state, "switch") == 0))
            keep_frozen(c, x->string, m, false);
        else if (is_from && strcmp(state, "drain") == 0)
            drain_here(c, x->string, m);
        else if (is_to && strcmp(state, "copy") == 0)
            copy_here(c, x->string, m);
        else if (is_to && strcmp(state, "switch") == 0)
            switch_here(c, x->string, m);
        cJSON_Delete(m);
    }
    if (cJSON_IsTrue(get(c->view, "etcd"))) {
        prune_moves(c, c->dbmove_jobs);
        prune_moves(c, c->dbmove_before);
        sweep_left(c);
    }
}

bool jn_cluster_db_moving_from_here(const struct jn_cluster *c, const char *db)
{
    const cJSON *m = get(get(c->view, "dbmoves"), db);
    const char *from = str(m, "from"), *state = str(m, "state");
    return from && state && strcmp(from, c->node) == 0 && strcmp(state, "failed") != 0;
}

int jn_cluster_db_busy(const struct jn_cluster *c, const char *db, char *err, size_t errlen)
{
    const cJSON *m = get(get(c->view, "dbmoves"), db);
    if (!m)
        return 0;
    snprintf(err, errlen,
             "database '%s' is moving from node %s to node %s (%s); try again when the move is "
             "over (see: jern db move %s)",
             db, str(m, "from") ? str(m, "from") : "?", str(m, "to") ? str(m, "to") : "?",
             str(m, "state") ? str(m, "state") : "?", db);
    return JN_EEXIST;
}

int jn_cluster_db_move(struct jn_cluster *c, const char *db, const char *to, char *err,
                       size_t errlen)
{
    if (!cJSON_IsTrue(get(c->view, "etcd")))
        return jn_cluster_etcd_failed(c, JN_ECLOSED, err, errlen);
    const char *from = jn_cluster_db_node(get(c->view, "data"), db);
    const cJSON *node = get(get(c->view, "nodes"), to ? to : "");
    if (!from) {
        snprintf(err, errlen, "no node of the cluster has a database '%.64s' (see: jern where)",
                 db);
        return JN_ENOTFOUND;
    }
    if (!node) {
        snprintf(err, errlen, "node '%.64s' is not in the cluster (see: jern nodes)", to);
        return JN_ENOTFOUND;
    }
    if (strcmp(from, to) == 0) {
        snprintf(err, errlen, "database '%s' is on node %s already", db, to);
        return JN_EEXIST;
    }
    if (get(get(c->view, "drain"), to)) {
        snprintf(err, errlen, "node %s is drained: it takes no workloads (jern node undrain %s)",
                 to, to);
        return JN_EBADINPUT;
    }
    const cJSON *rec = get(get(get(get(c->view, "data"), from), "databases"), db), *a;
    cJSON_ArrayForEach(a, get(rec, "apps"))
    {
        const cJSON *want = get(get(get(c->view, "apps"), a->valuestring), "require");
        if (!jn_cluster_labels_match(get(node, "labels"), cJSON_IsObject(want) ? want : NULL)) {
            char req[512];
            jn_cluster_labels_text(want, req, sizeof(req));
            snprintf(err, errlen,
                     "refused: app '%s' (attached to %s) requires the labels %s, which node %s "
                     "lacks, so its data would sit where it must not",
                     a->valuestring, db, req, to);
            return JN_EBADINPUT;
        }
    }
    double bytes = cJSON_GetNumberValue(get(rec, "memory_mb")) * 1024 * 1024;
    if (!jn_cluster_db_fits(get(c->view, "nodes"), to, get(c->view, "apps"),
                            get(c->view, "assign"), get(c->view, "data"), bytes)) {
        snprintf(err, errlen,
                 "refused: node %s lacks the memory for database '%s' (%.0fM) beside its "
                 "instances and databases (see: jern nodes)",
                 to, db, cJSON_GetNumberValue(get(rec, "memory_mb")));
        return JN_EBADINPUT;
    }
    if (!cJSON_IsTrue(get(rec, "remote"))) {
        snprintf(err, errlen,
                 "database '%s' on node %s listens on 127.0.0.1 only (its my.cnf could not "
                 "be given the node's address: see that node's log at its start), so no other "
                 "node can copy it; restore a backup into a new database on a cluster node "
                 "instead (jern db restore %s ID --to NEW)",
                 db, from, db);
        return JN_EBADINPUT;
    }
    cJSON *m = jn_cluster_db_move_new(db, from, to, rec, false, jn_now_ms());
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DBMOVES "%s", db);
    struct jn_etcd_kv cur = {0};
    int r = jn_etcd_create(c->ce, key, s, 0, &cur);
    free(s);
    free(cur.key);
    free(cur.value);
    if (r < 0)
        return jn_cluster_etcd_failed(c, r, err, errlen);
    if (r == 0) {
        snprintf(err, errlen, "database '%s' is being moved already (see: jern db move %s)", db,
                 db);
        return JN_EEXIST;
    }
    jn_notice("cluster: database %s: move from node %s to node %s asked", db, from, to);
    return 0;
}

cJSON *jn_cluster_db_move_json(const struct jn_cluster *c, const char *db)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *m = get(get(c->view, "dbmoves"), db);
    if (m) {
        cJSON *d = cJSON_Duplicate(m, true);
        cJSON_DeleteItemFromObjectCaseSensitive(d, "mod_revision");
        cJSON_AddItemToObject(o, "move", d);
    } else {
        cJSON_AddNullToObject(o, "move");
    }
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    const cJSON *n;
    cJSON_ArrayForEach(n, get(c->view, "data")) if (get(get(n, "databases"), db))
        cJSON_AddItemToArray(nodes, cJSON_CreateString(n->string));
    return o;
}
