/*
 * history.h: the record of changes made through the admin API (jern history):
 * when, who (a unix uid or the admin token) and what. Rows are never
 * changed; they outlive the app they name. Same threading and return rules
 * as store.h.
 */
#ifndef JN_STORE_HISTORY_H
#define JN_STORE_HISTORY_H

#include "store/store.h"

struct jn_store_history {
    int64_t id;
    int64_t at; /* unix seconds */
    char app[JN_STORE_NAME_MAX]; /* "" for a change to no app (an upstream server) */
    char who[64];
    char action[64];
    char detail[512];
};

/* Appends one row (app may be NULL). */
int jn_store_history_add(struct jn_store *st, const char *app, const char *who,
                         const char *action, const char *detail);

/* The last limit rows (of app when non-NULL), oldest first. Returns the count
 * and *out (caller frees), or a negative code. */
int jn_store_history_list(struct jn_store *st, const char *app, int limit,
                          struct jn_store_history **out);

#endif
