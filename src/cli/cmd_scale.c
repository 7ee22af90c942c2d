/*
 * cmd_scale.c: `jern scale APP --min N --max M [...]`: an app's autoscaling
 * settings (POST /v1/apps/APP/autoscale). `jern scale APP N` (cmd_deploy.c)
 * fixes the count instead and turns autoscaling off.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/cmd_scale.h"

#include <ctype.h>

#define SCALE_USAGE                                                                                \
    "scale APP N | scale APP --min N --max M [--idle DURATION] [--concurrency C] [--queue Q] "     \
    "[--wait-timeout DURATION] [--stable-window DURATION] [--panic-window DURATION] "              \
    "[--warm | --no-warm]"

static const struct {
    const char *flag, *field;
    bool duration;
} opts[] = {
    {"--min", "min", false},
    {"--max", "max", false},
    {"--concurrency", "concurrency", false},
    {"--queue", "queue", false},
    {"--idle", "idle_ms", true},
    {"--wait-timeout", "wait_timeout_ms", true},
    {"--stable-window", "stable_window_ms", true},
    {"--panic-window", "panic_window_ms", true},
};

bool jn_cli_is_autoscale_flag(const char *a)
{
    for (size_t k = 0; k < JN_ARRAY_LEN(opts); k++)
        if (strcmp(a, opts[k].flag) == 0)
            return true;
    return strcmp(a, "--warm") == 0 || strcmp(a, "--no-warm") == 0 || strcmp(a, "--help") == 0 ||
           strcmp(a, "-h") == 0;
}

long long jn_cli_duration_ms(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isdigit((unsigned char)*s))
        return -1;
    double mult;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return -1;
    double ms = v * mult;
    if (ms > 1e12)
        return -1;
    return (long long)ms;
}

static int help(void)
{
    printf("usage: jern scale APP N\n"
           "       jern scale APP --min N --max M [options]\n\n"
           "  N                      run exactly N instances (autoscaling off); on a\n"
           "                         cluster it waits until they are placed and healthy\n"
           "                         (--wait-timeout D, default 120s; --no-wait)\n"
           "  --min N                keep at least N instances (0: scale to zero)\n"
           "  --max M                never more than M instances (1-32)\n"
           "  --idle DURATION        with --min 0: stop after this long without a\n"
           "                         request (default 5m)\n"
           "  --concurrency C        target requests in flight per instance (default 100)\n"
           "  --queue Q              requests that may wait for a start (default 1000)\n"
           "  --wait-timeout D       how long they wait, then 503 (default 30s)\n"
           "  --stable-window D      averaging window; scale down after it (default 60s)\n"
           "  --panic-window D       burst window (default 6s)\n"
           "  --warm, --no-warm      at zero, pause instances instead of removing them\n\n"
           "DURATION: 250ms, 30s, 5m, 1h. Options left out keep their value.\n"
           "See docs/SCALING.md.\n");
    return 0;
}

int jn_cmd_autoscale(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return help();
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    cJSON *b = cJSON_CreateObject();
    int rc = 2;
    if (argc < 3)
        goto usage;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--warm") == 0 || strcmp(argv[i], "--no-warm") == 0) {
            cJSON_AddBoolToObject(b, "warm", argv[i][2] == 'w');
            continue;
        }
        size_t k = 0;
        while (k < JN_ARRAY_LEN(opts) && strcmp(argv[i], opts[k].flag) != 0)
            k++;
        if (k == JN_ARRAY_LEN(opts)) {
            fprintf(stderr, "jern: scale: unknown option \"%s\"\n", argv[i]);
            goto usage;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "jern: scale: %s needs a value\n", argv[i]);
            goto usage;
        }
        const char *v = argv[++i];
        long long n;
        if (opts[k].duration) {
            if ((n = jn_cli_duration_ms(v)) < 0) {
                fprintf(stderr, "jern: scale: %s \"%s\" is not a duration (e.g. 30s, 5m, 250ms)\n",
                        opts[k].flag, v);
                goto out;
            }
        } else {
            char *end;
            errno = 0;
            n = strtoll(v, &end, 10);
            if (errno || end == v || *end || n < 0) {
                fprintf(stderr, "jern: scale: %s \"%s\" is not a whole number\n", opts[k].flag, v);
                goto out;
            }
        }
        cJSON_AddNumberToObject(b, opts[k].field, (double)n);
    }
    char *e = jn_client_escape(argv[1]);
    size_t len = strlen(e) + 32;
    char *path = jn_malloc(len);
    snprintf(path, len, "/v1/apps/%s/autoscale", e);
    free(e);
    cJSON *o = NULL;
    rc = jn_client_request(&c, "POST", path, b, &o);
    free(path);
    if (rc == 0 && !c.json) {
        printf("%s: autoscale min %.0f max %.0f, target concurrency %.0f per instance, idle %.1fs, "
               "queue %.0f, wait %.1fs, windows %.1fs stable / %.1fs panic%s\n",
               argv[1], jn_client_num(o, "min"), jn_client_num(o, "max"),
               jn_client_num(o, "concurrency"), jn_client_num(o, "idle_ms") / 1000.0,
               jn_client_num(o, "queue"), jn_client_num(o, "wait_timeout_ms") / 1000.0,
               jn_client_num(o, "stable_window_ms") / 1000.0,
               jn_client_num(o, "panic_window_ms") / 1000.0,
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "warm")) ? ", warm (pause at zero)"
                                                                         : "");
    }
    cJSON_Delete(o);
    goto out;
usage:
    rc = jn_client_usage(SCALE_USAGE);
out:
    cJSON_Delete(b);
    jn_client_free(&c);
    return rc;
}

void jn_cli_ps_autoscale(const cJSON *answer)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(answer, "autoscale");
    if (!cJSON_IsObject(a))
        return;
    printf("\nautoscale: min %.0f max %.0f, target %.0f per instance, idle %.1fs; now %.0f "
           "instance(s), concurrency %.0f%s, idle for %.1fs\n",
           jn_client_num(a, "min"), jn_client_num(a, "max"), jn_client_num(a, "concurrency"),
           jn_client_num(a, "idle_ms") / 1000.0, jn_client_num(a, "instances"),
           jn_client_num(a, "concurrency_now"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "panic")) ? " (panic)" : "",
           jn_client_num(a, "idle_for_ms") / 1000.0);
    printf("cold starts %.0f (failed %.0f, warm %.0f), scale ups %.0f, downs %.0f; last decision: "
           "%s\n",
           jn_client_num(a, "cold_starts"), jn_client_num(a, "cold_start_failures"),
           jn_client_num(a, "warm_starts"), jn_client_num(a, "scale_ups"),
           jn_client_num(a, "scale_downs"),
           *jn_client_str(a, "last_decision") ? jn_client_str(a, "last_decision") : "-");
}
