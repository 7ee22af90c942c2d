#include "core/common.h"

#include "cli/commands.h"
#include "config/value.h"

#include <stdio.h>

#define JERN_VERSION "0.1.0"

int jn_cmd_version(int argc, char **argv)
{
    printf("jern %s\n", JERN_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        jn_usage();
        return 0;
    }
    /* The names alone, one a line (shell completion). */
    if (strcmp(argv[1], "--commands") == 0) {
        for (const struct jn_command *c = jn_commands; c->name; c++)
            if (c == jn_commands || strcmp(c->name, c[-1].name) != 0)
                printf("%s\n", c->name);
        return 0;
    }
    const struct jn_command *c = jn_command_find(argv[1]);
    if (!c)
        return jn_command_unknown(argv[1]);
    if (!jn_command_own_help(c))
        return jn_command_help(c->name);
    char *args[] = {(char *)c->name, "--help", NULL};
    return c->run(2, args);
}

const struct jn_command jn_commands[] = {
    {"serve", jn_cmd_serve, "serve [-c FILE] [--cluster URL --node N --advertise H --label K=V]",
     "run the gateway and control plane (foreground)"},
    {"status", jn_cmd_status, "status [--json]", "show the daemon's status"},
    {"apps", jn_cmd_apps, "apps [--json | -q]", "list apps (-q: names only)"},
    {"create", jn_cmd_create, "create APP [--domain D]...", "create an app"},
    {"destroy", jn_cmd_destroy, "destroy APP [--yes]", "delete an app and all it has (asks first)"},
    {"domains", jn_cmd_domains, "domains APP [add|remove D]", "list, add or remove domains"},
    {"domains", jn_cmd_domains, "domains APP set --https redirect|only|off",
     "HTTPS for the app's domains (redirect: from HTTP)"},
    {"certs", jn_cmd_certs, "certs", "list certificates: issuer, expiry, last error"},
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
     "cluster: move this node's apps into etcd (docs/CLUSTER.md)"},
    {"plan", jn_cmd_plan, "plan [-f jern.yaml] [--env-file F] [--prune]",
     "what apply would change (exit 0: nothing, 2: something)"},
    {"apply", jn_cmd_apply, "apply [-f jern.yaml] [--env-file F] [--prune] [--no-wait]",
     "make the daemon match the file (docs/APPLY.md)"},
    {"export", jn_cmd_export, "export [-o FILE]", "write the daemon's state as a jern.yaml"},
    {"node", jn_cmd_node, "node add ssh://USER@HOST[:PORT] [--label k=v]... [options]",
     "bootstrap a Debian 12 server over SSH (jern node --help)"},
    {"node", jn_cmd_node, "node remove ssh://USER@HOST[:PORT]", "stop jern on it (drained)"},
    {"node", jn_cmd_node, "node drain|undrain NAME", "cluster: move instances off a node"},
    {"version", jn_cmd_version, "version", "print the version"},
    {"gateway", jn_cmd_gateway, "gateway [-t] -c FILE",
     "run the HTTP gateway (-t: check the config)"},
    {"help", cmd_help, "help [COMMAND]", "show this help, or a command's"},
    {NULL, NULL, NULL, NULL},
};

/* Commands whose run prints a longer help for --help than their rows. */
static const char *const own_help[] = {"serve", "deploy", "scale", "db", "gateway", NULL};

bool jn_command_own_help(const struct jn_command *c)
{
    for (size_t i = 0; own_help[i]; i++)
        if (strcmp(own_help[i], c->name) == 0)
            return true;
    return false;
}

const struct jn_command *jn_command_find(const char *name)
{
    for (const struct jn_command *c = jn_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

#define USAGE_COL 30 /* summaries start here, when the usage fits before */
#define WIDTH 80

/* Writes text from column col on, wrapped at WIDTH on spaces, continuation
 * lines starting at column indent; ends the line. */
static void wrap(FILE *f, size_t col, size_t indent, const char *text)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (!first && col + 1 + w > WIDTH) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        col += fwrite(p, 1, w, f);
        first = false;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void jn_cli_print_usage(FILE *f, const char *prefix, const char *usage)
{
    /* Continuation lines start under the first argument: "usage: jern deploy ". */
    const char *sp = strchr(usage, ' ');
    size_t indent = strlen(prefix) + (sp ? (size_t)(sp - usage) + 1 : 0);
    if (indent > 40)
        indent = 8;
    fputs(prefix, f);
    wrap(f, strlen(prefix), indent, usage);
}

static void print_row(const struct jn_command *c)
{
    if (2 + strlen(c->usage) < USAGE_COL) {
        printf("  %-*s", USAGE_COL - 2, c->usage);
    } else {
        jn_cli_print_usage(stdout, "  ", c->usage);
        printf("%*s", USAGE_COL, "");
    }
    wrap(stdout, USAGE_COL, USAGE_COL, c->summary);
}

void jn_usage(void)
{
    printf("jern: serverless on your own iron\n\n"
           "usage: jern COMMAND [ARGS] [--admin SOCKET|HOST:PORT] [--json]\n"
           "       jern help COMMAND (or jern COMMAND --help): a command's help\n\n");
    for (const struct jn_command *c = jn_commands; c->name; c++)
        print_row(c);
    printf("\nThe CLI talks to the daemon at --admin, $JERN_ADMIN, $JERN_STATE/admin.sock,\n"
           "/run/jern/admin.sock or ./jern-state/admin.sock (jern status shows which).\n"
           "Manual: man jern (docs/jern.1 in the source).\n");
}

int jn_command_help(const char *name)
{
    bool found = false;
    for (const struct jn_command *c = jn_commands; c->name; c++) {
        if (strcmp(c->name, name) != 0)
            continue;
        jn_cli_print_usage(stdout, found ? "       jern " : "usage: jern ", c->usage);
        found = true;
    }
    if (!found)
        return jn_command_unknown(name);
    printf("\n");
    const char *last = NULL;
    for (const struct jn_command *c = jn_commands; c->name; c++)
        if (strcmp(c->name, name) == 0 && (!last || strcmp(last, c->summary) != 0))
            printf("  %s\n", last = c->summary);
    return 0;
}

int jn_command_unknown(const char *name)
{
    const char *best = NULL;
    int bd = 3; /* farther than two edits is no hint */
    for (const struct jn_command *c = jn_commands; c->name; c++) {
        int d = jn_conf_edit_distance(name, c->name);
        if (d < bd) {
            bd = d;
            best = c->name;
        }
    }
    /* A prefix of exactly one command ("dep") is a hint too. */
    size_t n = strlen(name);
    for (const struct jn_command *c = jn_commands; !best && n >= 2 && c->name; c++)
        if (strncmp(c->name, name, n) == 0)
            best = c->name;
    if (best)
        fprintf(stderr, "jern: unknown command '%s' (did you mean '%s'? see: jern help)\n", name,
                best);
    else
        fprintf(stderr, "jern: unknown command '%s' (see: jern help)\n", name);
    return 2;
}
