/*
 * api.h: the admin API (documented in docs/API.md): HTTP method and path in,
 * status and JSON (or Prometheus text) out. Transport-free, so the admin
 * server (admin.c) and tests drive the same code. Control thread only.
 *
 * Routes are rows of a table, as config directives are (config/directives.c):
 * {method, "/v1/apps/:app/deploy", handler}. One matcher (api.c) finds the
 * row, answers 404 when no pattern matches the path and 405 with Allow when
 * patterns match but not the method. Each area keeps its rows beside its
 * handlers (apps.c, upstreams.c, deploys.c, scale.c, status.c) and registers
 * the array with one line in api.c. Only this folder includes this header:
 * the domain code (deploys, scaling, the store) never answers HTTP.
 */
#ifndef JN_CONTROL_API_H
#define JN_CONTROL_API_H

#include "core/common.h"
#include "core/buf.h"
#include "http/parse.h"

struct jn_control;
struct jn_deployer;
struct jn_autoscaler;
struct jn_certs;
struct jn_history;
struct jn_ui_sessions;
struct jn_api_stream;
struct jn_dbs;
struct cJSON;

/* What the daemon tells the API about itself, for /v1/status. Borrowed. */
struct jn_api {
    struct jn_control *ctl;
    const char *version;
    const char *state_dir;
    const char *config_path;    /* NULL: embedded defaults */
    const char *const *listens; /* gateway listen addresses */
    size_t nlistens;
    const char *admin_desc; /* "unix:PATH" (+ " and TCP ADDR") */
    int64_t started_ms;     /* jn_now_ms() at start */
    uint64_t reloads;
    struct jn_deployer *deployer;     /* NULL: no deploy routes */
    struct jn_autoscaler *autoscaler; /* NULL: no autoscale routes */
    struct jn_certs *certs;           /* NULL: no certificate routes */
    struct jn_history *history;       /* NULL: no dashboard (/ui) routes */
    struct jn_ui_sessions *sessions;  /* the dashboard's logins (with history) */
    const char *admin_token;          /* the TCP listener's token; NULL: none */
    struct jn_dbs *dbs;               /* NULL: no database routes (db/db.h) */
    struct jn_cluster *cluster;       /* NULL: a single node (control/cluster/) */
    const char *const *labels;        /* this node's "key=value" labels */
    size_t nlabels;
    int64_t node_memory; /* 0: the machine's */
};

struct jn_api_req {
    enum jn_http_method method;
    const char *method_name;
    size_t method_len;
    const char *path; /* without the query */
    size_t path_len;
    const char *query; /* after the '?', or NULL */
    size_t query_len;
    const char *body;
    size_t body_len;
    const struct jn_http_header *headers;
    size_t nheaders;
    bool trusted; /* the unix socket, or TCP with the bearer token */
    const char *who; /* for the history: "uid 1000", "token", "dashboard"; NULL: "api" */
};

struct jn_api_resp {
    int status;
    const char *content_type; /* static */
    struct jn_buf body;       /* initialised by the caller; the API appends */
    const char *allow;        /* for 405: the methods allowed (static or allow_buf) */
    char allow_buf[64];
    char headers[512]; /* more header lines ("Name: value\r\n"...), may be "" */
    bool authed;       /* a dashboard session or login vouched for the request */
    char note[512];    /* what a change did, for the history (no secret values); may be "" */
    /* A streamed answer (jern logs -f, jern run): when set, the transport
     * sends a 200 head with content_type and chunked framing, then hands the
     * connection (blocking) to stream(s, stream_arg), which owns s from then
     * on: it writes with jn_api_stream_write and ends with jn_api_stream_end,
     * from any thread. Control thread. */
    void (*stream)(struct jn_api_stream *s, void *arg);
    void *stream_arg;
    char note_app[64]; /* the app a change was about when no :app names it; may be "" */
};

#define JN_API_MAX_PARAMS 4

/* One request on its way through a handler: the daemon's view, the request,
 * the response to fill and the values of the pattern's ":name" segments. */
struct jn_api_call {
    struct jn_api *api;
    const struct jn_api_req *req;
    struct jn_api_resp *resp;
    const char *param_name[JN_API_MAX_PARAMS]; /* "app" for ":app" (not terminated) */
    size_t param_name_len[JN_API_MAX_PARAMS];
    const char *param[JN_API_MAX_PARAMS]; /* percent-decoded segment */
    int nparam;
};

/* What a route needs from the daemon; the matcher skips rows whose needs are
 * missing (a daemon without a deployer answers 404 there). */
#define JN_ROUTE_DEPLOYER 1u
#define JN_ROUTE_AUTOSCALER 2u
#define JN_ROUTE_CERTS 4u
#define JN_ROUTE_UI 8u
#define JN_ROUTE_DATABASES 16u
/* Not a need but a mark: a POST that changes nothing worth recording (the
 * input of a jern run), left out of the history. */
#define JN_ROUTE_UNRECORDED 32u

/* One row: method (GET also answers HEAD), the path pattern ("/" separated;
 * ":name" matches any one segment), what it needs, the handler, and the name
 * of the change it makes in the history (NULL: "METHOD PATH"; GET rows and
 * the dashboard's rows are not recorded). An array of rows ends with a row
 * whose pattern is NULL. */
struct jn_route {
    enum jn_http_method method;
    const char *pattern;
    unsigned needs;
    void (*handler)(struct jn_api_call *c);
    const char *action;
};

struct jn_api_stream;

/* stream.c: a streamed answer's connection. write sends one chunk (locked:
 * any thread) and returns 0, or -EPIPE once the reader is gone; gone says
 * whether the reader hung up; end sends the last chunk, closes and frees. */
struct jn_api_stream *jn_api_stream_new(int fd);
int jn_api_stream_write(struct jn_api_stream *s, const char *data, size_t len);
bool jn_api_stream_gone(struct jn_api_stream *s);
void jn_api_stream_end(struct jn_api_stream *s);

/* logs.c: the opened secret values of app's config and of its serving
 * release's --env (what its output must not show): the count and *out (free
 * with jn_appconfig_env_free). */
size_t jn_api_app_secrets(struct jn_api_call *c, const char *app, char ***out);

/* deploys.c: claims app for a change (jn_deployer_claim), or answers 409
 * and returns false. When a change someone asked for holds it, the answer
 * names its job and ends with then ("wait for it to finish and try again");
 * when the daemon's own work does (an autoscaler's scale, a restart after a
 * crash, a warm pause), which ends in moments, it carries "retry_after": 1
 * and Retry-After, and the CLI asks again (cli/client.c). */
struct jn_deployer;
bool jn_api_claim_app(struct jn_deployer *d, const char *app, struct jn_api_resp *resp,
                      const char *then);

/* The value of query parameter name into buf: true when present. */
bool jn_api_query(const struct jn_api_call *c, const char *name, char *buf, size_t len);

/* The route arrays, one per area (registered in api.c). */
extern const struct jn_route jn_status_routes[];
extern const struct jn_route jn_app_routes[];
extern const struct jn_route jn_upstream_routes[];
extern const struct jn_route jn_deploy_routes[];
extern const struct jn_route jn_scale_routes[];
extern const struct jn_route jn_cert_routes[];
extern const struct jn_route jn_ui_routes[];

/* logs.c: the output of c's app (route parameter "app") for the dashboard's
 * live tail: the last 200 lines, then each new one as an instance writes it,
 * streamed as Server-Sent Events ("line": the JSON of a jern logs line) until
 * the reader hangs up; 404 for an app that does not exist. */
void jn_api_output_events(struct jn_api_call *c);
extern const struct jn_route jn_config_routes[];
extern const struct jn_route jn_history_routes[];
extern const struct jn_route jn_log_routes[];
extern const struct jn_route jn_run_routes[];

/* config.c: checks vars (an object NAME -> "value", NULL: {}) and returns a
 * copy whose secret values (all when all_secret, else by name) are sealed.
 * Answers 400 (named by what) or 500 and returns NULL on failure. */
struct cJSON *jn_api_config_vars(struct jn_api_call *c, const struct cJSON *vars, bool all_secret,
                                 const char *what);

/* The names of a config's variables ("A, B (secret)") into out. */
void jn_api_config_names(char *out, size_t len, const char *json);

/* True for a path of the dashboard ("/ui" and below): those answer to a
 * session cookie (ui.c), not to the bearer token. */
bool jn_api_is_ui_path(const char *path, size_t len);
extern const struct jn_route jn_database_routes[];
extern const struct jn_route jn_cluster_routes[];

/* A cluster change's failure (control/cluster/cluster.h codes) as a
 * response: 503 etcd unreachable, 400 a placement that cannot be met, 409 a
 * concurrent change, 404, else 500. */
void jn_api_cluster_fail(struct jn_api_resp *resp, int r, const char *err);

/* upstreams.c: on a cluster node, app's runtime upstream servers (those
 * added through the API) written to its record in etcd, so every node
 * routes to them. 0 (also on a single node), or a negative code with err. */
int jn_api_cluster_servers(struct jn_api *api, const char *app, char *err, size_t errlen);

/* scale.c: app's autoscale settings and state (jn_autoscale_json); on a
 * cluster node its count and last decision are the cluster scheduler's.
 * NULL when its count is fixed. The caller owns it. */
struct cJSON *jn_api_autoscale_json(struct jn_api *api, const char *app);

/* Answers one request. Never fails: errors become JSON {"error": "..."} with a
 * 4xx/5xx status. */
void jn_api_handle(struct jn_api *api, const struct jn_api_req *req, struct jn_api_resp *resp);

/* The value of the pattern's ":name" segment, or NULL when it has none. */
const char *jn_api_param(const struct jn_api_call *c, const char *name);

/* Writes an error response: {"error": msg} with status. */
void jn_api_error(struct jn_api_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps a control-plane code (JN_EBADINPUT 400, JN_ENOTFOUND 404, JN_EEXIST
 * 409, else 500) and its message (jn_strerror(r) when empty) to a response. */
void jn_api_fail(struct jn_api_resp *resp, int r, const char *err);

/* Writes o as the JSON response body with status, and frees o; a body past
 * the response cap becomes a 500. */
void jn_api_send_json(struct jn_api_resp *resp, int status, struct cJSON *o);

/* {"deleted": what, "name": name}, 200. */
void jn_api_deleted(struct jn_api_resp *resp, const char *what, const char *name);

/* Parses the request body as a JSON object whose keys are all in allowed
 * (NULL terminated; NULL: the caller checks the keys). An empty body is {} unless required. On
 * failure answers 400 (invalid JSON, \u0000 in a string, trailing data, not an object, an unknown
 * field) and returns NULL. The caller frees the result. */
struct cJSON *jn_api_body(const struct jn_api_call *c, const char *const *allowed, bool required);

/* Reads the optional integer field name of o into *out when present (absent:
 * *out unchanged, true). Answers 400 and returns false when it is not a whole
 * number from lo to hi (an integer). */
bool jn_api_int(struct jn_api_resp *resp, const struct cJSON *o, const char *name, int64_t lo,
                int64_t hi, int *out);

/* Appends the Prometheus text exposition of every metric (metrics.c). */
void jn_api_metrics(struct jn_api *api, struct jn_buf *out);

#endif
