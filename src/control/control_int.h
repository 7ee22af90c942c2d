/* control_int.h: what control.c and publish.c share (internal to src/control). */
#ifndef JN_CONTROL_INT_H
#define JN_CONTROL_INT_H

#include "control/control.h"
#include "gateway/upstream.h"

struct jn_autoscaler;
struct jn_loop;

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

struct jn_control {
    struct jn_store *st;
    const struct jn_conf *conf;
    char base_domain[JN_STORE_DOMAIN_MAX];
    struct jn_gateway *gw;
    struct jn_ctl_live *live;
    size_t nlive;
    struct jn_ctl_host *hosts; /* the app hosts last published to the gateway */
    size_t nhosts;
    struct jn_autoscaler *as; /* scale to zero (control/autoscale.c); NULL: none */
    struct jn_loop *as_loop;  /* the control loop, for the gateway's "wanted" posts: set
                               * once, and like ctl itself outlives the gateway workers */
    void (*on_app_deleted)(void *arg, const char *app);
    void *on_app_deleted_arg;
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

/* Attaches the autoscaler consulted when app upstreams are published (NULL
 * detaches; loop is kept). */
void jn_control_set_autoscaler(struct jn_control *ctl, struct jn_autoscaler *as,
                               struct jn_loop *loop);

/* Drops every live upstream reference (jn_control_free). */
void jn_ctl_live_free(struct jn_control *ctl);

#endif
