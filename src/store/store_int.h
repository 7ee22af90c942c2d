/* store_int.h: what the store's source files share (internal to src/store). */
#ifndef JN_STORE_INT_H
#define JN_STORE_INT_H

#include "core/common.h"

#include <sqlite3.h>

struct jn_store {
    sqlite3 *db;
    int depth;            /* open jn_store_begin / savepoint levels */
    bool disk_full;       /* a write failed for lack of space since the last clear */
    char last_error[256]; /* the latest failure, for jn_store_error */
};

/* Prepares sql; logs and returns NULL on failure. */
sqlite3_stmt *jn_store_prepare(struct jn_store *st, const char *sql);

/* Maps an SQLite result to the jern vocabulary, logging unexpected failures:
 * unique violations -> JN_EEXIST, CHECK -> JN_EBADINPUT, foreign key ->
 * JN_ENOTFOUND, anything else -> JN_EBASE. SQLITE_OK/DONE/ROW -> 0. */
int jn_store_rc(struct jn_store *st, int rc, const char *what);

/* Steps a statement expected to finish (no rows), finalizes it, maps rc. */
int jn_store_exec_stmt(struct jn_store *st, sqlite3_stmt *s, const char *what);

/* The same for a statement that must change a row: JN_ENOTFOUND when none. */
int jn_store_exec_changed(struct jn_store *st, sqlite3_stmt *s, const char *what);

/* Savepoints, so multi-statement operations are atomic inside or outside an
 * explicit jn_store_begin. */
int jn_store_savepoint(struct jn_store *st);
int jn_store_release(struct jn_store *st, int rc);

/* Copies column i as text into dst (size n), always NUL-terminated. */
void jn_store_col_text(sqlite3_stmt *s, int i, char *dst, size_t n);

#endif
