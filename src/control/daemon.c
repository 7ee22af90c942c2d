/*
 * daemon.c: `jern serve`: start order, signals, reload, stop.
 *
 * Start: config -> state dir -> store (migrations) -> gateway (the file's
 * routes; listeners bound, nothing accepted yet) -> adopt the instances ->
 * publish everything the store holds -> accept -> admin API. The admin
 * socket appears last, so a client that can reach it sees a daemon whose
 * gateway already serves the acknowledged state.
 */
#include "core/common.h"

#include "control/api/admin.h"
#include "control/api/api.h"
#include "control/certs/certs.h"
#include "control/cluster/cluster.h"
#include "control/ui/history.h"
#include "control/ui/session.h"
#include "control/control.h"
#include "control/daemon.h"
#include "control/daemon_conf.h"
#include "control/deploy/deploy.h"
#include "control/scale/autoscale.h"
#include "control/statedir.h"
#include "core/log.h"
#include "db/db.h"
#include "ev/loop.h"
#include "gateway/gateway.h"
#include "net/sock.h"
#include "proc/process.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define JERN_VERSION "0.1.0"

struct daemon {
    const char *config_path;
    struct jn_daemon_conf dc;
    const struct jn_conf *conf; /* owned by the gateway */
    struct jn_gateway *gw;
    struct jn_process proc;
    struct jn_loop *loop; /* proc.loop */
    struct jn_control *ctl;
    struct jn_admin *admin;
    struct jn_deployer *deployer;
    struct jn_autoscaler *autoscaler;
    struct jn_certs *certs;
    struct jn_dbs *dbs;
    struct jn_cluster *cluster;
    struct jn_api api;
    struct jn_history *history;
    struct jn_ui_sessions sessions;
    char admin_desc[512];
    int lock_fd; /* the state dir's lock (statedir.h) */
};

static void quit_done(void *arg)
{
    struct daemon *d = arg;
    jn_process_stop(&d->proc);
}

/* QUIT: stop accepting, let requests in flight finish, then exit. */
static void on_quit(void *arg)
{
    struct daemon *d = arg;
    jn_gateway_shutdown(d->gw, quit_done, d);
}

static void on_reopen(void *arg)
{
    struct daemon *d = arg;
    jn_gateway_reopen_logs(d->gw);
}

/* HUP: re-read the file. Live state lives in the store, not the file, so it
 * is re-applied on top of the new config. A bad file keeps the old one. */
static void on_reload(void *arg)
{
    struct daemon *d = arg;
    if (!d->config_path) {
        jn_notice("reload: no config file (embedded defaults); live state unchanged");
        return;
    }
    struct jn_daemon_conf dc;
    struct jn_conf *conf;
    char err[1024];
    if (jn_daemon_conf_load(d->config_path, &dc, &conf, err, sizeof(err)) < 0) {
        jn_error("reload failed, keeping the running config: %s", err);
        return;
    }
    /* The gateway takes conf (also on failure) and rebuilds the config
     * upstreams from the file; the store's changes are re-applied on top at
     * once, before this handler returns. */
    if (jn_gateway_reload(d->gw, conf, err, sizeof(err)) < 0) {
        jn_daemon_conf_free(&dc);
        jn_error("reload failed, keeping the running config: %s", err);
        return;
    }
    /* Listen addresses follow the file; the state dir, the admin endpoint
     * and the base domain are bound at start and need a restart. */
    if (strcmp(dc.state_dir, d->dc.state_dir) != 0 || strcmp(dc.admin_unix, d->dc.admin_unix) ||
        strcmp(dc.base_domain, d->dc.base_domain) != 0 ||
        strcmp(dc.acme_directory, d->dc.acme_directory) != 0)
        jn_warn("reload: state_dir, admin, base_domain and acme_* changes take effect at "
                "restart");
    for (size_t i = 0; i < JN_DAEMON_MAX_LISTEN; i++) {
        char *t = d->dc.listen[i];
        d->dc.listen[i] = dc.listen[i];
        dc.listen[i] = t;
    }
    size_t n = d->dc.nlisten;
    d->dc.nlisten = dc.nlisten;
    dc.nlisten = n;
    d->api.nlistens = d->dc.nlisten;
    d->dc.drain_timeout_ms = dc.drain_timeout_ms;
    jn_gateway_set_drain_timeout(d->gw, dc.drain_timeout_ms);
    jn_daemon_conf_free(&dc);
    d->conf = conf;
    jn_control_set_conf(d->ctl, conf);
    if (jn_control_publish_all(d->ctl, err, sizeof(err)) < 0)
        jn_error("reload: re-applying live state: %s", err);
    d->api.reloads++;
    jn_notice("reloaded %s", d->config_path);
}

/* The port of the first HTTPS listen address (redirects go there), or 0. */
static int https_port(const struct jn_daemon_conf *dc)
{
    for (size_t i = 0; i < dc->nlisten; i++) {
        struct jn_addr a;
        char addr[256];
        const char *ssl = strstr(dc->listen[i], " ssl"); /* "ADDR ssl" */
        if (ssl && snprintf(addr, sizeof(addr), "%.*s", (int)(ssl - dc->listen[i]),
                            dc->listen[i]) < (int)sizeof(addr) &&
            jn_addr_parse(addr, 443, &a) == 0)
            return ntohs(a.ss.ss_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)&a.ss)->sin6_port
                             : ((const struct sockaddr_in *)&a.ss)->sin_port);
    }
    return 0;
}

/* The host:port part of a listen text ("ADDR[ ssl]"). */
static void listen_port(const char *text, char *port, size_t len)
{
    const char *colon = strrchr(text, ':');
    snprintf(port, len, "%.*s", colon ? (int)strcspn(colon + 1, " ") : 0, colon ? colon + 1 : "");
}

/* A cluster node (docs/CLUSTER.md) when the config or the flags name etcd. */
static int cluster_start(struct daemon *d, char *err, size_t errlen)
{
    if (!d->dc.cluster)
        return 0;
    char host[256] = "", port[16] = "8080", gateway[300];
    if (d->dc.nlisten) {
        listen_port(d->dc.listen[0], port, sizeof(port));
        const char *colon = strrchr(d->dc.listen[0], ':');
        snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - d->dc.listen[0]) : 0,
                 d->dc.listen[0]);
    }
    char hostname[256] = "";
    gethostname(hostname, sizeof(hostname) - 1);
    const char *adv = d->dc.advertise ? d->dc.advertise : host;
    snprintf(gateway, sizeof(gateway), "%s:%s", adv, port);
    struct jn_cluster_opts o = {
        .endpoints = d->dc.cluster,
        .node = d->dc.node ? d->dc.node : hostname,
        .advertise = adv,
        .gateway = gateway,
        .state_dir = d->dc.state_dir,
        .labels = (const char *const *)d->dc.labels,
        .nlabels = d->dc.nlabels,
        .memory = d->dc.node_memory,
    };
    d->cluster = jn_cluster_new(&o, d->loop, d->ctl, d->deployer, err, errlen);
    if (!d->cluster)
        return JN_ECONFIG;
    int r = jn_cluster_start(d->cluster);
    if (r < 0)
        snprintf(err, errlen, "cannot start the cluster thread: %s", jn_strerror(r));
    return r;
}

/* What the admin API tells about this daemon (borrowed from d). */
static void api_init(struct daemon *d, const char *config_path)
{
    int n = snprintf(d->admin_desc, sizeof(d->admin_desc), "unix:%s", d->dc.admin_unix);
    if (d->dc.admin_tcp)
        snprintf(d->admin_desc + n, sizeof(d->admin_desc) - (size_t)n, " and %s (token)",
                 d->dc.admin_tcp);
    d->api = (struct jn_api){
        .ctl = d->ctl,
        .version = JERN_VERSION,
        .state_dir = d->dc.state_dir,
        .config_path = config_path,
        .listens = (const char *const *)d->dc.listen,
        .nlistens = d->dc.nlisten,
        .admin_desc = d->admin_desc,
        .started_ms = jn_now_ms(),
        .deployer = d->deployer,
        .autoscaler = d->autoscaler,
        .certs = d->certs,
        .history = d->history = jn_history_new(d->loop, d->ctl),
        .sessions = &d->sessions,
        .admin_token = d->dc.admin_tcp ? d->dc.admin_token : NULL,
        .dbs = d->dbs,
        .cluster = d->cluster,
        .labels = (const char *const *)d->dc.labels,
        .nlabels = d->dc.nlabels,
        .node_memory = d->dc.node_memory,
    };
}

int jn_daemon_run(const char *config_path, const struct jn_daemon_flags *flags)
{
    struct daemon d = {.config_path = config_path, .lock_fd = -1};
    char err[1024];
    int rc = 1;
    struct jn_conf *conf;
    if (jn_daemon_conf_load(config_path, &d.dc, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: %s\n", err);
        return 1;
    }
    d.conf = conf;
    if (flags)
        jn_daemon_conf_flags(&d.dc, flags);
    /* Before any thread starts, so every thread inherits the blocked mask. */
    struct jn_process_ops ops = {on_reload, on_quit, on_reopen, &d};
    int r = jn_process_start(&d.proc, conf, "", &ops, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "jern: %s\n", err);
        jn_conf_free(conf);
        goto out;
    }
    d.loop = d.proc.loop;
    /* Before the store or the admin socket is touched: a second daemon must
     * not unlink the first one's socket nor write to its database. */
    r = jn_statedir_claim(d.dc.state_dir, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "jern: %s\n", err);
        jn_conf_free(conf);
        goto out;
    }
    d.lock_fd = r;
    char dbpath[4096];
    snprintf(dbpath, sizeof(dbpath), "%s/jern.db", d.dc.state_dir);
    struct jn_store *st;
    if (jn_store_open(dbpath, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: state store: %s\n", err);
        jn_conf_free(conf);
        goto out;
    }
    d.ctl = jn_control_new(st, d.conf, d.dc.base_domain);

    /* Held until the store's apps are published: a request that arrives
     * meanwhile waits in the listen queue instead of meeting a 404. */
    if (jn_gateway_start_held(d.loop, conf, &d.gw, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: gateway: %s\n", err);
        goto out;
    }
    jn_gateway_set_drain_timeout(d.gw, d.dc.drain_timeout_ms);
    /* Each app's own access log (jern logs APP --access): STATE/logs/APP. */
    char app_logs[4200];
    snprintf(app_logs, sizeof(app_logs), "%s/logs", d.dc.state_dir);
    jn_gateway_set_app_log_dir(d.gw, app_logs);
    jn_control_set_gateway(d.ctl, d.gw);

    /* Adopt surviving instances before publishing, so the gateway's first
     * snapshot already routes to them and never to orphans. */
    struct jn_deploy_opts dopts = {
        .state_dir = d.dc.state_dir,
        .log_size = d.dc.instance_log_size,
        .log_files = d.dc.instance_log_files,
        .log_retention_ms = d.dc.log_retention_ms,
        /* a cluster's gateways learn of a switch within about two rounds */
        .linger_ms = d.dc.cluster ? 3000 : 0,
    };
    d.deployer = jn_deployer_new(d.loop, d.ctl, &dopts);
    d.autoscaler = jn_autoscaler_new(d.deployer);
    jn_deployer_start(d.deployer);
    jn_autoscaler_start(d.autoscaler);

    if (jn_control_publish_all(d.ctl, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: %s\n", err);
        goto out;
    }
    if (cluster_start(&d, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: cluster: %s\n", err);
        goto out;
    }
    if (d.cluster)
        jn_cluster_set_autoscaler(d.cluster, d.autoscaler);
    /* Managed databases: adopt the running servers, start the others. */
    d.dbs = jn_dbs_new(d.loop, st, d.dc.state_dir);
    if (d.cluster)
        jn_dbs_set_advertise(d.dbs, jn_cluster_advertise(d.cluster));
    jn_dbs_start(d.dbs);
    if (d.cluster)
        jn_cluster_set_dbs(d.cluster, d.dbs);

    struct jn_certs_opts co = {
        .gw = d.gw,
        .https_port = https_port(&d.dc),
        .state_dir = d.dc.state_dir,
        .directory = d.dc.acme_directory,
        .email = d.dc.acme_email,
        .ca_bundle = d.dc.acme_ca_bundle,
    };
    d.certs = jn_certs_new(d.loop, d.ctl, &co);
    if (d.cluster)
        jn_cluster_set_certs(d.cluster, d.certs);
    jn_gateway_open(d.gw);

    api_init(&d, config_path);
    struct jn_admin_opts ao = {
        .unix_path = d.dc.admin_unix,
        .unix_group = d.dc.admin_group,
        .tcp_addr = d.dc.admin_tcp,
        .token = d.dc.admin_token,
    };
    if (jn_admin_start(d.loop, &d.api, &ao, &d.admin, err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: admin API: %s\n", err);
        goto out;
    }
    jn_notice("jern %s ready: apps on %s (*.%s), admin on %s, state in %s%s%s", JERN_VERSION,
              d.dc.listen[0], d.dc.base_domain, d.admin_desc, d.dc.state_dir,
              d.cluster ? ", cluster node " : "", d.cluster ? jn_cluster_node(d.cluster) : "");
    r = jn_process_run(&d.proc);
    rc = r < 0 ? 1 : 0;
out:
    jn_admin_stop(d.admin);
    jn_certs_free(d.certs);
    jn_history_free(d.history);
    jn_autoscaler_free(d.autoscaler);
    jn_deployer_free(d.deployer);
    /* after the deployer: joining the cluster thread takes up to a round,
     * and the deployer's threads must see "stopping" by then */
    jn_cluster_free(d.cluster);
    jn_dbs_free(d.dbs);
    if (d.gw)
        jn_gateway_free(d.gw);
    jn_control_free(d.ctl);
    jn_process_free(&d.proc);
    jn_daemon_conf_free(&d.dc);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    return rc;
}
