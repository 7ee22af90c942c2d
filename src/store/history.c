/*
 * history.c: the change history in the store (history.h).
 */
#include "core/common.h"

#include "store/history.h"
#include "store/store_int.h"

#include <time.h>

int jn_store_history_add(struct jn_store *st, const char *app, const char *who,
                         const char *action, const char *detail)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "INSERT INTO history(at, app, who, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_int64(s, 1, (int64_t)time(NULL));
    sqlite3_bind_text(s, 2, app && *app ? app : NULL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, detail ? detail : "", -1, SQLITE_TRANSIENT);
    return jn_store_exec_stmt(st, s, "history add");
}

int jn_store_history_list(struct jn_store *st, const char *app, int limit,
                          struct jn_store_history **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(
        st, "SELECT id, at, COALESCE(app, ''), who, action, detail FROM"
            " (SELECT * FROM history WHERE ?1 IS NULL OR app = ?1 ORDER BY id DESC LIMIT ?2)"
            " ORDER BY id");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, limit);
    size_t n = 0, cap = 0;
    struct jn_store_history *v = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = jn_realloc(v, cap * sizeof(*v));
        }
        struct jn_store_history *h = &v[n++];
        h->id = sqlite3_column_int64(s, 0);
        h->at = sqlite3_column_int64(s, 1);
        jn_store_col_text(s, 2, h->app, sizeof(h->app));
        jn_store_col_text(s, 3, h->who, sizeof(h->who));
        jn_store_col_text(s, 4, h->action, sizeof(h->action));
        jn_store_col_text(s, 5, h->detail, sizeof(h->detail));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return jn_store_rc(st, rc, "history list");
    }
    *out = v;
    return (int)n;
}
