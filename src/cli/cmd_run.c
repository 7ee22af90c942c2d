/*
 * cmd_run.c: jern run APP -- CMD [ARGS]: a one-off process with what the app
 * serves and its config (a migration, a task), its output streamed as it
 * comes, its exit status passed through as jern's. What comes on jern's
 * stdin goes to the process's, its end as the end of input.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/commands.h"
#include "etcd/codec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define RUN_USAGE "run APP -- COMMAND [ARGS...]"

/* The feeder of the one-off's stdin: a thread with its own connection. */
struct feeder {
    struct jn_client c;
    char path[512];
    /* held while a call is on its way: jern exits only between calls (never
     * while libcurl works in this thread) */
    pthread_mutex_t mu;
};

struct run_state {
    int code;    /* the process's exit status; -1 until known */
    bool failed; /* an error line came */
    const char *app;
    struct feeder *in; /* NULL: stdin is not passed on */
    bool feeding;      /* the feeder runs (and owns in) */
};

/* Gives data (may be empty) and the end of input when eof; false when the
 * one-off takes no more (it ended, or the daemon is gone). */
static bool feed(struct feeder *f, const char *data, size_t len, bool eof)
{
    size_t off = 0;
    do {
        char *b64 = jn_etcd_b64_encode(data + off, len - off);
        cJSON *b = cJSON_CreateObject(), *o = NULL;
        cJSON_AddStringToObject(b, "data", b64);
        cJSON_AddBoolToObject(b, "eof", eof);
        free(b64);
        int st = jn_client_call(&f->c, "POST", f->path, b, &o);
        size_t taken = st == 200 ? (size_t)jn_client_num(o, "taken") : 0;
        cJSON_Delete(b);
        cJSON_Delete(o);
        if (st != 200)
            return false;
        off += JN_MIN(taken, len - off);
        if (off < len) { /* its pipe is full: the process reads slower */
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
    } while (off < len);
    return true;
}

static void *feed_stdin(void *arg)
{
    struct feeder *f = arg;
    static char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        pthread_mutex_lock(&f->mu);
        bool more = feed(f, buf, n > 0 ? (size_t)n : 0, n <= 0);
        pthread_mutex_unlock(&f->mu);
        if (!more || n <= 0)
            return NULL;
    }
}

static void on_line(void *arg, const cJSON *o)
{
    struct run_state *st = arg;
    const char *name = jn_client_str(o, "run");
    if (*name) {
        if (st->in && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stdin"))) {
            char *a = jn_client_escape(st->app), *n = jn_client_escape(name);
            snprintf(st->in->path, sizeof(st->in->path), "/v1/apps/%.200s/run/%.200s/stdin", a, n);
            free(a);
            free(n);
            pthread_t t;
            st->feeding = pthread_create(&t, NULL, feed_stdin, st->in) == 0;
            if (st->feeding)
                pthread_detach(t); /* it ends with jern, perhaps in a read */
        }
        return;
    }
    const cJSON *exit_code = cJSON_GetObjectItemCaseSensitive(o, "exit");
    if (cJSON_IsNumber(exit_code)) {
        st->code = exit_code->valueint;
        return;
    }
    const char *err = jn_client_str(o, "error");
    if (*err) {
        fprintf(stderr, "jern: run: %s\n", err);
        st->failed = true;
        return;
    }
    /* As it was written: a piece may end inside a line (a container's
     * output comes as the process wrote it, not line by line). */
    const char *text = jn_client_str(o, "text");
    FILE *f = strcmp(jn_client_str(o, "stream"), "stderr") == 0 ? stderr : stdout;
    fputs(text, f);
    fflush(f);
}

int jn_cmd_run(int argc, char **argv)
{
    /* Everything after "--" belongs to the command, --json included. */
    int dash = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
    char **cmd = dash < argc ? argv + dash + 1 : NULL;
    int ncmd = dash < argc ? argc - dash - 1 : 0;
    /* The feeder's connection goes where the main one goes (same options). */
    char **opts = jn_calloc((size_t)dash + 1, sizeof(char *));
    memcpy(opts, argv, (size_t)dash * sizeof(char *));
    struct feeder *in = jn_calloc(1, sizeof(*in));
    pthread_mutex_init(&in->mu, NULL);
    struct jn_client c;
    int n = jn_client_init(&c, dash, argv);
    if (n >= 0)
        jn_client_init(&in->c, dash, opts);
    free(opts);
    if (n < 0) {
        free(in);
        return 2;
    }
    if (n == 3 && !cmd) { /* jern run APP CMD: one word, no "--" */
        cmd = &argv[2];
        ncmd = 1;
        n = 2;
    }
    if (n != 2 || ncmd == 0 || argv[1][0] == '-') {
        jn_client_free(&c);
        jn_client_free(&in->c);
        free(in);
        return jn_client_usage(RUN_USAGE);
    }
    cJSON *b = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(b, "argv");
    for (int i = 0; i < ncmd; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(cmd[i]));
    char *e = jn_client_escape(argv[1]);
    char path[256];
    snprintf(path, sizeof(path), "/v1/apps/%.200s/run", e);
    free(e);
    struct run_state st = {.code = -1, .app = argv[1], .in = in};
    cJSON *o = NULL;
    int status = jn_client_stream(&c, "POST", path, b, on_line, &st, &o);
    int rc;
    if (status < 0)
        rc = 1;
    else if (status != 200)
        rc = jn_client_fail(status, o);
    else if (st.failed || st.code < 0)
        rc = 1;
    else
        rc = st.code & 0xff;
    if (status == 200 && !st.failed && st.code < 0)
        fprintf(stderr, "jern: run: the daemon ended the stream without an exit status\n");
    cJSON_Delete(o);
    cJSON_Delete(b);
    if (st.feeding) {
        /* the process has ended: let a call on its way finish, and keep the
         * feeder from starting another (it may still use in as jern exits) */
        pthread_mutex_lock(&in->mu);
    } else {
        jn_client_free(&in->c);
        free(in);
    }
    jn_client_free(&c);
    return rc;
}
