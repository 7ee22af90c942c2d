/*
 * logs.c: GET /v1/apps/:app/output: an app's output as time-stamped lines
 * named by instance (jern logs). ?tail=N (absent: all; 0: none, as tail -n 0)
 * &since=MS&until=MS&release=N select;
 * ?follow=1 streams (chunked, one JSON object a line): the last lines first,
 * then each new line as an instance writes it. The dashboard's live tail
 * (ui.c) is the same follow as Server-Sent Events.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/appconfig/rules.h"
#include "control/control.h"
#include "control/deploy/deploy.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static cJSON *line_json(const struct jn_log_line *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at", (double)l->at);
    cJSON_AddStringToObject(o, "instance", l->instance);
    cJSON_AddStringToObject(o, "stream", l->stream == 2 ? "stderr" : "stdout");
    cJSON_AddStringToObject(o, "text", l->text);
    return o;
}

/* A whole number query parameter from lo to hi: true and *out (unchanged when
 * absent); false after a 400. */
static bool query_int(struct jn_api_call *c, const char *name, int64_t lo, int64_t hi,
                      int64_t *out)
{
    char buf[32];
    if (!jn_api_query(c, name, buf, sizeof(buf)))
        return true;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (!buf[0] || *end || v < lo || v > hi) {
        jn_api_error(c->resp, 400, "%s must be a whole number from %lld to %lld", name,
                     (long long)lo, (long long)hi);
        return false;
    }
    *out = v;
    return true;
}

/* The secret values of app's config and of its serving release's --env:
 * what its output must not show. */
size_t jn_api_app_secrets(struct jn_api_call *c, const char *app, char ***out)
{
    struct jn_store *st = jn_control_store(c->api->ctl);
    char *cfg = NULL, **a = NULL, **b = NULL;
    size_t na = 0, nb = 0;
    if (jn_store_app_config_get(st, app, &cfg) == 0)
        na = jn_appconfig_secret_values(c->api->state_dir, cfg, &a);
    free(cfg);
    int64_t cur = 0;
    int scale;
    struct jn_store_release rel = {0};
    if (jn_store_app_serving(st, app, &cur, &scale) == 0 && cur &&
        jn_store_release_get(st, app, 0, cur, &rel) == 0)
        nb = jn_appconfig_secret_values(c->api->state_dir, rel.env, &b);
    jn_store_release_clear(&rel);
    char **v = jn_calloc(na + nb + 1, sizeof(char *));
    for (size_t i = 0; i < na; i++)
        v[i] = a[i];
    for (size_t i = 0; i < nb; i++)
        v[na + i] = b[i];
    free(a);
    free(b);
    *out = v;
    return na + nb;
}

struct follow_arg {
    struct jn_deployer *d;
    char app[JN_STORE_NAME_MAX];
    int64_t since_ms;
    struct jn_log_line *backlog;
    int nbacklog;
    char **mask;
    size_t nmask;
    bool access; /* the app's access log, not its output */
    bool sse;    /* Server-Sent Events ("line" events), not JSON lines */
    struct jn_api_stream *s;
};

static int emit(void *arg, const struct jn_log_line *l)
{
    struct follow_arg *f = arg;
    cJSON *o = line_json(l);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(t);
    int r;
    if (f->sse) { /* compact JSON has no raw newline: one data line */
        struct jn_buf b;
        jn_buf_init(&b, n + 64);
        jn_buf_printf(&b, "event: line\ndata: %s\n\n", t);
        r = jn_api_stream_write(f->s, b.data, b.len);
        jn_buf_free(&b);
    } else {
        t[n] = '\n'; /* replaces the NUL: written by length */
        r = jn_api_stream_write(f->s, t, n + 1);
    }
    free(t);
    return r;
}

static bool gone(void *arg)
{
    struct follow_arg *f = arg;
    return jn_api_stream_gone(f->s);
}

static void done(void *arg)
{
    struct follow_arg *f = arg;
    jn_api_stream_end(f->s);
    free(f);
}

static void start_follow(struct jn_api_stream *s, void *arg)
{
    struct follow_arg *f = arg;
    f->s = s;
    for (int i = 0; s && i < f->nbacklog; i++)
        emit(f, &f->backlog[i]);
    jn_log_lines_free(f->backlog, f->nbacklog);
    f->backlog = NULL;
    static const struct jn_log_follow_ops ops = {emit, gone, done};
    char **mask = f->mask;
    size_t nmask = f->nmask;
    f->mask = NULL;
    int r = !s         ? -1
            : f->access ? jn_deployer_access_follow(f->d, f->app, &ops, f)
                        : jn_deployer_log_follow(f->d, f->app, f->since_ms,
                                                 (const char *const *)mask, nmask, &ops, f);
    if (r < 0) {
        jn_api_stream_end(s);
        free(f);
    }
    jn_appconfig_env_free(mask);
}

static void output(struct jn_api_call *c, bool sse)
{
    const char *app = jn_api_param(c, "app");
    struct jn_store *st = jn_control_store(c->api->ctl);
    if (jn_store_app_get(st, app, NULL) < 0) {
        jn_api_error(c->resp, 404, "app '%s' does not exist (see: jern apps)", app);
        return;
    }
    int64_t tail = sse ? 200 : -1, since = 0, until = 0, release = 0, follow = sse, access = 0;
    if (!query_int(c, "tail", 0, 100000, &tail) || !query_int(c, "since", 0, INT64_MAX / 2, &since) ||
        !query_int(c, "until", 0, INT64_MAX / 2, &until) ||
        !query_int(c, "release", 0, INT32_MAX, &release) || !query_int(c, "follow", 0, 1, &follow) ||
        !query_int(c, "access", 0, 1, &access))
        return;
    if (access && (since || until || release)) {
        jn_api_error(c->resp, 400,
                     "--access takes --tail and -f; --since, --until and --release are for "
                     "the app's output");
        return;
    }
    if (follow && until) {
        jn_api_error(c->resp, 400, "--until and -f do not go together: a follow has no end");
        return;
    }
    char **mask = NULL;
    size_t nmask = access ? 0 : jn_api_app_secrets(c, app, &mask);
    struct jn_log_query q = {.since_ms = since,
                             .until_ms = until,
                             .tail = (int)tail,
                             .version = (int)release,
                             .mask = (const char *const *)mask,
                             .nmask = nmask};
    struct jn_store_instance *live;
    int n = jn_store_instance_list(st, app, &live);
    struct jn_log_line *v = NULL;
    int64_t t0 = jn_wall_ms();
    int nl = access ? jn_deployer_access_lines(c->api->deployer, app, (int)tail, &v)
                    : jn_deployer_log_lines(c->api->deployer, app, &q, live, n > 0 ? (size_t)n : 0,
                                            &v);
    free(live);
    if (follow) {
        struct follow_arg *f = jn_calloc(1, sizeof(*f));
        f->d = c->api->deployer;
        snprintf(f->app, sizeof(f->app), "%s", app);
        /* Lines after the last one shown, or written from now on. */
        f->since_ms = nl > 0 ? JN_MAX(v[nl - 1].at + 1, since) : JN_MAX(t0, since);
        f->backlog = v;
        f->nbacklog = nl;
        f->mask = mask;
        f->nmask = nmask;
        f->access = access;
        f->sse = sse;
        c->resp->status = 200;
        c->resp->content_type = sse ? "text/event-stream" : "application/x-ndjson";
        c->resp->stream = start_follow;
        c->resp->stream_arg = f;
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "lines");
    for (int i = 0; i < nl; i++)
        cJSON_AddItemToArray(arr, line_json(&v[i]));
    jn_log_lines_free(v, nl);
    jn_appconfig_env_free(mask);
    jn_api_send_json(c->resp, 200, o);
}

static void get_output(struct jn_api_call *c)
{
    output(c, false);
}

void jn_api_output_events(struct jn_api_call *c)
{
    output(c, true);
}

const struct jn_route jn_log_routes[] = {
    {JN_HTTP_GET, "/v1/apps/:app/output", JN_ROUTE_DEPLOYER, get_output, NULL},
    {0, NULL, 0, NULL, NULL},
};
