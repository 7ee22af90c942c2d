/*
 * history.c: the change history routes (jern history [APP]). api.c records
 * each change that succeeded; these list them, oldest first.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/control.h"
#include "store/history.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define HISTORY_DEFAULT 100
#define HISTORY_MAX 10000

/* ?limit=N from the query, else HISTORY_DEFAULT; -1 after a 400. */
static int limit_of(struct jn_api_call *c)
{
    const char *q = c->req->query;
    size_t n = c->req->query_len;
    if (!q || n < 6 || memcmp(q, "limit=", 6) != 0)
        return HISTORY_DEFAULT;
    long v = 0;
    size_t i = 6;
    for (; i < n && i < 12 && q[i] >= '0' && q[i] <= '9'; i++)
        v = v * 10 + (q[i] - '0');
    if (i == 6 || i != n || v < 1 || v > HISTORY_MAX) {
        jn_api_error(c->resp, 400, "limit must be a number from 1 to %d", HISTORY_MAX);
        return -1;
    }
    return (int)v;
}

static void get_history(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    int limit = limit_of(c);
    if (limit < 0)
        return;
    struct jn_store *st = jn_control_store(c->api->ctl);
    struct jn_store_history *v;
    int n = jn_store_history_list(st, app, limit, &v);
    if (n < 0) {
        jn_api_error(c->resp, 500, "cannot read the history: %s", jn_store_error(st));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (app)
        cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "history");
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)v[i].id);
        cJSON_AddNumberToObject(x, "at", (double)v[i].at);
        cJSON_AddStringToObject(x, "app", v[i].app);
        cJSON_AddStringToObject(x, "who", v[i].who);
        cJSON_AddStringToObject(x, "action", v[i].action);
        cJSON_AddStringToObject(x, "detail", v[i].detail);
        cJSON_AddItemToArray(arr, x);
    }
    free(v);
    jn_api_send_json(c->resp, 200, o);
}

const struct jn_route jn_history_routes[] = {
    {JN_HTTP_GET, "/v1/history", 0, get_history, NULL},
    {JN_HTTP_GET, "/v1/apps/:app/history", 0, get_history, NULL},
    {0},
};
