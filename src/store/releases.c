/*
 * releases.c: releases, the release an app serves, and instances, in the store.
 */
#include "core/common.h"

#include "store/release.h"
#include "store/store_int.h"

#include <time.h>

void jn_store_release_clear(struct jn_store_release *r)
{
    if (!r)
        return;
    free(r->command);
    free(r->env);
    free(r->spec);
    free(r->config);
    r->command = r->env = r->spec = r->config = NULL;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return jn_strdup(t ? (const char *)t : "");
}

#define RELEASE_COLS                                                                               \
    "r.id, r.version, r.status, r.created_at, COALESCE(r.image, ''), COALESCE(r.image_id, ''),"    \
     " COALESCE(r.command, ''), r.env, r.spec, COALESCE(r.config, '')"

static void read_release(sqlite3_stmt *s, struct jn_store_release *r)
{
    r->id = sqlite3_column_int64(s, 0);
    r->version = sqlite3_column_int(s, 1);
    jn_store_col_text(s, 2, r->status, sizeof(r->status));
    r->created_at = sqlite3_column_int64(s, 3);
    jn_store_col_text(s, 4, r->image, sizeof(r->image));
    jn_store_col_text(s, 5, r->image_id, sizeof(r->image_id));
    r->command = col_dup(s, 6);
    r->env = col_dup(s, 7);
    r->spec = col_dup(s, 8);
    r->config = col_dup(s, 9);
}

int jn_store_release_create(struct jn_store *st, const char *app, const char *image,
                            const char *command, const char *config_json, const char *env_json,
                            const char *spec_json, struct jn_store_release *out)
{
    int r = jn_store_savepoint(st);
    if (r < 0)
        return r;
    sqlite3_stmt *s = jn_store_prepare(
        st, "INSERT INTO releases(app_id, version, image, command, env, spec, created_at, config)"
            " SELECT a.id, COALESCE((SELECT MAX(version) FROM releases WHERE app_id = a.id), 0)"
            " + 1, ?2, ?3, ?4, ?5, ?6, ?7 FROM apps a WHERE a.name = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, image && *image ? image : NULL, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, command && *command ? command : NULL, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, env_json ? env_json : "{}", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, spec_json ? spec_json : "{}", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 6, (int64_t)time(NULL));
        sqlite3_bind_text(s, 7, config_json, -1, SQLITE_TRANSIENT);
    }
    r = jn_store_exec_changed(st, s, "release create");
    int64_t id = r == 0 ? sqlite3_last_insert_rowid(st->db) : 0;
    r = jn_store_release(st, r);
    if (r < 0 || !out)
        return r;
    return jn_store_release_get(st, app, 0, id, out);
}

int jn_store_release_get(struct jn_store *st, const char *app, int version, int64_t id,
                         struct jn_store_release *out)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "SELECT " RELEASE_COLS " FROM releases r JOIN apps a ON a.id = r.app_id"
            " WHERE a.name = ?1 AND (r.version = ?2 OR (?2 = 0 AND r.id = ?3))");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, version);
    sqlite3_bind_int64(s, 3, id);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW)
        read_release(s, out);
    else
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "release get");
    sqlite3_finalize(s);
    return r;
}

int jn_store_release_list(struct jn_store *st, const char *app, struct jn_store_release **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT " RELEASE_COLS
                                           " FROM releases r JOIN apps a ON a.id = r.app_id"
                                           " WHERE a.name = ?1 ORDER BY r.version DESC");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    size_t n = 0, cap = 0;
    struct jn_store_release *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        read_release(s, &v[n++]);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        jn_store_release_list_free(v, (int)n);
        return jn_store_rc(st, rc, "release list");
    }
    *out = v;
    return (int)n;
}

void jn_store_release_list_free(struct jn_store_release *v, int n)
{
    for (int i = 0; v && i < n; i++)
        jn_store_release_clear(&v[i]);
    free(v);
}

static int exec_id_text(struct jn_store *st, const char *sql, int64_t id, const char *text,
                        const char *what)
{
    sqlite3_stmt *s = jn_store_prepare(st, sql);
    if (!s)
        return JN_EBASE;
    sqlite3_bind_int64(s, 1, id);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, what);
}

int jn_store_release_set_status(struct jn_store *st, int64_t id, const char *status)
{
    return exec_id_text(st, "UPDATE releases SET status = ?2 WHERE id = ?1", id, status,
                        "release status");
}

int jn_store_release_set_image_id(struct jn_store *st, int64_t id, const char *image_id)
{
    return exec_id_text(st, "UPDATE releases SET image_id = ?2 WHERE id = ?1", id, image_id,
                        "release image");
}

int jn_store_release_delete(struct jn_store *st, int64_t id)
{
    return exec_id_text(st, "DELETE FROM releases WHERE id = ?1", id, NULL, "release delete");
}

int jn_store_app_serving(struct jn_store *st, const char *app, int64_t *release_id, int *scale)
{
    sqlite3_stmt *s =
        jn_store_prepare(st, "SELECT COALESCE(release_id, 0), scale FROM apps WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW) {
        if (release_id)
            *release_id = sqlite3_column_int64(s, 0);
        if (scale)
            *scale = sqlite3_column_int(s, 1);
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "app serving");
    }
    sqlite3_finalize(s);
    return r;
}

int jn_store_app_set_serving(struct jn_store *st, const char *app, int64_t release_id, int scale)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "UPDATE apps SET release_id = NULLIF(?2, 0), scale = ?3 WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, release_id);
    sqlite3_bind_int(s, 3, scale);
    return jn_store_exec_changed(st, s, "app set serving");
}

void jn_store_instance_addr(const struct jn_store_instance *in, char *out, size_t len)
{
    if (in->sock[0])
        snprintf(out, len, "unix:%s", in->sock);
    else
        snprintf(out, len, "127.0.0.1:%d", in->host_port);
}

int jn_store_instance_create(struct jn_store *st, struct jn_store_instance *in)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "INSERT INTO instances(app_id, release_id, driver, name, external_id, host_port,"
            " state, health, started_at, restarts, sock)"
            " SELECT id, ?2, ?3, ?4, ?5, NULLIF(?6, 0), ?7, ?8, ?9, ?10, NULLIF(?11, '')"
            " FROM apps WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, in->app, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, in->release_id);
    sqlite3_bind_text(s, 3, in->driver, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, in->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, in->external_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 6, in->host_port);
    sqlite3_bind_text(s, 7, jn_inst_state_name(in->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, jn_inst_health_name(in->health), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, in->started_at);
    sqlite3_bind_int(s, 10, in->restarts);
    sqlite3_bind_text(s, 11, in->sock, -1, SQLITE_TRANSIENT);
    int r = jn_store_exec_changed(st, s, "instance create");
    if (r == 0)
        in->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

int jn_store_instance_update(struct jn_store *st, const struct jn_store_instance *in)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "UPDATE instances SET name = ?2, external_id = ?3, host_port = NULLIF(?4, 0),"
            " state = ?5, health = ?6, started_at = ?7, restarts = ?8, sock = NULLIF(?9, '')"
            " WHERE id = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_int64(s, 1, in->id);
    sqlite3_bind_text(s, 2, in->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, in->external_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, in->host_port);
    sqlite3_bind_text(s, 5, jn_inst_state_name(in->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, jn_inst_health_name(in->health), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, in->started_at);
    sqlite3_bind_int(s, 8, in->restarts);
    sqlite3_bind_text(s, 9, in->sock, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "instance update");
}

int jn_store_instance_delete(struct jn_store *st, int64_t id)
{
    return exec_id_text(st, "DELETE FROM instances WHERE id = ?1", id, NULL, "instance delete");
}

int jn_store_instance_list(struct jn_store *st, const char *app, struct jn_store_instance **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(
        st, "SELECT i.id, a.name, COALESCE(i.release_id, 0), COALESCE(r.version, 0), i.driver,"
            " COALESCE(i.name, ''), COALESCE(i.external_id, ''), COALESCE(i.host_port, 0),"
            " i.state, i.health, COALESCE(i.started_at, 0), i.restarts, COALESCE(i.sock, '')"
            " FROM instances i JOIN apps a ON a.id = i.app_id"
            " LEFT JOIN releases r ON r.id = i.release_id"
            " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY a.name, i.id");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    size_t n = 0, cap = 0;
    struct jn_store_instance *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        struct jn_store_instance *x = &v[n++];
        memset(x, 0, sizeof(*x));
        x->id = sqlite3_column_int64(s, 0);
        jn_store_col_text(s, 1, x->app, sizeof(x->app));
        x->release_id = sqlite3_column_int64(s, 2);
        x->version = sqlite3_column_int(s, 3);
        jn_store_col_text(s, 4, x->driver, sizeof(x->driver));
        jn_store_col_text(s, 5, x->name, sizeof(x->name));
        jn_store_col_text(s, 6, x->external_id, sizeof(x->external_id));
        x->host_port = sqlite3_column_int(s, 7);
        char name[16];
        jn_store_col_text(s, 8, name, sizeof(name));
        int k = jn_inst_state_parse(name);
        x->state = k >= 0 ? (enum jn_inst_state)k : JN_INST_FAILED; /* never restarted */
        jn_store_col_text(s, 9, name, sizeof(name));
        k = jn_inst_health_parse(name);
        x->health = k >= 0 ? (enum jn_inst_health)k : JN_HEALTH_UNKNOWN;
        x->started_at = sqlite3_column_int64(s, 10);
        x->restarts = sqlite3_column_int(s, 11);
        jn_store_col_text(s, 12, x->sock, sizeof(x->sock));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return jn_store_rc(st, rc, "instance list");
    }
    *out = v;
    return (int)n;
}
