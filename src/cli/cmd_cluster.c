/*
 * cmd_cluster.c: the cluster's commands (docs/CLUSTER.md): jern nodes, jern
 * node drain|undrain NAME, jern where [APP], jern apps set APP --require
 * K=V --prefer K=V, jern cluster init.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"
#include "control/cluster/model.h"

#include <stdio.h>

static void labels_text(const cJSON *labels, char *out, size_t len)
{
    jn_cluster_labels_text(labels, out, len);
    if (!out[0])
        snprintf(out, len, "-");
}

int jn_cmd_nodes(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 1) {
        jn_client_free(&c);
        return jn_client_usage("nodes [--json]");
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", "/v1/nodes", NULL, &o);
    if (rc == 0 && !c.json) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "etcd")))
            printf("etcd unreachable (%s): the last known nodes\n",
                   jn_client_str(o, "error"));
        printf("%-14s %-8s %-10s %-9s %-22s %s\n", "NODE", "HEALTH", "MEMORY", "INSTANCES",
               "GATEWAY", "LABELS");
        const cJSON *n;
        const char *sched = jn_client_str(o, "scheduler");
        cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(o, "nodes"))
        {
            char labels[512], mem[32], name[80];
            labels_text(cJSON_GetObjectItemCaseSensitive(n, "labels"), labels, sizeof(labels));
            snprintf(mem, sizeof(mem), "%.0fM", jn_client_num(n, "memory") / (1024 * 1024));
            snprintf(name, sizeof(name), "%s%s", jn_client_str(n, "name"),
                     strcmp(sched, jn_client_str(n, "name")) == 0 ? "*" : "");
            bool draining = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "draining"));
            printf("%-14s %-8s %-10s %-9d %-22s %s\n", name,
                   draining ? "draining" : jn_client_str(n, "health"), mem,
                   (int)jn_client_num(n, "instances"), jn_client_str(n, "gateway"), labels);
        }
        printf("(* the scheduler)\n");
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_node(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "remove") == 0))
        return jn_cmd_node_ssh(argc, argv);
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    bool on = argc == 3 && strcmp(argv[1], "drain") == 0;
    if (argc != 3 || (!on && strcmp(argv[1], "undrain") != 0)) {
        jn_client_free(&c);
        return jn_client_usage("node drain|undrain NAME | node add|remove ssh://USER@HOST[:PORT]");
    }
    char *e = jn_client_escape(argv[2]);
    char path[512];
    snprintf(path, sizeof(path), "/v1/nodes/%s/drain", e);
    free(e);
    cJSON *o;
    int rc = jn_client_request(&c, on ? "POST" : "DELETE", path, NULL, &o);
    if (rc == 0 && !c.json)
        printf(on ? "node %s drained: its instances move to other nodes\n"
                  : "node %s takes instances again\n",
               argv[2]);
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_where(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc > 2) {
        jn_client_free(&c);
        return jn_client_usage("where [APP] [--json]");
    }
    char path[512] = "/v1/where";
    if (argc == 2) {
        char *e = jn_client_escape(argv[1]);
        snprintf(path, sizeof(path), "/v1/where/%s", e);
        free(e);
    }
    cJSON *o;
    int rc = jn_client_request(&c, "GET", path, NULL, &o);
    bool all_inside = true;
    if (rc == 0) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "apps"))
        {
            bool inside = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "inside"));
            all_inside = all_inside && inside;
            if (c.json)
                continue;
            char req[512];
            labels_text(cJSON_GetObjectItemCaseSensitive(a, "require"), req, sizeof(req));
            printf("app %s (requires: %s): %s\n", jn_client_str(a, "app"), req,
                   inside ? "everything inside the required labels"
                          : "SOMETHING OUTSIDE the required labels");
            const char *perr = jn_client_str(a, "placement_error");
            if (*perr)
                printf("  placement: %s\n", perr);
            printf("  %-10s %-14s %-34s %-7s %s\n", "KIND", "NODE", "WHERE", "INSIDE", "LABELS");
            const cJSON *it;
            cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(a, "items"))
            {
                char labels[512];
                labels_text(cJSON_GetObjectItemCaseSensitive(it, "labels"), labels,
                            sizeof(labels));
                printf("  %-10s %-14s %-34s %-7s %s\n", jn_client_str(it, "kind"),
                       jn_client_str(it, "node"), jn_client_str(it, "where"),
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "inside")) ? "yes" : "NO",
                       labels);
            }
        }
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    /* a script can ask: does everything stay inside? (exit 3 when not) */
    return rc ? rc : all_inside ? 0 : 3;
}

int jn_cmd_apps_set(struct jn_client *c, int argc, char **argv)
{
    static const char usage[] = "apps set APP [--require KEY=VALUE]... [--prefer KEY=VALUE]...";
    if (argc < 3)
        return jn_client_usage(usage);
    cJSON *body = cJSON_CreateObject();
    cJSON *req = NULL, *pref = NULL;
    for (int i = 3; i < argc; i++) {
        bool r = strcmp(argv[i], "--require") == 0, p = strcmp(argv[i], "--prefer") == 0;
        if ((!r && !p) || i + 1 >= argc) {
            cJSON_Delete(body);
            return jn_client_usage(usage);
        }
        cJSON **target = r ? &req : &pref;
        if (!*target)
            *target = cJSON_AddObjectToObject(body, r ? "require" : "prefer");
        if (jn_cluster_label_add(*target, argv[++i]) < 0) {
            fprintf(stderr, "jern: invalid label \"%s\" (KEY=VALUE, e.g. jurisdiction=NO)\n",
                    argv[i]);
            cJSON_Delete(body);
            return 2;
        }
    }
    char *e = jn_client_escape(argv[2]);
    char path[512];
    snprintf(path, sizeof(path), "/v1/apps/%s/placement", e);
    free(e);
    cJSON *o;
    int rc = jn_client_request(c, "POST", path, body, &o);
    if (rc == 0 && !c->json)
        printf("app %s: placement saved; the scheduler applies it now (see: jern where %s)\n",
               argv[2], argv[2]);
    cJSON_Delete(o);
    cJSON_Delete(body);
    return rc;
}

int jn_cmd_cluster(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 2 || strcmp(argv[1], "init") != 0) {
        jn_client_free(&c);
        return jn_client_usage("cluster init");
    }
    cJSON *o;
    int rc = jn_client_request(&c, "POST", "/v1/cluster/init", NULL, &o);
    if (rc == 0 && !c.json) {
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "imported"))
            printf("app %s: its serving release, scale and domains are now the cluster's\n",
                   x->valuestring);
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "skipped"))
            printf("app %s: left as it is (the cluster has it already, or nothing serves)\n",
                   x->valuestring);
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}
