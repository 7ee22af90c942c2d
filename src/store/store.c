/*
 * store.c: opening the database, migrations, transactions, settings.
 */
#include "core/common.h"

#include "core/log.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

sqlite3_stmt *jn_store_prepare(struct jn_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) {
        jn_error("store: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(st->db));
        snprintf(st->last_error, sizeof(st->last_error), "%s", sqlite3_errmsg(st->db));
        return NULL;
    }
    return s;
}

/* After a failed write outside any transaction of ours, SQLite may still hold
 * one open (a failed COMMIT, or a statement that hit a full disk): every later
 * write would join it and be answered "done" without ever reaching the disk.
 * Roll it back so the connection is clean again. */
static void settle(struct jn_store *st)
{
    if (st->depth == 0 && !sqlite3_get_autocommit(st->db)) {
        jn_warn("store: a failed write left a transaction open: rolling it back");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* SQLITE_FULL, or an I/O error whose cause was ENOSPC/EDQUOT. */
static bool is_full(struct jn_store *st, int rc)
{
    if ((rc & 0xff) == SQLITE_FULL)
        return true;
    if ((rc & 0xff) != SQLITE_IOERR)
        return false;
    int e = sqlite3_system_errno(st->db);
    return e == ENOSPC || e == EDQUOT;
}

const char *jn_store_error(const struct jn_store *st)
{
    return st->last_error[0] ? st->last_error : "unknown failure";
}

int jn_store_rc(struct jn_store *st, int rc, const char *what)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return JN_EEXIST;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return JN_EBADINPUT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return JN_ENOTFOUND;
    default:
        jn_error("store: %s: %s (sqlite %d)", what, sqlite3_errmsg(st->db), rc);
        snprintf(st->last_error, sizeof(st->last_error), "%s: %s", what, sqlite3_errmsg(st->db));
        if (is_full(st, rc)) {
            st->disk_full = true;
            settle(st);
            return -ENOSPC;
        }
        settle(st);
        return JN_EBASE;
    }
}

int jn_store_exec_stmt(struct jn_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return JN_EBASE;
    int rc = sqlite3_step(s);
    int ext = sqlite3_extended_errcode(st->db);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return jn_store_rc(st, ext, what);
}

int jn_store_exec_changed(struct jn_store *st, sqlite3_stmt *s, const char *what)
{
    int r = jn_store_exec_stmt(st, s, what);
    if (r == 0 && sqlite3_changes(st->db) == 0)
        r = JN_ENOTFOUND;
    return r;
}

static int exec(struct jn_store *st, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int ext = sqlite3_extended_errcode(st->db);
        jn_error("store: \"%.60s\": %s", sql, msg ? msg : sqlite3_errstr(rc));
        snprintf(st->last_error, sizeof(st->last_error), "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        if (is_full(st, ext)) {
            st->disk_full = true;
            return -ENOSPC;
        }
        return JN_EBASE;
    }
    return 0;
}

int jn_store_savepoint(struct jn_store *st)
{
    int r = exec(st, "SAVEPOINT jn");
    if (r == 0)
        st->depth++;
    return r;
}

int jn_store_release(struct jn_store *st, int rc)
{
    if (rc >= 0) {
        /* Outside a transaction, RELEASE is the commit: it can fail (a full
         * disk) and then leaves the savepoint open. */
        int r = exec(st, "RELEASE jn");
        if (r == 0) {
            st->depth--;
            return rc;
        }
        rc = r;
    }
    exec(st, "ROLLBACK TO jn");
    exec(st, "RELEASE jn");
    st->depth--;
    settle(st);
    return rc;
}

bool jn_store_disk_full(struct jn_store *st, bool clear)
{
    bool full = st->disk_full;
    if (clear)
        st->disk_full = false;
    return full;
}

void jn_store_col_text(sqlite3_stmt *s, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int jn_store_schema_version(struct jn_store *st)
{
    sqlite3_stmt *s = jn_store_prepare(st, "PRAGMA user_version");
    if (!s)
        return JN_EBASE;
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : JN_EBASE;
    sqlite3_finalize(s);
    return v;
}

static int migrate(struct jn_store *st, char *err, size_t errlen)
{
    int have = jn_store_schema_version(st);
    int want = jn_store_migrations_count();
    if (have < 0) {
        snprintf(err, errlen, "cannot read the schema version");
        return JN_EBASE;
    }
    if (have > want) {
        snprintf(err, errlen,
                 "schema version %d is newer than this jern knows (%d): use a newer jern", have,
                 want);
        return JN_EUNSUPPORTED;
    }
    for (int v = have + 1; v <= want; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v);
        if (exec(st, "BEGIN IMMEDIATE") < 0)
            goto fail;
        if (exec(st, jn_store_migration(v)) < 0 || exec(st, bump) < 0) {
            exec(st, "ROLLBACK");
            goto fail;
        }
        if (exec(st, "COMMIT") < 0)
            goto fail;
        jn_info("store: applied migration %d", v);
        continue;
    fail:
        snprintf(err, errlen, "migration %d failed: %s", v, sqlite3_errmsg(st->db));
        return JN_EBASE;
    }
    return 0;
}

int jn_store_open(const char *path, struct jn_store **out, char *err, size_t errlen)
{
    struct jn_store *st = jn_calloc(1, sizeof(*st));
    /* The database holds env secrets: create it 0600, whatever the umask.
     * SQLite gives its -wal and -shm files the database file's mode. */
    if (path[0] != ':' && strncmp(path, "file:", 5) != 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    int rc = sqlite3_open_v2(
        path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    /* Another process (a second daemon, a backup) may hold the lock briefly. */
    sqlite3_busy_timeout(st->db, 5000);
    /* FULL with WAL syncs the log at every commit: an acknowledged write
     * survives power loss, not just a crash of the process. */
    if (exec(st, "PRAGMA journal_mode = WAL") < 0 || exec(st, "PRAGMA synchronous = FULL") < 0 ||
        exec(st, "PRAGMA foreign_keys = ON") < 0) {
        snprintf(err, errlen, "cannot set up %s: %s", path, sqlite3_errmsg(st->db));
        goto fail;
    }
    if (migrate(st, err, errlen) < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    sqlite3_close(st->db);
    free(st);
    return JN_EBASE;
}

void jn_store_close(struct jn_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

int jn_store_begin(struct jn_store *st)
{
    int r = exec(st, "BEGIN IMMEDIATE");
    if (r == 0)
        st->depth++;
    return r;
}

int jn_store_commit(struct jn_store *st)
{
    int r = exec(st, "COMMIT");
    if (r == 0) {
        st->depth--;
        return 0;
    }
    /* A failed COMMIT leaves the transaction open: end it, or every later
     * write joins it and is lost with it. */
    jn_store_rollback(st);
    return r;
}

void jn_store_durable(struct jn_store *st, bool durable)
{
    if (st->depth == 0)
        exec(st, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

void jn_store_rollback(struct jn_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        exec(st, "ROLLBACK");
    st->depth = 0;
    settle(st);
}

int jn_store_setting_set(struct jn_store *st, const char *key, const char *value)
{
    sqlite3_stmt *s =
        jn_store_prepare(st, "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                             " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    return jn_store_exec_stmt(st, s, "setting set");
}

int jn_store_setting_get(struct jn_store *st, const char *key, char *buf, size_t len)
{
    sqlite3_stmt *s = jn_store_prepare(st, "SELECT value FROM settings WHERE key = ?1");
    if (!s)
        return JN_EBASE;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int r;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        r = (int)strlen(v ? v : "");
        if (len)
            snprintf(buf, len, "%s", v ? v : "");
    } else {
        r = rc == SQLITE_DONE ? JN_ENOTFOUND : jn_store_rc(st, rc, "setting get");
    }
    sqlite3_finalize(s);
    return r;
}
