/* cmd_apps.c: jern status, apps, create, destroy, domains. */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

int jn_cmd_status(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 1) {
        jn_client_free(&c);
        return jn_client_usage("status [--json]");
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", "/v1/status", NULL, &o);
    if (rc == 0 && !c.json) {
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(o, "listen");
        printf("jern %s (pid %.0f), up %.0fs\n", jn_client_str(o, "version"),
               jn_client_num(o, "pid"), jn_client_num(o, "uptime_s"));
        printf("  apps on      ");
        const cJSON *l;
        cJSON_ArrayForEach(l, ls) printf("%s ", cJSON_IsString(l) ? l->valuestring : "");
        printf("(APP.%s)\n", jn_client_str(o, "base_domain"));
        printf("  admin        %s\n", jn_client_str(o, "admin"));
        printf("  cli uses     %s (%s)\n", c.where, c.how);
        printf("  state        %s\n", jn_client_str(o, "state_dir"));
        printf("  config       %s\n", jn_client_str(o, "config"));
        printf("  apps         %.0f\n", jn_client_num(o, "apps"));
        printf("  upstreams    %.0f (%.0f servers)\n", jn_client_num(o, "upstreams"),
               jn_client_num(o, "servers"));
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

static void print_app_line(const cJSON *a)
{
    char hosts[1024] = "";
    size_t n = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(a, "hosts"))
    {
        if (cJSON_IsString(h) && n < sizeof(hosts))
            n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s%s", n ? "," : "",
                                  h->valuestring);
    }
    time_t t = (time_t)jn_client_num(a, "created_at");
    struct tm tm;
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
    printf("%-20s %-8.0f %-17s %s\n", jn_client_str(a, "name"), jn_client_num(a, "servers"), when,
           hosts);
}

int jn_cmd_apps(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc >= 2 && strcmp(argv[1], "set") == 0) {
        int r = jn_cmd_apps_set(&c, argc, argv);
        jn_client_free(&c);
        return r;
    }
    /* -q: the names alone, one a line (scripts, shell completion) */
    bool quiet = argc == 2 && (strcmp(argv[1], "-q") == 0 || strcmp(argv[1], "--quiet") == 0);
    if (argc != 1 && !quiet) {
        jn_client_free(&c);
        return jn_client_usage("apps [--json | -q] | apps set APP --require K=V --prefer K=V");
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", "/v1/apps", NULL, &o);
    if (rc == 0 && !c.json && quiet) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "apps"))
            printf("%s\n", jn_client_str(a, "name"));
    } else if (rc == 0 && !c.json) {
        const cJSON *apps = cJSON_GetObjectItemCaseSensitive(o, "apps");
        if (cJSON_GetArraySize(apps) == 0) {
            printf("no apps yet (create one with: jern create NAME)\n");
        } else {
            printf("%-20s %-8s %-17s %s\n", "APP", "SERVERS", "CREATED (UTC)", "HOSTS");
            const cJSON *a;
            cJSON_ArrayForEach(a, apps) print_app_line(a);
        }
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_create(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    const char *name = NULL;
    cJSON *body = cJSON_CreateObject();
    cJSON *doms = cJSON_AddArrayToObject(body, "domains");
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--domain") == 0 || strcmp(argv[i], "-d") == 0) {
            if (i + 1 >= argc)
                rc = jn_client_usage("create APP [--domain D]...");
            else
                cJSON_AddItemToArray(doms, cJSON_CreateString(argv[++i]));
        } else if (argv[i][0] == '-' || name) {
            rc = jn_client_usage("create APP [--domain D]...");
        } else {
            name = argv[i];
        }
    }
    if (rc == 0 && !name)
        rc = jn_client_usage("create APP [--domain D]...");
    if (rc == 0) {
        cJSON_AddStringToObject(body, "name", name);
        cJSON *o;
        rc = jn_client_request(&c, "POST", "/v1/apps", body, &o);
        if (rc == 0 && !c.json) {
            printf("created app '%s'; it answers at:\n", jn_client_str(o, "name"));
            const cJSON *h;
            cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(o, "hosts"))
                printf("  %s\n", cJSON_IsString(h) ? h->valuestring : "");
            printf("add a server with: jern upstream %s add HOST:PORT\n", jn_client_str(o, "name"));
        }
        cJSON_Delete(o);
    }
    cJSON_Delete(body);
    jn_client_free(&c);
    return rc;
}

/* destroy asks first on a terminal; elsewhere (a script, a pipe) nobody could
 * answer, and guessing "yes" would delete an app by accident: --yes is
 * required there. Returns true to go on. */
static bool destroy_confirmed(const char *app, bool yes)
{
    if (yes)
        return true;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "jern: destroy deletes app '%s' with its domains, servers, releases and "
                "instances; confirm with: jern destroy %s --yes\n",
                app, app);
        return false;
    }
    fprintf(stderr, "Destroy app '%s' with its domains, servers, releases and instances? [y/N] ",
            app);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof(line), stdin))
        line[0] = '\0';
    if (line[0] == 'y' || line[0] == 'Y')
        return true;
    fprintf(stderr, "jern: app '%s' kept\n", app);
    return false;
}

int jn_cmd_destroy(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    bool yes = false;
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
            yes = true;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    if (argc != 2 || argv[1][0] == '-') {
        jn_client_free(&c);
        return jn_client_usage("destroy APP [--yes]");
    }
    if (!destroy_confirmed(argv[1], yes)) {
        jn_client_free(&c);
        return 1;
    }
    char *app = jn_client_escape(argv[1]);
    char path[512];
    snprintf(path, sizeof(path), "/v1/apps/%s", app);
    cJSON *o;
    int rc = jn_client_request(&c, "DELETE", path, NULL, &o);
    if (rc == 0 && !c.json)
        printf("destroyed app '%s' (its domains and servers are gone too)\n", argv[1]);
    cJSON_Delete(o);
    free(app);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_domains(int argc, char **argv)
{
    static const char *u = "domains APP [add|remove DOMAIN]";
    if (argc >= 3 && strcmp(argv[2], "set") == 0)
        return jn_cmd_domains_set(argc, argv);
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (!(argc == 2 || argc == 4) || argv[1][0] == '-' ||
        (argc == 4 && strcmp(argv[2], "add") != 0 && strcmp(argv[2], "remove") != 0)) {
        jn_client_free(&c);
        return jn_client_usage(u);
    }
    char *app = jn_client_escape(argv[1]);
    char path[1024];
    cJSON *o = NULL;
    int rc;
    if (argc == 2) {
        snprintf(path, sizeof(path), "/v1/apps/%s/domains", app);
        rc = jn_client_request(&c, "GET", path, NULL, &o);
        if (rc == 0 && !c.json) {
            const cJSON *d, *list = cJSON_GetObjectItemCaseSensitive(o, "domains");
            if (cJSON_GetArraySize(list) == 0)
                printf("app '%s' has no domains (add one with: jern domains %s add DOMAIN)\n",
                       argv[1], argv[1]);
            cJSON_ArrayForEach(d, list) printf("%s\n", cJSON_IsString(d) ? d->valuestring : "");
        }
    } else if (strcmp(argv[2], "add") == 0) {
        snprintf(path, sizeof(path), "/v1/apps/%s/domains", app);
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "domain", argv[3]);
        rc = jn_client_request(&c, "POST", path, body, &o);
        cJSON_Delete(body);
        if (rc == 0 && !c.json)
            printf("app '%s' now answers at %s\n", argv[1], argv[3]);
    } else {
        char *dom = jn_client_escape(argv[3]);
        snprintf(path, sizeof(path), "/v1/apps/%s/domains/%s", app, dom);
        free(dom);
        rc = jn_client_request(&c, "DELETE", path, NULL, &o);
        if (rc == 0 && !c.json)
            printf("removed domain %s from app '%s'\n", argv[3], argv[1]);
    }
    cJSON_Delete(o);
    free(app);
    jn_client_free(&c);
    return rc;
}
