/*
 * client.h: the admin API client behind the CLI commands (libcurl, over the
 * unix socket or TCP with a bearer token). Main thread of the CLI process.
 *
 * The endpoint comes from --admin, else $JERN_ADMIN, else $JERN_STATE's
 * admin.sock, else the system daemon's /run/jern/admin.sock when that socket
 * exists (core/layout.h), else ./jern-state/admin.sock. Forms:
 * "unix:PATH", a path, "http://HOST:PORT" or "HOST:PORT". The token comes
 * from --token or $JERN_TOKEN (TCP only).
 */
#ifndef JN_CLI_CLIENT_H
#define JN_CLI_CLIENT_H

#include "core/common.h"

#include <cjson/cJSON.h>

struct jn_client {
    char *unix_path; /* set for a unix socket */
    char *base_url;  /* "http://localhost" for unix, "http://HOST:PORT" for TCP */
    char *token;
    char *where; /* for messages: the socket path or the URL */
    const char *how; /* how where was found: "--admin", "$JERN_ADMIN", ... */
    bool json;   /* --json: print the API's JSON */
    long timeout_ms; /* a whole call's limit; 0: 60 s */
};

/* Takes --admin X, --token X and --json out of argv (anywhere after the
 * command name), compacting argv; returns the new argc, or -1 after printing
 * a usage error. */
int jn_client_init(struct jn_client *c, int argc, char **argv);

void jn_client_free(struct jn_client *c);

/* Sends METHOD path with body (may be NULL; not consumed) and parses the JSON
 * answer into *out (caller cJSON_Deletes; may be NULL on non-JSON). Returns
 * the HTTP status, or -1 after printing "cannot reach the jern daemon at ..."
 * (the fix included). */
int jn_client_call(struct jn_client *c, const char *method, const char *path, const cJSON *body,
                   cJSON **out);

/* jn_client_call for a streamed answer (jern logs -f, jern run): no time
 * limit; each line of a 200 answer, a JSON object, goes to line(arg, o) as it
 * comes (o is freed after). *out gets the answer of any other status.
 * Returns the status, or -1 as jn_client_call. */
int jn_client_stream(struct jn_client *c, const char *method, const char *path,
                     const cJSON *body, void (*line)(void *arg, const cJSON *o), void *arg,
                     cJSON **out);

/* Prints "jern: MESSAGE" from an error answer (its "error" field, else the
 * status) to stderr and returns the exit code for it (1). */
int jn_client_fail(int status, const cJSON *answer);

/* URL-escapes one path segment into a new string (caller frees). */
char *jn_client_escape(const char *seg);

/* Prints the answer as JSON on stdout (--json). */
void jn_client_print_json(const cJSON *answer);

/* jn_client_call plus the usual handling: on 2xx prints the JSON when --json
 * and returns 0 with *out set; otherwise prints the error and returns the
 * exit code (1) with *out NULL. */
int jn_client_request(struct jn_client *c, const char *method, const char *path, const cJSON *body,
                      cJSON **out);

/* The second half of jn_client_request, for a status st that the caller got
 * from jn_client_call (and perhaps followed further): reports a failure
 * (returns the exit code, *out freed and NULL) or prints *out with --json
 * (returns 0). */
int jn_client_settle(struct jn_client *c, int st, cJSON **out);

/* A string field of o, or "" (never NULL). */
const char *jn_client_str(const cJSON *o, const char *key);

/* A number field of o, or 0. */
double jn_client_num(const cJSON *o, const char *key);

/* Prints "jern: usage: jern USAGE" to stderr and returns 2. */
int jn_client_usage(const char *usage);

#endif
