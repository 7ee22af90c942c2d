/*
 * snapshot.h: the gateway's routing table, immutable once published.
 *
 * A snapshot is what a worker consults for one request: listen address ->
 * servers (server_name exact / wildcard, default_server) -> locations (exact,
 * longest prefix) -> action (return, or proxy to an upstream), with every
 * location's settings and compiled proxy_set_header templates.
 *
 * Two layers, both refcounted:
 *   struct jn_gw_routes    compiled from one jn_conf (owns it); never changes.
 *   struct jn_gw_snapshot  routes + the upstream table + the dynamic app-host
 *                          table. The control plane swaps one upstream or one
 *                          app by building a new snapshot that shares the
 *                          routes and the other upstreams (cheap), then
 *                          publishes it (gateway.c).
 * Rules: a worker holds a reference to the snapshot of every request it
 * serves, so a swap never changes in-flight work; the last unref frees. Refs
 * are atomic: any thread may ref/unref. Building runs on the control thread.
 */
#ifndef JN_GATEWAY_SNAPSHOT_H
#define JN_GATEWAY_SNAPSHOT_H

#include "core/common.h"
#include "config/conf.h"
#include "gateway/upstream.h"
#include "gateway/rewrite.h"
#include "gateway/static.h"
#include "gateway/vars.h"
#include "core/regex.h"

#include <stdatomic.h>

struct jn_tls_cert;

/* One compiled proxy_set_header. */
struct jn_gw_set_header {
    const char *name; /* borrowed from the conf */
    size_t name_len;
    struct jn_template value;
    bool is_empty; /* literal "": the header is dropped, not sent */
};

/* One error_page entry, resolved: a URL to redirect to, or the location
 * (of the same server, answering with return) whose answer replaces it. */
struct jn_gw_error_page {
    const struct jn_conf_error_page *ce; /* borrowed: codes, resp, uri */
    const struct jn_gw_location *target; /* NULL: ce->uri is a URL (a redirect) */
};

/* One compiled add_header. */
struct jn_gw_add_header {
    const char *name; /* borrowed from the conf */
    size_t name_len;
    struct jn_template value;
    bool always;
};

struct jn_gw_redirect {
    char *from; /* owned */
    size_t from_len;
    char *to; /* owned */
    size_t to_len;
};

struct jn_gw_location {
    const struct jn_conf_location *cl; /* borrowed: settings, return, prefix */
    const char *server_name; /* the server's first server_name, or "" */
    const char *prefix;
    size_t prefix_len;
    bool exact;
    struct jn_regex *re; /* location ~ / ~*: owned */
    bool stop_regex;     /* location ^~ */
    int order;           /* position in the file, for the regex section's order */
    int upstream;         /* index in snapshot->ups, or -1 (return / nothing) */
    const char *pass_uri; /* proxy_pass URI part, or NULL */
    size_t pass_uri_len;
    const char *proxy_host; /* $proxy_host: upstream name or HOST:PORT */
    struct jn_template pass_tpl; /* proxy_pass http://$var: evaluates to an upstream name */
    bool has_pass_tpl;
    struct jn_gw_set_header *set;
    size_t nset;
    bool sets_host, sets_connection; /* user overrides of the defaults */
    struct jn_template ret;          /* return's text or URL, compiled ($host...) */
    /* proxy_redirect: upstream Location/Refresh prefixes and their
     * replacements, tried in order ("default" is one pair made from
     * proxy_pass and the location; "off" is none) */
    struct jn_gw_redirect *redirects;
    size_t nredirects;
    struct jn_gw_add_header *adds; /* add_header, in order */
    size_t nadds;
    const char *default_type;      /* for return's text: default_type, else text/plain */
    struct jn_gw_error_page *errs; /* error_page, in order */
    size_t nerrs;
    struct jn_var_set *sets; /* set $NAME VALUE, in order (the server's first) */
    size_t nsets;
    bool has_ret;
    struct jn_gw_static *st; /* the files it serves (static.h), or NULL */
    struct jn_gw_rewrite *rewrites; /* rewrite / if (rewrite.h): run before the return */
    size_t nrewrites;
    const struct jn_conf_settings *s;
    int alog; /* index in routes->alogs, or -1 for "access_log off" */
};

/* One (access_log path, format) pair, shared by the locations that use it. */
struct jn_gw_alog_conf {
    const char *path;   /* borrowed from the conf */
    const char *format; /* borrowed from the conf */
    struct jn_template fmt;
};

struct jn_gw_server {
    const struct jn_conf_server *cs;
    struct jn_tls_cert *tls;     /* one reference; only for servers on a listen ... ssl */
    struct jn_gw_location *locs; /* exact ones first, then prefixes longest first, then
                                  * regular expressions in file order */
    size_t nlocs;
    size_t nplain;               /* locs[0..nplain) are exact or prefix ones */
    struct jn_regex **name_re;   /* parallel to cs->server_names: "~RE" compiled, else NULL */
    struct jn_gw_location app_loc; /* "/" -> an app upstream, settings of this server */
};

struct jn_gw_listen {
    struct jn_addr addr;
    int id;                        /* stable across reloads for the same address (gateway.c) */
    struct jn_gw_server **servers; /* the servers listening here, in file order */
    size_t nservers;
    struct jn_gw_server *def; /* default_server, else the first */
    bool ssl;                 /* a server listens here with "ssl": the address speaks TLS */
    bool http2; /* "listen ... http2" or the default server's "http2 on": h2 by ALPN on TLS,
                 * h2c with prior knowledge in clear text */
};

struct jn_gw_routes {
    _Atomic int refs;
    struct jn_conf *conf; /* owned */
    struct jn_gw_server *servers;
    size_t nservers;
    struct jn_gw_listen *listens;
    size_t nlistens;
    /* upstream names, in the order of the snapshot's table; [i] for config
     * upstreams, then one synthetic entry per distinct proxy_pass address */
    char **up_names;
    struct jn_conf_upstream **up_confs; /* NULL for address targets */
    size_t nups;
    size_t max_head; /* largest large_client_header_buffers num*size of any server */
    struct jn_gw_alog_conf *alogs;
    size_t nalogs;
    struct jn_user_vars uvars; /* map and set variables */
    struct jn_template app_fmt; /* an app's own access log when its server has no format */
};

struct jn_gw_up {
    struct jn_upstream *u; /* one reference */
    bool wait_ready;       /* requests wait for a ready peer instead of 502 */
    int64_t wait_timeout_ms;
};

/* What a plain HTTP request for an app host gets (jn_gateway_set_app_https). */
enum jn_gw_https { JN_GW_HTTPS_OFF, JN_GW_HTTPS_REDIRECT, JN_GW_HTTPS_ONLY };

struct jn_gw_app {
    char *host; /* lower-case, no port */
    struct jn_upstream *u;
    bool wait_ready;
    int64_t wait_timeout_ms;
    uint8_t https;       /* enum jn_gw_https; OFF for a new entry */
    uint16_t https_port; /* the redirect's port; 0: 443 (none in the URL) */
    char *access_log;    /* the app's own access log (DIR/APP/access.log), or NULL */
};

/* A certificate the control plane attached to a host name (jn_gateway_set_cert). */
struct jn_gw_cert {
    char *host;               /* lower-case, no port */
    struct jn_tls_cert *cert; /* one reference */
};

struct jn_gw_snapshot {
    _Atomic int refs;
    uint64_t generation;
    struct jn_gw_routes *routes; /* one reference */
    struct jn_gw_up *ups;        /* parallel to routes->up_names */
    size_t nups;
    struct jn_gw_app *apps; /* sorted by host */
    size_t napps;
    struct jn_gw_cert *certs; /* sorted by host */
    size_t ncerts;
};

/* Compiles conf into routes (taking ownership of conf, even on failure). Upstream
 * peers are not built here. Returns 0, or JN_ECONFIG with "FILE:LINE: what" in err.
 * Control thread. */
int jn_gw_routes_build(struct jn_conf *conf, struct jn_gw_routes **out, char *err, size_t errlen);
void jn_gw_routes_ref(struct jn_gw_routes *r);
void jn_gw_routes_unref(struct jn_gw_routes *r);

/* Builds a snapshot (one reference) over routes (takes one more reference):
 * the upstreams are built from the routes' conf, reusing the peers of prev's
 * upstream of the same name (prev may be NULL), so counts and failure state
 * carry over; prev's app table is carried over. Control thread. */
struct jn_gw_snapshot *jn_gw_snapshot_build(struct jn_gw_routes *routes,
                                            const struct jn_gw_snapshot *prev);

/* A copy of s sharing everything (all refs taken), for a one-entry change. */
struct jn_gw_snapshot *jn_gw_snapshot_clone(const struct jn_gw_snapshot *s);

void jn_gw_snapshot_ref(struct jn_gw_snapshot *s);
void jn_gw_snapshot_unref(struct jn_gw_snapshot *s);

/* Finds the listen entry with the given id; NULL if this snapshot has none. */
const struct jn_gw_listen *jn_gw_snapshot_listen(const struct jn_gw_snapshot *s, int id);

/* Routes a request: picks the server for host (any case, may carry ":port"),
 * else an app for host, else the default server; then the location for path.
 * Returns the location, or NULL (404). *app receives the app entry when the
 * host was an app, else NULL. Pure; any thread holding a reference. */
const struct jn_gw_location *jn_gw_route(const struct jn_gw_snapshot *s,
                                         const struct jn_gw_listen *l, const char *host,
                                         size_t host_len, const char *path, size_t path_len,
                                         const struct jn_gw_app **app);

/* The error_page entry of loc for status, or NULL. Pure; any thread. */
const struct jn_gw_error_page *jn_gw_error_page_find(const struct jn_gw_location *loc, int status);

/* The server whose server_name matches host (lower-case, no port, n bytes)
 * on l, by nginx's order; NULL when none does (the default is not implied). */
const struct jn_gw_server *jn_gw_match_server(const struct jn_gw_listen *l, const char *host,
                                              size_t n);

/* snapshot_tls.c */
/* Marks the listen addresses that speak TLS and loads the certificates of
 * every server on them (files are read: control thread). Returns 0, or
 * JN_ECONFIG with "FILE:LINE: what" in err. */
int jn_gw_routes_build_tls(struct jn_gw_routes *r, char *err, size_t errlen);
/* Frees what jn_gw_routes_build_tls made. */
void jn_gw_routes_free_tls(struct jn_gw_routes *r);
/* The certificate for a TLS client naming name (lower-case, may be NULL) on
 * l: the server whose server_name matches, else a certificate attached to
 * that host, else the default server's. Borrowed from s. NULL: refuse. Any
 * thread holding a reference to s. */
struct jn_tls_cert *jn_gw_sni_pick(const struct jn_gw_snapshot *s, const struct jn_gw_listen *l,
                                   const char *name);
/* Copies src's certificate table into dst (references taken). */
void jn_gw_certs_copy(struct jn_gw_snapshot *dst, const struct jn_gw_snapshot *src);
void jn_gw_certs_free(struct jn_gw_snapshot *s);

#endif
