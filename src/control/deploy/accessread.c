/*
 * accessread.c: jern logs APP --access: the app's own access log, written by
 * the gateway's workers to STATE/logs/APP/access.log (rotated to .1 by
 * applogs.c) in the gateway's format. The last lines, or a follow: a thread
 * that reads what the workers append (they flush every 200 ms or so) and
 * hands each line on, following the file across a rotation.
 */
#include "core/common.h"

#include "control/deploy/deploy_int.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#define ACCESS_LINES_MAX 20000

static void access_path(struct jn_deployer *d, const char *app, const char *suffix, char *out,
                        size_t len)
{
    snprintf(out, len, "%s/logs/%s/access.log%s", d->state_dir, app, suffix);
}

int jn_deployer_access_lines(struct jn_deployer *d, const char *app, int tail,
                             struct jn_log_line **out)
{
    *out = NULL;
    int keep = tail < 0 || tail > ACCESS_LINES_MAX ? ACCESS_LINES_MAX : tail;
    if (keep == 0)
        return 0;
    struct jn_log_line *ring = jn_calloc((size_t)keep, sizeof(*ring));
    size_t seen = 0;
    static const char *const files[] = {".1", ""};
    for (size_t f = 0; f < 2; f++) {
        char path[4200];
        access_path(d, app, files[f], path, sizeof(path));
        FILE *fp = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (fp && (n = getline(&line, &cap, fp)) > 0) {
            if (line[n - 1] != '\n')
                break; /* a line the gateway is still writing */
            struct jn_log_line *l = &ring[seen++ % (size_t)keep];
            free(l->text);
            l->text = jn_strndup(line, (size_t)n - 1);
            snprintf(l->instance, sizeof(l->instance), "gateway");
        }
        free(line);
        if (fp)
            fclose(fp);
    }
    size_t n = seen < (size_t)keep ? seen : (size_t)keep;
    struct jn_log_line *v = jn_calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = ring[(seen - n + i) % (size_t)keep];
    free(ring);
    *out = v;
    return (int)n;
}

struct access_follow {
    struct jn_deployer *d;
    char path[4200];
    struct jn_log_follow_ops ops;
    void *arg;
};

static bool stopping(struct jn_deployer *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return s;
}

static void *access_follow_run(void *arg)
{
    struct access_follow *a = arg;
    struct jn_deployer *d = a->d;
    FILE *fp = NULL;
    ino_t ino = 0;
    char *line = NULL;
    size_t cap = 0;
    struct stat sb;
    /* From the end: what is there was shown already. */
    if (stat(a->path, &sb) == 0 && (fp = fopen(a->path, "re"))) {
        fseek(fp, 0, SEEK_END);
        ino = sb.st_ino;
    }
    bool stop = false;
    while (!stop && !stopping(d) && !a->ops.gone(a->arg)) {
        ssize_t n;
        while (!stop && fp && (n = getline(&line, &cap, fp)) > 0) {
            if (line[n - 1] != '\n') { /* not whole yet: read it again */
                fseek(fp, -(long)n, SEEK_CUR);
                break;
            }
            struct jn_log_line l = {.at = jn_wall_ms(), .stream = 1};
            snprintf(l.instance, sizeof(l.instance), "gateway");
            l.text = jn_strndup(line, (size_t)n - 1);
            stop = a->ops.emit(a->arg, &l) < 0;
            free(l.text);
        }
        if (fp)
            clearerr(fp);
        /* A rotation (or a first request) made a new file: read it from its start. */
        if (stat(a->path, &sb) == 0 && (!fp || sb.st_ino != ino)) {
            if (fp)
                fclose(fp);
            fp = fopen(a->path, "re");
            ino = sb.st_ino;
            continue;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(line);
    if (fp)
        fclose(fp);
    a->ops.done(a->arg);
    free(a);
    pthread_mutex_lock(&d->mu);
    d->threads--;
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int jn_deployer_access_follow(struct jn_deployer *d, const char *app,
                              const struct jn_log_follow_ops *ops, void *arg)
{
    struct access_follow *a = jn_calloc(1, sizeof(*a));
    a->d = d;
    access_path(d, app, "", a->path, sizeof(a->path));
    a->ops = *ops;
    a->arg = arg;
    int r = dep_thread_start(d, access_follow_run, a);
    if (r != 0) {
        free(a);
        return -r;
    }
    return 0;
}
