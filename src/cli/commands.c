#include "core/common.h"

#include "cli/commands.h"

#include <stdio.h>

#define JERN_VERSION "0.1.0"

int jn_cmd_version(int argc, char **argv)
{
    printf("jern %s\n", JERN_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    jn_usage();
    return 0;
}

const struct jn_command jn_commands[] = {
    {"serve", jn_cmd_serve, "serve [-c FILE] [--cluster URL --node N --advertise H --label K=V]",
     "run the gateway and control plane (foreground)"},
    {"status", jn_cmd_status, "status [--json]", "show the daemon's status"},
    {"apps", jn_cmd_apps, "apps [--json]", "list apps"},
    {"create", jn_cmd_create, "create APP [--domain D]...", "create an app"},
    {"destroy", jn_cmd_destroy, "destroy APP", "delete an app and its domains and servers"},
    {"domains", jn_cmd_domains, "domains APP [add|remove D]", "list, add or remove domains"},
    {"domains", jn_cmd_domains, "domains APP set --https redirect|only|off",
     "serve the app's domains over HTTPS (redirect: HTTP -> HTTPS)"},
    {"certs", jn_cmd_certs, "certs", "list certificates: domain, issuer, expiry, last error"},
    {"cert", jn_cmd_cert, "cert add DOMAIN --cert F --key F", "install a certificate of your own"},
    {"cert", jn_cmd_cert, "cert renew|remove|show DOMAIN", "renew now, remove, or show one"},
    {"upstream", jn_cmd_upstream, "upstream [NAME]", "list upstreams and their servers"},
    {"upstream", jn_cmd_upstream, "upstream NAME add ADDR [weight=N] [state=S]",
     "add a server (state: ready, drain, maint)"},
    {"upstream", jn_cmd_upstream, "upstream NAME set ADDR [weight=N] [state=S]",
     "change a server's weight or state"},
    {"upstream", jn_cmd_upstream, "upstream NAME remove ADDR",
     "remove a server (requests in flight finish)"},
    {"deploy", jn_cmd_deploy, "deploy APP --image IMAGE | --cmd \"COMMAND\" [options]",
     "deploy a new release (options: jern deploy --help)"},
    {"rollback", jn_cmd_rollback, "rollback APP [RELEASE]", "serve an earlier release again"},
    {"releases", jn_cmd_releases, "releases APP", "list an app's releases"},
    {"ps", jn_cmd_ps, "ps [APP]", "list instances: release, state, health, port, uptime"},
    {"scale", jn_cmd_scale, "scale APP N | APP --min N --max M [--idle D] [--concurrency C]",
     "run N instances, or autoscale between min and max (0: scale to zero)"},
    {"restart", jn_cmd_restart, "restart APP", "replace every instance, one at a time"},
    {"config", jn_cmd_config, "config APP | config set APP K=V... [--secret]",
     "show an app's config, or set variables (kept for every later release)"},
    {"config", jn_cmd_config, "config unset APP K... | config get APP K",
     "remove variables, or show one value (secrets in clear)"},
    {"run", jn_cmd_run, "run APP -- COMMAND [ARGS...]",
     "run a one-off process with the app's release and config"},
    {"history", jn_cmd_history, "history [APP] [--limit N]",
     "list the changes made: when, who, what"},
    {"logs", jn_cmd_logs, "logs APP [-f] [--tail N] [--since T] [--until T] [--release N]",
     "show an app's output, time-stamped, by instance (-f: as it comes)"},
    {"logs", jn_cmd_logs, "logs APP --access [-f] [--tail N]",
     "show the requests the gateway served the app (its access log format)"},
    {"ui", jn_cmd_ui, "ui [--port N]",
     "the dashboard: a one-time login URL (on 127.0.0.1 for the unix socket)"},
    {"db", jn_cmd_db, "db create|config|attach|detach|url|backup|backups|restore|shell|ls|destroy",
     "managed MariaDB databases (jern db --help)"},
    {"nodes", jn_cmd_nodes, "nodes [--json]", "cluster: nodes, labels, capacity, health"},
    {"where", jn_cmd_where, "where [APP]",
     "cluster: where each instance and log is, inside the required labels or not"},
    {"apps", jn_cmd_apps, "apps set APP --require K=V --prefer K=V",
     "cluster: where an app may and should run"},
    {"cluster", jn_cmd_cluster, "cluster init",
     "cluster: make this node's apps (its SQLite state) the cluster's (docs/CLUSTER.md)"},
    {"plan", jn_cmd_plan, "plan [-f jern.yaml] [--env-file F] [--prune]",
     "what apply would change (exit 0: nothing, 2: something)"},
    {"apply", jn_cmd_apply, "apply [-f jern.yaml] [--env-file F] [--prune]",
     "make the daemon match the file (docs/APPLY.md)"},
    {"export", jn_cmd_export, "export [-o FILE]", "write the daemon's state as a jern.yaml"},
    {"node", jn_cmd_node, "node add ssh://USER@HOST[:PORT] [--label k=v]... [options]",
     "bootstrap a Debian 12 server over SSH (jern node --help)"},
    {"node", jn_cmd_node, "node remove ssh://USER@HOST[:PORT]", "stop jern on it (drained)"},
    {"node", jn_cmd_node, "node drain|undrain NAME", "cluster: move instances off a node"},
    {"version", jn_cmd_version, "version", "print the version"},
    {"gateway", jn_cmd_gateway, "gateway [-t] -c FILE", "run the HTTP gateway (-t: check the config)"},
    {"help", cmd_help, "help", "show this help"},
    {NULL, NULL, NULL, NULL},
};

const struct jn_command *jn_command_find(const char *name)
{
    for (const struct jn_command *c = jn_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void jn_usage(void)
{
    printf("jern: serverless on your own iron\n\nusage:\n");
    for (const struct jn_command *c = jn_commands; c->name; c++)
        printf("  jern %-44s %s\n", c->usage, c->summary);
}
