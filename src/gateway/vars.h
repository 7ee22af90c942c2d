/*
 * vars.h: nginx-style $variables in proxy_set_header values and log_format
 * strings. A template is compiled once (at config load) into literal and
 * variable parts, then evaluated per request into a caller buffer with no
 * allocation. Compiling is a pure function; evaluating is too, given the ctx.
 */
#ifndef JN_GATEWAY_VARS_H
#define JN_GATEWAY_VARS_H

#include "core/common.h"
#include "http/parse.h"

struct jn_user_vars;
struct jn_var_set;

/* What a request exposes to variables. Fields may be NULL/0 when unknown. */
struct jn_var_ctx {
    const struct jn_http_request *req; /* $host $http_NAME $request_uri $request_method ... */
    const char *remote_addr;           /* $remote_addr (text) */
    int remote_port;                   /* $remote_port */
    const char *scheme;                /* $scheme: "http" or "https" */
    const char *ssl_protocol;          /* $ssl_protocol; NULL: not TLS ($https is "") */
    const char *ssl_cipher;            /* $ssl_cipher */
    const char *ssl_server_name;       /* $ssl_server_name ("" when the client sent none) */
    const char *protocol;              /* "HTTP/2.0"; NULL: $server_protocol from req */
    const char *server_port;           /* $server_port */
    const char *proxy_host;            /* $proxy_host: the proxy_pass target */
    const char *server_name;           /* $server_name; $host when the request has no Host */
    int status;                        /* $status */
    uint64_t body_bytes_sent;          /* $body_bytes_sent */
    uint64_t bytes_sent;               /* $bytes_sent */
    uint64_t request_length;           /* $request_length */
    const char *upstream_addr;         /* $upstream_addr, e.g. "127.0.0.1:8080, 127.0.0.1:8081" */
    const char *upstream_status;       /* $upstream_status, e.g. "502, 200" */
    int64_t
        upstream_response_time_us; /* $upstream_response_time (printed as seconds.ms); <0 unknown */
    int64_t request_time_us;       /* $request_time */
    int64_t upstream_connect_time_us;  /* $upstream_connect_time; <0 unknown (0 for 0 when unset) */
    int64_t upstream_header_time_us;   /* $upstream_header_time; <0 unknown */
    int64_t upstream_response_length;  /* $upstream_response_length; <0 unknown */
    int64_t time_sec;              /* $time_local / $time_iso8601 / $msec (unix seconds) */
    int time_msec;                 /* milliseconds part for $msec */
    uint64_t connection;           /* $connection: serial number */
    uint64_t connection_requests;  /* $connection_requests */
    const struct jn_user_vars *user; /* map and set variables of the config, or NULL */
    const struct jn_var_set *sets;   /* the location's set values, later ones win */
    size_t nsets;
};

enum jn_var_id {
    JN_VAR_LITERAL = 0,
    JN_VAR_HOST,
    JN_VAR_HTTP_HEADER, /* $http_NAME: name stored with '_' as '-' */
    JN_VAR_REMOTE_ADDR,
    JN_VAR_REMOTE_PORT,
    JN_VAR_REMOTE_USER,
    JN_VAR_PROXY_ADD_X_FORWARDED_FOR,
    JN_VAR_SCHEME,
    JN_VAR_REQUEST_URI,
    JN_VAR_URI,
    JN_VAR_ARGS,
    JN_VAR_REQUEST,
    JN_VAR_REQUEST_METHOD,
    JN_VAR_SERVER_PROTOCOL,
    JN_VAR_SERVER_PORT,
    JN_VAR_PROXY_HOST,
    JN_VAR_STATUS,
    JN_VAR_BODY_BYTES_SENT,
    JN_VAR_BYTES_SENT,
    JN_VAR_REQUEST_LENGTH,
    JN_VAR_UPSTREAM_ADDR,
    JN_VAR_UPSTREAM_STATUS,
    JN_VAR_UPSTREAM_RESPONSE_TIME,
    JN_VAR_REQUEST_TIME,
    JN_VAR_TIME_LOCAL,
    JN_VAR_TIME_ISO8601,
    JN_VAR_MSEC,
    JN_VAR_CONNECTION,
    JN_VAR_CONNECTION_REQUESTS,
    JN_VAR_IS_ARGS, /* "?" when the request has arguments, else "" */
    JN_VAR_SERVER_NAME,
    JN_VAR_HTTPS,           /* "on" over TLS, else "" */
    JN_VAR_SSL_PROTOCOL,    /* "TLSv1.3" */
    JN_VAR_SSL_CIPHER,      /* "TLS_AES_256_GCM_SHA384" */
    JN_VAR_SSL_SERVER_NAME, /* the SNI name */
    JN_VAR_UPSTREAM_CONNECT_TIME,
    JN_VAR_UPSTREAM_HEADER_TIME,
    JN_VAR_UPSTREAM_RESPONSE_LENGTH,
    JN_VAR_USER,            /* a map or set variable: index in jn_user_vars (part len) */
};

struct jn_var_part {
    enum jn_var_id id;
    const char *text; /* literal text, or the header name for JN_VAR_HTTP_HEADER */
    size_t len;
};

struct jn_template {
    struct jn_var_part *parts;
    size_t nparts;
    char *storage; /* owns the texts */
    bool has_vars;
};

/* Compiles "text with $vars and ${vars}". Returns 0, or JN_ECONFIG with the
 * unknown variable's name in err ("unknown variable \"$hots\""). */
int jn_template_compile(const char *text, struct jn_template *t, char *err, size_t errlen);

/* User variables: those map blocks define (evaluated from their source when
 * used) and those set names (a value per location). Built once with the
 * routes (control thread), read by any thread. */
struct jn_regex;
struct jn_map_entry {
    const char *key; /* exact key (borrowed), when re is NULL */
    size_t key_len;
    struct jn_regex *re; /* ~ / ~* keys: owned */
    struct jn_template value;
};
struct jn_user_var {
    char *name;  /* without '$': owned */
    bool is_map; /* else only set gives it values */
    struct jn_template source;
    struct jn_map_entry *entries;
    size_t nentries;
    struct jn_template dflt;
};
struct jn_user_vars {
    struct jn_user_var *v;
    size_t n;
};
/* One set $NAME VALUE of a location. */
struct jn_var_set {
    size_t index; /* in jn_user_vars */
    struct jn_template value;
};

/* Like jn_template_compile, resolving user variable names too (u may be NULL). */
int jn_template_compile_user(const char *text, const struct jn_user_vars *u, struct jn_template *t,
                             char *err, size_t errlen);

/* The index of a user variable, or -1. */
ssize_t jn_user_var_find(const struct jn_user_vars *u, const char *name, size_t len);

/* Whether name is a built-in variable (set/map may not redefine it). */
bool jn_var_is_builtin(const char *name);

/* Frees what the user variables own (maps' templates and regexes). */
void jn_user_vars_free(struct jn_user_vars *u);

/* Frees what compile allocated; the template may be compiled again. */
void jn_template_free(struct jn_template *t);

/* Writes the evaluated template to out[0..cap) (not NUL-terminated). Returns
 * the length written, or JN_ETOOBIG when it does not fit (out then holds the
 * first cap bytes, for a caller that prefers a truncated log line).
 * An unknown value is "" (or "-" in log mode, as nginx logs do).
 * Header mode (log_mode false): a value containing CR, LF or NUL is refused
 * with JN_EBADINPUT, so no header can be split (the request parser rejects
 * them already; this holds whatever the source).
 * Log mode: values are escaped as nginx's escape=default does: '"', '\' and
 * bytes below 0x20 or above 0x7e become \xHH, so a line cannot be forged.
 * Allocates nothing; any thread. */
ssize_t jn_template_eval(const struct jn_template *t, const struct jn_var_ctx *ctx, bool log_mode,
                         char *out, size_t cap);

#endif
