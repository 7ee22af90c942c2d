/* control_int.h: the control plane's model as control.c and publish.c share
 * it, and the hooks and live views the deploy and scale code use (internal to
 * src/control and its folders). */
#ifndef JN_CONTROL_INT_H
#define JN_CONTROL_INT_H

#include "control/control.h"
#include "gateway/upstream.h"

struct jn_loop;

/* Called for an app's upstream u before it is handed to the gateway (scale
 * to zero hooks it up: control/scale/autoscale.c); may set *wait_ready and
 * *wait_timeout_ms for the gateway's app entry. */
typedef void jn_ctl_publish_hook(void *arg, const char *app, struct jn_upstream *u,
                                 bool *wait_ready, int64_t *wait_timeout_ms);

#define JN_CTL_MAX_HOOKS 4

struct jn_ctl_live {
    char *name;
    struct jn_upstream *u; /* the last one published under name (one reference) */
    bool wait_ready;       /* app upstreams: the gateway's "wait for ready" (autoscale) */
    int64_t wait_timeout_ms;
};

struct jn_ctl_host {
    char *host; /* "shop.localhost", "shop.example.com" */
    char *app;
};

/* An app's instances on other nodes of a cluster (jn_control_set_remote). */
struct jn_ctl_remote {
    char *app;
    char **addrs;
    size_t n;
    size_t nnear; /* addrs[0..nnear): on the node's site */
};

struct jn_control {
    struct jn_store *st;
    const struct jn_conf *conf;
    char base_domain[JN_STORE_DOMAIN_MAX];
    struct jn_gateway *gw;
    struct jn_ctl_live *live;
    size_t nlive;
    struct jn_ctl_host *hosts; /* the app hosts last published to the gateway */
    size_t nhosts;
    jn_ctl_publish_hook *on_publish; /* NULL: none */
    void *on_publish_arg;
    struct jn_loop *loop; /* the control loop, for the gateway's posts: set once, and
                           * like ctl itself outlives the gateway workers */
    struct jn_ctl_remote *remote; /* the cluster's remote instances per app */
    size_t nremote;
    struct {
        void (*cb)(void *arg, const char *app);
        void *arg;
    } on_app_deleted[JN_CTL_MAX_HOOKS];
};

/* A desired server: the view plus, for config servers, the config entry. */
struct jn_ctl_want {
    struct jn_ctl_server v;
    const struct jn_conf_upstream_server *cs; /* NULL for servers added at runtime */
};

/* Publishes upstream name with the servers want[0..n) (cu: its config block,
 * or NULL for an app upstream), reusing the live peers of the same address so
 * counters, failure state and in-flight requests carry over. Returns 0 or a
 * negative code. Control thread. */
int jn_ctl_publish_upstream(struct jn_control *ctl, const char *name,
                            const struct jn_conf_upstream *cu, const struct jn_ctl_want *want,
                            size_t n);

/* Withdraws an app's upstream (app deleted). */
void jn_ctl_unpublish_upstream(struct jn_control *ctl, const char *name);

/* Publishes the host table: APP.BASE and every domain -> the app's upstream. */
int jn_ctl_publish_hosts(struct jn_control *ctl);

/* Fills conns/requests/failures/stats of v[0..n) from the live peers of name. */
void jn_ctl_live_counters(struct jn_control *ctl, const char *name, struct jn_ctl_server *v,
                          size_t n);

/* The upstream last published under name (borrowed), or NULL. */
struct jn_upstream *jn_ctl_live_upstream(struct jn_control *ctl, const char *name);

/* Registers the publish hook (one; NULL fn detaches) and the control loop
 * (kept when NULL). Control thread. */
void jn_ctl_on_publish_app(struct jn_control *ctl, jn_ctl_publish_hook *fn, void *arg,
                           struct jn_loop *loop);

/* Drops every live upstream reference (jn_control_free). */
void jn_ctl_live_free(struct jn_control *ctl);

#endif
