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
#include "ev/loop.h"
#include "gateway/gateway.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

struct gw_cli {
    const char *path;
    struct jn_gateway *g;
    struct jn_loop *loop;
};

static void on_reload(struct jn_loop *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
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
    jn_loop_stop(cli->loop);
}

static void on_quit(struct jn_loop *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct gw_cli *cli = arg;
    jn_gateway_shutdown(cli->g, quit_done, cli);
}

static void on_stop(struct jn_loop *loop, int signo, void *arg)
{
    (void)arg;
    jn_notice("gateway: signal %d: stopping", signo);
    jn_loop_stop(loop);
}

static void on_reopen(struct jn_loop *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct gw_cli *cli = arg;
    jn_gateway_reopen_logs(cli->g);
}

static int usage(void)
{
    fprintf(stderr, "usage: jern gateway [-t] -c FILE\n"
                    "  -c FILE  the nginx-syntax configuration file\n"
                    "  -t       check the configuration and exit\n");
    return 2;
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
            return usage();
    }
    if (!path)
        return usage();
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
    if (conf->error_log_path && jn_log_open(conf->error_log_path) < 0)
        fprintf(stderr, "jern: cannot open error_log %s, logging to stderr\n",
                conf->error_log_path);
    jn_log_set_level((enum jn_log_level)conf->error_log_level);
    char *pid_path = conf->pid_path ? jn_strdup(conf->pid_path) : NULL;

    signal(SIGPIPE, SIG_IGN);
    struct gw_cli cli = {.path = path};
    int rc = jn_loop_new(&cli.loop);
    if (rc < 0) {
        fprintf(stderr, "jern: event loop: %s\n", jn_strerror(rc));
        return 1;
    }
    /* Before any thread starts, so the workers inherit the blocked mask. */
    jn_loop_signal(cli.loop, SIGHUP, on_reload, &cli);
    jn_loop_signal(cli.loop, SIGQUIT, on_quit, &cli);
    jn_loop_signal(cli.loop, SIGTERM, on_stop, &cli);
    jn_loop_signal(cli.loop, SIGINT, on_stop, &cli);
    jn_loop_signal(cli.loop, SIGUSR1, on_reopen, &cli);
    rc = jn_gateway_start(cli.loop, conf, &cli.g, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "jern: gateway: %s\n", err);
        jn_loop_free(cli.loop);
        free(pid_path);
        return 1;
    }
    if (pid_path) {
        FILE *f = fopen(pid_path, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        } else {
            jn_warn("gateway: cannot write pid file %s: %s", pid_path, strerror(errno));
        }
    }
    rc = jn_loop_run(cli.loop);
    jn_gateway_free(cli.g);
    jn_loop_free(cli.loop);
    if (pid_path)
        unlink(pid_path);
    free(pid_path);
    jn_notice("gateway: exiting");
    return rc < 0 ? 1 : 0;
}
