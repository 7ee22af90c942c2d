/*
 * api.c: the admin API's routes and JSON (cJSON). Every handler validates
 * the whole request before changing anything, so a 4xx never leaves a
 * half-applied change. See docs/API.md.
 */
#include "core/common.h"

#include "control/api.h"
#include "control/control.h"
#include "control/deploy.h"
#include "control/names.h"
#include "db/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

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

/* Maps a control-plane code and its message to a response. */
static void send_err(struct jn_api_resp *resp, int r, const char *err)
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

/* cJSON decodes "\u0000" into a C string, silently cutting it short: "a\u0000b"
 * would become "a". Such strings are refused instead. */
static bool has_nul_escape(const char *p, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++) {
        if (p[i] != '\\')
            continue;
        if (p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0)
            return true;
        i++; /* skip the escaped character: in \\u0000 the backslash is escaped */
    }
    return false;
}

/* Parses the body as a JSON object whose keys are all in allowed (NULL
 * terminated). On failure answers 400 and returns NULL. */
static cJSON *parse_body(const struct jn_api_req *req, struct jn_api_resp *resp,
                         const char *const *allowed, bool required)
{
    if (req->body_len == 0) {
        if (!required)
            return cJSON_CreateObject();
        jn_api_error(resp, 400, "a JSON object body is required");
        return NULL;
    }
    if (has_nul_escape(req->body, req->body_len)) {
        jn_api_error(resp, 400, "invalid JSON: \\u0000 (NUL) is not allowed in strings");
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, false);
    if (!o) {
        size_t at = end && end >= req->body ? (size_t)(end - req->body) : 0;
        jn_api_error(resp, 400, "invalid JSON in the request body near byte %zu", at);
        return NULL;
    }
    /* cJSON stops after the first value: trailing garbage is an error too. */
    for (; end && end < req->body + req->body_len; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
            jn_api_error(resp, 400, "invalid JSON: unexpected data after the object at byte %zu",
                         (size_t)(end - req->body));
            cJSON_Delete(o);
            return NULL;
        }
    }
    if (!cJSON_IsObject(o)) {
        jn_api_error(resp, 400, "the request body must be a JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    for (cJSON *f = o->child; f; f = f->next) {
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

/* Reads an optional integer field; answers 400 and returns false when it is
 * present but not an integer. */
static bool get_int(cJSON *o, const char *name, int *out, struct jn_api_resp *resp)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!f)
        return true;
    if (!cJSON_IsNumber(f) || f->valuedouble != (double)(int)f->valuedouble) {
        jn_api_error(resp, 400, "field '%s' must be an integer", name);
        return false;
    }
    *out = f->valueint;
    return true;
}

/* Reads an optional state field ("ready", "drain", "maint"). */
static bool get_state(cJSON *o, int *out, struct jn_api_resp *resp)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!f)
        return true;
    int s = cJSON_IsString(f) ? jn_name_state_parse(f->valuestring) : -1;
    if (s < 0) {
        jn_api_error(resp, 400, "field 'state' must be one of " JN_STATE_NAMES);
        return false;
    }
    *out = s;
    return true;
}

static cJSON *app_json(struct jn_api *api, const struct jn_store_app *a)
{
    struct jn_control *ctl = api->ctl;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddNumberToObject(o, "created_at", (double)a->created_at);
    char host[JN_STORE_NAME_MAX + JN_STORE_DOMAIN_MAX + 2];
    snprintf(host, sizeof(host), "%s.%s", a->name, jn_control_base_domain(ctl));
    cJSON *hosts = cJSON_AddArrayToObject(o, "hosts");
    cJSON_AddItemToArray(hosts, cJSON_CreateString(host));
    cJSON *doms = cJSON_AddArrayToObject(o, "domains");
    struct jn_store_domain *d;
    int n = jn_store_domain_list(jn_control_store(ctl), a->name, &d);
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(doms, cJSON_CreateString(d[i].domain));
        cJSON_AddItemToArray(hosts, cJSON_CreateString(d[i].domain));
    }
    free(d);
    cJSON_AddStringToObject(o, "upstream", a->name);
    struct jn_ctl_upstream *u;
    int nu = jn_control_upstreams(ctl, a->name, &u);
    cJSON_AddNumberToObject(o, "servers", nu > 0 ? (double)u[0].nservers : 0);
    jn_control_upstreams_free(u, nu);
    return o;
}

static void apps_list(struct jn_api *api, struct jn_api_resp *resp)
{
    struct jn_store_app *apps;
    int n = jn_store_app_list(jn_control_store(api->ctl), &apps);
    if (n < 0) {
        jn_api_error(resp, 500, "the state store failed (see the daemon's log)");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "apps");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, app_json(api, &apps[i]));
    free(apps);
    jn_api_send_json(resp, 200, o);
}

static void app_show(struct jn_api *api, const char *name, int status, struct jn_api_resp *resp)
{
    struct jn_store_app a;
    int r = jn_store_app_get(jn_control_store(api->ctl), name, &a);
    if (r == JN_ENOTFOUND) {
        jn_api_error(resp, 404, "app '%.64s' does not exist (create it with: jern create %.64s)",
                     name, name);
        return;
    }
    if (r < 0) {
        jn_api_error(resp, 500, "the state store failed (see the daemon's log)");
        return;
    }
    jn_api_send_json(resp, status, app_json(api, &a));
}

static void app_create(struct jn_api *api, const struct jn_api_req *req, struct jn_api_resp *resp)
{
    static const char *const fields[] = {"name", "domains", NULL};
    cJSON *o = parse_body(req, resp, fields, true);
    if (!o)
        return;
    cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    cJSON *doms = cJSON_GetObjectItemCaseSensitive(o, "domains");
    const char *list[64];
    size_t n = 0;
    char err[512] = "";
    if (!cJSON_IsString(name)) {
        jn_api_error(resp, 400, "field 'name' (a string) is required");
        goto out;
    }
    if (doms && !cJSON_IsArray(doms)) {
        jn_api_error(resp, 400, "field 'domains' must be an array of strings");
        goto out;
    }
    for (cJSON *d = doms ? doms->child : NULL; d; d = d->next) {
        if (!cJSON_IsString(d)) {
            jn_api_error(resp, 400, "field 'domains' must be an array of strings");
            goto out;
        }
        if (n == JN_ARRAY_LEN(list)) {
            jn_api_error(resp, 400, "at most %zu domains per request", JN_ARRAY_LEN(list));
            goto out;
        }
        list[n++] = d->valuestring;
    }
    int r = jn_control_app_create(api->ctl, name->valuestring, list, n, err, sizeof(err));
    if (r < 0)
        send_err(resp, r, err);
    else
        app_show(api, name->valuestring, 201, resp);
out:
    cJSON_Delete(o);
}

static void domains_list(struct jn_api *api, const char *app, struct jn_api_resp *resp)
{
    struct jn_store *st = jn_control_store(api->ctl);
    if (jn_store_app_get(st, app, NULL) < 0) {
        jn_api_error(resp, 404, "app '%.64s' does not exist (create it with: jern create %.64s)",
                     app, app);
        return;
    }
    struct jn_store_domain *d;
    int n = jn_store_domain_list(st, app, &d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "domains");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(d[i].domain));
    free(d);
    jn_api_send_json(resp, 200, o);
}

static void domain_add(struct jn_api *api, const char *app, const struct jn_api_req *req,
                       struct jn_api_resp *resp)
{
    static const char *const fields[] = {"domain", NULL};
    cJSON *o = parse_body(req, resp, fields, true);
    if (!o)
        return;
    cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domain");
    char err[512] = "";
    if (!cJSON_IsString(d)) {
        jn_api_error(resp, 400, "field 'domain' (a string) is required");
    } else {
        int r = jn_control_domain_add(api->ctl, app, d->valuestring, err, sizeof(err));
        if (r < 0)
            send_err(resp, r, err);
        else
            domains_list(api, app, resp), resp->status = 201;
    }
    cJSON_Delete(o);
}

static cJSON *upstream_json(const struct jn_ctl_upstream *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddStringToObject(o, "kind", u->is_app ? "app" : "config");
    cJSON_AddStringToObject(o, "balance", u->balance);
    cJSON *arr = cJSON_AddArrayToObject(o, "servers");
    for (size_t i = 0; i < u->nservers; i++) {
        const struct jn_ctl_server *s = &u->servers[i];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "addr", s->addr);
        cJSON_AddNumberToObject(so, "weight", s->weight);
        cJSON_AddStringToObject(so, "state", jn_name_state(s->state));
        cJSON_AddStringToObject(so, "origin", s->from_config ? "config" : "api");
        cJSON_AddNumberToObject(so, "conns", s->conns);
        cJSON_AddNumberToObject(so, "requests", (double)s->requests);
        cJSON_AddNumberToObject(so, "failures", (double)s->failures);
        cJSON_AddItemToArray(arr, so);
    }
    return o;
}

static void upstreams_show(struct jn_api *api, const char *name, const char *addr, int status,
                           struct jn_api_resp *resp)
{
    struct jn_ctl_upstream *v;
    int n = jn_control_upstreams(api->ctl, name, &v);
    if (n == JN_ENOTFOUND) {
        jn_api_error(resp, 404,
                     "upstream '%.64s' does not exist (an app or an upstream block of the config "
                     "defines one)",
                     name);
        return;
    }
    if (n < 0) {
        jn_api_error(resp, 500, "the state store failed (see the daemon's log)");
        return;
    }
    cJSON *o;
    if (addr) {
        char norm[JN_STORE_ADDR_MAX], err[512];
        o = NULL;
        if (jn_name_addr_norm(addr, norm, sizeof(norm), err, sizeof(err)) == 0) {
            cJSON *u = upstream_json(&v[0]);
            cJSON *s;
            cJSON_ArrayForEach(s, cJSON_GetObjectItem(u, "servers"))
            {
                if (strcmp(cJSON_GetObjectItem(s, "addr")->valuestring, norm) == 0) {
                    o = cJSON_Duplicate(s, true);
                    cJSON_AddStringToObject(o, "upstream", name);
                    break;
                }
            }
            cJSON_Delete(u);
        }
        if (!o)
            jn_api_error(resp, 404, "upstream '%s' has no server %s (see: jern upstream %s)", name,
                         addr, name);
    } else if (name) {
        o = upstream_json(&v[0]);
    } else {
        o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "upstreams");
        for (int i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, upstream_json(&v[i]));
    }
    jn_control_upstreams_free(v, n);
    if (o)
        jn_api_send_json(resp, status, o);
}

static void server_add(struct jn_api *api, const char *up, const struct jn_api_req *req,
                       struct jn_api_resp *resp)
{
    static const char *const fields[] = {"addr", "weight", "state", NULL};
    cJSON *o = parse_body(req, resp, fields, true);
    if (!o)
        return;
    cJSON *addr = cJSON_GetObjectItemCaseSensitive(o, "addr");
    int weight = 1, state = 0;
    char err[512] = "";
    if (!cJSON_IsString(addr)) {
        jn_api_error(resp, 400, "field 'addr' (a string, HOST:PORT) is required");
    } else if (get_int(o, "weight", &weight, resp) && get_state(o, &state, resp)) {
        int r =
            jn_control_server_add(api->ctl, up, addr->valuestring, weight, state, err, sizeof(err));
        if (r < 0)
            send_err(resp, r, err);
        else
            upstreams_show(api, up, addr->valuestring, 201, resp);
    }
    cJSON_Delete(o);
}

static void server_set(struct jn_api *api, const char *up, const char *addr,
                       const struct jn_api_req *req, struct jn_api_resp *resp)
{
    static const char *const fields[] = {"weight", "state", NULL};
    cJSON *o = parse_body(req, resp, fields, true);
    if (!o)
        return;
    int weight = 0, state = -1;
    char err[512] = "";
    if (get_int(o, "weight", &weight, resp) && get_state(o, &state, resp)) {
        if (cJSON_GetObjectItemCaseSensitive(o, "weight") && weight == 0) {
            jn_api_error(resp, 400,
                         "invalid weight 0: expected 1 to 1000 (use state=maint to "
                         "stop traffic)");
        } else if (weight == 0 && state < 0) {
            jn_api_error(resp, 400, "nothing to change: give 'weight' and/or 'state'");
        } else {
            int r = jn_control_server_set(api->ctl, up, addr, weight, state, err, sizeof(err));
            if (r < 0)
                send_err(resp, r, err);
            else
                upstreams_show(api, up, addr, 200, resp);
        }
    }
    cJSON_Delete(o);
}

static void status(struct jn_api *api, struct jn_api_resp *resp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", api->version);
    cJSON_AddNumberToObject(o, "pid", getpid());
    cJSON_AddNumberToObject(o, "uptime_s", (double)((jn_now_ms() - api->started_ms) / 1000));
    cJSON_AddStringToObject(o, "state_dir", api->state_dir);
    cJSON_AddStringToObject(o, "config", api->config_path ? api->config_path : "(embedded)");
    cJSON_AddStringToObject(o, "admin", api->admin_desc);
    cJSON_AddStringToObject(o, "base_domain", jn_control_base_domain(api->ctl));
    cJSON *ls = cJSON_AddArrayToObject(o, "listen");
    for (size_t i = 0; i < api->nlistens; i++)
        cJSON_AddItemToArray(ls, cJSON_CreateString(api->listens[i]));
    cJSON_AddNumberToObject(o, "reloads", (double)api->reloads);
    struct jn_store_app *apps;
    int n = jn_store_app_list(jn_control_store(api->ctl), &apps);
    free(apps);
    cJSON_AddNumberToObject(o, "apps", n > 0 ? n : 0);
    struct jn_ctl_upstream *v;
    int nu = jn_control_upstreams(api->ctl, NULL, &v);
    size_t ns = 0;
    for (int i = 0; i < nu; i++)
        ns += v[i].nservers;
    jn_control_upstreams_free(v, nu);
    cJSON_AddNumberToObject(o, "upstreams", nu > 0 ? nu : 0);
    cJSON_AddNumberToObject(o, "servers", (double)ns);
    cJSON_AddNumberToObject(o, "schema_version",
                            jn_store_schema_version(jn_control_store(api->ctl)));
    jn_api_send_json(resp, 200, o);
}

static bool method_is(const struct jn_api_req *req, enum jn_http_method m)
{
    return req->method == m || (m == JN_HTTP_GET && req->method == JN_HTTP_HEAD);
}

static void not_allowed(struct jn_api_resp *resp, const struct jn_api_req *req, const char *allow)
{
    jn_api_error(resp, 405, "method %.*s is not allowed here (allowed: %s)",
                 (int)JN_MIN(req->method_len, 16), req->method_name, allow);
    resp->allow = allow;
}

static void deleted(struct jn_api_resp *resp, const char *what, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", what);
    cJSON_AddStringToObject(o, "name", name);
    jn_api_send_json(resp, 200, o);
}

static void route_apps(struct jn_api *api, const struct route *rt, const struct jn_api_req *req,
                       struct jn_api_resp *resp)
{
    char err[512] = "";
    int r;
    const char *app = rt->nseg >= 3 ? rt->seg[2] : NULL;
    if (rt->nseg == 2) {
        if (method_is(req, JN_HTTP_GET))
            apps_list(api, resp);
        else if (req->method == JN_HTTP_POST)
            app_create(api, req, resp);
        else
            not_allowed(resp, req, "GET, POST");
    } else if (rt->nseg == 3) {
        if (method_is(req, JN_HTTP_GET)) {
            app_show(api, app, 200, resp);
        } else if (req->method == JN_HTTP_DELETE) {
            /* A job half-way through would go on starting instances, and
             * publish them into an app recreated under the same name. */
            if (api->deployer && !jn_deployer_claim(api->deployer, app)) {
                jn_api_error(resp, 409,
                             "app '%s' has a deploy, scale or restart running; destroy it "
                             "when that has finished",
                             app);
            } else {
                if ((r = jn_control_app_delete(api->ctl, app, err, sizeof(err))) < 0)
                    send_err(resp, r, err);
                else
                    deleted(resp, "app", app);
                if (api->deployer)
                    jn_deployer_unclaim(api->deployer, app);
            }
        } else {
            not_allowed(resp, req, "GET, DELETE");
        }
    } else if (rt->nseg == 4 && strcmp(rt->seg[3], "domains") == 0) {
        if (method_is(req, JN_HTTP_GET))
            domains_list(api, app, resp);
        else if (req->method == JN_HTTP_POST)
            domain_add(api, app, req, resp);
        else
            not_allowed(resp, req, "GET, POST");
    } else if (rt->nseg == 5 && strcmp(rt->seg[3], "domains") == 0) {
        if (req->method != JN_HTTP_DELETE) {
            not_allowed(resp, req, "DELETE");
        } else if ((r = jn_control_domain_remove(api->ctl, app, rt->seg[4], err, sizeof(err))) <
                   0) {
            send_err(resp, r, err);
        } else {
            deleted(resp, "domain", rt->seg[4]);
        }
    } else {
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
    }
}

static void route_upstreams(struct jn_api *api, const struct route *rt,
                            const struct jn_api_req *req, struct jn_api_resp *resp)
{
    char err[512] = "";
    int r;
    const char *up = rt->nseg >= 3 ? rt->seg[2] : NULL;
    if (rt->nseg == 2 || rt->nseg == 3) {
        if (method_is(req, JN_HTTP_GET))
            upstreams_show(api, up, NULL, 200, resp);
        else
            not_allowed(resp, req, "GET");
    } else if (rt->nseg == 4 && strcmp(rt->seg[3], "servers") == 0) {
        if (method_is(req, JN_HTTP_GET))
            upstreams_show(api, up, NULL, 200, resp);
        else if (req->method == JN_HTTP_POST)
            server_add(api, up, req, resp);
        else
            not_allowed(resp, req, "GET, POST");
    } else if (rt->nseg == 5 && strcmp(rt->seg[3], "servers") == 0) {
        const char *addr = rt->seg[4];
        if (method_is(req, JN_HTTP_GET)) {
            upstreams_show(api, up, addr, 200, resp);
        } else if (req->method == JN_HTTP_PATCH) {
            server_set(api, up, addr, req, resp);
        } else if (req->method == JN_HTTP_DELETE) {
            if ((r = jn_control_server_remove(api->ctl, up, addr, err, sizeof(err))) < 0)
                send_err(resp, r, err);
            else
                deleted(resp, "server", addr);
        } else {
            not_allowed(resp, req, "GET, PATCH, DELETE");
        }
    } else {
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
    }
}

static bool deployer_route(struct jn_api *api, const struct route *rt, const struct jn_api_req *req,
                           struct jn_api_resp *resp)
{
    const char *seg[MAX_SEGS];
    for (int i = 0; i < rt->nseg; i++)
        seg[i] = rt->seg[i];
    return jn_deployer_api(api->deployer, seg, rt->nseg, req, resp);
}

static bool db_route(struct jn_api *api, const struct route *rt, const struct jn_api_req *req,
                     struct jn_api_resp *resp)
{
    const char *seg[MAX_SEGS];
    for (int i = 0; i < rt->nseg; i++)
        seg[i] = rt->seg[i];
    return jn_dbs_api(api->dbs, seg, rt->nseg, req, resp);
}

void jn_api_handle(struct jn_api *api, const struct jn_api_req *req, struct jn_api_resp *resp)
{
    struct route rt;
    resp->allow = NULL;
    if (split_path(req->path, req->path_len, &rt) < 0) {
        jn_api_error(resp, 400, "malformed path (bad %%-escape or too long)");
        return;
    }
    if (rt.nseg == 1 && strcmp(rt.seg[0], "health") == 0) {
        if (!method_is(req, JN_HTTP_GET)) {
            not_allowed(resp, req, "GET");
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        jn_api_send_json(resp, 200, o);
    } else if (rt.nseg == 1 && strcmp(rt.seg[0], "metrics") == 0) {
        if (!method_is(req, JN_HTTP_GET)) {
            not_allowed(resp, req, "GET");
            return;
        }
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        jn_buf_reset(&resp->body);
        jn_api_metrics(api, &resp->body);
    } else if (rt.nseg >= 2 && strcmp(rt.seg[0], "v1") == 0 && strcmp(rt.seg[1], "status") == 0 &&
               rt.nseg == 2) {
        if (!method_is(req, JN_HTTP_GET)) {
            not_allowed(resp, req, "GET");
            return;
        }
        status(api, resp);
    } else if (api->deployer && deployer_route(api, &rt, req, resp)) {
        /* answered by control/deploy_api.c */
    } else if (api->dbs && db_route(api, &rt, req, resp)) {
        /* answered by db/api.c */
    } else if (rt.nseg >= 2 && strcmp(rt.seg[0], "v1") == 0 && strcmp(rt.seg[1], "apps") == 0) {
        route_apps(api, &rt, req, resp);
    } else if (rt.nseg >= 2 && strcmp(rt.seg[0], "v1") == 0 &&
               strcmp(rt.seg[1], "upstreams") == 0) {
        route_upstreams(api, &rt, req, resp);
    } else {
        jn_api_error(resp, 404, "no such endpoint (see docs/API.md)");
    }
}
