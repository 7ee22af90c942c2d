/*
 * directives.c: the table of every directive jern understands, the checks
 * that apply to all of them (name, context, block, argument count), the walk
 * that applies a block's directives in phase order, and the main/events/http
 * handlers.
 *
 * Adding a directive: add a row to `directives` below (name, contexts, argument
 * counts, flags, the context of its children if it is a block, its phase, its
 * handler, a field offset for the generic handlers, and its syntax for
 * messages), write the handler next to its siblings, and document it in
 * docs/CONFIG.md. Adding a block (as the daemon's `jern { ... }` was, in
 * jern_block.c): add a JN_CTX_ bit in build.h, a row here with JN_DIR_BLOCK and
 * that bit as child_ctx, its handler calling jn_conf_walk(b, n, JN_CTX_X, target), and
 * rows for the directives allowed inside it; validation, "did you mean",
 * duplicate detection and phase ordering then come for free.
 */
#include "config/build.h"

#include "config/load.h"
#include "config/value.h"
#include "core/log.h"

#include <stdarg.h>

/* Directives with a NULL handler are accepted and deliberately ignored:
 *   sendfile, tcp_nopush   jern never serves files, so there is nothing to send with them
 *   tcp_nodelay            jern always sets TCP_NODELAY on TCP connections
 *   server_tokens          jern never announces a version in a Server header or error page
 *   multi_accept           each worker drains its listener (edge-triggered) anyway
 *   accept_mutex           each worker has its own SO_REUSEPORT listener: nothing to lock
 * Their values are still checked (on|off), so a typo is still an error. */
static const struct jn_conf_directive directives[] = {
    /* main */
    {"worker_processes", JN_CTX_MAIN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_worker_processes, 0},
    {"worker_rlimit_nofile", JN_CTX_MAIN, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_worker_rlimit_nofile, 0},
    {"daemon", JN_CTX_MAIN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"pid", JN_CTX_MAIN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_pid, 0},
    {"error_log", JN_CTX_MAIN, 1, 2, 0, 0, JN_PHASE_SET, jn_conf_set_error_log, 0},
    {"events", JN_CTX_MAIN, 0, 0, JN_DIR_BLOCK, JN_CTX_EVENTS, JN_PHASE_BLOCK, jn_conf_set_events,
     0},
    {"http", JN_CTX_MAIN, 0, 0, JN_DIR_BLOCK, JN_CTX_HTTP, JN_PHASE_BLOCK, jn_conf_set_http, 0},
    /* jern: the daemon's block (jern_block.c), applied before http reads its listens */
    {"jern", JN_CTX_MAIN, 0, 0, JN_DIR_BLOCK, JN_CTX_JERN, JN_PHASE_DEFINE, jn_conf_set_jern, 0},
    {"listen", JN_CTX_JERN, 1, 2, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_jern_listen, 0},
    {"state_dir", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, state_dir)},
    {"admin", JN_CTX_JERN, 1, 2, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_jern_admin, 0},
    {"base_domain", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, base_domain)},
    {"drain_timeout", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_drain_timeout, 0},
    {"instance_log_size", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_jern_instance_log_size, 0},
    {"instance_log_files", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_jern_instance_log_files, 0},
    {"log_retention", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_log_retention, 0},
    {"acme_directory", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_acme_directory,
     offsetof(struct jn_conf_jern, acme_directory)},
    {"acme_email", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, acme_email)},
    {"acme_ca_bundle", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, acme_ca_bundle)},
    /* the cluster (docs/CLUSTER.md) */
    {"cluster", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, cluster)},
    {"node", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, node)},
    {"advertise", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_string,
     offsetof(struct jn_conf_jern, advertise)},
    {"label", JN_CTX_JERN, 1, 1, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_jern_label, 0},
    {"node_memory", JN_CTX_JERN, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_jern_node_memory, 0},
    /* events */
    {"worker_connections", JN_CTX_EVENTS, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_worker_connections,
     0},
    {"use", JN_CTX_EVENTS, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_use, 0},
    {"multi_accept", JN_CTX_EVENTS, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    {"accept_mutex", JN_CTX_EVENTS, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    /* http */
    {"upstream", JN_CTX_HTTP, 1, 1, JN_DIR_BLOCK | JN_DIR_MULTI, JN_CTX_UPSTREAM, JN_PHASE_DEFINE,
     jn_conf_set_upstream, 0},
    {"log_format", JN_CTX_HTTP, 2, -1, JN_DIR_MULTI, 0, JN_PHASE_DEFINE, jn_conf_set_log_format, 0},
    {"map", JN_CTX_HTTP, 2, 2, JN_DIR_BLOCK | JN_DIR_MULTI, JN_CTX_MAP, JN_PHASE_DEFINE,
     jn_conf_set_map, 0},
    {"set", JN_CTX_SERVER | JN_CTX_LOCATION, 2, 2, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_set,
     0},
    {"server", JN_CTX_HTTP, 0, 0, JN_DIR_BLOCK | JN_DIR_MULTI, JN_CTX_SERVER, JN_PHASE_BLOCK,
     jn_conf_set_server, 0},
    {"types", JN_CTX_HSL, 0, 0, JN_DIR_BLOCK, JN_CTX_TYPES, JN_PHASE_SET, jn_conf_set_types, 0},
    {"root", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_root, 0},
    {"alias", JN_CTX_LOCATION, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_alias, 0},
    {"index", JN_CTX_HSL, 1, -1, 0, 0, JN_PHASE_SET, jn_conf_set_index, 0},
    {"try_files", JN_CTX_SERVER | JN_CTX_LOCATION, 2, -1, 0, 0, JN_PHASE_SET,
     jn_conf_set_try_files, 0},
    {"default_type", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_default_type, 0},
    {"sendfile", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    {"tcp_nopush", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    {"tcp_nodelay", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    {"server_tokens", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_on_off, 0},
    /* accepted: they tune buffering, temp files and hash tables that jern
     * does not have (docs/GATEWAY.md "Accepted directives") */
    {"server_names_hash_bucket_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted,
     0},
    {"server_names_hash_max_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"types_hash_max_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"types_hash_bucket_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"variables_hash_max_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"variables_hash_bucket_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"map_hash_max_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"map_hash_bucket_size", JN_CTX_HTTP, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"client_header_buffer_size", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_accepted, 0},
    {"client_body_buffer_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"client_body_temp_path", JN_CTX_HSL, 1, 4, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_temp_path", JN_CTX_HSL, 1, 4, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_buffering", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_request_buffering", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_buffer_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_buffers", JN_CTX_HSL, 2, 2, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_busy_buffers_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_max_temp_file_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted, 0},
    {"proxy_temp_file_write_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_accepted,
     0},
    /* http, server, location settings (settings.c) */
    {"keepalive_time", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, keepalive_time_ms)},
    {"proxy_redirect", JN_CTX_HSL, 1, 2, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_proxy_redirect,
     0},
    {"add_header", JN_CTX_HSL, 2, 3, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_add_header, 0},
    {"error_page", JN_CTX_HSL, 2, -1, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_error_page, 0},
    {"proxy_method", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_proxy_method, 0},
    {"proxy_pass_request_headers", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_pass_request, 0},
    {"proxy_pass_request_body", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_pass_request,
     0},
    {"proxy_intercept_errors", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_flag,
     offsetof(struct jn_conf_settings, intercept_errors)},
    {"keepalive_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, keepalive_timeout_ms)},
    {"keepalive_requests", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_count,
     offsetof(struct jn_conf_settings, keepalive_requests)},
    {"client_header_timeout", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_time, offsetof(struct jn_conf_settings, client_header_timeout_ms)},
    {"client_body_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, client_body_timeout_ms)},
    {"send_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, send_timeout_ms)},
    {"client_max_body_size", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_client_max_body_size,
     0},
    {"large_client_header_buffers", JN_CTX_HTTP | JN_CTX_SERVER, 2, 2, 0, 0, JN_PHASE_SET,
     jn_conf_set_large_client_header_buffers, 0},
    {"proxy_http_version", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_proxy_http_version, 0},
    {"proxy_set_header", JN_CTX_HSL, 2, 2, JN_DIR_MULTI, 0, JN_PHASE_SET,
     jn_conf_set_proxy_set_header, 0},
    {"proxy_connect_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, proxy_connect_timeout_ms)},
    {"proxy_read_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, proxy_read_timeout_ms)},
    {"proxy_send_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, proxy_send_timeout_ms)},
    {"proxy_next_upstream", JN_CTX_HSL, 1, -1, 0, 0, JN_PHASE_SET, jn_conf_set_proxy_next_upstream,
     0},
    {"proxy_next_upstream_tries", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_count,
     offsetof(struct jn_conf_settings, next_upstream_tries)},
    {"proxy_next_upstream_timeout", JN_CTX_HSL, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, next_upstream_timeout_ms)},
    {"proxy_cache_bypass", JN_CTX_HSL, 1, -1, 0, 0, JN_PHASE_SET, jn_conf_set_proxy_cache_bypass,
     0},
    {"access_log", JN_CTX_HSL, 1, 2, 0, 0, JN_PHASE_SET, jn_conf_set_access_log, 0},
    /* http, server: TLS (ssl.c) */
    {"ssl_certificate", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, JN_DIR_MULTI, 0, JN_PHASE_SET,
     jn_conf_set_ssl_certificate, offsetof(struct jn_conf_settings, ssl_certs)},
    {"ssl_certificate_key", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, JN_DIR_MULTI, 0, JN_PHASE_SET,
     jn_conf_set_ssl_certificate, offsetof(struct jn_conf_settings, ssl_keys)},
    {"ssl_protocols", JN_CTX_HTTP | JN_CTX_SERVER, 1, -1, 0, 0, JN_PHASE_SET,
     jn_conf_set_ssl_protocols, 0},
    {"ssl_ciphers", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_ssl_ciphers,
     0},
    {"ssl_prefer_server_ciphers", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_ssl_flag, offsetof(struct jn_conf_settings, ssl_prefer_server_ciphers)},
    {"ssl_session_cache", JN_CTX_HTTP | JN_CTX_SERVER, 1, 2, 0, 0, JN_PHASE_SET,
     jn_conf_set_ssl_session_cache, 0},
    {"ssl_session_timeout", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_time,
     offsetof(struct jn_conf_settings, ssl_session_timeout_ms)},
    {"ssl_session_tickets", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_ssl_flag, offsetof(struct jn_conf_settings, ssl_session_tickets)},
    {"ssl_reject_handshake", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_ssl_flag, offsetof(struct jn_conf_settings, ssl_reject_handshake)},
    /* http, server: HTTP/2 (http2.c) */
    {"http2", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_ssl_flag,
     offsetof(struct jn_conf_settings, http2)},
    {"http2_max_concurrent_streams", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_count, offsetof(struct jn_conf_settings, http2_max_concurrent_streams)},
    {"http2_body_preread_size", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_http2_size, offsetof(struct jn_conf_settings, http2_body_preread_size)},
    {"http2_chunk_size", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_http2_size, offsetof(struct jn_conf_settings, http2_chunk_size)},
    {"ssl_stapling", JN_CTX_HTTP | JN_CTX_SERVER, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_ssl_flag,
     offsetof(struct jn_conf_settings, ssl_stapling)},
    /* server, location (server.c) */
    {"listen", JN_CTX_SERVER, 1, -1, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_listen, 0},
    {"server_name", JN_CTX_SERVER, 1, -1, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_server_name,
     0},
    {"location", JN_CTX_SERVER, 1, 2, JN_DIR_BLOCK | JN_DIR_MULTI, JN_CTX_LOCATION, JN_PHASE_BLOCK,
     jn_conf_set_location, 0},
    {"proxy_pass", JN_CTX_LOCATION, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_proxy_pass, 0},
    {"return", JN_CTX_SERVER | JN_CTX_LOCATION | JN_CTX_IF, 1, 2, 0, 0, JN_PHASE_SET,
     jn_conf_set_return, 0},
    {"rewrite", JN_CTX_SERVER | JN_CTX_LOCATION | JN_CTX_IF, 2, 3, JN_DIR_MULTI, 0, JN_PHASE_SET,
     jn_conf_set_rewrite, 0},
    {"if", JN_CTX_SERVER | JN_CTX_LOCATION, 1, 5, JN_DIR_BLOCK | JN_DIR_MULTI, JN_CTX_IF,
     JN_PHASE_SET, jn_conf_set_if, 0},
    /* upstream (upstream_block.c) */
    {"server", JN_CTX_UPSTREAM, 1, -1, JN_DIR_MULTI, 0, JN_PHASE_SET, jn_conf_set_upstream_server,
     0},
    {"least_conn", JN_CTX_UPSTREAM, 0, 0, 0, 0, JN_PHASE_SET, jn_conf_set_least_conn, 0},
    {"balance", JN_CTX_UPSTREAM, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_balance, 0},
    {"keepalive", JN_CTX_UPSTREAM, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_upstream_number,
     offsetof(struct jn_conf_upstream, keepalive)},
    {"keepalive_timeout", JN_CTX_UPSTREAM, 1, 1, 0, 0, JN_PHASE_SET,
     jn_conf_set_upstream_keepalive_timeout, 0},
    {"keepalive_requests", JN_CTX_UPSTREAM, 1, 1, 0, 0, JN_PHASE_SET, jn_conf_set_upstream_number,
     offsetof(struct jn_conf_upstream, keepalive_requests)},
};

#define NDIRECTIVES JN_ARRAY_LEN(directives)

int jn_conf_error(struct jn_conf_build *b, const struct jn_conf_node *n, const char *fmt, ...)
{
    int k = n ? snprintf(b->err, b->errlen, "%s:%d: ", n->src->name, n->line)
              : snprintf(b->err, b->errlen, "%s: ", b->conf->path);
    if (k >= 0 && (size_t)k < b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err + k, b->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return JN_ECONFIG;
}

int jn_conf_arg_count(struct jn_conf_build *b, const struct jn_conf_node *n, int *v)
{
    long l;
    if (jn_conf_parse_int(n->args[0], 0, 1L << 30, &l) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected a number, 0 or "
                             "more",
                             n->args[0], n->name);
    *v = (int)l;
    return 0;
}

void *jn_conf_grow(void *arr_ptr, size_t *len, size_t sz)
{
    void **arr = arr_ptr;
    *arr = jn_realloc(*arr, (*len + 1) * sz);
    char *elem = (char *)*arr + *len * sz;
    memset(elem, 0, sz);
    (*len)++;
    return elem;
}

static const struct jn_conf_directive *lookup(const char *name, unsigned ctx, bool *known)
{
    *known = false;
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if (strcmp(directives[i].name, name) != 0)
            continue;
        *known = true;
        if (directives[i].ctx & ctx)
            return &directives[i];
    }
    return NULL;
}

/* The closest directive name, preferring those allowed in ctx; NULL if none is close. */
static const char *suggest(const char *name, unsigned ctx)
{
    size_t len = strlen(name);
    int limit = len <= 4 ? 1 : 2;
    const char *best = NULL;
    int best_d = limit + 1;
    bool best_here = false;
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        int d = jn_conf_edit_distance(name, directives[i].name);
        bool here = (directives[i].ctx & ctx) != 0;
        if (d < best_d || (d == best_d && here && !best_here)) {
            best = directives[i].name;
            best_d = d;
            best_here = here;
        }
    }
    return best_d <= limit ? best : NULL;
}

int jn_conf_validate(struct jn_conf_build *b, const struct jn_conf_node *nodes, size_t n,
                     unsigned ctx)
{
    for (size_t i = 0; i < n; i++) {
        const struct jn_conf_node *node = &nodes[i];
        if (ctx == JN_CTX_MAP) {
            if (node->block || node->nargs != 1)
                return jn_conf_error(b, node,
                                     "invalid line in \"map\" block: expected \"KEY VALUE;\" "
                                     "(hostnames, volatile and include are not supported)");
            continue;
        }
        if (ctx == JN_CTX_TYPES) {
            if (node->block || node->nargs < 1)
                return jn_conf_error(
                    b, node, "invalid line in \"types\" block: expected \"TYPE EXTENSION...;\"");
            continue;
        }
        if (strcmp(node->name, "include") == 0)
            return jn_conf_error(b, node, "\"include\" is not allowed when loading this text");
        bool known;
        const struct jn_conf_directive *d = lookup(node->name, ctx, &known);
        if (!known) {
            const char *s = suggest(node->name, ctx);
            const char *where = ctx == JN_CTX_JERN ? " in the jern block" : "";
            if (s)
                return jn_conf_error(b, node, "unknown directive \"%s\"%s (did you mean \"%s\"?)",
                                     node->name, where, s);
            return jn_conf_error(b, node, "unknown directive \"%s\"%s", node->name, where);
        }
        if (!d)
            return jn_conf_error(b, node, "\"%s\" directive is not allowed here%s", node->name,
                                 ctx == JN_CTX_IF ? " (inside if, jern takes return and rewrite)"
                                                  : "");
        if ((d->flags & JN_DIR_BLOCK) && !node->block)
            return jn_conf_error(b, node, "directive \"%s\" has no opening \"{\"", node->name);
        if (!(d->flags & JN_DIR_BLOCK) && node->block)
            return jn_conf_error(b, node, "directive \"%s\" is not terminated by \";\"",
                                 node->name);
        if ((int)node->nargs < d->min_args || (d->max_args >= 0 && (int)node->nargs > d->max_args))
            return jn_conf_error(b, node, "invalid number of arguments in \"%s\" directive",
                                 node->name);
        if (node->block) {
            int rc = jn_conf_validate(b, node->children, node->nchildren, d->child_ctx);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int jn_conf_walk(struct jn_conf_build *b, const struct jn_conf_node *parent, unsigned ctx,
                 void *target)
{
    const struct jn_conf_node *seen[NDIRECTIVES] = {0};
    for (int phase = 0; phase < JN_PHASE_COUNT; phase++) {
        for (size_t i = 0; i < parent->nchildren; i++) {
            const struct jn_conf_node *n = &parent->children[i];
            bool known;
            const struct jn_conf_directive *d = lookup(n->name, ctx, &known);
            if (!d || (int)d->phase != phase)
                continue;
            size_t idx = (size_t)(d - directives);
            if (seen[idx] && !(d->flags & JN_DIR_MULTI))
                return jn_conf_error(b, n, "\"%s\" directive is duplicate (first on line %d)",
                                     n->name, seen[idx]->line);
            seen[idx] = n;
            if (d->set) {
                int rc = d->set(b, d, n, target);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- main ---- */

JN_CONF_HANDLER(jn_conf_set_worker_processes)
{
    long v;
    if (strcmp(n->args[0], "auto") == 0) {
        b->conf->worker_processes_auto = true;
        b->conf->worker_processes = jn_conf_usable_cpus();
        return 0;
    }
    if (jn_conf_parse_int(n->args[0], 1, 1024, &v) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"worker_processes\" directive: expected "
                             "\"auto\" or a number from 1 to 1024",
                             n->args[0]);
    b->conf->worker_processes_auto = false;
    b->conf->worker_processes = (int)v;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_worker_connections)
{
    long v;
    if (jn_conf_parse_int(n->args[0], 2, 1 << 20, &v) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"worker_connections\" directive: expected a "
                             "number from 2 to 1048576",
                             n->args[0]);
    b->conf->worker_connections = (int)v;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_worker_rlimit_nofile)
{
    long v;
    if (jn_conf_parse_int(n->args[0], 1, 1L << 30, &v) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"worker_rlimit_nofile\" directive: expected "
                             "a positive number of files",
                             n->args[0]);
    b->conf->worker_rlimit_nofile = v;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_use)
{
    if (strcmp(n->args[0], "epoll") != 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"use\" directive: jern supports \"epoll\" "
                             "only",
                             n->args[0]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_on_off)
{
    if (jn_conf_parse_flag(n->args[0]) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected \"on\" or \"off\"",
                             n->args[0], n->name);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_pid)
{
    if (n->args[0][0] == '\0')
        return jn_conf_error(b, n, "empty path in \"pid\" directive");
    b->conf->pid_path = jn_strdup(n->args[0]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_error_log)
{
    const char *path = n->args[0];
    if (path[0] == '\0')
        return jn_conf_error(b, n, "empty path in \"error_log\" directive");
    int level = JN_LOG_ERROR; /* nginx's default when a path is given without a level */
    if (n->nargs == 2) {
        const char *name = n->args[1];
        /* nginx's two levels above crit; jern's log stops at crit */
        if (strcmp(name, "alert") == 0 || strcmp(name, "emerg") == 0)
            name = "crit";
        level = jn_log_level_parse(name);
        if (level < 0)
            return jn_conf_error(
                b, n,
                "invalid value \"%s\" in \"error_log\" directive: expected a level: "
                "debug, info, notice, warn, error, crit, alert or emerg",
                n->args[1]);
    }
    free(b->conf->error_log_path);
    b->conf->error_log_path = strcmp(path, "stderr") == 0 ? NULL : jn_strdup(path);
    b->conf->error_log_level = level;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_events)
{
    return jn_conf_walk(b, n, JN_CTX_EVENTS, NULL);
}

JN_CONF_HANDLER(jn_conf_set_http)
{
    struct jn_conf_settings s;
    jn_conf_settings_defaults(&s);
    struct jn_conf_level lvl = {.s = &s, .ctx = JN_CTX_HTTP};
    b->conf->has_http = !b->http_added;
    int rc = jn_conf_walk(b, n, JN_CTX_HTTP, &lvl);
    if (rc == 0 && (b->flags & JN_CONF_DAEMON))
        rc = jn_conf_jern_app_servers(b, &lvl);
    jn_conf_settings_free(&s);
    return rc;
}

JN_CONF_HANDLER(jn_conf_set_log_format)
{
    struct jn_conf *c = b->conf;
    const char *name = n->args[0];
    if (strcmp(name, "combined") == 0)
        return jn_conf_error(b, n, "duplicate \"log_format\" name \"combined\": it is built in");
    for (size_t i = 0; i < c->nlog_formats; i++)
        if (strcmp(c->log_formats[i].name, name) == 0)
            return jn_conf_error(b, n, "duplicate \"log_format\" name \"%s\"", name);
    size_t first = 1;
    if (strncmp(n->args[1], "escape=", 7) == 0) {
        /* jern escapes as nginx's "default" does; json and none are not written yet */
        if (strcmp(n->args[1], "escape=default") != 0)
            return jn_conf_error(b, n,
                                 "\"%s\" in \"log_format\" directive is not supported: jern only "
                                 "has escape=default",
                                 n->args[1]);
        first = 2;
        if (n->nargs < 3)
            return jn_conf_error(b, n, "invalid number of arguments in \"log_format\" directive");
    }
    size_t len = 0;
    for (size_t i = first; i < n->nargs; i++)
        len += strlen(n->args[i]);
    char *fmt = jn_malloc(len + 1);
    size_t off = 0;
    /* nginx joins the strings as they are, without separators */
    for (size_t i = first; i < n->nargs; i++) {
        size_t l = strlen(n->args[i]);
        memcpy(fmt + off, n->args[i], l);
        off += l;
    }
    fmt[off] = '\0';
    struct jn_conf_log_format *f =
        jn_conf_grow(&c->log_formats, &c->nlog_formats, sizeof(*c->log_formats));
    f->name = jn_strdup(name);
    f->format = fmt;
    return 0;
}
