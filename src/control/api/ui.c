/*
 * ui.c: the dashboard's routes under /ui (docs/UI.md). The pages are one
 * embedded shell (dashboard.html, .js, .css and uPlot) that reads its data
 * from the JSON below; every route but the login page and the static assets
 * needs a session (the cookie jern_session), every state-changing one also
 * the session's CSRF token in X-CSRF-Token. On TCP these answer to the
 * session, never to the bearer token alone (admin.c lets /ui through), and
 * the gateway's public listeners never serve them.
 *
 *   GET  /ui, /ui/apps/:app, /ui/upstreams, /ui/databases, /ui/nodes   the page
 *   GET  /ui/login[?code=C]  POST /ui/login  log in (one-time code, token)
 *   POST /ui/logout
 *   POST /ui/code            a one-time login code (unix socket or bearer)
 *   GET  /ui/assets/:name    embedded files
 *   GET  /ui/data?since=T[&app=A]          the last hour's samples
 *   GET  /ui/apps/:app/logs  the app's output as Server-Sent Events
 *   /ui/api/...              a few /v1 routes, behind the session
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/api/ui_nodes.h"
#include "control/ui/assets.h"
#include "control/ui/history.h"
#include "control/ui/session.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define COOKIE "jern_session"
#define SECURITY_HEADERS                                                                           \
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors "          \
    "'none'\r\n"                                                                                   \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"

static const char *header(const struct jn_api_req *req, const char *name)
{
    ssize_t i = jn_http_find_header(req->headers, req->nheaders, name, strlen(name));
    return i < 0 ? NULL : req->headers[i].value;
}

static size_t header_len(const struct jn_api_req *req, const char *name)
{
    ssize_t i = jn_http_find_header(req->headers, req->nheaders, name, strlen(name));
    return i < 0 ? 0 : req->headers[i].value_len;
}

/* The value of key in a "k=v&k2=v2" (or "k=v; k2=v2" with sep ';') string
 * into out (percent and '+' decoded for forms). Returns false when absent. */
static bool kv_get(const char *s, size_t n, char sep, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key), i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == sep))
            i++;
        size_t start = i;
        while (i < n && s[i] != sep)
            i++;
        if (i - start > klen && s[start + klen] == '=' && memcmp(s + start, key, klen) == 0) {
            size_t o = 0;
            for (size_t k = start + klen + 1; k < i && o + 1 < outlen; k++) {
                char ch = s[k];
                unsigned hv;
                if (sep == '&' && ch == '+')
                    ch = ' ';
                else if (sep == '&' && ch == '%' && k + 2 < i + 1 &&
                         sscanf(s + k + 1, "%2x", &hv) == 1) {
                    ch = (char)hv;
                    k += 2;
                }
                out[o++] = ch;
            }
            out[o] = '\0';
            return true;
        }
    }
    return false;
}

static struct jn_ui_session *session(struct jn_api_call *c)
{
    const char *ck = header(c->req, "cookie");
    char id[JN_UI_SECRET_LEN + 2];
    if (!ck || !kv_get(ck, header_len(c->req, "cookie"), ';', COOKIE, id, sizeof(id)))
        return NULL;
    return jn_ui_session_find(c->api->sessions, id, strlen(id), jn_now_ms());
}

static void redirect(struct jn_api_resp *resp, const char *to, const char *cookie)
{
    resp->status = 303;
    resp->content_type = "text/plain; charset=utf-8";
    jn_buf_reset(&resp->body);
    jn_buf_printf(&resp->body, "see %s\n", to);
    int n = snprintf(resp->headers, sizeof(resp->headers), "Location: %s\r\n", to);
    if (cookie)
        snprintf(resp->headers + n, sizeof(resp->headers) - (size_t)n,
                 "Set-Cookie: " COOKIE "=%s; Path=/ui; HttpOnly; SameSite=Strict\r\n", cookie);
}

/* A page: a session, or off to the login page. A data route: 401. */
static struct jn_ui_session *need_session(struct jn_api_call *c, bool page)
{
    struct jn_ui_session *s = session(c);
    if (s) {
        c->resp->authed = true;
        return s;
    }
    if (page) {
        redirect(c->resp, "/ui/login", NULL);
    } else {
        jn_api_error(c->resp, 401, "log in first (open /ui/login)");
        snprintf(c->resp->headers, sizeof(c->resp->headers), "WWW-Authenticate: Cookie\r\n");
    }
    return NULL;
}

/* A state-changing request: a session and its CSRF token. */
static bool need_csrf(struct jn_api_call *c)
{
    struct jn_ui_session *s = need_session(c, false);
    if (!s)
        return false;
    const char *t = header(c->req, "x-csrf-token");
    if (t && jn_ui_secret_eq(t, header_len(c->req, "x-csrf-token"), s->csrf))
        return true;
    jn_api_error(c->resp, 403, "missing or wrong X-CSRF-Token (reload the page)");
    return false;
}

static void send_text(struct jn_api_resp *resp, int status, const char *type, const void *p,
                      size_t n)
{
    resp->status = status;
    resp->content_type = type;
    jn_buf_reset(&resp->body);
    jn_buf_append(&resp->body, p, n);
    snprintf(resp->headers, sizeof(resp->headers), SECURITY_HEADERS);
}

static void login_page(struct jn_api_call *c, int status, const char *msg)
{
    char html[2048];
    const struct jn_api *api = c->api;
    int n = snprintf(
        html, sizeof(html),
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>jern: log in</title>"
        "<link rel=stylesheet href=/ui/assets/dashboard.css></head><body class=login>"
        "<main><h1>jern</h1>%s%s%s%s</main></body></html>\n",
        msg ? "<p class=error>" : "", msg ? msg : "", msg ? "</p>" : "",
        api->admin_token
            ? "<form method=post action=/ui/login><label>Admin token "
              "<input type=password name=token autocomplete=current-password autofocus></label>"
              "<button type=submit>Log in</button></form>"
            : "<p>Run <code>jern ui</code> on the daemon's host for a login link.</p>");
    send_text(c->resp, status, "text/html; charset=utf-8", html, (size_t)n);
}

static void get_login(struct jn_api_call *c)
{
    char code[JN_UI_SECRET_LEN + 2];
    if (c->req->query &&
        kv_get(c->req->query, c->req->query_len, '&', "code", code, sizeof(code))) {
        if (!jn_ui_code_use(c->api->sessions, code, strlen(code), jn_now_ms())) {
            login_page(c, 401, "That login link was used already or has expired.");
            return;
        }
        c->resp->authed = true;
        struct jn_ui_session *s = jn_ui_session_open(c->api->sessions, jn_now_ms());
        if (!s)
            jn_api_error(c->resp, 500, "no randomness for a session");
        else
            redirect(c->resp, "/ui", s->id);
        return;
    }
    login_page(c, 200, NULL);
}

/* A login form from another site would carry its Origin: refuse it. */
static bool same_origin(const struct jn_api_req *req)
{
    const char *o = header(req, "origin"), *h = header(req, "host");
    if (!o)
        return true;
    size_t on = header_len(req, "origin"), hn = header_len(req, "host");
    const char *p = memmem(o, on, "://", 3);
    return h && p && (size_t)(o + on - (p + 3)) == hn && memcmp(p + 3, h, hn) == 0;
}

static void post_login(struct jn_api_call *c)
{
    char token[512];
    if (!same_origin(c->req)) {
        jn_api_error(c->resp, 403, "cross-origin login refused");
        return;
    }
    if (!c->api->admin_token ||
        !kv_get(c->req->body, c->req->body_len, '&', "token", token, sizeof(token)) ||
        !jn_ui_secret_eq(token, strlen(token), c->api->admin_token)) {
        explicit_bzero(token, sizeof(token));
        login_page(c, 401, "Wrong token.");
        return;
    }
    explicit_bzero(token, sizeof(token));
    c->resp->authed = true;
    struct jn_ui_session *s = jn_ui_session_open(c->api->sessions, jn_now_ms());
    if (!s)
        jn_api_error(c->resp, 500, "no randomness for a session");
    else
        redirect(c->resp, "/ui", s->id);
}

static void post_logout(struct jn_api_call *c)
{
    struct jn_ui_session *s = session(c);
    if (s && !need_csrf(c))
        return;
    if (s)
        jn_ui_session_close(s);
    redirect(c->resp, "/ui/login", "gone; Max-Age=0");
}

static void post_code(struct jn_api_call *c)
{
    if (!c->req->trusted) {
        jn_api_error(c->resp, 401, "a login code needs the unix socket or the bearer token");
        return;
    }
    char code[JN_UI_SECRET_LEN + 1];
    if (jn_ui_code_new(c->api->sessions, jn_now_ms(), code) < 0) {
        jn_api_error(c->resp, 500, "no randomness for a login code");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "path", "/ui/login?code=");
    jn_api_send_json(c->resp, 200, o);
}

static void get_page(struct jn_api_call *c)
{
    struct jn_ui_session *s = need_session(c, true);
    if (!s)
        return;
    const struct jn_ui_asset *a = jn_ui_asset_find("dashboard.html");
    const char *mark = a ? strstr((const char *)a->data, "{{CSRF}}") : NULL;
    if (!mark) {
        jn_api_error(c->resp, 500, "the dashboard was built without its page");
        return;
    }
    struct jn_api_resp *r = c->resp;
    send_text(r, 200, "text/html; charset=utf-8", a->data, (size_t)(mark - (const char *)a->data));
    jn_buf_puts(&r->body, s->csrf);
    jn_buf_puts(&r->body, mark + 8);
}

static void get_asset(struct jn_api_call *c)
{
    const struct jn_ui_asset *a = jn_ui_asset_find(jn_api_param(c, "name"));
    if (!a || strcmp(a->name, "dashboard.html") == 0) {
        jn_api_error(c->resp, 404, "no such dashboard file");
        return;
    }
    send_text(c->resp, 200, a->type, a->data, a->len);
}

static void get_data(struct jn_api_call *c)
{
    if (!need_session(c, false))
        return;
    char since[32] = "0", app[128] = "";
    if (c->req->query) {
        kv_get(c->req->query, c->req->query_len, '&', "since", since, sizeof(since));
        kv_get(c->req->query, c->req->query_len, '&', "app", app, sizeof(app));
    }
    jn_api_send_json(
        c->resp, 200,
        jn_history_json(c->api->history, app[0] ? app : NULL, strtoll(since, NULL, 10)));
}

/* Answers the /v1 route that /ui/api/REST names, as the session's user. */
static void pass(struct jn_api_call *c)
{
    bool changes = c->req->method != JN_HTTP_GET && c->req->method != JN_HTTP_HEAD;
    if (changes ? !need_csrf(c) : !need_session(c, false))
        return;
    char path[1024];
    int n = snprintf(path, sizeof(path), "/v1%.*s", (int)c->req->path_len - 7, c->req->path + 7);
    struct jn_api_req inner = *c->req;
    inner.path = path;
    inner.path_len = (size_t)n;
    inner.trusted = true;
    jn_api_handle(c->api, &inner, c->resp);
}

/* The app's output as Server-Sent Events, pushed as instances write it
 * (the follow of jern logs -f, logs.c). */
static void get_logs(struct jn_api_call *c)
{
    if (!need_session(c, false))
        return;
    if (!c->api->deployer) {
        jn_api_error(c->resp, 404, "this daemon runs no apps");
        return;
    }
    jn_api_output_events(c);
}

/* The nodes page's data: a cluster's /v1/nodes and /v1/where, or a single
 * node's description of itself in the same shape (ui_nodes.c). */
static void get_nodes(struct jn_api_call *c)
{
    if (c->api->cluster)
        pass(c);
    else if (need_session(c, false))
        jn_ui_local_nodes(c);
}

static void get_where(struct jn_api_call *c)
{
    if (c->api->cluster)
        pass(c);
    else if (need_session(c, false))
        jn_ui_local_where(c, jn_api_param(c, "app"));
}

#define UI JN_ROUTE_UI

const struct jn_route jn_ui_routes[] = {
    {JN_HTTP_GET, "/ui", UI, get_page, NULL},
    {JN_HTTP_GET, "/ui/apps/:app", UI, get_page, NULL},
    {JN_HTTP_GET, "/ui/upstreams", UI, get_page, NULL},
    {JN_HTTP_GET, "/ui/databases", UI, get_page, NULL},
    {JN_HTTP_GET, "/ui/nodes", UI, get_page, NULL},
    {JN_HTTP_GET, "/ui/login", UI, get_login, NULL},
    {JN_HTTP_POST, "/ui/login", UI, post_login, NULL},
    {JN_HTTP_POST, "/ui/logout", UI, post_logout, NULL},
    {JN_HTTP_POST, "/ui/code", UI, post_code, NULL},
    {JN_HTTP_GET, "/ui/assets/:name", UI, get_asset, NULL},
    {JN_HTTP_GET, "/ui/data", UI, get_data, NULL},
    {JN_HTTP_GET, "/ui/apps/:app/logs", UI, get_logs, NULL},
    {JN_HTTP_GET, "/ui/api/status", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/apps", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/apps/:app/releases", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/apps/:app/ps", UI, pass, NULL},
    {JN_HTTP_POST, "/ui/api/apps/:app/rollback", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/upstreams", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/databases", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/databases/:name/backups", UI, pass, NULL},
    {JN_HTTP_GET, "/ui/api/nodes", UI, get_nodes, NULL},
    {JN_HTTP_GET, "/ui/api/where", UI, get_where, NULL},
    {JN_HTTP_GET, "/ui/api/where/:app", UI, get_where, NULL},
    {JN_HTTP_PATCH, "/ui/api/upstreams/:upstream/servers/:addr", UI, pass, NULL},
    {0},
};
