/*
 * cmd_history.c: jern history [APP]: the changes made through the admin API,
 * oldest first: when (local time), who (a unix uid or the token), what.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int jn_cmd_history(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    const char *app = NULL;
    long limit = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        char *end;
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtol(argv[++i], &end, 10);
            bad = *end || limit < 1 || limit > 10000;
        } else if (argv[i][0] != '-' && !app) {
            app = argv[i];
        } else {
            bad = true;
        }
    }
    if (bad) {
        jn_client_free(&c);
        return jn_client_usage("history [APP] [--limit N] (N: 1 to 10000)");
    }
    char path[256], lim[32] = "";
    if (limit)
        snprintf(lim, sizeof(lim), "?limit=%ld", limit);
    if (app) {
        char *e = jn_client_escape(app);
        snprintf(path, sizeof(path), "/v1/apps/%.160s/history%s", e, lim);
        free(e);
    } else {
        snprintf(path, sizeof(path), "/v1/history%s", lim);
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", path, NULL, &o);
    if (rc == 0 && !c.json) {
        const cJSON *h, *arr = cJSON_GetObjectItemCaseSensitive(o, "history");
        if (cJSON_GetArraySize(arr) == 0)
            printf("no changes recorded%s%s\n", app ? " for " : "", app ? app : "");
        cJSON_ArrayForEach(h, arr)
        {
            time_t at = (time_t)jn_client_num(h, "at");
            struct tm tm;
            char when[32];
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&at, &tm));
            const char *a = jn_client_str(h, "app"), *d = jn_client_str(h, "detail");
            printf("%s  %-10s  %-12s  %s%s%s\n", when, jn_client_str(h, "who"),
                   jn_client_str(h, "action"), *a ? a : "-", *d ? ": " : "", d);
        }
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}
