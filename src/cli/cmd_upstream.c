/* cmd_upstream.c: jern upstream [NAME [add ADDR ... | remove ADDR | set ADDR ...]]. */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"

#include <stdio.h>

static const char *usage_text =
    "upstream [NAME [add ADDR [weight=N] [state=S] | remove ADDR | set ADDR [state=S] "
    "[weight=N]]]";

static void print_servers(const cJSON *u, bool header)
{
    if (header)
        printf("%-20s %-24s %-6s %-6s %-6s %-10s %-8s %s\n", "UPSTREAM", "SERVER", "WEIGHT",
               "STATE", "CONNS", "REQUESTS", "FAILURES", "ORIGIN");
    const cJSON *servers = cJSON_GetObjectItemCaseSensitive(u, "servers");
    if (cJSON_GetArraySize(servers) == 0) {
        printf("%-20s (no servers: add one with: jern upstream %s add HOST:PORT)\n",
               jn_client_str(u, "name"), jn_client_str(u, "name"));
        return;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, servers)
    {
        printf("%-20s %-24s %-6.0f %-6s %-6.0f %-10.0f %-8.0f %s\n", jn_client_str(u, "name"),
               jn_client_str(s, "addr"), jn_client_num(s, "weight"), jn_client_str(s, "state"),
               jn_client_num(s, "conns"), jn_client_num(s, "requests"),
               jn_client_num(s, "failures"), jn_client_str(s, "origin"));
    }
}

/* Parses "weight=N" / "state=S" words into body. Returns 0 or 2 (usage). */
static int options(cJSON *body, int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++) {
        if (strncmp(argv[i], "weight=", 7) == 0) {
            char *end;
            long w = strtol(argv[i] + 7, &end, 10);
            if (*end || end == argv[i] + 7) {
                fprintf(stderr, "jern: invalid weight '%s' (expected weight=1 to weight=1000)\n",
                        argv[i] + 7);
                return 2;
            }
            cJSON_AddNumberToObject(body, "weight", (double)w);
        } else if (strncmp(argv[i], "state=", 6) == 0) {
            cJSON_AddStringToObject(body, "state", argv[i] + 6);
        } else {
            fprintf(stderr,
                    "jern: unexpected '%s' (expected weight=N or state=ready|drain|maint)\n",
                    argv[i]);
            return 2;
        }
    }
    return 0;
}

int jn_cmd_upstream(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    cJSON *o = NULL, *body = NULL;
    char path[1024];
    int rc = 0;
    char *name = argc >= 2 ? jn_client_escape(argv[1]) : NULL;
    char *addr = argc >= 4 ? jn_client_escape(argv[3]) : NULL;
    const char *verb = argc >= 3 ? argv[2] : NULL;
    if (argc == 1) {
        rc = jn_client_request(&c, "GET", "/v1/upstreams", NULL, &o);
        if (rc == 0 && !c.json) {
            const cJSON *u, *list = cJSON_GetObjectItemCaseSensitive(o, "upstreams");
            if (cJSON_GetArraySize(list) == 0)
                printf("no upstreams (create an app with: jern create NAME, or add upstream "
                       "blocks to the config)\n");
            bool first = true;
            cJSON_ArrayForEach(u, list)
            {
                print_servers(u, first);
                first = false;
            }
        }
    } else if (argc == 2 && argv[1][0] != '-') {
        snprintf(path, sizeof(path), "/v1/upstreams/%s", name);
        rc = jn_client_request(&c, "GET", path, NULL, &o);
        if (rc == 0 && !c.json)
            print_servers(o, true);
    } else if (argc >= 4 && strcmp(verb, "add") == 0) {
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "addr", argv[3]);
        if ((rc = options(body, argc, argv, 4)) == 0) {
            snprintf(path, sizeof(path), "/v1/upstreams/%s/servers", name);
            rc = jn_client_request(&c, "POST", path, body, &o);
            if (rc == 0 && !c.json)
                printf("added %s to upstream '%s' (weight %.0f, %s)\n", jn_client_str(o, "addr"),
                       argv[1], jn_client_num(o, "weight"), jn_client_str(o, "state"));
        }
    } else if (argc == 4 && strcmp(verb, "remove") == 0) {
        snprintf(path, sizeof(path), "/v1/upstreams/%s/servers/%s", name, addr);
        rc = jn_client_request(&c, "DELETE", path, NULL, &o);
        if (rc == 0 && !c.json)
            printf("removed %s from upstream '%s' (requests in flight finish)\n", argv[3], argv[1]);
    } else if (argc >= 5 && strcmp(verb, "set") == 0) {
        body = cJSON_CreateObject();
        if ((rc = options(body, argc, argv, 4)) == 0) {
            snprintf(path, sizeof(path), "/v1/upstreams/%s/servers/%s", name, addr);
            rc = jn_client_request(&c, "PATCH", path, body, &o);
            if (rc == 0 && !c.json)
                printf("upstream '%s' server %s: weight %.0f, %s\n", argv[1],
                       jn_client_str(o, "addr"), jn_client_num(o, "weight"),
                       jn_client_str(o, "state"));
        }
    } else {
        rc = jn_client_usage(usage_text);
    }
    cJSON_Delete(o);
    cJSON_Delete(body);
    free(name);
    free(addr);
    jn_client_free(&c);
    return rc;
}
