/*
 * cluster_wait.h: after a deploy or scale on a cluster node, waiting until
 * the cluster runs what was asked (docs/CLUSTER.md): the wanted number of
 * instances of the wanted release, healthy, on nodes inside the app's
 * required labels. One function for jern deploy, jern scale and jern apply.
 * CLI process, main thread.
 */
#ifndef JN_CLI_CLUSTER_WAIT_H
#define JN_CLI_CLUSTER_WAIT_H

#include "core/common.h"

#include <cjson/cJSON.h>

struct jn_client;

#define JN_CLI_WAIT_DEFAULT_MS (120 * 1000)

struct jn_cli_wait {
    bool off;           /* --no-wait: return once the change is recorded */
    int64_t timeout_ms; /* --wait-timeout; 0: JN_CLI_WAIT_DEFAULT_MS */
};

/* Takes --no-wait or --wait-timeout DURATION at argv[*i] into w (cmd names
 * the command in messages). Returns 1 when it took one (*i moved past its
 * value), 0 when argv[*i] is neither, -1 after printing what is wrong. */
int jn_cli_wait_arg(struct jn_cli_wait *w, int argc, char **argv, int *i, const char *cmd);

/* For the 202 answer of POST /v1/apps/APP/deploy or /scale on a cluster
 * node ({"cluster": true, "release"?, "instances"}): prints what was
 * recorded, then, unless w->off, polls GET /v1/apps/APP/cluster and GET
 * /v1/where/APP (every 250 ms) until the cluster shows the wanted instances
 * of the release healthy, printing progress lines as the count changes
 * (none with --json). Returns 0, or 1 with a message on stderr naming the
 * app, what is missing and why when known (the scheduler's placement error,
 * a node whose instances do not come up, etcd away) after the timeout. */
int jn_cli_cluster_wait(struct jn_client *c, const char *app, const cJSON *answer,
                        const struct jn_cli_wait *w);

#endif
