/*
 * process.c: start-up, signals, pid file and main loop of the jern
 * processes (process.h).
 */
#include "core/common.h"

#include "config/conf.h"
#include "core/log.h"
#include "ev/loop.h"
#include "proc/process.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void on_stop(struct jn_loop *loop, int signo, void *arg)
{
    struct jn_process *p = arg;
    jn_notice("%ssignal %d: stopping", p->prefix, signo);
    jn_loop_stop(loop);
}

static void on_quit(struct jn_loop *loop, int signo, void *arg)
{
    struct jn_process *p = arg;
    if (!p->ops.quit) {
        on_stop(loop, signo, arg);
        return;
    }
    jn_notice("%ssignal %d: finishing requests in flight, then stopping", p->prefix, signo);
    p->ops.quit(p->ops.arg);
}

static void on_reload(struct jn_loop *loop, int signo, void *arg)
{
    struct jn_process *p = arg;
    if (p->ops.reload)
        p->ops.reload(p->ops.arg);
}

static void on_reopen(struct jn_loop *loop, int signo, void *arg)
{
    struct jn_process *p = arg;
    if (p->ops.reopen)
        p->ops.reopen(p->ops.arg);
}

int jn_process_start(struct jn_process *p, const struct jn_conf *conf, const char *prefix,
                     const struct jn_process_ops *ops, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->prefix = prefix ? prefix : "";
    if (ops)
        p->ops = *ops;
    if (conf->error_log_path && jn_log_open(conf->error_log_path) < 0)
        fprintf(stderr, "jern: cannot open error_log %s, logging to stderr\n",
                conf->error_log_path);
    jn_log_set_level((enum jn_log_level)conf->error_log_level);
    p->pid_path = conf->pid_path ? jn_strdup(conf->pid_path) : NULL;
    signal(SIGPIPE, SIG_IGN);
    int r = jn_loop_new(&p->loop);
    if (r < 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", jn_strerror(r));
        return r;
    }
    jn_loop_signal(p->loop, SIGHUP, on_reload, p);
    jn_loop_signal(p->loop, SIGQUIT, on_quit, p);
    jn_loop_signal(p->loop, SIGTERM, on_stop, p);
    jn_loop_signal(p->loop, SIGINT, on_stop, p);
    jn_loop_signal(p->loop, SIGUSR1, on_reopen, p);
    return 0;
}

int jn_process_run(struct jn_process *p)
{
    if (p->pid_path) {
        FILE *f = fopen(p->pid_path, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
            p->pid_written = true;
        } else {
            jn_warn("%scannot write pid file %s: %s", p->prefix, p->pid_path, strerror(errno));
        }
    }
    int r = jn_loop_run(p->loop);
    if (p->pid_written)
        unlink(p->pid_path);
    p->pid_written = false;
    return r;
}

void jn_process_stop(struct jn_process *p)
{
    jn_loop_stop(p->loop);
}

void jn_process_free(struct jn_process *p)
{
    jn_loop_free(p->loop);
    p->loop = NULL;
    free(p->pid_path);
    p->pid_path = NULL;
}
