/*
 * settings.c: directives valid at http, server and location level, and their
 * inheritance. Each level starts as a deep copy of its parent's effective
 * settings and its own directives then overwrite fields, which is nginx's
 * merge: a value set at a level wins, otherwise the parent's applies. Lists
 * (proxy_set_header) replace the inherited list as a whole, and only when the
 * level defines at least one entry, as in nginx.
 */
#include "config/build.h"

#include "config/value.h"

void jn_conf_settings_defaults(struct jn_conf_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->keepalive_timeout_ms = 75000;
    s->keepalive_requests = 1000;
    s->keepalive_time_ms = 3600000;
    s->client_header_timeout_ms = 10000;
    s->client_body_timeout_ms = 60000;
    s->send_timeout_ms = 60000;
    s->client_max_body_size = 1 << 20;
    s->large_header_num = 4;
    s->large_header_size = 8192;
    s->proxy_http_minor = 1;
    s->proxy_connect_timeout_ms = 60000;
    s->proxy_read_timeout_ms = 60000;
    s->proxy_send_timeout_ms = 60000;
    s->next_upstream = JN_NEXT_ERROR | JN_NEXT_TIMEOUT;
    s->access_log_format = jn_strdup(JN_LOG_FORMAT_COMBINED);
    s->ssl_protocols = 0x4u | 0x8u; /* JN_TLS_V12 | JN_TLS_V13 */
    s->ssl_session_timeout_ms = 300000;
    s->ssl_session_tickets = true;
    s->http2_max_concurrent_streams = 128;
    s->http2_body_preread_size = 65536;
    s->http2_chunk_size = 8192;
}

static char **dup_list(char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **d = jn_malloc(n * sizeof(*d));
    for (size_t i = 0; i < n; i++)
        d[i] = jn_strdup(v[i]);
    return d;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char *dup_or_null(const char *s)
{
    return s ? jn_strdup(s) : NULL;
}

static struct jn_conf_kv *dup_kvs(const struct jn_conf_kv *src, size_t n)
{
    if (!n)
        return NULL;
    struct jn_conf_kv *d = jn_malloc(n * sizeof(*d));
    for (size_t i = 0; i < n; i++) {
        d[i] = src[i];
        d[i].name = jn_strdup(src[i].name);
        d[i].value = jn_strdup(src[i].value);
    }
    return d;
}

static void free_kvs(struct jn_conf_kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

void jn_conf_settings_copy(struct jn_conf_settings *dst, const struct jn_conf_settings *src)
{
    *dst = *src;
    dst->set_headers = dup_kvs(src->set_headers, src->nset_headers);
    dst->redirects = dup_kvs(src->redirects, src->nredirects);
    dst->add_headers = dup_kvs(src->add_headers, src->nadd_headers);
    dst->default_type = dup_or_null(src->default_type);
    dst->sets = dup_kvs(src->sets, src->nsets);
    dst->proxy_method = dup_or_null(src->proxy_method);
    if (src->nerror_pages) {
        dst->error_pages = jn_malloc(src->nerror_pages * sizeof(*dst->error_pages));
        for (size_t i = 0; i < src->nerror_pages; i++) {
            dst->error_pages[i] = src->error_pages[i];
            dst->error_pages[i].uri = jn_strdup(src->error_pages[i].uri);
        }
    }
    dst->access_log_path = dup_or_null(src->access_log_path);
    dst->access_log_format = dup_or_null(src->access_log_format);
    dst->ssl_certs = dup_list(src->ssl_certs, src->nssl_certs);
    dst->ssl_keys = dup_list(src->ssl_keys, src->nssl_keys);
    dst->ssl_ciphers = dup_or_null(src->ssl_ciphers);
    dst->root = dup_or_null(src->root);
    dst->index = src->index ? dup_list(src->index, src->nindex) : NULL;
    dst->types = src->types ? dup_kvs(src->types, src->ntypes) : NULL;
}

void jn_conf_settings_free(struct jn_conf_settings *s)
{
    free_kvs(s->set_headers, s->nset_headers);
    free_kvs(s->redirects, s->nredirects);
    free_kvs(s->add_headers, s->nadd_headers);
    s->redirects = s->add_headers = NULL;
    s->nredirects = s->nadd_headers = 0;
    free(s->default_type);
    s->default_type = NULL;
    free_kvs(s->sets, s->nsets);
    s->sets = NULL;
    free(s->proxy_method);
    s->proxy_method = NULL;
    s->nsets = 0;
    for (size_t i = 0; i < s->nerror_pages; i++)
        free(s->error_pages[i].uri);
    free(s->error_pages);
    s->error_pages = NULL;
    s->nerror_pages = 0;
    free(s->access_log_path);
    free(s->access_log_format);
    s->set_headers = NULL;
    s->nset_headers = 0;
    s->access_log_path = NULL;
    s->access_log_format = NULL;
    free_list(s->ssl_certs, s->nssl_certs);
    free_list(s->ssl_keys, s->nssl_keys);
    free(s->ssl_ciphers);
    s->ssl_certs = s->ssl_keys = NULL;
    s->nssl_certs = s->nssl_keys = 0;
    s->ssl_ciphers = NULL;
    free(s->root);
    s->root = NULL;
    free_list(s->index, s->nindex);
    s->index = NULL;
    s->nindex = 0;
    free_kvs(s->types, s->ntypes);
    s->types = NULL;
    s->ntypes = 0;
}

static struct jn_conf_settings *settings_of(void *target)
{
    return ((struct jn_conf_level *)target)->s;
}

JN_CONF_HANDLER(jn_conf_set_time)
{
    int64_t ms = jn_conf_parse_time(n->args[0]);
    if (ms < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected a time such as "
                             "30s, 500ms, 5m or 1h",
                             n->args[0], n->name);
    *(int64_t *)((char *)settings_of(target) + d->offset) = ms;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_count)
{
    return jn_conf_arg_count(b, n, (int *)((char *)settings_of(target) + d->offset));
}

JN_CONF_HANDLER(jn_conf_set_client_max_body_size)
{
    int64_t v = jn_conf_parse_size(n->args[0]);
    if (v < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"client_max_body_size\" directive: expected "
                             "a size such as 1m, 512k or 0 (unlimited)",
                             n->args[0]);
    settings_of(target)->client_max_body_size = v;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_large_client_header_buffers)
{
    long num;
    if (jn_conf_parse_int(n->args[0], 1, 1024, &num) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"large_client_header_buffers\" directive: "
                             "expected a number of buffers from 1 to 1024",
                             n->args[0]);
    int64_t size = jn_conf_parse_size(n->args[1]);
    if (size < 256 || size > (1 << 20))
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"large_client_header_buffers\" directive: "
                             "expected a buffer size from 256 to 1m, such as 8k",
                             n->args[1]);
    struct jn_conf_settings *s = settings_of(target);
    s->large_header_num = (int)num;
    s->large_header_size = (size_t)size;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_proxy_http_version)
{
    const char *v = n->args[0];
    struct jn_conf_settings *s = settings_of(target);
    if (strcmp(v, "1.0") == 0)
        s->proxy_http_minor = 0;
    else if (strcmp(v, "1.1") == 0)
        s->proxy_http_minor = 1;
    else
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"proxy_http_version\" directive: expected "
                             "1.0 or 1.1",
                             v);
    return 0;
}

static bool is_token_char(unsigned char c)
{
    /* RFC 9110 tchar */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

JN_CONF_HANDLER(jn_conf_set_proxy_set_header)
{
    struct jn_conf_level *lvl = target;
    struct jn_conf_settings *s = lvl->s;
    const char *name = n->args[0];
    if (!name[0])
        return jn_conf_error(b, n, "empty header name in \"proxy_set_header\" directive");
    for (const char *p = name; *p; p++)
        if (!is_token_char((unsigned char)*p))
            return jn_conf_error(b, n,
                                 "invalid header name \"%s\" in \"proxy_set_header\" directive: "
                                 "only letters, digits and !#$%%&'*+-.^_`|~ are allowed",
                                 name);
    for (const char *p = n->args[1]; *p; p++)
        if (*p == '\r' || *p == '\n')
            return jn_conf_error(b, n,
                                 "invalid value in \"proxy_set_header %s\": a header value cannot "
                                 "contain a line break",
                                 name);
    if (!lvl->headers_here) {
        /* the first one at this level replaces what the parent level set */
        for (size_t i = 0; i < s->nset_headers; i++) {
            free(s->set_headers[i].name);
            free(s->set_headers[i].value);
        }
        s->nset_headers = 0;
        lvl->headers_here = true;
    }
    struct jn_conf_kv *kv = jn_conf_grow(&s->set_headers, &s->nset_headers, sizeof(*kv));
    kv->name = jn_strdup(name);
    kv->value = jn_strdup(n->args[1]);
    return 0;
}

static const struct {
    const char *name;
    unsigned flag;
} next_upstream_names[] = {
    {"error", JN_NEXT_ERROR},
    {"timeout", JN_NEXT_TIMEOUT},
    {"invalid_header", JN_NEXT_INVALID_HEADER},
    {"http_500", JN_NEXT_HTTP_500},
    {"http_502", JN_NEXT_HTTP_502},
    {"http_503", JN_NEXT_HTTP_503},
    {"http_504", JN_NEXT_HTTP_504},
    {"http_403", JN_NEXT_HTTP_403},
    {"http_404", JN_NEXT_HTTP_404},
    {"http_429", JN_NEXT_HTTP_429},
    {"non_idempotent", JN_NEXT_NON_IDEMPOTENT},
};

JN_CONF_HANDLER(jn_conf_set_proxy_next_upstream)
{
    unsigned flags = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *a = n->args[i];
        if (strcmp(a, "off") == 0) {
            if (n->nargs != 1)
                return jn_conf_error(b, n,
                                     "\"off\" in \"proxy_next_upstream\" directive must be alone");
            break;
        }
        size_t k;
        for (k = 0; k < JN_ARRAY_LEN(next_upstream_names); k++)
            if (strcmp(a, next_upstream_names[k].name) == 0)
                break;
        if (k == JN_ARRAY_LEN(next_upstream_names))
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in \"proxy_next_upstream\" directive: "
                                 "expected error, timeout, invalid_header, http_500, http_502, "
                                 "http_503, http_504, http_403, http_404, http_429, non_idempotent "
                                 "or off",
                                 a);
        flags |= next_upstream_names[k].flag;
    }
    settings_of(target)->next_upstream = flags;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_proxy_cache_bypass)
{
    /* jern has no cache: nothing to bypass; remembered so the gateway can say so */
    settings_of(target)->cache_bypass = true;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_access_log)
{
    struct jn_conf_settings *s = settings_of(target);
    const char *path = n->args[0];
    if (strcmp(path, "off") == 0) {
        if (n->nargs != 1)
            return jn_conf_error(b, n, "invalid number of arguments in \"access_log\" directive");
        free(s->access_log_path);
        s->access_log_path = NULL;
        return 0;
    }
    if (!path[0])
        return jn_conf_error(b, n, "empty path in \"access_log\" directive");
    const char *format = JN_LOG_FORMAT_COMBINED;
    if (n->nargs == 2 && strcmp(n->args[1], "combined") != 0) {
        const struct jn_conf *c = b->conf;
        size_t i;
        for (i = 0; i < c->nlog_formats; i++)
            if (strcmp(c->log_formats[i].name, n->args[1]) == 0)
                break;
        if (i == c->nlog_formats)
            return jn_conf_error(b, n,
                                 "unknown log format \"%s\" in \"access_log\" directive: define it "
                                 "with log_format in the http block",
                                 n->args[1]);
        format = c->log_formats[i].format;
    }
    free(s->access_log_path);
    free(s->access_log_format);
    s->access_log_path = jn_strdup(path);
    s->access_log_format = jn_strdup(format);
    return 0;
}

/* The first entry of a list directive at a level replaces the inherited
 * list (nginx's rule for proxy_set_header, add_header, proxy_redirect). */
static void list_here(bool *here, struct jn_conf_kv **v, size_t *n)
{
    if (*here)
        return;
    free_kvs(*v, *n);
    *v = NULL;
    *n = 0;
    *here = true;
}

JN_CONF_HANDLER(jn_conf_set_proxy_redirect)
{
    struct jn_conf_level *lvl = target;
    struct jn_conf_settings *s = lvl->s;
    list_here(&lvl->redirects_here, &s->redirects, &s->nredirects);
    if (n->nargs == 1) {
        if (strcmp(n->args[0], "off") == 0) {
            s->redirect_off = true;
            free_kvs(s->redirects, s->nredirects);
            s->redirects = NULL;
            s->nredirects = 0;
            return 0;
        }
        if (strcmp(n->args[0], "default") != 0)
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in \"proxy_redirect\" directive: expected "
                                 "\"default\", \"off\" or \"FROM TO\"",
                                 n->args[0]);
    } else if (n->args[0][0] == '~') {
        return jn_conf_error(b, n,
                             "regular expressions in \"proxy_redirect\" are not supported: write "
                             "the literal prefix to replace");
    } else if (!n->args[0][0]) {
        return jn_conf_error(b, n, "empty prefix in \"proxy_redirect\" directive");
    }
    s->redirect_off = false;
    struct jn_conf_kv *kv = jn_conf_grow(&s->redirects, &s->nredirects, sizeof(*kv));
    kv->name = jn_strdup(n->nargs == 1 ? "" : n->args[0]);
    kv->value = jn_strdup(n->nargs == 1 ? "" : n->args[1]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_add_header)
{
    struct jn_conf_level *lvl = target;
    struct jn_conf_settings *s = lvl->s;
    const char *name = n->args[0];
    if (!name[0])
        return jn_conf_error(b, n, "empty header name in \"add_header\" directive");
    for (const char *p = name; *p; p++)
        if (!is_token_char((unsigned char)*p))
            return jn_conf_error(b, n, "invalid header name \"%s\" in \"add_header\" directive",
                                 name);
    for (const char *p = n->args[1]; *p; p++)
        if (*p == '\r' || *p == '\n')
            return jn_conf_error(b, n,
                                 "invalid value in \"add_header %s\": a header value cannot "
                                 "contain a line break",
                                 name);
    if (n->nargs == 3 && strcmp(n->args[2], "always") != 0)
        return jn_conf_error(b, n,
                             "invalid parameter \"%s\" in \"add_header\" directive: expected "
                             "\"always\"",
                             n->args[2]);
    list_here(&lvl->add_headers_here, &s->add_headers, &s->nadd_headers);
    struct jn_conf_kv *kv = jn_conf_grow(&s->add_headers, &s->nadd_headers, sizeof(*kv));
    kv->name = jn_strdup(name);
    kv->value = jn_strdup(n->args[1]);
    kv->always = n->nargs == 3;
    return 0;
}

/* Directives jern accepts because they tune what jern does differently
 * anyway (docs/GATEWAY.md, "Accepted directives" says why for each); their
 * arguments are still checked where a typo could hide. */
JN_CONF_HANDLER(jn_conf_set_accepted)
{
    (void)target;
    (void)d;
    const char *name = n->name;
    if (strcmp(name, "proxy_buffering") == 0 || strcmp(name, "proxy_request_buffering") == 0 ||
        strcmp(name, "daemon") == 0) {
        if (jn_conf_parse_flag(n->args[0]) < 0)
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in \"%s\" directive: expected \"on\" or "
                                 "\"off\"",
                                 n->args[0], name);
        return 0;
    }
    if (strcmp(name, "keepalive_time") == 0) {
        if (jn_conf_parse_time(n->args[0]) < 0)
            return jn_conf_error(b, n, "invalid value \"%s\" in \"keepalive_time\" directive",
                                 n->args[0]);
        return 0;
    }
    /* sizes: the first argument of *_size/_buffers directives that are sizes */
    const char *size = strcmp(name, "proxy_buffers") == 0 ? n->args[n->nargs - 1]
                       : strstr(name, "_temp_path")        ? NULL
                                                           : n->args[0];
    if (strcmp(name, "server_names_hash_bucket_size") == 0 ||
        strcmp(name, "server_names_hash_max_size") == 0 ||
        strcmp(name, "types_hash_max_size") == 0 ||
        strcmp(name, "types_hash_bucket_size") == 0 ||
        strcmp(name, "variables_hash_max_size") == 0 ||
        strcmp(name, "variables_hash_bucket_size") == 0 ||
        strcmp(name, "map_hash_bucket_size") == 0 || strcmp(name, "map_hash_max_size") == 0) {
        long v;
        if (jn_conf_parse_int(n->args[0], 1, 1L << 30, &v) < 0)
            return jn_conf_error(b, n, "invalid value \"%s\" in \"%s\" directive", n->args[0],
                                 name);
        return 0;
    }
    if (size && jn_conf_parse_size(size) < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected a size such "
                             "as 8k",
                             size, name);
    if (!size && !n->args[0][0])
        return jn_conf_error(b, n, "empty path in \"%s\" directive", name);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_default_type)
{
    struct jn_conf_settings *s = settings_of(target);
    for (const char *p = n->args[0]; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return jn_conf_error(b, n, "invalid value in \"default_type\" directive");
    free(s->default_type);
    s->default_type = jn_strdup(n->args[0]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_error_page)
{
    struct jn_conf_level *lvl = target;
    struct jn_conf_settings *s = lvl->s;
    if (n->nargs < 2)
        return jn_conf_error(b, n, "invalid number of arguments in \"error_page\" directive");
    struct jn_conf_error_page ep = {.resp = -1};
    size_t last = n->nargs - 1;
    for (size_t i = 0; i < last; i++) {
        const char *a = n->args[i];
        if (a[0] == '=' && i == last - 1) {
            long v = 0;
            if (a[1] && jn_conf_parse_int(a + 1, 100, 599, &v) < 0)
                return jn_conf_error(b, n, "invalid response code \"%s\" in \"error_page\"", a);
            ep.resp = (int)v;
            continue;
        }
        long v;
        if (jn_conf_parse_int(a, 300, 599, &v) < 0)
            return jn_conf_error(b, n,
                                 "invalid code \"%s\" in \"error_page\" directive: expected a "
                                 "status from 300 to 599",
                                 a);
        if (ep.ncodes == JN_CONF_ERROR_PAGE_CODES)
            return jn_conf_error(b, n, "too many codes in one \"error_page\" directive");
        ep.codes[ep.ncodes++] = (int)v;
    }
    if (!ep.ncodes)
        return jn_conf_error(b, n, "no status code in \"error_page\" directive");
    const char *uri = n->args[last];
    if (uri[0] == '@')
        return jn_conf_error(b, n,
                             "named locations (\"%s\") are not supported in \"error_page\": "
                             "use a URI such as /50x.html",
                             uri);
    if (strchr(uri, '$'))
        return jn_conf_error(b, n, "variables in \"error_page\" are not supported");
    if (uri[0] != '/' && strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return jn_conf_error(b, n,
                             "invalid URI \"%s\" in \"error_page\": expected /path or an "
                             "http(s):// URL",
                             uri);
    if (!lvl->error_pages_here) {
        for (size_t i = 0; i < s->nerror_pages; i++)
            free(s->error_pages[i].uri);
        free(s->error_pages);
        s->error_pages = NULL;
        s->nerror_pages = 0;
        lvl->error_pages_here = true;
    }
    struct jn_conf_error_page *e =
        jn_conf_grow(&s->error_pages, &s->nerror_pages, sizeof(*s->error_pages));
    *e = ep;
    e->uri = jn_strdup(uri);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_flag)
{
    int v = jn_conf_parse_flag(n->args[0]);
    if (v < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected \"on\" or \"off\"",
                             n->args[0], n->name);
    *(bool *)((char *)settings_of(target) + d->offset) = v != 0;
    return 0;
}

/* "$name" -> "name", or NULL when it is no variable name. */
static const char *var_name(const char *a)
{
    if (a[0] != '$' || !a[1])
        return NULL;
    for (const char *p = a + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return NULL;
    return a + 1;
}

JN_CONF_HANDLER(jn_conf_set_map)
{
    (void)target;
    struct jn_conf *c = b->conf;
    const char *name = var_name(n->args[1]);
    if (!name)
        return jn_conf_error(b, n, "invalid variable name \"%s\" in \"map\": expected $name",
                             n->args[1]);
    for (size_t i = 0; i < c->nmaps; i++)
        if (strcmp(c->maps[i].name, name) == 0)
            return jn_conf_error(b, n, "duplicate \"map\" of $%s (first on line %d)", name,
                                 c->maps[i].line);
    struct jn_conf_map *m = jn_conf_grow(&c->maps, &c->nmaps, sizeof(*c->maps));
    m->source = jn_strdup(n->args[0]);
    m->name = jn_strdup(name);
    m->line = n->line;
    for (size_t i = 0; i < n->nchildren; i++) {
        const struct jn_conf_node *e = &n->children[i];
        if (strcmp(e->name, "default") == 0) {
            free(m->dflt);
            m->dflt = jn_strdup(e->args[0]);
            continue;
        }
        if (strcmp(e->name, "hostnames") == 0 || strcmp(e->name, "volatile") == 0 ||
            strcmp(e->name, "include") == 0)
            return jn_conf_error(b, e, "\"%s\" in a \"map\" block is not supported", e->name);
        const char *key = e->name[0] == '\\' ? e->name + 1 : e->name; /* "\\~x": a literal ~ */
        struct jn_conf_kv *kv = jn_conf_grow(&m->entries, &m->nentries, sizeof(*kv));
        kv->name = jn_strdup(key);
        kv->value = jn_strdup(e->args[0]);
        kv->always = e->name[0] == '\\'; /* literal, even if it starts with '~' */
    }
    if (!m->dflt)
        m->dflt = jn_strdup("");
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_set)
{
    struct jn_conf_settings *s = settings_of(target);
    const char *name = var_name(n->args[0]);
    if (!name)
        return jn_conf_error(b, n, "invalid variable name \"%s\" in \"set\": expected $name",
                             n->args[0]);
    struct jn_conf_kv *kv = jn_conf_grow(&s->sets, &s->nsets, sizeof(*kv));
    kv->name = jn_strdup(name);
    kv->value = jn_strdup(n->args[1]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_proxy_method)
{
    struct jn_conf_settings *s = settings_of(target);
    const char *m = n->args[0];
    if (!m[0] || strchr(m, '$'))
        return jn_conf_error(b, n,
                             "invalid method \"%s\" in \"proxy_method\": expected a method name "
                             "such as GET (variables are not supported)",
                             m);
    for (const char *p = m; *p; p++)
        if (!is_token_char((unsigned char)*p))
            return jn_conf_error(b, n, "invalid method \"%s\" in \"proxy_method\"", m);
    free(s->proxy_method);
    s->proxy_method = jn_strdup(m);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_pass_request)
{
    struct jn_conf_settings *s = settings_of(target);
    int v = jn_conf_parse_flag(n->args[0]);
    if (v < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected \"on\" or \"off\"",
                             n->args[0], n->name);
    if (strcmp(n->name, "proxy_pass_request_headers") == 0) {
        s->no_pass_headers = v == 0;
        return 0;
    }
    if (v == 0)
        return jn_conf_error(b, n,
                             "\"proxy_pass_request_body off\" is not supported: jern streams the "
                             "request body to the upstream");
    return 0;
}
