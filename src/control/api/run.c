/*
 * run.c: POST /v1/apps/:app/run {"argv": [...]}: a one-off process with what
 * the app serves (jern run). The answer streams (chunked, one JSON object a
 * line): {"stream": "stdout"|"stderr", "text": ...} as the process writes,
 * then {"exit": N} or {"error": why}. Once the process runs, a first line
 * {"run": NAME, "stdin": bool} names it: POST /v1/apps/:app/run/:name/stdin
 * {"data": base64, "eof": bool} feeds its stdin.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/control.h"
#include "control/deploy/deploy.h"
#include "etcd/codec.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define RUN_ARGS_MAX 256

struct run_arg {
    struct jn_deployer *d;
    char app[64];
    char **argv;
    struct jn_api_stream *s;
};

static void run_arg_free(struct run_arg *a)
{
    for (size_t i = 0; a->argv && a->argv[i]; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a);
}

static int send_obj(struct jn_api_stream *s, cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(t);
    t[n] = '\n'; /* written by length */
    int r = jn_api_stream_write(s, t, n + 1);
    free(t);
    return r;
}

static void started(void *arg, const char *name, bool has_stdin)
{
    struct run_arg *a = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "run", name);
    cJSON_AddBoolToObject(o, "stdin", has_stdin);
    send_obj(a->s, o);
}

static int output(void *arg, int stream, const char *data, size_t len)
{
    struct run_arg *a = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream", stream == 2 ? "stderr" : "stdout");
    char *text = jn_strndup(data, len);
    cJSON_AddStringToObject(o, "text", text);
    free(text);
    return send_obj(a->s, o);
}

static bool gone(void *arg)
{
    struct run_arg *a = arg;
    return jn_api_stream_gone(a->s);
}

static void finish(void *arg, int code, const char *msg)
{
    struct run_arg *a = arg;
    cJSON *o = cJSON_CreateObject();
    if (msg)
        cJSON_AddStringToObject(o, "error", msg);
    else
        cJSON_AddNumberToObject(o, "exit", code);
    send_obj(a->s, o);
    jn_api_stream_end(a->s);
    run_arg_free(a);
}

static void start_run(struct jn_api_stream *s, void *arg)
{
    struct run_arg *a = arg;
    static const struct jn_run_ops ops = {started, output, gone, finish};
    char msg[1024] = "";
    a->s = s;
    if (!s) {
        run_arg_free(a);
        return;
    }
    if (jn_deployer_run(a->d, a->app, (const char *const *)a->argv, &ops, a, msg, sizeof(msg)) <
        0) {
        finish(a, -1, msg);
    }
}

static void post_run(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"argv", NULL};
    cJSON *b = jn_api_body(c, allowed, true);
    if (!b)
        return;
    const cJSON *argv = cJSON_GetObjectItemCaseSensitive(b, "argv"), *x;
    int n = cJSON_GetArraySize(argv);
    bool ok = cJSON_IsArray(argv) && n > 0 && n <= RUN_ARGS_MAX;
    for (x = ok ? argv->child : NULL; x; x = x->next)
        ok = ok && cJSON_IsString(x) && x->valuestring[0];
    if (!ok) {
        jn_api_error(c->resp, 400,
                     "\"argv\" must be a list of 1 to %d non-empty strings: the command and "
                     "its arguments",
                     RUN_ARGS_MAX);
        cJSON_Delete(b);
        return;
    }
    int64_t cur = 0;
    int scale;
    int r = jn_store_app_serving(jn_control_store(c->api->ctl), app, &cur, &scale);
    if (r < 0 || !cur) {
        jn_api_error(c->resp, r == JN_ENOTFOUND ? 404 : 409,
                     r == JN_ENOTFOUND ? "app '%s' does not exist (see: jern apps)"
                                       : "app '%s' has no release serving: jern run uses what "
                                         "the app serves (deploy it first)",
                     app);
        cJSON_Delete(b);
        return;
    }
    struct run_arg *a = jn_calloc(1, sizeof(*a));
    a->d = c->api->deployer;
    snprintf(a->app, sizeof(a->app), "%s", app);
    a->argv = jn_calloc((size_t)n + 1, sizeof(char *));
    int k = 0;
    size_t at = 0;
    cJSON_ArrayForEach(x, argv)
    {
        a->argv[k++] = jn_strdup(x->valuestring);
        at += (size_t)snprintf(c->resp->note + at, at < sizeof(c->resp->note) ?
                                                       sizeof(c->resp->note) - at : 0,
                               "%s%.200s", k > 1 ? " " : "", x->valuestring);
    }
    cJSON_Delete(b);
    c->resp->status = 200;
    c->resp->content_type = "application/x-ndjson";
    c->resp->stream = start_run;
    c->resp->stream_arg = a;
}

/* At most this much input a request (decoded). */
#define RUN_INPUT_MAX (256 * 1024)

static void post_run_stdin(struct jn_api_call *c)
{
    static const char *const allowed[] = {"data", "eof", NULL};
    cJSON *b = jn_api_body(c, allowed, true);
    if (!b)
        return;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(b, "data");
    const cJSON *eof = cJSON_GetObjectItemCaseSensitive(b, "eof");
    size_t len = 0;
    char *bytes = NULL;
    if (data && cJSON_IsString(data))
        bytes = jn_etcd_b64_decode(data->valuestring, &len);
    if ((data && !bytes) || (eof && !cJSON_IsBool(eof)) || len > RUN_INPUT_MAX) {
        jn_api_error(c->resp, 400,
                     "\"data\" must be base64 of at most %d bytes and \"eof\" true or false",
                     RUN_INPUT_MAX);
        free(bytes);
        cJSON_Delete(b);
        return;
    }
    ssize_t n =
        jn_deployer_run_input(c->api->deployer, jn_api_param(c, "app"), jn_api_param(c, "name"),
                              bytes ? bytes : "", len, cJSON_IsTrue(eof));
    free(bytes);
    cJSON_Delete(b);
    if (n == JN_ENOTFOUND) {
        jn_api_error(c->resp, 404, "no one-off '%s' of app '%s' runs now (it has ended)",
                     jn_api_param(c, "name"), jn_api_param(c, "app"));
        return;
    }
    if (n < 0) {
        jn_api_error(c->resp, 409, "one-off '%s' takes no more input (its input was ended)",
                     jn_api_param(c, "name"));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "taken", (double)n);
    jn_api_send_json(c->resp, 200, o);
}

const struct jn_route jn_run_routes[] = {
    {JN_HTTP_POST, "/v1/apps/:app/run", JN_ROUTE_DEPLOYER, post_run, "run"},
    {JN_HTTP_POST, "/v1/apps/:app/run/:name/stdin", JN_ROUTE_DEPLOYER | JN_ROUTE_UNRECORDED,
     post_run_stdin, NULL},
    {0, NULL, 0, NULL, NULL},
};
