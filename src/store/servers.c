/*
 * servers.c: upstream servers added or changed at runtime, in the store.
 */
#include "core/common.h"

#include "store/store.h"
#include "store/store_int.h"

static bool weight_ok(int w)
{
    return w >= 1 && w <= 1000;
}

int jn_store_server_add(struct jn_store *st, const char *upstream, const char *addr, int weight,
                        const char *state)
{
    if (!weight_ok(weight))
        return JN_EBADINPUT;
    sqlite3_stmt *s =
        jn_store_prepare(st, "INSERT INTO upstream_servers(upstream, addr, weight, state, origin)"
                             " VALUES (?1, ?2, ?3, ?4, 'api')");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, weight);
    sqlite3_bind_text(s, 4, state ? state : "ready", -1, SQLITE_TRANSIENT);
    return jn_store_exec_stmt(st, s, "server add");
}

int jn_store_server_remove(struct jn_store *st, const char *upstream, const char *addr)
{
    sqlite3_stmt *s =
        jn_store_prepare(st, "DELETE FROM upstream_servers WHERE upstream = ?1 AND addr = ?2");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "server remove");
}

int jn_store_server_set(struct jn_store *st, const char *upstream, const char *addr, int weight,
                        const char *state)
{
    if (weight > 0 && !weight_ok(weight))
        return JN_EBADINPUT;
    sqlite3_stmt *s =
        jn_store_prepare(st, "UPDATE upstream_servers SET weight = COALESCE(?3, weight),"
                             " state = COALESCE(?4, state) WHERE upstream = ?1 AND addr = ?2");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_TRANSIENT);
    if (weight > 0)
        sqlite3_bind_int(s, 3, weight);
    if (state)
        sqlite3_bind_text(s, 4, state, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "server set");
}

int jn_store_server_override(struct jn_store *st, const char *upstream, const char *addr,
                             int weight, const char *state)
{
    if (!weight_ok(weight))
        return JN_EBADINPUT;
    sqlite3_stmt *s = jn_store_prepare(
        st, "INSERT INTO upstream_servers(upstream, addr, weight, state, origin)"
            " VALUES (?1, ?2, ?3, ?4, 'config') ON CONFLICT(upstream, addr) DO UPDATE"
            " SET weight = excluded.weight, state = excluded.state, origin = 'config'");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, weight);
    sqlite3_bind_text(s, 4, state, -1, SQLITE_TRANSIENT);
    return jn_store_exec_stmt(st, s, "server override");
}

static void read_server(sqlite3_stmt *s, struct jn_store_server *v)
{
    jn_store_col_text(s, 0, v->upstream, sizeof(v->upstream));
    jn_store_col_text(s, 1, v->addr, sizeof(v->addr));
    v->weight = sqlite3_column_int(s, 2);
    jn_store_col_text(s, 3, v->state, sizeof(v->state));
    jn_store_col_text(s, 4, v->origin, sizeof(v->origin));
}

int jn_store_server_list(struct jn_store *st, const char *upstream, struct jn_store_server **out)
{
    *out = NULL;
    sqlite3_stmt *s =
        jn_store_prepare(st, "SELECT upstream, addr, weight, state, origin FROM upstream_servers"
                             " WHERE ?1 IS NULL OR upstream = ?1 ORDER BY upstream, id");
    if (!s)
        return JN_EBASE;
    if (upstream)
        sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    size_t n = 0, cap = 0;
    struct jn_store_server *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        read_server(s, &v[n++]);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return jn_store_rc(st, rc, "server list");
    }
    *out = v;
    return (int)n;
}

int jn_store_server_get(struct jn_store *st, const char *upstream, const char *addr,
                        struct jn_store_server *out)
{
    sqlite3_stmt *s =
        jn_store_prepare(st, "SELECT upstream, addr, weight, state, origin FROM upstream_servers"
                             " WHERE upstream = ?1 AND addr = ?2");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, upstream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW)
        read_server(s, out);
    else
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "server get");
    sqlite3_finalize(s);
    return r;
}
