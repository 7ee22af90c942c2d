/*
 * api.h: the admin API's routes (documented in docs/API.md): HTTP method and
 * path in, status and JSON (or Prometheus text) out. Transport-free, so the
 * admin server (admin.c) and tests drive the same code. Control thread only.
 */
#ifndef JN_CONTROL_API_H
#define JN_CONTROL_API_H

#include "core/common.h"
#include "core/buf.h"
#include "http/parse.h"

struct jn_control;
struct jn_deployer;
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
    struct jn_deployer *deployer; /* deploy routes (control/deploy.h); NULL: none */
    struct jn_dbs *dbs;           /* /v1/databases (db/db.h); NULL: none */
};

struct jn_api_req {
    enum jn_http_method method;
    const char *method_name;
    size_t method_len;
    const char *path; /* without the query */
    size_t path_len;
    const char *body;
    size_t body_len;
};

struct jn_api_resp {
    int status;
    const char *content_type; /* static */
    struct jn_buf body;       /* initialised by the caller; the API appends */
    const char *allow;        /* for 405: the methods allowed, static */
};

/* Answers one request. Never fails: errors become JSON {"error": "..."} with a
 * 4xx/5xx status. */
void jn_api_handle(struct jn_api *api, const struct jn_api_req *req, struct jn_api_resp *resp);

/* Writes an error response: {"error": msg} with status. */
void jn_api_error(struct jn_api_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes o as the JSON response body with status, and frees o; a body past
 * the response cap becomes a 500. */
void jn_api_send_json(struct jn_api_resp *resp, int status, struct cJSON *o);

/* Appends the Prometheus text exposition of every metric (metrics.c). */
void jn_api_metrics(struct jn_api *api, struct jn_buf *out);

#endif
