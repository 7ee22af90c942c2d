/* docker_int.h: what the container driver's files share (docker.c, the
 * operations; docker_http.c, the Engine API over its unix socket). */
#ifndef JN_RUNTIME_DOCKER_INT_H
#define JN_RUNTIME_DOCKER_INT_H

#include "core/common.h"

#include "core/buf.h"
#include "runtime/driver.h"

#include <curl/curl.h>
#include <stdio.h>

#define RESP_MAX (16u << 20) /* JSON answers (lists of containers) */
#define CALL_TIMEOUT_MS 60000L

struct docker {
    struct jn_driver base;
    char *sock;
    CURL *curl;
    char api[16];     /* negotiated, "1.41"; empty until the first call */
    char engine[160]; /* "Podman Engine 4.3.1, API 1.41" */
};

/* One request to the engine. */
struct jn_dk_call {
    const char *method;
    const char *path; /* after the version prefix, e.g. "/containers/json" */
    bool unversioned; /* GET /version, /_ping */
    const char *body; /* JSON request body or NULL */
    FILE *upload;     /* else a body read from this file (upload_size bytes) */
    int64_t upload_size;
    const char *upload_type;   /* its Content-Type */
    const char *auth;          /* X-Registry-Auth value or NULL */
    long timeout_ms;           /* 0: CALL_TIMEOUT_MS; < 0: none */
    curl_write_callback write; /* streamed answer; NULL: collect into resp */
    void *write_arg;
    struct jn_buf *resp;
    long status; /* out */
};

/* Performs one request. Returns 0 with c->status set when an HTTP answer came, or an
 * error (engine unreachable, timeout) with the driver's errmsg set. */
int jn_dk_perform(struct docker *dk, struct jn_dk_call *c);

/* GET of a path outside the versioned API (/version, /_ping), answered into
 * resp. Returns 0 on a 200 answer, else an error with errmsg set ("docker:
 * GET PATH: STATUS MESSAGE" or the engine unreachable). */
int jn_dk_get_unversioned(struct docker *dk, const char *path, struct jn_buf *resp);

/* Negotiates the API version once per engine socket: the highest both sides
 * speak, remembered for the process's life. */
int jn_dk_negotiate(struct docker *dk);

/* A simple request with a JSON (or empty) answer collected into resp. Negotiates
 * first. Returns 0 with c->status set, or an error. */
int jn_dk_request(struct docker *dk, struct jn_dk_call *c, struct jn_buf *resp);

/* Sets errmsg for a failed answer: "docker: WHAT: STATUS MESSAGE". */
int jn_dk_fail_answer(struct docker *dk, struct jn_dk_call *c, const char *what);

/* The engine's error message from a JSON answer ({"message": ...}), or the raw text. */
const char *jn_dk_engine_message(struct jn_buf *resp, char *out, size_t len);

#endif
