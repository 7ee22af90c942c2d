/*
 * node_cluster.c: the cluster steps of `jern node add|remove` (docs/APPLY.md,
 * "Servers over SSH"). After add --cluster, the node must not only answer
 * but be one of the cluster's nodes with the labels it was given; before
 * remove stops a cluster node, its instances move to the other nodes
 * (`jern node drain`), so stopping it fails no request. Both ask the jern on
 * the node itself (its admin socket, over the same ssh connection): what it
 * sees of the cluster is read from etcd.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/node_int.h"
#include "control/cluster/model.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define JOIN_WAIT_MS 30000
#define OUT_MAX (1 << 20)

/* Runs `jern ARGS [NAME] --admin SOCK` on the node (its output, stderr
 * too, into out). Returns jn_node_sh's status. */
static int remote_jern(const struct jn_node_target *n, const char *args, const char *name,
                       struct jn_buf *out)
{
    struct jn_buf s;
    jn_buf_init(&s, 1 << 16);
    jn_buf_puts(&s, "unset HISTFILE\nexec ");
    jn_node_shq(&s, n->bin);
    jn_buf_printf(&s, " %s ", args);
    if (name) {
        jn_node_shq(&s, name);
        jn_buf_puts(&s, " ");
    }
    char sock[1200];
    snprintf(sock, sizeof(sock), "%s/admin.sock", n->state);
    jn_buf_puts(&s, "--admin ");
    jn_node_shq(&s, sock);
    jn_buf_puts(&s, " 2>&1\n");
    jn_buf_reset(out);
    int r = jn_node_sh(n, jn_buf_cstr(&s), out);
    jn_buf_free(&s);
    return r;
}

/* The node's `jern nodes --json`, or NULL (*rc: the status; out: why). */
static cJSON *remote_nodes(const struct jn_node_target *n, struct jn_buf *out, int *rc)
{
    *rc = remote_jern(n, "nodes --json", NULL, out);
    return *rc == 0 ? cJSON_Parse(jn_buf_cstr(out)) : NULL;
}

static const cJSON *find_node(const cJSON *nodes, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(nodes, "nodes"))
    {
        if (strcmp(jn_client_str(x, "name"), name) == 0)
            return x;
    }
    return NULL;
}

static bool draining(const cJSON *node)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "draining"));
}

static void print_log_tail(const struct jn_node_target *n)
{
    struct jn_buf s, out;
    jn_buf_init(&s, 1 << 12);
    jn_buf_init(&out, OUT_MAX);
    if (*n->root) {
        jn_buf_puts(&s, "tail -n 20 ");
        jn_node_shq(&s, n->log);
    } else {
        jn_buf_puts(&s, "journalctl -u jern.service -n 20 --no-pager");
    }
    jn_buf_puts(&s, "\nexit 0\n");
    if (jn_node_sh(n, jn_buf_cstr(&s), &out) == 0)
        fprintf(stderr, "its log:\n%s", jn_buf_cstr(&out));
    jn_buf_free(&s);
    jn_buf_free(&out);
}

int jn_node_join_check(const struct jn_node_target *n, int *changes)
{
    cJSON *want = cJSON_CreateObject();
    for (int i = 0; i < n->nlabels; i++)
        jn_cluster_label_add(want, n->labels[i]);
    char want_text[1024];
    jn_cluster_labels_text(want, want_text, sizeof(want_text));
    struct jn_buf out;
    jn_buf_init(&out, OUT_MAX);
    int64_t deadline = jn_now_ms() + JOIN_WAIT_MS;
    int rc = 1;
    bool undrained = false;
    for (;;) {
        int r;
        cJSON *o = remote_nodes(n, &out, &r);
        if (r == 255 || r < 0) {
            cJSON_Delete(o);
            break;
        }
        const cJSON *me = find_node(o, n->name);
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(me, "labels");
        bool same = me && jn_cluster_labels_match(labels, want) &&
                    cJSON_GetArraySize(labels) == cJSON_GetArraySize(want);
        if (same && draining(me) && !undrained) {
            /* a remove drained it; joining again means taking instances */
            struct jn_buf u;
            jn_buf_init(&u, OUT_MAX);
            if (remote_jern(n, "node undrain", n->name, &u) == 0) {
                printf("  cluster: node %s was drained (jern node remove): it takes "
                       "instances again\n",
                       n->name);
                (*changes)++;
            }
            jn_buf_free(&u);
            undrained = true;
        } else if (same && !draining(me)) {
            printf("  cluster: in jern nodes as %s with labels %s: ok\n", n->name,
                   *want_text ? want_text : "(none)");
            rc = 0;
        } else if (jn_now_ms() > deadline) {
            fprintf(stderr,
                    "jern: node %s answers but is not in the cluster's nodes with labels %s "
                    "after %d s: can it reach etcd at %s? (jern nodes on it said:)\n%s",
                    n->name, *want_text ? want_text : "(none)", JOIN_WAIT_MS / 1000, n->cluster,
                    jn_buf_cstr(&out));
            print_log_tail(n);
        } else {
            cJSON_Delete(o);
            usleep(200 * 1000);
            continue;
        }
        cJSON_Delete(o);
        if (rc == 0 || jn_now_ms() > deadline)
            break;
    }
    fflush(stdout);
    cJSON_Delete(want);
    jn_buf_free(&out);
    return rc;
}

/* Waits until node name of the cluster runs no instance. Returns 0 or 1. */
static int wait_drained(const struct jn_node_target *n, const char *name, struct jn_buf *out)
{
    int64_t deadline = jn_now_ms() + (int64_t)n->drain_timeout * 1000;
    int left = -1;
    for (;;) {
        int r;
        cJSON *o = remote_nodes(n, out, &r);
        if (r == 255 || r < 0) {
            cJSON_Delete(o);
            return 1;
        }
        const cJSON *me = find_node(o, name);
        /* a failed answer counts as "not yet": only a 0 lets it stop */
        left = !o ? -1 : me ? (int)jn_client_num(me, "instances") : 0;
        cJSON_Delete(o);
        if (left == 0) {
            printf("  drain: its instances run on the other nodes now\n");
            return 0;
        }
        if (jn_now_ms() > deadline)
            break;
        usleep(250 * 1000);
    }
    if (left < 0) {
        fprintf(stderr,
                "jern: node %s: jern nodes on it failed while draining (%s); it stays drained "
                "and running; to stop it anyway, pass --no-drain\n",
                name, jn_buf_cstr(out));
        return 1;
    }
    fprintf(stderr,
            "jern: node %s still runs %d instance(s) after %d s of drain: no other node takes "
            "them (see: jern where). It stays drained and running (jern node undrain %s takes "
            "it back); to stop it anyway, pass --no-drain\n",
            name, left, n->drain_timeout, name);
    return 1;
}

int jn_node_drain_before_stop(const struct jn_node_target *n)
{
    if (n->no_drain) {
        printf("  drain: skipped (--no-drain)\n");
        return 0;
    }
    struct jn_buf out;
    jn_buf_init(&out, OUT_MAX);
    int r, rc = 1;
    cJSON *o = remote_nodes(n, &out, &r);
    if (r == 255 || r < 0)
        goto out;
    if (!o) {
        /* not running, or a single node: nothing moves anywhere; anything
         * else is no answer, and stopping it blind could fail requests */
        const char *why = jn_buf_cstr(&out);
        if (strstr(why, "cannot reach the jern daemon") || strstr(why, "is a single node")) {
            printf("  drain: not a running cluster node: nothing to move\n");
            rc = 0;
        } else {
            fprintf(stderr,
                    "jern: node %s: cannot tell whether it runs instances (jern nodes on it: "
                    "%s); to stop it anyway, pass --no-drain\n",
                    n->name, why);
        }
        goto out;
    }
    char name[256];
    snprintf(name, sizeof(name), "%s", jn_client_str(o, "node"));
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "etcd"))) {
        fprintf(stderr,
                "jern: node %s: the cluster's etcd is unreachable (%s), so its instances cannot "
                "move; to stop it anyway, pass --no-drain\n",
                name, jn_client_str(o, "error"));
        goto out;
    }
    if (remote_jern(n, "node drain", name, &out) != 0) {
        fprintf(stderr, "jern: node %s: drain failed:\n%s", name, jn_buf_cstr(&out));
        goto out;
    }
    printf("  drain: node %s drained; waiting up to %d s for its instances to move\n", name,
           n->drain_timeout);
    fflush(stdout);
    rc = wait_drained(n, name, &out);
out:
    fflush(stdout);
    cJSON_Delete(o);
    jn_buf_free(&out);
    return rc;
}
