/*
 * databases.h: managed databases (src/db) and their attached apps in the
 * store. Control thread only, like the rest of the store. Returns follow
 * store.h. Passwords are never stored here (src/db keeps them in 0600 files).
 */
#ifndef JN_STORE_DATABASES_H
#define JN_STORE_DATABASES_H

#include "store/store.h"

struct jn_store_db {
    char name[JN_STORE_NAME_MAX];
    int64_t memory_mb;
    bool dedicated;
    int port;
    int64_t backup_every_s; /* 0: no scheduled backups */
    int backup_keep;        /* scheduled backups kept; 0: all */
    int64_t created_at;
};

struct jn_store_db_attach {
    char db[JN_STORE_NAME_MAX];
    char app[JN_STORE_NAME_MAX];
};

int jn_store_db_create(struct jn_store *st, const struct jn_store_db *d);
int jn_store_db_get(struct jn_store *st, const char *name, struct jn_store_db *out);
int jn_store_db_delete(struct jn_store *st, const char *name);
int jn_store_db_set_schedule(struct jn_store *st, const char *name, int64_t every_s, int keep);
/* Every database, by name. *out is the caller's to free. Returns the count. */
int jn_store_db_list(struct jn_store *st, struct jn_store_db **out);

/* JN_EEXIST when the app is attached to a database already. */
int jn_store_db_attach(struct jn_store *st, const char *db, const char *app);
int jn_store_db_detach(struct jn_store *st, const char *db, const char *app);
/* The attachments of db (NULL: of every database). Returns the count. */
int jn_store_db_attachments(struct jn_store *st, const char *db, struct jn_store_db_attach **out);

#endif
