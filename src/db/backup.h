/*
 * backup.h: consistent logical backups of a managed server (mariadb-dump
 * --single-transaction: InnoDB tables at one instant, no lock held), their
 * listing and retention, and restore through the mariadb client. Files live
 * in STATE/db/NAME/backups/ID.sql, 0600. Control thread (they block).
 */
#ifndef JN_DB_BACKUP_H
#define JN_DB_BACKUP_H

#include "core/common.h"
#include "db/server.h"

#define JN_DB_BACKUP_ID_MAX 64

struct jn_db_backup {
    char id[JN_DB_BACKUP_ID_MAX]; /* "20261204T161502Z-manual" */
    int64_t size;
    int64_t created_at; /* unix seconds (file mtime) */
    bool automatic;     /* made by the schedule, so retention may remove it */
};

/* Dumps databases (NULL-terminated; may be empty) into a new backup with the
 * given kind ("manual", "auto", "final"). Writes to a temporary file renamed
 * at the end, so a failed dump leaves nothing. Returns 0 with out->id set,
 * or a negative code with err. */
int jn_db_backup_make(const struct jn_db_paths *p, char *const *databases, const char *kind,
                      struct jn_db_backup *out, char *err, size_t errlen);

/* The backups in dir, oldest first (*out freed by the caller). Returns the count. */
int jn_db_backup_list(const char *dir, struct jn_db_backup **out);

/* Removes the oldest automatic backups beyond keep (keep <= 0: none).
 * Returns how many were removed. */
int jn_db_backup_prune(const char *dir, int keep);

/* True when id has the form of a backup ID (no path tricks). Pure. */
bool jn_db_backup_id_ok(const char *id);

/* Loads file into the server that client_cnf points at. Returns 0 or a
 * negative code with the client's message in err. */
int jn_db_backup_load(const char *file, const char *client_cnf, const char *log, char *err,
                      size_t errlen);

#endif
