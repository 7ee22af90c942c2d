/*
 * apps.c: apps and their domains in the store.
 */
#include "core/common.h"

#include "store/store.h"
#include "store/store_int.h"

#include <time.h>

static void read_app(sqlite3_stmt *s, struct jn_store_app *a)
{
    a->id = sqlite3_column_int64(s, 0);
    jn_store_col_text(s, 1, a->name, sizeof(a->name));
    a->created_at = sqlite3_column_int64(s, 2);
}

int jn_store_app_get(struct jn_store *st, const char *name, struct jn_store_app *out)
{
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT id, name, created_at FROM apps WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW) {
        if (out)
            read_app(s, out);
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "app get");
    }
    sqlite3_finalize(s);
    return r;
}

int jn_store_app_config_get(struct jn_store *st, const char *name, char **json)
{
    *json = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT config FROM apps WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        *json = jn_strdup(t ? (const char *)t : "{}");
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "app config get");
    }
    sqlite3_finalize(s);
    return r;
}

int jn_store_app_config_set(struct jn_store *st, const char *name, const char *json)
{
    sqlite3_stmt *s = jn_store_prepare(st, "UPDATE apps SET config = ?2 WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, json, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "app config set");
}

int jn_store_app_create(struct jn_store *st, const char *name, struct jn_store_app *out)
{
    sqlite3_stmt *s = jn_store_prepare(st, "INSERT INTO apps(name, created_at) VALUES (?1, ?2)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
    int r = jn_store_exec_stmt(st, s, "app create");
    if (r < 0 || !out)
        return r;
    return jn_store_app_get(st, name, out);
}

int jn_store_app_delete(struct jn_store *st, const char *name)
{
    int r = jn_store_savepoint(st);
    if (r < 0)
        return r;
    /* The app's upstream is named like the app; its servers go with it.
     * Domains, releases and instances follow by ON DELETE CASCADE. */
    sqlite3_stmt *s = jn_store_prepare(st, "DELETE FROM upstream_servers WHERE upstream = ?1");
    if (s)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    r = jn_store_exec_stmt(st, s, "app delete servers");
    if (r == 0) {
        s = jn_store_prepare(st, "DELETE FROM apps WHERE name = ?1");
        if (s)
            sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        r = jn_store_exec_changed(st, s, "app delete");
    }
    return jn_store_release(st, r);
}

int jn_store_app_list(struct jn_store *st, struct jn_store_app **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT id, name, created_at FROM apps ORDER BY name");
    if (!s)
        return JN_EBASE;
    size_t n = 0, cap = 0;
    struct jn_store_app *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        read_app(s, &v[n++]);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return jn_store_rc(st, rc, "app list");
    }
    *out = v;
    return (int)n;
}

int jn_store_domain_add(struct jn_store *st, const char *app, const char *domain)
{
    struct jn_store_app a;
    int r = jn_store_app_get(st, app, &a);
    if (r < 0)
        return r;
    sqlite3_stmt *s = jn_store_prepare(st, "INSERT INTO domains(domain, app_id) VALUES (?1, ?2)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, domain, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, a.id);
    return jn_store_exec_stmt(st, s, "domain add");
}

int jn_store_domain_owner(struct jn_store *st, const char *domain, char *app, size_t len)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "SELECT a.name FROM domains d JOIN apps a ON a.id = d.app_id WHERE d.domain = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, domain, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        jn_store_col_text(s, 0, app, len);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW    ? 0
           : rc == SQLITE_DONE ? JN_ENOTFOUND
                               : jn_store_rc(st, rc, "domain owner");
}

int jn_store_domain_remove(struct jn_store *st, const char *app, const char *domain)
{
    sqlite3_stmt *s = jn_store_prepare(st, "DELETE FROM domains WHERE domain = ?1"
                                           " AND app_id = (SELECT id FROM apps WHERE name = ?2)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, domain, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, app, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "domain remove");
}

int jn_store_domain_list(struct jn_store *st, const char *app, struct jn_store_domain **out)
{
    *out = NULL;
    sqlite3_stmt *s =
        jn_store_prepare(st, "SELECT d.domain, a.name FROM domains d JOIN apps a ON a.id = d.app_id"
                             " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY a.name, d.domain");
    if (!s)
        return JN_EBASE;
    if (app)
        sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    size_t n = 0, cap = 0;
    struct jn_store_domain *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        jn_store_col_text(s, 0, v[n].domain, sizeof(v[n].domain));
        jn_store_col_text(s, 1, v[n].app, sizeof(v[n].app));
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return jn_store_rc(st, rc, "domain list");
    }
    *out = v;
    return (int)n;
}
