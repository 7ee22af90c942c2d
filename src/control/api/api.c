/*
 * api.c: the admin API's route table, its one matcher, and the helpers every
 * handler shares (JSON bodies, integer fields, errors). See docs/API.md.
 *
 * Adding an area (databases, certificates): write its handlers and a
 * `const struct jn_route jn_xxx_routes[]` array in its own file of this
 * folder, declare the array in api.h and add it to `route_groups` below.
 * Every handler validates the whole request before changing anything, so a
 * 4xx never leaves a half-applied change.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/api/jsonbody.h"
#include "control/control.h"
#include "core/log.h"
#include "store/history.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/statvfs.h>

static const struct jn_route *const route_groups[] = {
    jn_status_routes, jn_app_routes,   jn_upstream_routes, jn_deploy_routes,
    jn_scale_routes,  jn_cert_routes,  jn_ui_routes,       jn_database_routes,
    jn_cluster_routes,
    jn_config_routes, jn_history_routes, jn_log_routes,  jn_run_routes,
};

#define MAX_SEGS 8
#define SEG_MAX 256

struct route {
    char seg[MAX_SEGS][SEG_MAX];
    int nseg;
};

/* Writes o (freed) as the JSON body with status. Returns 0 or JN_ETOOBIG. */
static int write_json(struct jn_api_resp *resp, int status, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    resp->status = status;
    resp->content_type = "application/json";
    jn_buf_reset(&resp->body);
    int rc = s && jn_buf_puts(&resp->body, s) >= 0 && jn_buf_puts(&resp->body, "\n") >= 0
                 ? 0
                 : JN_ETOOBIG;
    free(s);
    cJSON_Delete(o);
    return rc;
}

void jn_api_error(struct jn_api_resp *resp, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    write_json(resp, status, o); /* a message of at most 1 KiB always fits */
}

void jn_api_send_json(struct jn_api_resp *resp, int status, struct cJSON *o)
{
    if (write_json(resp, status, o) < 0)
        jn_api_error(resp, 500, "response too large");
}

void jn_api_fail(struct jn_api_resp *resp, int r, const char *err)
{
    int status = r == JN_EBADINPUT ? 400 : r == JN_ENOTFOUND ? 404 : r == JN_EEXIST ? 409 : 500;
    jn_api_error(resp, status, "%s", *err ? err : jn_strerror(r));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Splits "/a/b%3Ac" into percent-decoded segments. Returns 0 or -1 (bad
 * escape, NUL, too many or too long segments). */
static int split_path(const char *p, size_t n, struct route *rt)
{
    rt->nseg = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        if (i >= n)
            break;
        if (rt->nseg == MAX_SEGS)
            return -1;
        char *out = rt->seg[rt->nseg++];
        size_t o = 0;
        for (; i < n && p[i] != '/'; i++) {
            char c = p[i];
            if (c == '%') {
                int hi = i + 2 < n ? hexval(p[i + 1]) : -1, lo = i + 2 < n ? hexval(p[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return -1;
                c = (char)(hi * 16 + lo);
                i += 2;
            }
            if (c == '\0' || o + 1 >= SEG_MAX)
                return -1;
            out[o++] = c;
        }
        out[o] = '\0';
    }
    return 0;
}

cJSON *jn_api_body(const struct jn_api_call *c, const char *const *allowed, bool required)
{
    const struct jn_api_req *req = c->req;
    struct jn_api_resp *resp = c->resp;
    if (req->body_len == 0) {
        if (!required)
            return cJSON_CreateObject();
        jn_api_error(resp, 400, "a JSON object body is required");
        return NULL;
    }
    size_t at = 0;
    cJSON *o = jn_jsonbody_parse(req->body, req->body_len, &at);
    if (!o) {
        jn_api_error(resp, 400, "invalid JSON in the request body near byte %zu", at);
        return NULL;
    }
    /* cJSON stops after the first value: trailing garbage is an error too. */
    for (; at < req->body_len; at++) {
        char ch = req->body[at];
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            jn_api_error(resp, 400, "invalid JSON: unexpected data after the object at byte %zu",
                         at);
            cJSON_Delete(o);
            return NULL;
        }
    }
    char field[128];
    if (!jn_jsonbody_check(o, field, sizeof(field))) {
        jn_api_error(resp, 400,
                     "field '%s' contains a control character (such as NUL or a newline), "
                     "which it cannot hold",
                     field);
        cJSON_Delete(o);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        jn_api_error(resp, 400, "the request body must be a JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    for (cJSON *f = allowed ? o->child : NULL; f; f = f->next) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(f->string, *a) == 0;
        if (!ok) {
            char list[256] = "";
            size_t len = 0;
            for (const char *const *a = allowed; *a; a++)
                len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0,
                                        "%s%s", a == allowed ? "" : ", ", *a);
            jn_api_error(resp, 400, "unknown field '%.100s' (allowed: %s)", f->string, list);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

bool jn_api_int(struct jn_api_resp *resp, const cJSON *o, const char *name, int64_t lo, int64_t hi,
                int *out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!f)
        return true;
    if (!cJSON_IsNumber(f) || f->valuedouble != (double)(int64_t)f->valuedouble ||
        f->valuedouble < (double)lo || f->valuedouble > (double)hi) {
        if (lo <= INT32_MIN && hi >= INT32_MAX)
            jn_api_error(resp, 400, "field '%s' must be an integer", name);
        else
            jn_api_error(resp, 400, "field '%s' must be an integer from %lld to %lld", name,
                         (long long)lo, (long long)hi);
        return false;
    }
    *out = (int)f->valuedouble;
    return true;
}

void jn_api_deleted(struct jn_api_resp *resp, const char *what, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", what);
    cJSON_AddStringToObject(o, "name", name);
    jn_api_send_json(resp, 200, o);
}

bool jn_api_query(const struct jn_api_call *c, const char *name, char *buf, size_t len)
{
    const char *q = c->req->query, *end = q ? q + c->req->query_len : NULL;
    size_t n = strlen(name);
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *e = amp ? amp : end;
        if ((size_t)(e - q) >= n && memcmp(q, name, n) == 0 && (q + n == e || q[n] == '=')) {
            const char *v = q + n == e ? e : q + n + 1;
            size_t o = 0;
            for (; v < e && o + 1 < len; v++) {
                char ch = *v;
                if (ch == '%' && e - v > 2 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    ch = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 2;
                } else if (ch == '+') {
                    ch = ' ';
                }
                buf[o++] = ch;
            }
            buf[o] = '\0';
            return true;
        }
        q = amp ? amp + 1 : end;
    }
    return false;
}

const char *jn_api_param(const struct jn_api_call *c, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < c->nparam; i++)
        if (c->param_name_len[i] == n && memcmp(c->param_name[i], name, n) == 0)
            return c->param[i];
    return NULL;
}

/* Matches the split path against pattern, filling c's parameters. */
static bool pattern_match(const char *pattern, const struct route *rt, struct jn_api_call *c)
{
    int seg = 0;
    c->nparam = 0;
    for (const char *p = pattern; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (seg == rt->nseg)
            return false;
        if (*p == ':') {
            if (c->nparam == JN_API_MAX_PARAMS)
                return false;
            c->param_name[c->nparam] = p + 1;
            c->param_name_len[c->nparam] = len - 1;
            c->param[c->nparam++] = rt->seg[seg];
        } else if (strlen(rt->seg[seg]) != len || memcmp(rt->seg[seg], p, len) != 0) {
            return false;
        }
        seg++;
        p += len;
    }
    return seg == rt->nseg;
}

static bool method_matches(enum jn_http_method want, enum jn_http_method got)
{
    return got == want || (want == JN_HTTP_GET && got == JN_HTTP_HEAD);
}

static bool needs_met(const struct jn_api *api, unsigned needs)
{
    return (!(needs & JN_ROUTE_DEPLOYER) || api->deployer) &&
           (!(needs & JN_ROUTE_AUTOSCALER) || api->autoscaler) &&
           (!(needs & JN_ROUTE_CERTS) || api->certs) &&
           (!(needs & JN_ROUTE_UI) || (api->history && api->sessions)) &&
           (!(needs & JN_ROUTE_DATABASES) || api->dbs);
}

/* 405: the methods of the rows whose pattern matched, in a fixed order. */
static void not_allowed(struct jn_api_resp *resp, const struct jn_api_req *req, unsigned methods)
{
    static const struct {
        enum jn_http_method m;
        const char *name;
    } order[] = {{JN_HTTP_GET, "GET"},
                 {JN_HTTP_POST, "POST"},
                 {JN_HTTP_PUT, "PUT"},
                 {JN_HTTP_PATCH, "PATCH"},
                 {JN_HTTP_DELETE, "DELETE"}};
    char allow[sizeof(resp->allow_buf)] = "";
    size_t len = 0;
    for (size_t i = 0; i < JN_ARRAY_LEN(order); i++)
        if (methods & (1u << order[i].m))
            len += (size_t)snprintf(allow + len, sizeof(allow) - len, "%s%s", len ? ", " : "",
                                    order[i].name);
    jn_api_error(resp, 405, "method %.*s is not allowed here (allowed: %s)",
                 (int)JN_MIN(req->method_len, 16), req->method_name, allow);
    memcpy(resp->allow_buf, allow, sizeof(allow));
    resp->allow = resp->allow_buf;
}

bool jn_api_is_ui_path(const char *path, size_t len)
{
    return len >= 3 && memcmp(path, "/ui", 3) == 0 && (len == 3 || path[3] == '/');
}

static const struct jn_route *dispatch(struct jn_api *api, const struct jn_api_req *req,
                                       struct jn_api_resp *resp, struct jn_api_call *c,
                                       struct route *rt);

/* Records a change that succeeded in the history: when, who, what. */
static void record(struct jn_api *api, const struct jn_route *r, const struct jn_api_call *c)
{
    const struct jn_api_req *req = c->req;
    const struct jn_api_resp *resp = c->resp;
    struct jn_store *st = jn_control_store(api->ctl);
    if (!r || r->method == JN_HTTP_GET || (r->needs & (JN_ROUTE_UI | JN_ROUTE_UNRECORDED)) ||
        resp->status >= 400)
        return;
    const char *app = jn_api_param(c, "app");
    if (!app && resp->note_app[0])
        app = resp->note_app;
    char action[64];
    if (r->action)
        snprintf(action, sizeof(action), "%s", r->action);
    else
        snprintf(action, sizeof(action), "%.*s %.*s", (int)JN_MIN(req->method_len, 8),
                 req->method_name, (int)JN_MIN(req->path_len, 50), req->path);
    if (jn_store_history_add(st, app, req->who ? req->who : "api", action, resp->note) < 0)
        jn_warn("history: cannot record %s: %s", action, jn_store_error(st));
}

/* A request whose write hit a full state disk is answered 507 with the free
 * space, whatever the handler made of the failure: the operator's fix is to
 * free space, and nothing of the request was kept. */
void jn_api_handle(struct jn_api *api, const struct jn_api_req *req, struct jn_api_resp *resp)
{
    struct jn_store *st = api->ctl ? jn_control_store(api->ctl) : NULL;
    if (st)
        jn_store_disk_full(st, true);
    struct jn_api_call c = {.api = api, .req = req, .resp = resp};
    struct route rt; /* c's parameters point into it */
    resp->note[0] = resp->note_app[0] = '\0';
    const struct jn_route *r = dispatch(api, req, resp, &c, &rt);
    if (st)
        record(api, r, &c);
    if (st && jn_store_disk_full(st, true) && resp->status >= 500) {
        struct statvfs vfs;
        unsigned long long avail = 0;
        if (api->state_dir && statvfs(api->state_dir, &vfs) == 0)
            avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        jn_api_error(resp, 507,
                     "state disk full (%llu bytes free): free "
                     "space on the volume of %s and retry",
                     avail, api->state_dir ? api->state_dir : "the state directory");
    }
}

/* The matcher: the first row whose pattern and method match answers.
 * Returns that row, or NULL. c's parameters point into rt. */
static const struct jn_route *dispatch(struct jn_api *api, const struct jn_api_req *req,
                                       struct jn_api_resp *resp, struct jn_api_call *c,
                                       struct route *rt)
{
    resp->allow = NULL;
    resp->headers[0] = '\0';
    if (split_path(req->path, req->path_len, rt) < 0) {
        jn_api_error(resp, 400, "malformed path (bad %%-escape or too long)");
        return NULL;
    }
    unsigned methods = 0;
    for (size_t g = 0; g < JN_ARRAY_LEN(route_groups); g++) {
        for (const struct jn_route *r = route_groups[g]; r->pattern; r++) {
            if (!needs_met(api, r->needs) || !pattern_match(r->pattern, rt, c))
                continue;
            if (method_matches(r->method, req->method)) {
                r->handler(c);
                return r;
            }
            methods |= 1u << r->method;
        }
    }
    c->nparam = 0;
    if (methods)
        not_allowed(resp, req, methods);
    else
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
    return NULL;
}
