/*
 * databases.c: managed databases and their attachments in the store.
 */
#include "core/common.h"

#include "store/databases.h"
#include "store/store_int.h"

#include <time.h>

#define DB_COLS "name, memory_mb, dedicated, port, backup_every_s, backup_keep, created_at"

static void read_db(sqlite3_stmt *s, struct jn_store_db *d)
{
    jn_store_col_text(s, 0, d->name, sizeof(d->name));
    d->memory_mb = sqlite3_column_int64(s, 1);
    d->dedicated = sqlite3_column_int(s, 2) != 0;
    d->port = sqlite3_column_int(s, 3);
    d->backup_every_s = sqlite3_column_int64(s, 4);
    d->backup_keep = sqlite3_column_int(s, 5);
    d->created_at = sqlite3_column_int64(s, 6);
}

int jn_store_db_create(struct jn_store *st, const struct jn_store_db *d)
{
    sqlite3_stmt *s = jn_store_prepare(st, "INSERT INTO databases(" DB_COLS
                                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, d->memory_mb);
    sqlite3_bind_int(s, 3, d->dedicated);
    sqlite3_bind_int(s, 4, d->port);
    sqlite3_bind_int64(s, 5, d->backup_every_s);
    sqlite3_bind_int(s, 6, d->backup_keep);
    sqlite3_bind_int64(s, 7, d->created_at ? d->created_at : (int64_t)time(NULL));
    return jn_store_exec_stmt(st, s, "db create");
}

int jn_store_db_get(struct jn_store *st, const char *name, struct jn_store_db *out)
{
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT " DB_COLS " FROM databases WHERE name = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s), r = 0;
    if (rc == SQLITE_ROW) {
        if (out)
            read_db(s, out);
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "db get");
    }
    sqlite3_finalize(s);
    return r;
}

int jn_store_db_delete(struct jn_store *st, const char *name)
{
    sqlite3_stmt *s = jn_store_prepare(st, "DELETE FROM databases WHERE name = ?1");
    if (s)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    return jn_store_exec_changed(st, s, "db delete");
}

int jn_store_db_set_schedule(struct jn_store *st, const char *name, int64_t every_s, int keep)
{
    sqlite3_stmt *s = jn_store_prepare(
        st, "UPDATE databases SET backup_every_s = ?2, backup_keep = ?3 WHERE name = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, every_s);
        sqlite3_bind_int(s, 3, keep);
    }
    return jn_store_exec_changed(st, s, "db schedule");
}

int jn_store_db_list(struct jn_store *st, struct jn_store_db **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT " DB_COLS " FROM databases ORDER BY name");
    if (!s)
        return JN_EBASE;
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = jn_realloc(*out, (size_t)cap * sizeof(**out));
        }
        read_db(s, &(*out)[n++]);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return jn_store_rc(st, rc, "db list");
    }
    return n;
}

int jn_store_db_attach(struct jn_store *st, const char *db, const char *app)
{
    sqlite3_stmt *s =
        jn_store_prepare(st, "INSERT INTO db_attachments(db, app, created_at) VALUES (?1, ?2, ?3)");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, db, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, app, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
    return jn_store_exec_stmt(st, s, "db attach");
}

int jn_store_db_detach(struct jn_store *st, const char *db, const char *app)
{
    sqlite3_stmt *s = jn_store_prepare(st, "DELETE FROM db_attachments WHERE db = ?1 AND app = ?2");
    if (s) {
        sqlite3_bind_text(s, 1, db, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, app, -1, SQLITE_TRANSIENT);
    }
    return jn_store_exec_changed(st, s, "db detach");
}

int jn_store_db_attachments(struct jn_store *st, const char *db, struct jn_store_db_attach **out)
{
    *out = NULL;
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT db, app FROM db_attachments"
                                           " WHERE ?1 IS NULL OR db = ?1 ORDER BY db, app");
    if (!s)
        return JN_EBASE;
    if (db)
        sqlite3_bind_text(s, 1, db, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 1);
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = jn_realloc(*out, (size_t)cap * sizeof(**out));
        }
        jn_store_col_text(s, 0, (*out)[n].db, sizeof((*out)[n].db));
        jn_store_col_text(s, 1, (*out)[n].app, sizeof((*out)[n].app));
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return jn_store_rc(st, rc, "db attachments");
    }
    return n;
}
