/*
 * commands.h: the jern subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code.
 */
#ifndef JN_CLI_COMMANDS_H
#define JN_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

struct jn_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;   /* "gateway [-t] -c FILE" */
    const char *summary; /* one line */
};

/* The command table, terminated by a NULL name. */
extern const struct jn_command jn_commands[];

/* Finds a command by name, or NULL. */
const struct jn_command *jn_command_find(const char *name);

/* Prints the usage of every command to stdout (lines of at most 80 columns). */
void jn_usage(void);

/* True when c prints a help of its own for --help (and exits 0). */
bool jn_command_own_help(const struct jn_command *c);

/* `jern help NAME`, `jern NAME --help` for a command without a help of its
 * own: its rows of the table. Returns 0, or 2 for an unknown name. */
int jn_command_help(const char *name);

/* `jern NAME` for no such command: "unknown command" with the nearest name
 * ("did you mean") on stderr. Returns 2. */
int jn_command_unknown(const char *name);

/* Prints PREFIX + usage to f, wrapped at 80 columns on spaces (continuation
 * lines indented under the first argument). */
void jn_cli_print_usage(FILE *f, const char *prefix, const char *usage);

int jn_cmd_version(int argc, char **argv);
int jn_cmd_serve(int argc, char **argv);
int jn_cmd_status(int argc, char **argv);
int jn_cmd_apps(int argc, char **argv);
int jn_cmd_create(int argc, char **argv);
int jn_cmd_destroy(int argc, char **argv);
int jn_cmd_domains(int argc, char **argv);
int jn_cmd_upstream(int argc, char **argv);
/* cmd_deploy.c: releases and instances of apps (docs/DEPLOY.md). */
int jn_cmd_deploy(int argc, char **argv);
int jn_cmd_rollback(int argc, char **argv);
int jn_cmd_releases(int argc, char **argv);
int jn_cmd_ps(int argc, char **argv);
int jn_cmd_scale(int argc, char **argv);
int jn_cmd_restart(int argc, char **argv);
int jn_cmd_logs(int argc, char **argv);
struct jn_client;
/* Follows the daemon's job id to its end, printing its progress lines (GET
 * /v1/jobs/ID/AFTER every 150 ms). Returns the exit code: 0 when it ended well. */
int jn_cli_follow_job(struct jn_client *c, int id);
/* cmd_config.c: an app's config (docs/CONFIG.md); cmd_history.c: the changes. */
int jn_cmd_config(int argc, char **argv);
int jn_cmd_history(int argc, char **argv);
/* cmd_run.c: a one-off process with an app's release and config. */
int jn_cmd_run(int argc, char **argv);
/* cmd_certs.c: certificates (docs/CERTIFICATES.md). */
int jn_cmd_certs(int argc, char **argv);
int jn_cmd_cert(int argc, char **argv);
int jn_cmd_domains_set(int argc, char **argv);
int jn_cmd_ui(int argc, char **argv);
/* cmd_db.c: managed MariaDB databases (docs/DATABASES.md). */
int jn_cmd_db(int argc, char **argv);
int jn_cmd_nodes(int argc, char **argv);
int jn_cmd_node(int argc, char **argv);
int jn_cmd_where(int argc, char **argv);
int jn_cmd_cluster(int argc, char **argv);
struct jn_client;
/* jern apps set APP ... (cmd_cluster.c); argv as jn_cmd_apps got it. */
int jn_cmd_apps_set(struct jn_client *c, int argc, char **argv);
struct jn_client;
/* The databases' lines under `jern ps` (nothing when there are none). */
void jn_cli_ps_databases(struct jn_client *c);
struct cJSON;
/* A database call (cmd_db.c): a job it starts, or an operation a cluster
 * node asks of the node that holds the database, followed to its end; *out
 * is then the job's result. 0, or the exit code after saying what failed. */
int jn_cli_db_request(struct jn_client *c, const char *method, const char *path,
                      const struct cJSON *body, struct cJSON **out);
/* Follows deploy job id, printing its progress lines as they come; returns
 * 0 when it succeeded, else 1 (cmd_deploy.c). */
int jn_cli_follow_job(struct jn_client *c, int id);
/* cmd_apply.c: infrastructure as a file (docs/APPLY.md). */
int jn_cmd_plan(int argc, char **argv);
int jn_cmd_apply(int argc, char **argv);
int jn_cmd_export(int argc, char **argv);
/* cmd_node.c: servers bootstrapped over SSH (docs/APPLY.md): node add|remove;
 * jn_cmd_node (cmd_cluster.c) hands those two to it. */
int jn_cmd_node_ssh(int argc, char **argv);
/* cmd_gateway.c: the gateway in the foreground, or -t to check a config. */
int jn_cmd_gateway(int argc, char **argv);

#endif
