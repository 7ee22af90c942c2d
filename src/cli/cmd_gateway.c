/*
 * cmd_gateway.c: `jern gateway [-t] -c FILE`: the gateway in the foreground,
 * or a configuration check. Signals arrive on the main thread's loop through
 * its signalfd, as nginx's master would get them: HUP reloads, QUIT stops
 * gracefully, TERM/INT stop at once, USR1 reopens the logs.
 */
#include "core/common.h"

#include "cli/commands.h"
#include "config/conf.h"
#include "core/log.h"
#include "gateway/gateway.h"
#include "proc/process.h"

#include <stdio.h>

struct gw_cli {
    const char *path;
    struct jn_gateway *g;
    struct jn_process proc;
};

static void on_reload(void *arg)
{
    struct gw_cli *cli = arg;
    struct jn_conf *conf;
    char err[1024];
    jn_notice("gateway: SIGHUP: reloading %s", cli->path);
    if (jn_conf_load(cli->path, &conf, err, sizeof(err)) < 0) {
        jn_error("gateway: reload refused, the old configuration keeps running: %s", err);
        return;
    }
    if (jn_gateway_reload(cli->g, conf, err, sizeof(err)) < 0)
        jn_error("gateway: reload refused, the old configuration keeps running: %s", err);
}

static void quit_done(void *arg)
{
    struct gw_cli *cli = arg;
    jn_process_stop(&cli->proc);
}

static void on_quit(void *arg)
{
    struct gw_cli *cli = arg;
    jn_gateway_shutdown(cli->g, quit_done, cli);
}

static void on_reopen(void *arg)
{
    struct gw_cli *cli = arg;
    jn_gateway_reopen_logs(cli->g);
}

/* To stdout with exit 0 when asked for (--help), else to stderr with 2. */
static int usage(bool asked)
{
    fprintf(asked ? stdout : stderr,
            "usage: jern gateway [-t] -c FILE\n"
            "  -c FILE  the nginx-syntax configuration file\n"
            "  -t       check the configuration and exit\n"
            "Signals: HUP reloads, QUIT stops gracefully, TERM/INT at once, USR1 reopens\n"
            "the logs. Directives: docs/CONFIG.md.\n");
    return asked ? 0 : 2;
}

int jn_cmd_gateway(int argc, char **argv)
{
    const char *path = NULL;
    bool test = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0)
            test = true;
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            return usage(strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0);
    }
    if (!path)
        return usage(false);
    struct jn_conf *conf;
    char err[1024];
    if (jn_conf_load(path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        if (test)
            fprintf(stderr, "configuration file %s test failed\n", path);
        return 1;
    }
    if (test) {
        if (jn_gateway_check(conf, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\nconfiguration file %s test failed\n", err, path);
            return 1;
        }
        fprintf(stderr, "configuration file %s test is successful\n", path);
        return 0;
    }
    struct gw_cli cli = {.path = path};
    struct jn_process_ops ops = {on_reload, on_quit, on_reopen, &cli};
    /* Before any thread starts, so the workers inherit the blocked mask. */
    int rc = jn_process_start(&cli.proc, conf, "gateway: ", &ops, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "jern: %s\n", err);
        jn_conf_free(conf);
        return 1;
    }
    rc = jn_gateway_start(cli.proc.loop, conf, &cli.g, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "jern: gateway: %s\n", err);
        jn_process_free(&cli.proc);
        return 1;
    }
    rc = jn_process_run(&cli.proc);
    jn_gateway_free(cli.g);
    jn_process_free(&cli.proc);
    jn_notice("gateway: exiting");
    return rc < 0 ? 1 : 0;
}
