/*
 * control.c: validating and applying changes: store first (durable), then
 * a new snapshot for the gateway (publish.c), then the caller answers.
 */
#include "core/common.h"

#include "control/control_int.h"
#include "control/names.h"
#include "core/fault.h"
#include "core/log.h"
#include "net/sock.h"
#include "store/release.h"

#include <stdio.h>

struct jn_control *jn_control_new(struct jn_store *st, const struct jn_conf *conf,
                                  const char *base_domain)
{
    struct jn_control *ctl = jn_calloc(1, sizeof(*ctl));
    ctl->st = st;
    ctl->conf = conf;
    snprintf(ctl->base_domain, sizeof(ctl->base_domain), "%s",
             base_domain && *base_domain ? base_domain : "localhost");
    return ctl;
}

void jn_control_free(struct jn_control *ctl)
{
    if (!ctl)
        return;
    jn_ctl_live_free(ctl);
    for (size_t i = 0; i < ctl->nremote; i++) {
        for (size_t k = 0; k < ctl->remote[i].n; k++)
            free(ctl->remote[i].addrs[k]);
        free(ctl->remote[i].addrs);
        free(ctl->remote[i].app);
    }
    free(ctl->remote);
    jn_store_close(ctl->st);
    free(ctl);
}

void jn_control_set_gateway(struct jn_control *ctl, struct jn_gateway *gw)
{
    ctl->gw = gw;
}

void jn_control_set_conf(struct jn_control *ctl, const struct jn_conf *conf)
{
    ctl->conf = conf;
}

struct jn_store *jn_control_store(struct jn_control *ctl)
{
    return ctl->st;
}

const char *jn_control_base_domain(const struct jn_control *ctl)
{
    return ctl->base_domain;
}

struct jn_gateway *jn_control_gateway(const struct jn_control *ctl)
{
    return ctl->gw;
}

const struct jn_conf *jn_control_conf(const struct jn_control *ctl)
{
    return ctl->conf;
}

static const struct jn_conf_upstream *conf_upstream(const struct jn_control *ctl, const char *name)
{
    if (!ctl->conf)
        return NULL;
    for (size_t i = 0; i < ctl->conf->nupstreams; i++)
        if (strcmp(ctl->conf->upstreams[i].name, name) == 0)
            return &ctl->conf->upstreams[i];
    return NULL;
}

static int store_err(struct jn_control *ctl, int r, char *err, size_t errlen)
{
    if (r == JN_EBASE)
        snprintf(err, errlen, "the state store failed: %s", jn_store_error(ctl->st));
    return r;
}

/* The servers upstream name should have: the config block's servers with the
 * store's overrides applied, then the servers added at runtime. */
static int desired(struct jn_control *ctl, const char *name, const struct jn_conf_upstream **cu_out,
                   struct jn_ctl_want **out, size_t *nout, char *err, size_t errlen)
{
    const struct jn_conf_upstream *cu = conf_upstream(ctl, name);
    if (!cu) {
        int r = jn_store_app_get(ctl->st, name, NULL);
        if (r == JN_ENOTFOUND)
            snprintf(err, errlen,
                     "upstream '%.64s' does not exist (an app or an upstream block of the config "
                     "defines one; create an app with: jern create %.64s)",
                     name, name);
        if (r < 0)
            return store_err(ctl, r, err, errlen);
    }
    struct jn_store_server *rows = NULL;
    int nrows = jn_store_server_list(ctl->st, name, &rows);
    if (nrows < 0)
        return store_err(ctl, nrows, err, errlen);
    size_t cap = (cu ? cu->nservers : 0) + (size_t)nrows;
    struct jn_ctl_want *w = jn_calloc(cap ? cap : 1, sizeof(*w));
    size_t n = 0;
    for (size_t i = 0; cu && i < cu->nservers; i++) {
        const struct jn_conf_upstream_server *cs = &cu->servers[i];
        struct jn_ctl_want *x = &w[n];
        jn_addr_format(&cs->addr, x->v.addr, sizeof(x->v.addr));
        x->v.weight = cs->weight;
        x->v.state = cs->down ? JN_PEER_MAINT : JN_PEER_READY;
        x->v.from_config = true;
        x->cs = cs;
        bool removed = false;
        for (int k = 0; k < nrows; k++) {
            if (strcmp(rows[k].origin, "config") == 0 && strcmp(rows[k].addr, x->v.addr) == 0) {
                removed = strcmp(rows[k].state, "removed") == 0;
                x->v.weight = rows[k].weight;
                x->v.state = jn_name_state_parse(rows[k].state);
            }
        }
        if (!removed)
            n++;
    }
    size_t nconf = n;
    for (int k = 0; k < nrows; k++) {
        if (strcmp(rows[k].origin, "api") != 0)
            continue;
        /* The file now lists a server added at runtime: one peer, the file's. */
        bool dup = false;
        for (size_t i = 0; i < nconf && !dup; i++)
            dup = strcmp(w[i].v.addr, rows[k].addr) == 0;
        if (dup)
            continue;
        struct jn_ctl_want *x = &w[n++];
        snprintf(x->v.addr, sizeof(x->v.addr), "%s", rows[k].addr);
        x->v.weight = rows[k].weight;
        x->v.state = jn_name_state_parse(rows[k].state);
        x->v.from_config = false;
        x->cs = NULL;
    }
    free(rows);
    *cu_out = cu;
    *out = w;
    *nout = n;
    return 0;
}

static int publish(struct jn_control *ctl, const char *name, char *err, size_t errlen)
{
    const struct jn_conf_upstream *cu;
    struct jn_ctl_want *w;
    size_t n;
    int r = desired(ctl, name, &cu, &w, &n, err, errlen);
    if (r < 0)
        return r;
    r = jn_ctl_publish_upstream(ctl, name, cu, w, n);
    free(w);
    if (r < 0)
        snprintf(err, errlen, "cannot publish upstream '%s' to the gateway: %s", name,
                 jn_strerror(r));
    return r;
}

int jn_control_set_remote(struct jn_control *ctl, const char *app, const char *const *addrs,
                          size_t n, size_t nnear, char *err, size_t errlen)
{
    struct jn_ctl_remote *r = NULL;
    for (size_t i = 0; i < ctl->nremote && !r; i++)
        if (strcmp(ctl->remote[i].app, app) == 0)
            r = &ctl->remote[i];
    if (!r && n == 0)
        return 0;
    if (r && r->n == n && r->nnear == nnear) {
        size_t same = 0;
        for (size_t i = 0; i < n; i++)
            same += strcmp(r->addrs[i], addrs[i]) == 0;
        if (same == n)
            return 0;
    }
    if (!r) {
        ctl->remote = jn_realloc(ctl->remote, (ctl->nremote + 1) * sizeof(*ctl->remote));
        r = &ctl->remote[ctl->nremote++];
        r->app = jn_strdup(app);
        r->addrs = NULL;
        r->n = 0;
    }
    for (size_t k = 0; k < r->n; k++)
        free(r->addrs[k]);
    free(r->addrs);
    r->addrs = jn_calloc(n ? n : 1, sizeof(char *));
    for (size_t k = 0; k < n; k++)
        r->addrs[k] = jn_strdup(addrs[k]);
    r->n = n;
    r->nnear = nnear < n ? nnear : n;
    if (jn_store_app_get(ctl->st, app, NULL) < 0)
        return 0; /* published when the app is made */
    return publish(ctl, app, err, errlen);
}

int jn_control_publish_all(struct jn_control *ctl, char *err, size_t errlen)
{
    for (size_t i = 0; ctl->conf && i < ctl->conf->nupstreams; i++) {
        int r = publish(ctl, ctl->conf->upstreams[i].name, err, errlen);
        if (r < 0)
            return r;
    }
    struct jn_store_app *apps;
    int n = jn_store_app_list(ctl->st, &apps);
    if (n < 0)
        return store_err(ctl, n, err, errlen);
    int r = 0;
    for (int i = 0; i < n && r == 0; i++) {
        if (conf_upstream(ctl, apps[i].name)) {
            /* A config upstream block took the name after the app was made. */
            jn_warn("app '%s' shares its name with an upstream block of the config; "
                    "the config's servers are used",
                    apps[i].name);
            continue;
        }
        r = publish(ctl, apps[i].name, err, errlen);
    }
    free(apps);
    if (r == 0 && (r = jn_ctl_publish_hosts(ctl)) < 0)
        snprintf(err, errlen, "cannot publish the app hosts: %s", jn_strerror(r));
    return r;
}

/* Who answers host (normalised) other than app: the app it is a domain of,
 * or the app whose implicit APP.BASE name it is. Returns 0 and fills err (a
 * 409 message) when another app owns it, 1 when it is free (or app's own),
 * or a store error. */
static int host_free(struct jn_control *ctl, const char *app, const char *host, char *err,
                     size_t errlen)
{
    char owner[JN_STORE_NAME_MAX];
    int r = jn_store_domain_owner(ctl->st, host, owner, sizeof(owner));
    if (r == 0 && strcmp(owner, app) != 0) {
        snprintf(err, errlen,
                 "host '%s' already belongs to app '%s' (one of its domains; see: jern domains %s)",
                 host, owner, owner);
        return 0;
    }
    if (r < 0 && r != JN_ENOTFOUND)
        return store_err(ctl, r, err, errlen);
    size_t hl = strlen(host), bl = strlen(ctl->base_domain);
    if (hl > bl + 1 && host[hl - bl - 1] == '.' && strcmp(host + hl - bl, ctl->base_domain) == 0) {
        char name[JN_STORE_NAME_MAX];
        size_t nl = hl - bl - 1;
        if (nl < sizeof(name) && !memchr(host, '.', nl)) {
            memcpy(name, host, nl);
            name[nl] = '\0';
            if (strcmp(name, app) != 0 && jn_store_app_get(ctl->st, name, NULL) == 0) {
                snprintf(err, errlen, "host '%s' already belongs to app '%s' (its own name, %s.%s)",
                         host, name, name, ctl->base_domain);
                return 0;
            }
        }
    }
    return 1;
}

int jn_control_app_create(struct jn_control *ctl, const char *name, const char *const *domains,
                          size_t ndomains, char *err, size_t errlen)
{
    int r = jn_name_app_check(name, err, errlen);
    if (r < 0)
        return r;
    if (conf_upstream(ctl, name)) {
        snprintf(err, errlen,
                 "the name '%s' is taken by an upstream block of the config (choose another)",
                 name);
        return JN_EEXIST;
    }
    char(*norm)[JN_STORE_DOMAIN_MAX] = jn_calloc(ndomains ? ndomains : 1, sizeof(*norm));
    for (size_t i = 0; i < ndomains; i++) {
        if ((r = jn_name_domain_norm(domains[i], norm[i], sizeof(norm[i]), err, errlen)) < 0)
            goto out;
        if ((r = host_free(ctl, name, norm[i], err, errlen)) <= 0) {
            r = r == 0 ? JN_EEXIST : r;
            goto out;
        }
    }
    /* The app's own name, NAME.BASE, must not be another app's domain. */
    char own[JN_STORE_NAME_MAX + JN_STORE_DOMAIN_MAX + 2];
    snprintf(own, sizeof(own), "%s.%s", name, ctl->base_domain);
    char owner[JN_STORE_NAME_MAX];
    r = jn_store_domain_owner(ctl->st, own, owner, sizeof(owner));
    if (r == 0 && strcmp(owner, name) == 0)
        r = JN_ENOTFOUND; /* the app exists and lists its own host: "already exists" below */
    if (r == 0) {
        snprintf(err, errlen,
                 "app name '%s' would take the host '%s', a domain of app '%s' (choose another "
                 "name, or first: jern domains %s remove %s)",
                 name, own, owner, owner, own);
        r = JN_EEXIST;
        goto out;
    }
    if (r != JN_ENOTFOUND) {
        store_err(ctl, r, err, errlen);
        goto out;
    }
    if ((r = jn_store_begin(ctl->st)) < 0) {
        store_err(ctl, r, err, errlen);
        goto out;
    }
    r = jn_store_app_create(ctl->st, name, NULL);
    if (r == JN_EEXIST)
        snprintf(err, errlen, "app '%s' already exists (see: jern apps)", name);
    for (size_t i = 0; r == 0 && i < ndomains; i++) {
        r = jn_store_domain_add(ctl->st, name, norm[i]);
        if (r == JN_EEXIST)
            snprintf(err, errlen, "domain '%s' already belongs to an app (see: jern apps)",
                     norm[i]);
    }
    if (r == 0)
        r = jn_store_commit(ctl->st);
    if (r < 0) {
        jn_store_rollback(ctl->st);
        store_err(ctl, r, err, errlen);
        goto out;
    }
    if ((r = publish(ctl, name, err, errlen)) == 0 && (r = jn_ctl_publish_hosts(ctl)) < 0)
        snprintf(err, errlen, "cannot publish the app hosts: %s", jn_strerror(r));
    jn_notice("app '%s' created with %zu domain(s)", name, ndomains);
out:
    free(norm);
    return r;
}

static int app_missing(struct jn_control *ctl, int r, const char *name, char *err, size_t errlen)
{
    if (r == JN_ENOTFOUND)
        snprintf(err, errlen, "app '%.64s' does not exist (create it with: jern create %.64s)",
                 name, name);
    return store_err(ctl, r, err, errlen);
}

int jn_control_app_delete(struct jn_control *ctl, const char *name, char *err, size_t errlen)
{
    int r = jn_store_app_delete(ctl->st, name);
    if (r < 0)
        return app_missing(ctl, r, name, err, errlen);
    jn_fault_point("destroy:after-delete");
    /* Its https mode (certs/) must not pass to an app made later under the name. */
    char key[JN_STORE_NAME_MAX + 16], mode[16];
    snprintf(key, sizeof(key), "https:%s", name);
    if (jn_store_setting_get(ctl->st, key, mode, sizeof(mode)) >= 0 && strcmp(mode, "off") != 0)
        jn_store_setting_set(ctl->st, key, "off");
    /* Hosts first: no new request is routed to the upstream being withdrawn;
     * requests in flight keep their snapshot and finish. */
    r = jn_ctl_publish_hosts(ctl);
    jn_ctl_unpublish_upstream(ctl, name);
    if (r < 0)
        snprintf(err, errlen, "cannot publish the app hosts: %s", jn_strerror(r));
    jn_notice("app '%s' deleted", name);
    for (size_t i = 0; i < JN_CTL_MAX_HOOKS; i++)
        if (ctl->on_app_deleted[i].cb)
            ctl->on_app_deleted[i].cb(ctl->on_app_deleted[i].arg, name);
    return r;
}

void jn_control_on_app_deleted(struct jn_control *ctl, void (*cb)(void *arg, const char *app),
                               void *arg)
{
    for (size_t i = 0; i < JN_CTL_MAX_HOOKS; i++) {
        if (cb ? !ctl->on_app_deleted[i].cb : ctl->on_app_deleted[i].arg == arg) {
            ctl->on_app_deleted[i].cb = cb;
            ctl->on_app_deleted[i].arg = cb ? arg : NULL;
            if (cb)
                return;
        }
    }
    if (cb)
        abort(); /* more hooks than JN_CTL_MAX_HOOKS: a programming error */
}

int jn_control_domain_add(struct jn_control *ctl, const char *app, const char *domain, char *err,
                          size_t errlen)
{
    char norm[JN_STORE_DOMAIN_MAX];
    int r = jn_name_domain_norm(domain, norm, sizeof(norm), err, errlen);
    if (r < 0)
        return r;
    if ((r = host_free(ctl, app, norm, err, errlen)) <= 0)
        return r == 0 ? JN_EEXIST : r;
    r = jn_store_domain_add(ctl->st, app, norm);
    if (r == JN_EEXIST) {
        snprintf(err, errlen, "domain '%s' already belongs to an app (see: jern apps)", norm);
        return r;
    }
    if (r < 0)
        return app_missing(ctl, r, app, err, errlen);
    if ((r = jn_ctl_publish_hosts(ctl)) < 0)
        snprintf(err, errlen, "cannot publish the app hosts: %s", jn_strerror(r));
    return r;
}

int jn_control_domain_remove(struct jn_control *ctl, const char *app, const char *domain, char *err,
                             size_t errlen)
{
    char norm[JN_STORE_DOMAIN_MAX];
    int r = jn_name_domain_norm(domain, norm, sizeof(norm), err, errlen);
    if (r < 0)
        return r;
    if ((r = jn_store_app_get(ctl->st, app, NULL)) < 0)
        return app_missing(ctl, r, app, err, errlen);
    r = jn_store_domain_remove(ctl->st, app, norm);
    if (r == JN_ENOTFOUND) {
        snprintf(err, errlen, "app '%s' has no domain '%s' (see: jern domains %s)", app, norm, app);
        return r;
    }
    if (r < 0)
        return store_err(ctl, r, err, errlen);
    if ((r = jn_ctl_publish_hosts(ctl)) < 0)
        snprintf(err, errlen, "cannot publish the app hosts: %s", jn_strerror(r));
    return r;
}

/* Finds addr among the desired servers of upstream. */
static struct jn_ctl_want *find_want(struct jn_ctl_want *w, size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w[i].v.addr, addr) == 0)
            return &w[i];
    return NULL;
}

/* Whether the config block has addr, hidden ("removed") or not. */
static bool conf_has(const struct jn_conf_upstream *cu, const char *addr)
{
    char buf[JN_STORE_ADDR_MAX];
    for (size_t i = 0; cu && i < cu->nservers; i++)
        if (strcmp(jn_addr_format(&cu->servers[i].addr, buf, sizeof(buf)), addr) == 0)
            return true;
    return false;
}

static int check_weight(int weight, char *err, size_t errlen)
{
    if (weight >= 1 && weight <= 1000)
        return 0;
    snprintf(err, errlen, "invalid weight %d: expected 1 to 1000", weight);
    return JN_EBADINPUT;
}

/* Normalises addr into norm, checks weight (0: none given, unless required), and looks the
 * server up among upstream's desired servers: *found says whether it is
 * there, *now is its current view (zeroed if not), *cu the upstream's config
 * block. Returns 0 or a negative code (err set). */
static int lookup_server(struct jn_control *ctl, const char *upstream, const char *addr, int weight,
                         bool weight_required, char norm[JN_STORE_ADDR_MAX],
                         const struct jn_conf_upstream **cu, struct jn_ctl_server *now, bool *found,
                         char *err, size_t errlen)
{
    int r = jn_name_addr_norm(addr, norm, JN_STORE_ADDR_MAX, err, errlen);
    if (r < 0 || ((weight_required || weight != 0) && (r = check_weight(weight, err, errlen)) < 0))
        return r;
    struct jn_ctl_want *w;
    size_t n;
    if ((r = desired(ctl, upstream, cu, &w, &n, err, errlen)) < 0)
        return r;
    struct jn_ctl_want *x = find_want(w, n, norm);
    *found = x != NULL;
    *now = x ? x->v : (struct jn_ctl_server){0};
    free(w);
    return 0;
}

bool jn_control_is_instance_addr(struct jn_control *ctl, const char *app, const char *addr)
{
    struct jn_store_instance *v;
    int n = jn_store_instance_list(ctl->st, app, &v);
    bool found = false;
    char a[JN_STORE_ADDR_MAX];
    for (int i = 0; i < n && !found; i++) {
        jn_store_instance_addr(&v[i], a, sizeof(a));
        found = strcmp(a, addr) == 0;
    }
    if (n > 0)
        free(v);
    return found;
}

int jn_control_server_add(struct jn_control *ctl, const char *upstream, const char *addr,
                          int weight, int state, char *err, size_t errlen)
{
    char norm[JN_STORE_ADDR_MAX];
    const struct jn_conf_upstream *cu;
    struct jn_ctl_server now;
    bool exists;
    int r = lookup_server(ctl, upstream, addr, weight, true, norm, &cu, &now, &exists, err, errlen);
    if (r < 0)
        return r;
    if (exists) {
        snprintf(err, errlen,
                 "upstream '%s' already has server %s (change it with: jern upstream %s set %s "
                 "weight=N)",
                 upstream, norm, upstream, norm);
        return JN_EEXIST;
    }
    if (conf_has(cu, norm)) /* re-adding a config server removed at runtime */
        r = jn_store_server_override(ctl->st, upstream, norm, weight, jn_name_state(state));
    else
        r = jn_store_server_add(ctl->st, upstream, norm, weight, jn_name_state(state));
    if (r < 0)
        return store_err(ctl, r, err, errlen);
    jn_notice("upstream '%s': server %s added (weight %d, %s)", upstream, norm, weight,
              jn_name_state(state));
    return publish(ctl, upstream, err, errlen);
}

static int server_missing(const char *upstream, const char *addr, char *err, size_t errlen)
{
    snprintf(err, errlen, "upstream '%s' has no server %s (see: jern upstream %s)", upstream, addr,
             upstream);
    return JN_ENOTFOUND;
}

int jn_control_server_remove(struct jn_control *ctl, const char *upstream, const char *addr,
                             char *err, size_t errlen)
{
    char norm[JN_STORE_ADDR_MAX];
    const struct jn_conf_upstream *cu;
    struct jn_ctl_server now;
    bool found;
    int r = lookup_server(ctl, upstream, addr, 0, false, norm, &cu, &now, &found, err, errlen);
    if (r < 0)
        return r;
    if (!found)
        return server_missing(upstream, norm, err, errlen);
    if (now.from_config)
        r = jn_store_server_override(ctl->st, upstream, norm, now.weight, "removed");
    else
        r = jn_store_server_remove(ctl->st, upstream, norm);
    if (r < 0)
        return store_err(ctl, r, err, errlen);
    jn_notice("upstream '%s': server %s removed", upstream, norm);
    return publish(ctl, upstream, err, errlen);
}

int jn_control_server_set(struct jn_control *ctl, const char *upstream, const char *addr,
                          int weight, int state, char *err, size_t errlen)
{
    char norm[JN_STORE_ADDR_MAX];
    const struct jn_conf_upstream *cu;
    struct jn_ctl_server now;
    bool found;
    int r = lookup_server(ctl, upstream, addr, weight, false, norm, &cu, &now, &found, err, errlen);
    if (r < 0)
        return r;
    if (!found)
        return server_missing(upstream, norm, err, errlen);
    int nw = weight ? weight : now.weight;
    int ns = state >= 0 ? state : now.state;
    if (now.from_config)
        r = jn_store_server_override(ctl->st, upstream, norm, nw, jn_name_state(ns));
    else
        r = jn_store_server_set(ctl->st, upstream, norm, nw, jn_name_state(ns));
    if (r < 0)
        return store_err(ctl, r, err, errlen);
    jn_notice("upstream '%s': server %s set to weight %d, %s", upstream, norm, nw,
              jn_name_state(ns));
    return publish(ctl, upstream, err, errlen);
}

static void fill_view(struct jn_control *ctl, struct jn_ctl_upstream *u, const char *name,
                      bool is_app)
{
    const struct jn_conf_upstream *cu;
    struct jn_ctl_want *w = NULL;
    size_t n = 0;
    char err[256];
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->is_app = is_app;
    if (desired(ctl, name, &cu, &w, &n, err, sizeof(err)) < 0)
        n = 0, cu = NULL;
    u->balance = jn_balance_name(cu ? cu->balance : is_app ? JN_BALANCE_P2C : JN_BALANCE_RR);
    u->servers = jn_calloc(n ? n : 1, sizeof(*u->servers));
    u->nservers = n;
    for (size_t i = 0; i < n; i++)
        u->servers[i] = w[i].v;
    free(w);
    jn_ctl_live_counters(ctl, name, u->servers, n);
}

int jn_control_upstreams(struct jn_control *ctl, const char *name, struct jn_ctl_upstream **out)
{
    struct jn_store_app *apps;
    int napps = jn_store_app_list(ctl->st, &apps);
    if (napps < 0)
        return napps;
    size_t nconf = ctl->conf ? ctl->conf->nupstreams : 0;
    struct jn_ctl_upstream *v = jn_calloc(nconf + (size_t)napps + 1, sizeof(*v));
    int n = 0;
    for (size_t i = 0; i < nconf; i++) {
        const char *un = ctl->conf->upstreams[i].name;
        if (!name || strcmp(name, un) == 0)
            fill_view(ctl, &v[n++], un, false);
    }
    for (int i = 0; i < napps; i++) {
        if (conf_upstream(ctl, apps[i].name))
            continue;
        if (!name || strcmp(name, apps[i].name) == 0)
            fill_view(ctl, &v[n++], apps[i].name, true);
    }
    free(apps);
    if (name && n == 0) {
        free(v);
        *out = NULL;
        return JN_ENOTFOUND;
    }
    *out = v;
    return n;
}

void jn_control_upstreams_free(struct jn_ctl_upstream *v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i].servers);
    free(v);
}
