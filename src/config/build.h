/*
 * build.h: internals shared by the files that turn a directive tree
 * (tree.h) into a struct jn_conf: the directive table, the walk that applies
 * it, and the handler signatures. Not for use outside src/config.
 * One struct jn_conf_build per load; one thread.
 */
#ifndef JN_CONFIG_BUILD_H
#define JN_CONFIG_BUILD_H

#include "config/conf.h"
#include "config/tree.h"

/* Contexts a directive may appear in (bit set) */
#define JN_CTX_MAIN 0x01u
#define JN_CTX_EVENTS 0x02u
#define JN_CTX_HTTP 0x04u
#define JN_CTX_SERVER 0x08u
#define JN_CTX_LOCATION 0x10u
#define JN_CTX_UPSTREAM 0x20u
#define JN_CTX_TYPES 0x40u /* mime types: any "TYPE EXT...;" line is accepted */
#define JN_CTX_JERN 0x80u  /* the daemon's jern { } block (jern_block.c) */
#define JN_CTX_MAP 0x100u  /* a map block: any "KEY VALUE;" line */
#define JN_CTX_IF 0x200u   /* if (COND) { return / rewrite } (rewrite.c) */
#define JN_CTX_HSL (JN_CTX_HTTP | JN_CTX_SERVER | JN_CTX_LOCATION)

/* Directive flags */
#define JN_DIR_BLOCK 0x01u /* takes a { block } instead of ';' */
#define JN_DIR_MULTI 0x02u /* may repeat in one block */

/* Phases: inside one block, definitions (upstream, log_format) apply first,
 * then plain settings, then nested blocks, whatever the order in the file.
 * That gives nginx's semantics: an http-level setting written after a server
 * block still reaches that server. */
enum jn_conf_phase { JN_PHASE_DEFINE = 0, JN_PHASE_SET, JN_PHASE_BLOCK, JN_PHASE_COUNT };

struct jn_conf_build {
    struct jn_conf *conf;
    char *err;
    size_t errlen;
    unsigned flags;  /* JN_CONF_* of load.h */
    bool http_added; /* the file had no http block: the loader added an empty one */
};

/* The settings of one http/server/location level while it is being built.
 * Every target of those contexts starts with this struct. */
struct jn_conf_level {
    struct jn_conf_settings *s;
    unsigned ctx;      /* JN_CTX_HTTP, JN_CTX_SERVER or JN_CTX_LOCATION */
    bool headers_here; /* a proxy_set_header at this level replaced the inherited list */
    bool redirects_here;   /* likewise proxy_redirect */
    bool add_headers_here; /* and add_header */
    bool error_pages_here; /* and error_page */
    bool certs_here;   /* likewise ssl_certificate */
    bool keys_here;    /* and ssl_certificate_key */
};

struct jn_conf_server_build {
    struct jn_conf_level lvl; /* first: settings handlers cast the target to it */
    struct jn_conf_server *srv;
    int return_code; /* server-level return, applied to every location at the end */
    char *return_text;
    struct jn_conf_rewrite *rewrites; /* server-level rewrite/if, run before each location's */
    size_t nrewrites;
};

struct jn_conf_location_build {
    struct jn_conf_level lvl;
    struct jn_conf_location *loc;
};

struct jn_conf_directive;
typedef int (*jn_conf_handler)(struct jn_conf_build *b, const struct jn_conf_directive *d,
                               const struct jn_conf_node *n, void *target);
#define JN_CONF_HANDLER(fn)                                                                        \
    int fn(struct jn_conf_build *b, const struct jn_conf_directive *d,                             \
           const struct jn_conf_node *n, void *target)

struct jn_conf_directive {
    const char *name;
    unsigned ctx; /* JN_CTX_* where it is allowed */
    int min_args;
    int max_args;       /* -1: no limit */
    unsigned flags;     /* JN_DIR_* */
    unsigned child_ctx; /* for blocks: the context of their children */
    enum jn_conf_phase phase;
    jn_conf_handler set; /* NULL: accepted and ignored (see the table's comment) */
    size_t offset;       /* for generic handlers: the field in their target */
};

/* Writes "FILE:LINE: message" into b->err. Returns JN_ECONFIG. */
int jn_conf_error(struct jn_conf_build *b, const struct jn_conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses n's first argument as a count in [0, 2^30] into *v, or reports it
 * naming the directive. Returns 0 or JN_ECONFIG. */
int jn_conf_arg_count(struct jn_conf_build *b, const struct jn_conf_node *n, int *v);

/* Checks names, contexts, block-ness and argument counts of nodes (and their
 * children), in file order. Returns 0 or JN_ECONFIG. */
int jn_conf_validate(struct jn_conf_build *b, const struct jn_conf_node *nodes, size_t n,
                     unsigned ctx);

/* Applies the children of parent (already validated) in phase order to target. */
int jn_conf_walk(struct jn_conf_build *b, const struct jn_conf_node *parent, unsigned ctx,
                 void *target);

/* Settings: defaults, deep copy (for inheritance), free. */
void jn_conf_settings_defaults(struct jn_conf_settings *s);
void jn_conf_settings_copy(struct jn_conf_settings *dst, const struct jn_conf_settings *src);
void jn_conf_settings_free(struct jn_conf_settings *s);

/* Appends n zeroed elements of size sz to *arr (count *len) and returns the first. */
void *jn_conf_grow(void *arr_ptr, size_t *len, size_t sz);

/* Handlers, by file. */
/* directives.c: main, events, http */
JN_CONF_HANDLER(jn_conf_set_worker_processes);
JN_CONF_HANDLER(jn_conf_set_worker_connections);
JN_CONF_HANDLER(jn_conf_set_worker_rlimit_nofile);
JN_CONF_HANDLER(jn_conf_set_use);
JN_CONF_HANDLER(jn_conf_set_on_off);
JN_CONF_HANDLER(jn_conf_set_pid);
JN_CONF_HANDLER(jn_conf_set_error_log);
JN_CONF_HANDLER(jn_conf_set_events);
JN_CONF_HANDLER(jn_conf_set_http);
JN_CONF_HANDLER(jn_conf_set_log_format);
/* settings.c: http/server/location settings */
JN_CONF_HANDLER(jn_conf_set_time);
JN_CONF_HANDLER(jn_conf_set_count);
JN_CONF_HANDLER(jn_conf_set_client_max_body_size);
JN_CONF_HANDLER(jn_conf_set_large_client_header_buffers);
JN_CONF_HANDLER(jn_conf_set_proxy_http_version);
JN_CONF_HANDLER(jn_conf_set_proxy_set_header);
JN_CONF_HANDLER(jn_conf_set_proxy_next_upstream);
JN_CONF_HANDLER(jn_conf_set_proxy_cache_bypass);
JN_CONF_HANDLER(jn_conf_set_proxy_redirect);
JN_CONF_HANDLER(jn_conf_set_add_header);
JN_CONF_HANDLER(jn_conf_set_accepted);
JN_CONF_HANDLER(jn_conf_set_default_type);
JN_CONF_HANDLER(jn_conf_set_error_page);
JN_CONF_HANDLER(jn_conf_set_flag);
JN_CONF_HANDLER(jn_conf_set_map);
JN_CONF_HANDLER(jn_conf_set_set);
JN_CONF_HANDLER(jn_conf_set_proxy_method);
JN_CONF_HANDLER(jn_conf_set_pass_request);
JN_CONF_HANDLER(jn_conf_set_access_log);
/* server.c: server, listen, server_name, location, proxy_pass, return */
JN_CONF_HANDLER(jn_conf_set_server);
JN_CONF_HANDLER(jn_conf_set_listen);
JN_CONF_HANDLER(jn_conf_set_server_name);
JN_CONF_HANDLER(jn_conf_set_location);
JN_CONF_HANDLER(jn_conf_set_proxy_pass);
JN_CONF_HANDLER(jn_conf_set_return);
/* static_files.c: root, alias, index, try_files, types */
JN_CONF_HANDLER(jn_conf_set_root);
JN_CONF_HANDLER(jn_conf_set_alias);
JN_CONF_HANDLER(jn_conf_set_index);
JN_CONF_HANDLER(jn_conf_set_try_files);
JN_CONF_HANDLER(jn_conf_set_types);
/* A path named by node n: as written when absolute, else joined to the
 * directory of the file that names it. The caller frees. */
char *jn_conf_path(const struct jn_conf_node *n, const char *path);
/* Whether s makes return or rewrite a redirect: http://, https://, $scheme. */
bool jn_conf_is_redirect_target(const char *s);
/* rewrite.c: rewrite, if (and return inside if) */
JN_CONF_HANDLER(jn_conf_set_rewrite);
JN_CONF_HANDLER(jn_conf_set_if);
int jn_conf_if_return(struct jn_conf_build *b, const struct jn_conf_node *n, void *target,
                      int code, const char *text);
void jn_conf_rewrites_copy(struct jn_conf_rewrite **dst, size_t *ndst,
                           const struct jn_conf_rewrite *src, size_t nsrc);
void jn_conf_rewrites_free(struct jn_conf_rewrite *v, size_t n);
/* jern_block.c: jern { ... } (jern serve only) */
JN_CONF_HANDLER(jn_conf_set_jern);
JN_CONF_HANDLER(jn_conf_set_jern_listen);
JN_CONF_HANDLER(jn_conf_set_jern_admin);
JN_CONF_HANDLER(jn_conf_set_jern_string);
JN_CONF_HANDLER(jn_conf_set_jern_drain_timeout);
JN_CONF_HANDLER(jn_conf_set_jern_instance_log_size);
JN_CONF_HANDLER(jn_conf_set_jern_instance_log_files);
JN_CONF_HANDLER(jn_conf_set_jern_log_retention);
JN_CONF_HANDLER(jn_conf_set_jern_acme_directory);
JN_CONF_HANDLER(jn_conf_set_jern_label);
JN_CONF_HANDLER(jn_conf_set_jern_node_memory);
/* Adds, at the end of the http block being built (lvl), one server per jern
 * listen address answering 404 for hosts no app has (JN_CONF_DAEMON only). */
int jn_conf_jern_app_servers(struct jn_conf_build *b, struct jn_conf_level *lvl);
/* ssl.c: the ssl_* directives */
JN_CONF_HANDLER(jn_conf_set_ssl_certificate);
JN_CONF_HANDLER(jn_conf_set_ssl_protocols);
JN_CONF_HANDLER(jn_conf_set_ssl_ciphers);
JN_CONF_HANDLER(jn_conf_set_ssl_flag);
JN_CONF_HANDLER(jn_conf_set_http2_size);
JN_CONF_HANDLER(jn_conf_set_ssl_session_cache);
/* upstream_block.c: upstream NAME { ... } */
JN_CONF_HANDLER(jn_conf_set_upstream);
JN_CONF_HANDLER(jn_conf_set_upstream_server);
JN_CONF_HANDLER(jn_conf_set_least_conn);
JN_CONF_HANDLER(jn_conf_set_balance);
JN_CONF_HANDLER(jn_conf_set_upstream_number);
JN_CONF_HANDLER(jn_conf_set_upstream_keepalive_timeout);

#endif
