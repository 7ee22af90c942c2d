/*
 * conf.h: the typed configuration, as the config parser produces it from
 * nginx-syntax text and as the gateway consumes it. Inheritance (http ->
 * server -> location) is already resolved: every location carries its
 * effective settings. Times are milliseconds, sizes bytes.
 *
 * A struct jn_conf is immutable once loaded and owns all its memory; free it
 * with jn_conf_free(). Any thread may read it.
 */
#ifndef JN_CONFIG_CONF_H
#define JN_CONFIG_CONF_H

#include "core/common.h"
#include "net/sock.h"

struct jn_conf_kv {
    char *name;
    char *value; /* may contain $variables; "" means "do not send this header" */
    bool always; /* add_header ... always: on every status, not only 2xx/3xx */
};

enum jn_balance { JN_BALANCE_RR = 0, JN_BALANCE_LEAST_CONN, JN_BALANCE_P2C };

/* "round_robin", "least_conn", "p2c": the names of the balance directive and the API. */
const char *jn_balance_name(enum jn_balance b);

struct jn_conf_upstream_server {
    char *text; /* as written, e.g. "127.0.0.1:8080" */
    struct jn_addr addr;
    int weight;              /* default 1 */
    int max_fails;           /* default 1; 0 disables accounting */
    int64_t fail_timeout_ms; /* default 10000 */
    int max_conns;           /* default 0 = unlimited */
    bool backup;
    bool down;
    int line;
};

struct jn_conf_upstream {
    char *name;
    int line;
    enum jn_balance balance;
    int balance_line; /* where least_conn or balance set it; 0: the default */
    struct jn_conf_upstream_server *servers;
    size_t nservers;
    int keepalive;                /* idle connections kept per worker; 0 = no pool */
    int64_t keepalive_timeout_ms; /* default 60000 */
    int keepalive_requests;       /* default 1000 */
};

/* error_page CODE... [=[RESPONSE]] URI */
#define JN_CONF_ERROR_PAGE_CODES 16
struct jn_conf_error_page {
    int codes[JN_CONF_ERROR_PAGE_CODES];
    size_t ncodes;
    int resp;  /* -1: the status stays; 0: "=" alone (the target's own); else that code */
    char *uri; /* "/path" (a location of the same server) or an http(s):// URL */
};

/* proxy_next_upstream flags */
#define JN_NEXT_ERROR 0x001u
#define JN_NEXT_TIMEOUT 0x002u
#define JN_NEXT_INVALID_HEADER 0x004u
#define JN_NEXT_HTTP_500 0x008u
#define JN_NEXT_HTTP_502 0x010u
#define JN_NEXT_HTTP_503 0x020u
#define JN_NEXT_HTTP_504 0x040u
#define JN_NEXT_HTTP_403 0x080u
#define JN_NEXT_HTTP_404 0x100u
#define JN_NEXT_HTTP_429 0x200u
#define JN_NEXT_NON_IDEMPOTENT 0x400u
/* "off" is 0. Default: JN_NEXT_ERROR | JN_NEXT_TIMEOUT, as nginx. */

/* Settings valid at http, server and location level; merged downward. */
struct jn_conf_settings {
    /* client side (connection-level ones are taken from the server block) */
    int64_t keepalive_timeout_ms;     /* default 75000; 0 disables keep-alive */
    int64_t keepalive_time_ms;        /* default 1h: no new request on a connection older */
    int keepalive_requests;           /* default 1000 */
    int64_t client_header_timeout_ms; /* default 10000, a total deadline for the head */
    int64_t client_body_timeout_ms;   /* default 60000, between two reads */
    int64_t send_timeout_ms;          /* default 60000, between two writes to the client */
    int64_t client_max_body_size;     /* default 1 MiB; 0 = unlimited */
    int large_header_num;             /* large_client_header_buffers: default 4 */
    size_t large_header_size;         /*   ... 8k: max request line; num*size: max head */

    /* upstream side */
    int proxy_http_minor;             /* proxy_http_version: 0 or 1 (default 1; nginx: 0) */
    struct jn_conf_kv *set_headers;   /* proxy_set_header, in order */
    size_t nset_headers;
    int64_t proxy_connect_timeout_ms; /* default 60000 */
    int64_t proxy_read_timeout_ms;    /* default 60000 */
    int64_t proxy_send_timeout_ms;    /* default 60000 */
    unsigned next_upstream;           /* JN_NEXT_* */
    int next_upstream_tries;          /* default 0 = unlimited */
    int64_t next_upstream_timeout_ms; /* default 0 = unlimited */
    bool cache_bypass;                /* proxy_cache_bypass given: accepted; jern has no cache */
    /* proxy_redirect: NULL/0 and !redirect_off is "default"; an entry with
     * name "" is "default" among explicit ones; "off" clears the list */
    struct jn_conf_kv *redirects;
    size_t nredirects;
    bool redirect_off;
    char *default_type; /* default_type; NULL: text/plain, nginx's built-in default */
    struct jn_conf_error_page *error_pages; /* error_page, in order */
    size_t nerror_pages;
    bool intercept_errors; /* proxy_intercept_errors: error_page for upstream answers too */
    char *proxy_method;        /* proxy_method: NULL = the client's */
    bool no_pass_headers;      /* proxy_pass_request_headers off */
    struct jn_conf_kv *sets; /* set $NAME VALUE (name without '$'), server's then location's */
    size_t nsets;
    /* add_header NAME VALUE [always], in order (response headers) */
    struct jn_conf_kv *add_headers;
    size_t nadd_headers;

    /* TLS (http and server level; the server's values apply) */
    char **ssl_certs; /* ssl_certificate paths, in order (resolved against the conf dir) */
    size_t nssl_certs;
    char **ssl_keys; /* ssl_certificate_key paths, parallel to ssl_certs */
    size_t nssl_keys;
    unsigned ssl_protocols;         /* JN_TLS_V* bits (tls/tls.h); default TLSv1.2 TLSv1.3 */
    char *ssl_ciphers;              /* NULL: nginx's default "HIGH:!aNULL:!MD5" */
    bool ssl_prefer_server_ciphers; /* default off */
    bool ssl_session_cache;         /* builtin/shared given; default "none" (tickets only) */
    long ssl_session_cache_size;    /* entries; 0: OpenSSL's default */
    int64_t ssl_session_timeout_ms; /* default 5m */
    bool ssl_session_tickets;       /* default on */
    bool ssl_reject_handshake;      /* default off */
    bool ssl_stapling;              /* accepted; OCSP stapling is not done yet */

    /* HTTP/2 (http and server level; the default server of a listen address
     * decides for the connection, as the protocol is chosen before a Host) */
    bool http2;                       /* http2 on|off, default off */
    int http2_max_concurrent_streams; /* default 128 */
    int64_t http2_body_preread_size;  /* default 64k: a stream's initial receive window */
    int64_t http2_chunk_size;         /* default 8k: largest DATA frame sent */

    /* static files (src/gateway/static.c): a location with neither proxy_pass
     * nor return serves them when a root (or its alias) is set */
    char *root;               /* root PATH, resolved against the conf dir; NULL none */
    char **index;             /* index NAME...; NULL: index.html */
    size_t nindex;
    struct jn_conf_kv *types; /* types { TYPE EXT...; }: name EXT, value TYPE; NULL: jern's table */
    size_t ntypes;

    /* logging */
    char *access_log_path;   /* NULL = off */
    char *access_log_format; /* the format string itself (log_format resolved); default combined */
};

/* rewrite REGEX REPLACEMENT [redirect|permanent], or an if (COND) { return;
 * rewrite; } around one: the rewrite-phase statements of a server or a
 * location, run in file order before its return (src/gateway/rewrite.c).
 * jern's rewrites redirect (nginx's internal "last"/"break" are refused). */
enum jn_conf_cond_op {
    JN_COND_NONE = 0, /* no if: always */
    JN_COND_TRUE,     /* if ($var): neither "" nor "0" */
    JN_COND_EQ,       /* if ($var = text) */
    JN_COND_NE,       /* != */
    JN_COND_RE,       /* ~ (cond_caseless: ~*) */
    JN_COND_NOT_RE,   /* !~ / !~* */
};

struct jn_conf_rewrite {
    int line;
    enum jn_conf_cond_op op;
    char *cond_var; /* "$host" (a template) */
    char *cond_arg; /* the text or expression it is compared with */
    bool cond_caseless;
    bool is_return; /* return CODE [TEXT]; else a rewrite */
    int code;       /* the return's, or the redirect's: 301 permanent, 302 */
    char *regex;    /* rewrite: matched against $uri */
    char *text;     /* rewrite: the replacement ($1..$9, variables); return: its text */
};

struct jn_conf_location {
    char *prefix; /* "/api/" ... */
    bool exact;   /* location = /x */
    bool regex;   /* location ~ RE / ~* RE (caseless): prefix holds the expression */
    bool caseless;
    bool stop_regex; /* location ^~ /x: when it is the longest prefix, no regex is tried */
    int line;
    /* proxy_pass http://TARGET[URI]: target is an upstream name or HOST:PORT */
    char *pass_target; /* NULL when the location has no proxy_pass */
    char *pass_uri;    /* NULL when proxy_pass has no URI part (pass the request URI as is) */
    struct jn_conf_upstream *pass_upstream; /* resolved upstream block, or NULL for an address */
    bool pass_var; /* pass_target has $variables: its value names an upstream block */
    struct jn_addr pass_addr;               /* when pass_upstream is NULL */
    int return_code;    /* 0 = no return */
    char *return_text;  /* body text, or the Location for 301/302/303/307/308 */
    char *alias;      /* alias PATH: the file is PATH + the URI after the prefix */
    char **try_files; /* try_files FILE... (=CODE | URI), as written */
    size_t ntry_files;
    struct jn_conf_rewrite *rewrites; /* the server's first, then the location's */
    size_t nrewrites;
    struct jn_conf_settings s;
};

struct jn_conf_listen {
    char *text;
    struct jn_addr addr;
    bool default_server;
    bool ssl; /* listen ... ssl: the address speaks TLS (for every server on it) */
    bool http2; /* listen ... http2 (nginx's older syntax for "http2 on") */
    int line;
};

struct jn_conf_server {
    int line;
    struct jn_conf_listen *listens;
    size_t nlistens;
    char **server_names; /* exact names, "*.example.com", ".example.com" (lower-cased) */
    size_t nserver_names;
    struct jn_conf_location *locations; /* in file order; matching is nginx's longest prefix */
    size_t nlocations;
    struct jn_conf_settings s;
};

/* map SOURCE $NAME { KEY VALUE; ~RE VALUE; ~*RE VALUE; default VALUE; } */
struct jn_conf_map {
    char *source; /* a template, e.g. "$http_upgrade" */
    char *name;   /* without the '$' */
    struct jn_conf_kv *entries; /* keys as written (regex ones start with '~'), in order */
    size_t nentries;
    char *dflt; /* "" when not given, as nginx */
    int line;
};

struct jn_conf_log_format {
    char *name;
    char *format;
};

#define JN_CONF_JERN_MAX_LISTEN 16
#define JN_CONF_JERN_MAX_LABELS 16

/* The jern { } block of `jern serve` (load.h's JN_CONF_DAEMON): NULL/0 for
 * what it does not say. */
struct jn_conf_jern {
    char *listen[JN_CONF_JERN_MAX_LISTEN]; /* where apps answer */
    size_t nlisten;
    char *state_dir;
    char *admin_unix;  /* path of the admin socket */
    char *admin_tcp;   /* TCP admin listener */
    char *admin_token; /* with admin_tcp */
    char *base_domain;
    int64_t drain_timeout_ms;  /* -1: not given */
    int64_t instance_log_size; /* bytes; 0: not given */
    int instance_log_files;    /* -1: not given */
    int64_t log_retention_ms;  /* 0: not given */
    char *acme_directory;      /* a URL, or "off" */
    char *acme_email;
    char *acme_ca_bundle;
    /* the cluster (docs/CLUSTER.md): NULL/0 when not given */
    char *cluster;   /* etcd endpoints "http://H:P[,http://H:P]" */
    char *node;      /* this node's name */
    char *advertise; /* the address other nodes reach this one at */
    char *labels[JN_CONF_JERN_MAX_LABELS]; /* "key=value" */
    size_t nlabels;
    int64_t node_memory; /* bytes offered to instances; 0: not given */
};

struct jn_conf {
    char *path; /* the main file, or "(embedded)" */
    int worker_processes; /* resolved: "auto" becomes the usable CPU count */
    bool worker_processes_auto;
    int worker_connections; /* default 1024 */
    long worker_rlimit_nofile; /* 0 = leave as is */
    char *pid_path;            /* NULL = none */
    char *error_log_path;      /* NULL = stderr */
    int error_log_level;       /* enum jn_log_level */
    struct jn_conf_upstream *upstreams;
    size_t nupstreams;
    struct jn_conf_server *servers;
    size_t nservers;
    struct jn_conf_log_format *log_formats;
    size_t nlog_formats;
    struct jn_conf_map *maps; /* map blocks of the http block, in order */
    size_t nmaps;
    bool has_http; /* an http block was given */
    struct jn_conf_jern jern;
};

/* nginx's combined format, jern's default access log format. */
#define JN_LOG_FORMAT_COMBINED                                                                     \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "            \
    "\"$http_referer\" \"$http_user_agent\""

/* Loads a config file (following include globs relative to its directory).
 * Returns 0 and *out, or JN_ECONFIG with "FILE:LINE: what is wrong" in err. */
int jn_conf_load(const char *path, struct jn_conf **out, char *err, size_t errlen);

/* Same for text in memory; name is used in messages and to resolve includes
 * relative to the current directory. */
int jn_conf_load_string(const char *name, const char *text, size_t len, struct jn_conf **out,
                        char *err, size_t errlen);

/* Frees a config and everything it owns. NULL is fine. */
void jn_conf_free(struct jn_conf *conf);

/* CPUs this process may use: affinity mask, capped by the cgroup CPU quota. */
int jn_conf_usable_cpus(void);

#endif
