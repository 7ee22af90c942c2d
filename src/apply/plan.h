/*
 * plan.h: what converging a live model onto a file's model takes (`jern
 * plan`, `jern apply`): a list of changes, each with its lines for people
 * (field by field, secrets masked) and the steps `apply` runs for it.
 *
 * Pure: the models come from spec.h; nothing here talks to the daemon.
 */
#ifndef JN_APPLY_PLAN_H
#define JN_APPLY_PLAN_H

#include "apply/spec.h"

enum jn_plan_op {
    JN_PLAN_CREATE = '+',
    JN_PLAN_UPDATE = '~',
    JN_PLAN_DELETE = '-',
    JN_PLAN_NOTE = '!', /* shown, never done: a prune not asked for, a field no API changes */
};

struct jn_plan_change {
    enum jn_plan_op op;
    const char *kind; /* "app", "database", "upstream", "node" */
    char *name;
    struct jn_spec_list lines; /* "image: \"a\" -> \"b\"", "env.KEY: (changed)" */
    /* The steps, in the order apply runs them. */
    bool create_app, deploy, scale, autoscale, https, remove;
    bool placement;     /* the app's require/prefer (a cluster) */
    bool config;        /* the file's env into the app's config (rollout: false), before a deploy */
    bool env_in_deploy; /* a cluster: env travels with the deploy (no app config) */
    struct jn_spec_list unset; /* config names the file no longer has */
    bool labels;               /* the node's labels */
    struct jn_spec_list dom_add, dom_del;
    struct jn_spec_list attach, detach;
    struct jn_spec_list srv_add, srv_set, srv_del; /* addresses */
    const struct jn_spec_app *app;                 /* the file's entry (NULL for a delete) */
    const struct jn_spec_db *db;
    const struct jn_spec_upstream *up;
    const struct jn_spec_node *node;
};

struct jn_plan {
    struct jn_plan_change *v;
    size_t n;
    int creates, updates, deletes, notes;
};

/* Compares want (the file) with live (the daemon) into *out (free with
 * jn_plan_free). Objects live has and want lacks are deleted only with
 * prune (else a NOTE). An upstream the file names that live lacks is a
 * NOTE too (static upstreams come from the daemon's config). On a cluster
 * (live->clustered) nodes' labels and apps' placement are compared too:
 * node changes come first, so an app's new requirement finds its nodes. */
void jn_plan_make(const struct jn_spec *want, const struct jn_spec *live, bool prune,
                  struct jn_plan *out);

/* True when the plan would change something. */
bool jn_plan_changes(const struct jn_plan *p);

/* Writes the plan for people into b, ending with a summary line. */
void jn_plan_print(const struct jn_plan *p, struct jn_buf *b);

void jn_plan_free(struct jn_plan *p);

#endif
