/* node_int.h: what `jern node add|remove` (cmd_node.c) shares with its
 * cluster steps (node_cluster.c): the node being bootstrapped and the
 * remote shell on it. */
#ifndef JN_CLI_NODE_INT_H
#define JN_CLI_NODE_INT_H

#include "cli/node_url.h"
#include "core/buf.h"

#define JN_NODE_MAX_LABELS 32

struct jn_node_target {
    struct jn_node_url url;
    const char *url_text;
    const char *name;
    const char *labels[JN_NODE_MAX_LABELS];
    int nlabels;
    const char *cluster, *advertise, *listen;
    const char *known_hosts, *identity, *binary;
    const char *root; /* "" or an absolute directory */
    bool accept_new, skip_apt, no_start, no_drain;
    int drain_timeout; /* seconds `node remove` waits for the instances to move */
    /* remote paths */
    char bin[1100], conf[1100], unit[1100], state[1100], pid[1100], log[1100];
    char control[128]; /* the multiplexed connection's socket ("": none yet) */
};

/* Appends s to b quoted for a POSIX shell ('...'). */
void jn_node_shq(struct jn_buf *b, const char *s);

/* Runs script on the node as root (sudo -n for another user), on ssh's
 * stdin; its stdout into out (may be NULL). Returns the script's exit
 * status, 255 when ssh failed (the hint printed), -1 when ssh could not run. */
int jn_node_sh(const struct jn_node_target *n, const char *script, struct jn_buf *out);

/* The value of KEY=VALUE line key of out into val ("" when absent); val. */
const char *jn_node_kv(struct jn_buf *out, const char *key, char *val, size_t len);

/* After `node add --cluster`: waits until the node is in the cluster's
 * `jern nodes` with exactly its labels (undraining it when a remove had
 * drained it: one more in *changes). Prints the result. Returns 0, or 1
 * (the reason printed). */
int jn_node_join_check(const struct jn_node_target *n, int *changes);

/* Before `node remove` stops a running cluster node: drains it and waits
 * until its instances run elsewhere (n->drain_timeout). A single node, or
 * one not running, is left alone (0). Returns 0, or 1 when it cannot be
 * drained in time (the reason and --no-drain printed; nothing stopped). */
int jn_node_drain_before_stop(const struct jn_node_target *n);

#endif
