/*
 * dbenv.c: managed databases across a cluster's nodes (docs/CLUSTER.md). A
 * database lives on the node that made it and listens on that node's
 * advertised address too; an app attached to it may run on any node. The
 * node holding the database reports each attached app's credentials in its
 * data record (/jern/data/NODE, "dbenv"); every other node writes them to
 * its own STATE/db/env/APP with that node's address, so instances it starts
 * get DATABASE_URL and MYSQL_* as they would next to the database. A detach
 * there removes them here. Control thread.
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "core/log.h"
#include "db/env.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const KEYS[] = {"MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD",
                                   "MYSQL_DATABASE"};

cJSON *jn_cluster_dbenv_report(struct jn_cluster *c, const cJSON *dbs)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *d, *a;
    cJSON_ArrayForEach(d, dbs)
    {
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(d, "apps"))
        {
            char node[256], v[256];
            if (!cJSON_IsString(a) ||
                jn_db_env_node(c->state_dir, a->valuestring, node, sizeof(node)) == 0)
                continue; /* not this node's: its file names another node */
            cJSON *e = cJSON_CreateObject();
            bool ok = true;
            for (size_t i = 0; ok && i < JN_ARRAY_LEN(KEYS); i++) {
                ok = jn_db_env_get(c->state_dir, a->valuestring, KEYS[i], v, sizeof(v)) == 0;
                if (ok)
                    cJSON_AddStringToObject(e, KEYS[i], v);
            }
            explicit_bzero(v, sizeof(v));
            cJSON_AddStringToObject(e, "db", d->string);
            if (jn_cluster_db_moving_from_here(c, d->string))
                cJSON_AddTrueToObject(e, "moving"); /* its copy elsewhere wins */
            if (ok)
                cJSON_AddItemToObject(out, a->valuestring, e);
            else
                cJSON_Delete(e);
        }
    }
    return out;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Whether app is attached to a database of this node that is moving away. */
static bool leaving(struct jn_cluster *c, const char *app)
{
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c->view, "data"), c->node);
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(mine, "databases"))
    {
        if (jn_cluster_has_string(cJSON_GetObjectItemCaseSensitive(d, "apps"), app))
            return jn_cluster_db_moving_from_here(c, d->string);
    }
    return false;
}

/* Writes app's file for the database on node (at host) unless it says so
 * already, or app is attached to a database of this node (that is not
 * moving away while its copy on node takes over). */
static void follow(struct jn_cluster *c, const char *app, const char *node, const char *host,
                   const cJSON *e)
{
    char cur_node[256], cur[256];
    bool remote = jn_db_env_node(c->state_dir, app, cur_node, sizeof(cur_node)) == 0;
    if (!remote && jn_db_env_get(c->state_dir, app, "MYSQL_HOST", cur, sizeof(cur)) == 0 &&
        (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "moving")) || !leaving(c, app)))
        return; /* a database of this node: its own attach wins */
    const char *port = str(e, "MYSQL_PORT"), *user = str(e, "MYSQL_USER"),
               *pass = str(e, "MYSQL_PASSWORD"), *db = str(e, "MYSQL_DATABASE");
    if (!port || !user || !pass || !db)
        return;
    bool same = remote && strcmp(cur_node, node) == 0;
    for (size_t i = 0; same && i < JN_ARRAY_LEN(KEYS); i++)
        same = jn_db_env_get(c->state_dir, app, KEYS[i], cur, sizeof(cur)) == 0 &&
               strcmp(cur, str(e, KEYS[i])) == 0;
    same = same && jn_db_env_get(c->state_dir, app, "MYSQL_HOST", cur, sizeof(cur)) == 0 &&
           strcmp(cur, host) == 0;
    explicit_bzero(cur, sizeof(cur));
    if (same)
        return;
    int r = jn_db_env_write_remote(c->state_dir, app, node, host, atoi(port), user, pass, db);
    if (r < 0)
        jn_error("cluster: app '%s': cannot write its database settings: %s", app,
                 jn_strerror(r));
    else
        jn_notice("cluster: app '%s': database %s on node %s (%s:%s) for its instances here",
                  app, str(e, "db") ? str(e, "db") : "?", node, host, port);
}

void jn_cluster_dbenv_apply(struct jn_cluster *c)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(c->view, "data");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(c->view, "nodes");
    const cJSON *n, *e;
    /* During a move two nodes report an app: the copy that is not moving
     * away wins. */
    cJSON *settled = cJSON_CreateObject();
    cJSON_ArrayForEach(n, data)
    {
        if (strcmp(n->string, c->node) != 0)
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "dbenv"))
                if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "moving")) &&
                    !cJSON_GetObjectItemCaseSensitive(settled, e->string))
                    cJSON_AddTrueToObject(settled, e->string);
    }
    cJSON_ArrayForEach(n, data)
    {
        const char *host = str(cJSON_GetObjectItemCaseSensitive(nodes, n->string), "advertise");
        if (strcmp(n->string, c->node) == 0 || !host)
            continue;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "dbenv"))
        {
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "moving")) ||
                !cJSON_GetObjectItemCaseSensitive(settled, e->string))
                follow(c, e->string, n->string, host, e);
        }
    }
    cJSON_Delete(settled);
    /* Detached (or destroyed) there: the node's record no longer lists the
     * app. A node that is away keeps its apps' settings here: its database
     * comes back with it. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/db/env", c->state_dir);
    DIR *dh = opendir(dir);
    for (struct dirent *de; dh && (de = readdir(dh));) {
        char node[256];
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp") ||
            jn_db_env_node(c->state_dir, de->d_name, node, sizeof(node)) < 0)
            continue;
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(data, node);
        if (rec && !cJSON_GetObjectItemCaseSensitive(
                       cJSON_GetObjectItemCaseSensitive(rec, "dbenv"), de->d_name)) {
            jn_db_env_remove(c->state_dir, de->d_name);
            jn_notice("cluster: app '%s': no longer attached to a database on node %s", de->d_name,
                      node);
        }
    }
    if (dh)
        closedir(dh);
}
