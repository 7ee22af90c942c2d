/*
 * publish.c: handing the control plane's state to the gateway.
 *
 * Each upstream is rebuilt as a whole (jn_upstream_new over a config block
 * made from the desired servers), reusing the peer objects of the addresses
 * it keeps: their counters, failure state and in-flight requests carry over,
 * and a state change (drain, maint) stored on a shared peer takes effect at
 * once in the snapshot workers are using, before the new one is published.
 * Removed peers stay alive while an old snapshot still holds them, so
 * requests in flight on them finish.
 */
#include "core/common.h"

#include "control/control_int.h"
#include "core/log.h"
#include "gateway/gateway.h"

#include <stdio.h>
#include <stdatomic.h>

/* App upstreams: settings a config block would give (nginx defaults, plus a
 * keep-alive pool: apps are ours, reuse is always safe). The pool bounds the
 * app's idle connections per worker across all its instances. */
#define APP_KEEPALIVE 64
#define APP_KEEPALIVE_TIMEOUT_MS 60000
#define APP_KEEPALIVE_REQUESTS 1000

static struct jn_ctl_live *live_find(struct jn_control *ctl, const char *name)
{
    for (size_t i = 0; i < ctl->nlive; i++)
        if (strcmp(ctl->live[i].name, name) == 0)
            return &ctl->live[i];
    return NULL;
}

static const struct jn_ctl_remote *remote_find(const struct jn_control *ctl, const char *app)
{
    for (size_t i = 0; i < ctl->nremote; i++)
        if (strcmp(ctl->remote[i].app, app) == 0)
            return &ctl->remote[i];
    return NULL;
}

int jn_ctl_publish_upstream(struct jn_control *ctl, const char *name,
                            const struct jn_conf_upstream *cu, const struct jn_ctl_want *want,
                            size_t n)
{
    struct jn_conf_upstream synth;
    if (cu) {
        synth = *cu;
    } else {
        memset(&synth, 0, sizeof(synth));
        synth.name = (char *)name;
        synth.balance = JN_BALANCE_P2C; /* latency-aware: apps' instances differ */
        synth.keepalive = APP_KEEPALIVE;
        synth.keepalive_timeout_ms = APP_KEEPALIVE_TIMEOUT_MS;
        synth.keepalive_requests = APP_KEEPALIVE_REQUESTS;
    }
    /* A cluster's instances on other nodes (jn_control_set_remote): backups
     * while this node has instances of its own, so local ones are preferred
     * and the remote ones take over when they fail; without local ones,
     * those on the node's site first, the others their backups. */
    const struct jn_ctl_remote *rem = cu ? NULL : remote_find(ctl, name);
    size_t nrem = rem ? rem->n : 0;
    struct jn_conf_upstream_server *sv = jn_calloc(n + nrem ? n + nrem : 1, sizeof(*sv));
    for (size_t i = 0; i < nrem; i++) {
        sv[n + i].text = rem->addrs[i];
        sv[n + i].weight = 1;
        sv[n + i].max_fails = 1;
        sv[n + i].fail_timeout_ms = 10000;
        sv[n + i].backup = n > 0 || (rem->nnear > 0 && i >= rem->nnear);
    }
    for (size_t i = 0; i < n; i++) {
        if (want[i].cs) {
            sv[i] = *want[i].cs;
        } else {
            sv[i].max_fails = 1;
            sv[i].fail_timeout_ms = 10000;
        }
        sv[i].text = (char *)want[i].v.addr;
        memset(&sv[i].addr, 0, sizeof(sv[i].addr)); /* parsed again from text */
        sv[i].weight = want[i].v.weight;
        sv[i].down = want[i].v.state == JN_PEER_MAINT;
    }
    synth.servers = sv;
    synth.nservers = n + nrem;
    struct jn_ctl_live *l = live_find(ctl, name);
    struct jn_upstream *u = jn_upstream_new(&synth, l ? l->u : NULL);
    free(sv);
    if (!u)
        return JN_EBADINPUT;
    /* Match states by address; the first entry of an address wins. */
    for (size_t i = n; i-- > 0;)
        jn_upstream_set_peer_state(u, want[i].v.addr, want[i].v.state);
    /* Apps that scale to zero wait for an instance instead of failing. */
    bool wait_ready = false;
    int64_t wait_timeout_ms = 0;
    if (!cu && ctl->on_publish)
        ctl->on_publish(ctl->on_publish_arg, name, u, &wait_ready, &wait_timeout_ms);
    int r = 0;
    if (ctl->gw && cu)
        r = jn_gateway_set_upstream(ctl->gw, name, u, false, 0);
    if (r < 0) {
        jn_upstream_unref(u);
        return r;
    }
    if (!l) {
        ctl->live = jn_realloc(ctl->live, (ctl->nlive + 1) * sizeof(*ctl->live));
        l = &ctl->live[ctl->nlive++];
        l->name = jn_strdup(name);
        l->u = NULL;
    }
    jn_upstream_unref(l->u);
    l->u = u;
    l->wait_ready = wait_ready;
    l->wait_timeout_ms = wait_timeout_ms;
    /* An app's hosts point at the upstream object itself: re-point them. */
    for (size_t i = 0; !cu && ctl->gw && i < ctl->nhosts; i++) {
        if (strcmp(ctl->hosts[i].app, name) != 0)
            continue;
        int e = jn_gateway_set_app(ctl->gw, ctl->hosts[i].host, u, wait_ready, wait_timeout_ms);
        r = r ? r : e;
    }
    return r;
}

void jn_ctl_unpublish_upstream(struct jn_control *ctl, const char *name)
{
    struct jn_ctl_live *l = live_find(ctl, name);
    if (!l)
        return;
    jn_upstream_unref(l->u);
    free(l->name);
    *l = ctl->live[--ctl->nlive];
}

/* Published hosts, to withdraw the ones that disappear. */
static bool host_in(const struct jn_ctl_host *hosts, size_t n, const char *h)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hosts[i].host, h) == 0)
            return true;
    return false;
}

static void hosts_free(struct jn_ctl_host *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].host);
        free(h[i].app);
    }
    free(h);
}

int jn_ctl_publish_hosts(struct jn_control *ctl)
{
    struct jn_store_app *apps = NULL;
    struct jn_store_domain *doms = NULL;
    int napps = jn_store_app_list(ctl->st, &apps);
    int ndoms = napps < 0 ? 0 : jn_store_domain_list(ctl->st, NULL, &doms);
    if (napps < 0 || ndoms < 0) {
        free(apps);
        return JN_EBASE;
    }
    size_t cap = (size_t)napps + (size_t)ndoms, n = 0;
    struct jn_ctl_host *hosts = jn_calloc(cap ? cap : 1, sizeof(*hosts));
    for (int i = 0; i < napps; i++) {
        size_t len = strlen(apps[i].name) + strlen(ctl->base_domain) + 2;
        hosts[n].host = jn_malloc(len);
        snprintf(hosts[n].host, len, "%s.%s", apps[i].name, ctl->base_domain);
        hosts[n++].app = jn_strdup(apps[i].name);
    }
    for (int i = 0; i < ndoms; i++) {
        hosts[n].host = jn_strdup(doms[i].domain);
        hosts[n++].app = jn_strdup(doms[i].app);
    }
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        struct jn_ctl_live *l = live_find(ctl, hosts[i].app);
        if (!l || !ctl->gw)
            continue;
        int e =
            jn_gateway_set_app(ctl->gw, hosts[i].host, l->u, l->wait_ready, l->wait_timeout_ms);
        if (e < 0) {
            jn_warn("cannot route host %s to app '%s': %s", hosts[i].host, hosts[i].app,
                    jn_strerror(e));
            r = r ? r : e;
        }
    }
    /* Withdrawn hosts last: a host moving between apps never goes unrouted. */
    for (size_t i = 0; i < ctl->nhosts; i++) {
        if (!host_in(hosts, n, ctl->hosts[i].host) && ctl->gw)
            jn_gateway_remove_app(ctl->gw, ctl->hosts[i].host);
    }
    hosts_free(ctl->hosts, ctl->nhosts);
    ctl->hosts = hosts;
    ctl->nhosts = n;
    free(apps);
    free(doms);
    return r;
}

void jn_ctl_live_counters(struct jn_control *ctl, const char *name, struct jn_ctl_server *v,
                          size_t n)
{
    struct jn_ctl_live *l = live_find(ctl, name);
    for (size_t i = 0; l && i < n; i++) {
        struct jn_peer *p = jn_upstream_find(l->u, v[i].addr);
        if (!p)
            continue;
        v[i].conns = atomic_load(&p->conns);
        v[i].requests = atomic_load(&p->requests);
        v[i].failures = atomic_load(&p->failures);
        jn_peer_stats_read(p, &v[i].stats);
    }
}

struct jn_upstream *jn_ctl_live_upstream(struct jn_control *ctl, const char *name)
{
    struct jn_ctl_live *l = live_find(ctl, name);
    return l ? l->u : NULL;
}

void jn_ctl_on_publish_app(struct jn_control *ctl, jn_ctl_publish_hook *fn, void *arg,
                           struct jn_loop *loop)
{
    ctl->on_publish = fn;
    ctl->on_publish_arg = fn ? arg : NULL;
    if (loop)
        ctl->loop = loop;
}

void jn_ctl_live_free(struct jn_control *ctl)
{
    for (size_t i = 0; i < ctl->nlive; i++) {
        jn_upstream_unref(ctl->live[i].u);
        free(ctl->live[i].name);
    }
    free(ctl->live);
    ctl->live = NULL;
    ctl->nlive = 0;
    hosts_free(ctl->hosts, ctl->nhosts);
    ctl->hosts = NULL;
    ctl->nhosts = 0;
}
