/* autoscale.c: the apps.autoscale column (migration 3). */
#include "core/common.h"

#include "store/autoscale.h"
#include "store/store_int.h"

int jn_store_app_autoscale(struct jn_store *st, const char *app, char **json)
{
    *json = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT autoscale FROM apps WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r = 0;
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        if (t)
            *json = jn_strdup((const char *)t);
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "app autoscale");
    }
    sqlite3_finalize(s);
    return r;
}

int jn_store_app_set_autoscale(struct jn_store *st, const char *app, const char *json)
{
    sqlite3_stmt *s = jn_store_prepare(st, "UPDATE apps SET autoscale = ?2 WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, app, -1, SQLITE_TRANSIENT);
    if (json)
        sqlite3_bind_text(s, 2, json, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 2);
    return jn_store_exec_changed(st, s, "app set autoscale");
}
