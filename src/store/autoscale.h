/*
 * autoscale.h: an app's scaling settings in the store (control/scale/autoscale.c is
 * the user). Same threading and return rules as store.h: the control thread,
 * JN_ENOTFOUND for an unknown app, JN_EBASE on a database failure.
 */
#ifndef JN_STORE_AUTOSCALE_H
#define JN_STORE_AUTOSCALE_H

#include "store/store.h"

/* Reads app's settings: *json is a malloc'd JSON object (caller frees), or
 * NULL when the app's instance count is fixed (`jern scale APP N`). */
int jn_store_app_autoscale(struct jn_store *st, const char *app, char **json);

/* Writes app's settings (json NULL: fixed count again). */
int jn_store_app_set_autoscale(struct jn_store *st, const char *app, const char *json);

#endif
