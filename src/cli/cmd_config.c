/*
 * cmd_config.c: jern config: an app's environment, kept by the daemon and
 * given to every later release (docs/CONFIG.md). set and unset roll out a new
 * release with the same image when the app serves one, and follow it as
 * jern deploy does.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/cluster_wait.h"
#include "cli/commands.h"

#include <stdio.h>

#define CONFIG_USAGE                                                                               \
    "config APP | config set APP NAME=VALUE... [--secret] | config unset APP NAME... | "         \
    "config get APP NAME"

static char *config_path(const char *app, const char *name)
{
    char *e = jn_client_escape(app), *n = name ? jn_client_escape(name) : NULL;
    size_t len = strlen(e) + (n ? strlen(n) : 0) + 32;
    char *path = jn_malloc(len);
    snprintf(path, len, "/v1/apps/%s/config%s%s", e, n ? "/" : "", n ? n : "");
    free(e);
    free(n);
    return path;
}

static int show(struct jn_client *c, const char *app)
{
    char *path = config_path(app, NULL);
    cJSON *o;
    int rc = jn_client_request(c, "GET", path, NULL, &o);
    free(path);
    if (rc != 0 || c->json) {
        cJSON_Delete(o);
        return rc;
    }
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(o, "vars"), *v;
    if (cJSON_GetArraySize(vars) == 0)
        printf("%s has no config (set some: jern config set %s NAME=VALUE)\n", app, app);
    int w = 4;
    cJSON_ArrayForEach(v, vars) w = JN_MAX(w, (int)strlen(jn_client_str(v, "name")));
    cJSON_ArrayForEach(v, vars)
    {
        bool secret = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "secret"));
        printf("%-*s  %s%s\n", w, jn_client_str(v, "name"), jn_client_str(v, "value"),
               secret ? "  (secret: jern config get to see it)" : "");
    }
    cJSON_Delete(o);
    return 0;
}

static int get(struct jn_client *c, const char *app, const char *name)
{
    char *path = config_path(app, name);
    cJSON *o;
    int rc = jn_client_request(c, "GET", path, NULL, &o);
    free(path);
    if (rc == 0 && !c->json)
        printf("%s\n", jn_client_str(o, "value"));
    cJSON_Delete(o);
    return rc;
}

/* POSTs the change and follows the release it rolls out, if any. */
static int change(struct jn_client *c, const char *app, cJSON *body)
{
    char *path = config_path(app, NULL);
    cJSON *o;
    int st = jn_client_call(c, "POST", path, body, &o);
    free(path);
    int rc;
    if (st < 0) {
        rc = 1;
    } else if (st != 200 && st != 202) {
        rc = jn_client_fail(st, o);
    } else if (st == 202 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cluster"))) {
        /* a cluster node: every node rolls its instances onto the release */
        static const struct jn_cli_wait dflt = {0};
        if (!c->json)
            printf("%s: %s\n", app, jn_client_str(o, "changed"));
        rc = jn_cli_cluster_wait(c, app, o, &dflt);
    } else if (c->json) {
        jn_client_print_json(o);
        rc = st == 202 ? jn_cli_follow_job(c, (int)jn_client_num(o, "job")) : 0;
    } else if (st == 202) {
        printf("%s: %s; rolling out release v%d with it\n", app, jn_client_str(o, "changed"),
               (int)jn_client_num(o, "release"));
        fflush(stdout);
        rc = jn_cli_follow_job(c, (int)jn_client_num(o, "job"));
    } else {
        printf("%s: %s; the next deploy gets it (no release serves yet)\n", app,
               jn_client_str(o, "changed"));
        rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}

static int set(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject(), *vars = cJSON_AddObjectToObject(b, "set");
    const char *app = NULL;
    bool secret = false;
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        const char *eq = strchr(argv[i], '=');
        if (strcmp(argv[i], "--secret") == 0) {
            secret = true;
        } else if (!app && argv[i][0] != '-' && !eq) {
            app = argv[i];
        } else if (app && eq && eq != argv[i]) {
            char name[160];
            snprintf(name, sizeof(name), "%.*s", (int)JN_MIN(eq - argv[i], 150), argv[i]);
            cJSON_DeleteItemFromObjectCaseSensitive(vars, name);
            cJSON_AddStringToObject(vars, name, eq + 1);
        } else {
            fprintf(stderr, "jern: config set: \"%s\" is not NAME=VALUE\n", argv[i]);
            rc = 2;
        }
    }
    if (rc == 0 && (!app || !vars->child))
        rc = jn_client_usage("config set APP NAME=VALUE... [--secret]");
    if (rc == 0) {
        if (secret)
            cJSON_AddTrueToObject(b, "secret");
        rc = change(c, app, b);
    }
    cJSON_Delete(b);
    return rc;
}

static int unset(struct jn_client *c, int argc, char **argv)
{
    if (argc < 4)
        return jn_client_usage("config unset APP NAME...");
    cJSON *b = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(b, "unset");
    for (int i = 3; i < argc; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(argv[i]));
    int rc = change(c, argv[2], b);
    cJSON_Delete(b);
    return rc;
}

int jn_cmd_config(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    int rc;
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "set") == 0)
        rc = set(&c, argc, argv);
    else if (strcmp(sub, "unset") == 0)
        rc = unset(&c, argc, argv);
    else if (strcmp(sub, "get") == 0 && argc == 4)
        rc = get(&c, argv[2], argv[3]);
    else if (argc == 2 && sub[0] != '-' && strcmp(sub, "get") != 0)
        rc = show(&c, sub);
    else
        rc = jn_client_usage(CONFIG_USAGE);
    jn_client_free(&c);
    return rc;
}
