/*
 * vars.c: nginx-style $variables. Compiling splits a template into literal
 * and variable parts once; evaluating walks the parts and writes straight into
 * the caller's buffer: no allocation, no snprintf on the hot path.
 */
#include "gateway/vars.h"

#include "core/regex.h"

#include <time.h>

static const struct {
    const char *name;
    enum jn_var_id id;
} var_names[] = {
    {"host", JN_VAR_HOST},
    {"remote_addr", JN_VAR_REMOTE_ADDR},
    {"remote_port", JN_VAR_REMOTE_PORT},
    {"remote_user", JN_VAR_REMOTE_USER},
    {"proxy_add_x_forwarded_for", JN_VAR_PROXY_ADD_X_FORWARDED_FOR},
    {"scheme", JN_VAR_SCHEME},
    {"request_uri", JN_VAR_REQUEST_URI},
    {"uri", JN_VAR_URI},
    {"document_uri", JN_VAR_URI},
    {"args", JN_VAR_ARGS},
    {"query_string", JN_VAR_ARGS},
    {"is_args", JN_VAR_IS_ARGS},
    {"request", JN_VAR_REQUEST},
    {"request_method", JN_VAR_REQUEST_METHOD},
    {"server_protocol", JN_VAR_SERVER_PROTOCOL},
    {"server_port", JN_VAR_SERVER_PORT},
    {"server_name", JN_VAR_SERVER_NAME},
    {"proxy_host", JN_VAR_PROXY_HOST},
    {"status", JN_VAR_STATUS},
    {"body_bytes_sent", JN_VAR_BODY_BYTES_SENT},
    {"bytes_sent", JN_VAR_BYTES_SENT},
    {"request_length", JN_VAR_REQUEST_LENGTH},
    {"upstream_addr", JN_VAR_UPSTREAM_ADDR},
    {"upstream_status", JN_VAR_UPSTREAM_STATUS},
    {"upstream_response_time", JN_VAR_UPSTREAM_RESPONSE_TIME},
    {"upstream_connect_time", JN_VAR_UPSTREAM_CONNECT_TIME},
    {"upstream_header_time", JN_VAR_UPSTREAM_HEADER_TIME},
    {"upstream_response_length", JN_VAR_UPSTREAM_RESPONSE_LENGTH},
    {"request_time", JN_VAR_REQUEST_TIME},
    {"time_local", JN_VAR_TIME_LOCAL},
    {"time_iso8601", JN_VAR_TIME_ISO8601},
    {"msec", JN_VAR_MSEC},
    {"connection", JN_VAR_CONNECTION},
    {"connection_requests", JN_VAR_CONNECTION_REQUESTS},
    {"https", JN_VAR_HTTPS},
    {"ssl_protocol", JN_VAR_SSL_PROTOCOL},
    {"ssl_cipher", JN_VAR_SSL_CIPHER},
    {"ssl_server_name", JN_VAR_SSL_SERVER_NAME},
};

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Edit distance for "did you mean" hints; names are short, so O(n*m) is fine. */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (lower(a[i - 1]) != b[j - 1]);
            best = JN_MIN(best, up + 1);
            best = JN_MIN(best, row[j - 1] + 1);
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_var(const char *name, size_t len, char *err, size_t errlen)
{
    const char *hint = NULL;
    size_t best = 3;
    for (size_t i = 0; i < JN_ARRAY_LEN(var_names); i++) {
        size_t d = distance(name, len, var_names[i].name);
        if (d < best) {
            best = d;
            hint = var_names[i].name;
        }
    }
    if (hint)
        snprintf(err, errlen, "unknown variable \"$%.*s\" (did you mean \"$%s\"?)", (int)len, name,
                 hint);
    else
        snprintf(err, errlen, "unknown variable \"$%.*s\"", (int)len, name);
    return JN_ECONFIG;
}

static void add_part(struct jn_template *t, enum jn_var_id id, const char *text, size_t len)
{
    t->parts[t->nparts++] = (struct jn_var_part){.id = id, .text = text, .len = len};
}

int jn_template_compile(const char *text, struct jn_template *t, char *err, size_t errlen)
{
    return jn_template_compile_user(text, NULL, t, err, errlen);
}

ssize_t jn_user_var_find(const struct jn_user_vars *u, const char *name, size_t len)
{
    for (size_t i = 0; u && i < u->n; i++)
        if (strlen(u->v[i].name) == len && memcmp(u->v[i].name, name, len) == 0)
            return (ssize_t)i;
    return -1;
}

bool jn_var_is_builtin(const char *name)
{
    if (strncmp(name, "http_", 5) == 0)
        return true;
    for (size_t k = 0; k < JN_ARRAY_LEN(var_names); k++)
        if (strcmp(var_names[k].name, name) == 0)
            return true;
    return false;
}

void jn_user_vars_free(struct jn_user_vars *u)
{
    for (size_t i = 0; i < u->n; i++) {
        struct jn_user_var *v = &u->v[i];
        free(v->name);
        jn_template_free(&v->source);
        jn_template_free(&v->dflt);
        for (size_t k = 0; k < v->nentries; k++) {
            jn_regex_free(v->entries[k].re);
            jn_template_free(&v->entries[k].value);
        }
        free(v->entries);
    }
    free(u->v);
    u->v = NULL;
    u->n = 0;
}

int jn_template_compile_user(const char *text, const struct jn_user_vars *u, struct jn_template *t,
                             char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    size_t n = strlen(text);
    size_t ndollars = 0;
    for (size_t i = 0; i < n; i++)
        ndollars += text[i] == '$';
    t->parts = jn_calloc(2 * ndollars + 1, sizeof(*t->parts));
    /* storage holds the literal text and the header names, never longer than the input */
    t->storage = jn_malloc(n + 1);
    char *st = t->storage;

    size_t i = 0;
    while (i < n) {
        if (text[i] != '$') {
            size_t j = i;
            while (j < n && text[j] != '$')
                j++;
            memcpy(st, text + i, j - i);
            add_part(t, JN_VAR_LITERAL, st, j - i);
            st += j - i;
            i = j;
            continue;
        }
        i++;
        bool braced = i < n && text[i] == '{';
        if (braced)
            i++;
        size_t start = i;
        while (i < n && is_name_char(text[i]))
            i++;
        size_t len = i - start;
        if (braced && (i >= n || text[i] != '}')) {
            snprintf(err, errlen, "missing \"}\" after \"${%.*s\"", (int)len, text + start);
            goto fail;
        }
        if (len == 0) {
            snprintf(err, errlen, "invalid variable name after \"$\" in \"%s\"", text);
            goto fail;
        }
        if (braced)
            i++;
        const char *name = text + start;

        if (len > 5 && strncmp(name, "http_", 5) == 0) {
            /* header names are matched lower-case with '-' for '_', as nginx does */
            size_t hl = len - 5;
            for (size_t k = 0; k < hl; k++)
                st[k] = name[5 + k] == '_' ? '-' : lower(name[5 + k]);
            add_part(t, JN_VAR_HTTP_HEADER, st, hl);
            st += hl;
            t->has_vars = true;
            continue;
        }
        size_t k = 0;
        while (k < JN_ARRAY_LEN(var_names) &&
               !(strlen(var_names[k].name) == len && memcmp(var_names[k].name, name, len) == 0))
            k++;
        ssize_t ui = k == JN_ARRAY_LEN(var_names) ? jn_user_var_find(u, name, len) : -1;
        if (ui >= 0) {
            add_part(t, JN_VAR_USER, NULL, (size_t)ui);
            t->has_vars = true;
            continue;
        }
        if (k == JN_ARRAY_LEN(var_names)) {
            unknown_var(name, len, err, errlen);
            goto fail;
        }
        add_part(t, var_names[k].id, NULL, 0);
        t->has_vars = true;
    }
    return 0;
fail:
    jn_template_free(t);
    return JN_ECONFIG;
}

void jn_template_free(struct jn_template *t)
{
    free(t->parts);
    free(t->storage);
    memset(t, 0, sizeof(*t));
}

/* ---- evaluation ---- */

struct out {
    char *p;
    size_t len, cap;
    int depth; /* user variables evaluating user variables */
    bool log_mode;
    bool over; /* something did not fit */
    bool bad;  /* a header value held CR, LF or NUL */
};

static void put_raw(struct out *o, const char *s, size_t n)
{
    size_t room = o->cap - o->len;
    if (n > room) {
        n = room;
        o->over = true;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static bool needs_escape(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c > 0x7e;
}

/* A value: escaped in log mode, checked for header splitting otherwise;
 * lower_case for $host. */
static void put_value(struct out *o, const char *s, size_t n, bool lower_case)
{
    if (!o->log_mode) {
        for (size_t i = 0; i < n; i++)
            if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
                o->bad = true;
        if (o->bad)
            return;
        if (!lower_case) {
            put_raw(o, s, n);
            return;
        }
    } else if (!lower_case) {
        size_t i = 0;
        while (i < n && !needs_escape((unsigned char)s[i]))
            i++;
        if (i == n) {
            put_raw(o, s, n);
            return;
        }
    }
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n && !o->over; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o->log_mode && needs_escape(c)) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put_raw(o, e, 4);
        } else {
            char ch = lower_case ? lower((char)c) : (char)c;
            put_raw(o, &ch, 1);
        }
    }
}

static void put_str(struct out *o, const char *s)
{
    put_value(o, s, strlen(s), false);
}

static void put_unknown(struct out *o)
{
    if (o->log_mode)
        put_raw(o, "-", 1);
}

static void put_u64(struct out *o, uint64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_raw(o, b + i, sizeof(b) - i);
}

/* "1.234": microseconds as seconds with milliseconds, truncated as nginx does */
static void put_seconds(struct out *o, int64_t us)
{
    int64_t ms = us / 1000;
    put_u64(o, (uint64_t)(ms / 1000));
    char frac[4] = {'.', (char)('0' + ms % 1000 / 100), (char)('0' + ms % 100 / 10),
                    (char)('0' + ms % 10)};
    put_raw(o, frac, 4);
}

/* The local time strings change once a second; each thread formats them once. */
struct time_cache {
    int64_t sec;
    char local[40]; /* 27/Nov/2026:15:10:00 +0000 */
    size_t local_len;
    char iso[40]; /* 2026-11-27T15:10:00+00:00 */
    size_t iso_len;
};
static __thread struct time_cache tcache = {.sec = -1};

static const struct time_cache *format_time(int64_t sec)
{
    if (tcache.sec == sec)
        return &tcache;
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)sec;
    struct tm tm;
    localtime_r(&tt, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int n = snprintf(tcache.local, sizeof(tcache.local), "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld",
                     tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, sign, off / 60, off % 60);
    tcache.local_len = (size_t)JN_MAX(n, 0);
    n = snprintf(tcache.iso, sizeof(tcache.iso), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 sign, off / 60, off % 60);
    tcache.iso_len = (size_t)JN_MAX(n, 0);
    tcache.sec = sec;
    return &tcache;
}

static bool name_eq(const char *a, size_t la, const char *lower_b, size_t lb)
{
    if (la != lb)
        return false;
    for (size_t i = 0; i < la; i++)
        if (lower(a[i]) != lower_b[i])
            return false;
    return true;
}

/* Every field with this name, joined as nginx does since 1.23: ", ", or "; "
 * for Cookie. Returns false when there is none. */
static bool put_header(struct out *o, const struct jn_http_request *req, const char *name,
                       size_t len)
{
    if (req == NULL)
        return false;
    const char *sep = name_eq(name, len, "cookie", 6) ? "; " : ", ";
    bool found = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct jn_http_header *h = &req->headers[i];
        if (!name_eq(h->name, h->name_len, name, len))
            continue;
        if (found)
            put_raw(o, sep, 2);
        put_value(o, h->value, h->value_len, false);
        found = true;
    }
    return found;
}

/* The path without the query, and the query (NULL when there is no '?'). */
static void split_path(const struct jn_http_request *req, size_t *path_len, const char **args,
                       size_t *args_len)
{
    const char *q = memchr(req->path, '?', req->path_len);
    *path_len = q ? (size_t)(q - req->path) : req->path_len;
    *args = q ? q + 1 : NULL;
    *args_len = q ? req->path_len - *path_len - 1 : 0;
}

/* The variables of the response and the connection (access logs, TLS). */
static void eval_response_var(struct out *o, const struct jn_var_part *part,
                              const struct jn_var_ctx *c)
{
    switch (part->id) {
    case JN_VAR_HTTPS:
        put_raw(o, "on", c->ssl_protocol ? 2 : 0);
        return;
    case JN_VAR_SSL_PROTOCOL:
        c->ssl_protocol ? put_str(o, c->ssl_protocol) : put_unknown(o);
        return;
    case JN_VAR_SSL_CIPHER:
        c->ssl_cipher ? put_str(o, c->ssl_cipher) : put_unknown(o);
        return;
    case JN_VAR_SSL_SERVER_NAME:
        c->ssl_server_name && c->ssl_server_name[0] ? put_str(o, c->ssl_server_name)
                                                    : put_unknown(o);
        return;
    case JN_VAR_STATUS: {
        /* nginx prints "000" before a status exists */
        unsigned s = c->status > 0 && c->status < 1000 ? (unsigned)c->status : 0;
        char b[3] = {(char)('0' + s / 100), (char)('0' + s / 10 % 10), (char)('0' + s % 10)};
        put_raw(o, b, 3);
        return;
    }
    case JN_VAR_BODY_BYTES_SENT:
        put_u64(o, c->body_bytes_sent);
        return;
    case JN_VAR_BYTES_SENT:
        put_u64(o, c->bytes_sent);
        return;
    case JN_VAR_REQUEST_LENGTH:
        put_u64(o, c->request_length);
        return;
    case JN_VAR_UPSTREAM_ADDR:
        c->upstream_addr ? put_str(o, c->upstream_addr) : put_unknown(o);
        return;
    case JN_VAR_UPSTREAM_STATUS:
        c->upstream_status ? put_str(o, c->upstream_status) : put_unknown(o);
        return;
    case JN_VAR_UPSTREAM_RESPONSE_TIME:
        c->upstream_response_time_us >= 0 ? put_seconds(o, c->upstream_response_time_us)
                                          : put_unknown(o);
        return;
    case JN_VAR_UPSTREAM_CONNECT_TIME:
        /* the struct starts zeroed: only a request that reached an upstream has one */
        c->upstream_connect_time_us > 0 || (c->upstream_addr && c->upstream_connect_time_us == 0)
            ? put_seconds(o, c->upstream_connect_time_us)
            : put_unknown(o);
        return;
    case JN_VAR_UPSTREAM_HEADER_TIME:
        c->upstream_header_time_us > 0 && c->upstream_addr ? put_seconds(o, c->upstream_header_time_us)
                                                            : put_unknown(o);
        return;
    case JN_VAR_UPSTREAM_RESPONSE_LENGTH:
        c->upstream_response_length > 0 || (c->upstream_addr && c->upstream_response_length == 0)
            ? put_u64(o, (uint64_t)c->upstream_response_length)
            : put_unknown(o);
        return;
    case JN_VAR_REQUEST_TIME:
        c->request_time_us >= 0 ? put_seconds(o, c->request_time_us) : put_unknown(o);
        return;
    case JN_VAR_TIME_LOCAL:
    case JN_VAR_TIME_ISO8601:
        if (c->time_sec <= 0) {
            put_unknown(o);
        } else {
            const struct time_cache *tc = format_time(c->time_sec);
            if (part->id == JN_VAR_TIME_LOCAL)
                put_raw(o, tc->local, tc->local_len);
            else
                put_raw(o, tc->iso, tc->iso_len);
        }
        return;
    case JN_VAR_MSEC: {
        if (c->time_sec <= 0) {
            put_unknown(o);
            return;
        }
        put_u64(o, (uint64_t)c->time_sec);
        int ms = c->time_msec < 0 ? 0 : c->time_msec % 1000;
        char frac[4] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                        (char)('0' + ms % 10)};
        put_raw(o, frac, 4);
        return;
    }
    case JN_VAR_CONNECTION:
        put_u64(o, c->connection);
        return;
    case JN_VAR_CONNECTION_REQUESTS:
        put_u64(o, c->connection_requests);
        return;
    default:
        break;
    }
    put_unknown(o);
}

static void eval_user(struct out *o, size_t idx, const struct jn_var_ctx *c);

/* $server_protocol: the request line's version, or the ctx's (HTTP/2.0). */
static const char *protocol(const struct jn_var_ctx *c, const struct jn_http_request *req)
{
    if (c->protocol)
        return c->protocol;
    return req->minor_version ? "HTTP/1.1" : "HTTP/1.0";
}

static void eval_var(struct out *o, const struct jn_var_part *part, const struct jn_var_ctx *c)
{
    const struct jn_http_request *req = c->req;
    switch (part->id) {
    case JN_VAR_LITERAL:
        put_raw(o, part->text, part->len);
        return;
    case JN_VAR_HOST:
        if (req && req->host && req->host_len) {
            size_t n = req->host_len;
            const char *h = req->host;
            if (h[0] == '[') {
                const char *end = memchr(h, ']', n);
                if (end)
                    n = (size_t)(end - h) + 1;
            } else {
                const char *colon = memchr(h, ':', n);
                if (colon)
                    n = (size_t)(colon - h);
                if (n > 1 && h[n - 1] == '.')
                    n--; /* "example.com." is example.com, as nginx */
            }
            put_value(o, h, n, true);
        } else if (c->server_name) {
            put_str(o, c->server_name);
        } else {
            put_unknown(o);
        }
        return;
    case JN_VAR_HTTP_HEADER:
        if (!put_header(o, req, part->text, part->len))
            put_unknown(o);
        return;
    case JN_VAR_REMOTE_ADDR:
        c->remote_addr ? put_str(o, c->remote_addr) : put_unknown(o);
        return;
    case JN_VAR_REMOTE_PORT:
        c->remote_port > 0 ? put_u64(o, (uint64_t)c->remote_port) : put_unknown(o);
        return;
    case JN_VAR_REMOTE_USER: /* no auth_basic in jern */
        put_unknown(o);
        return;
    case JN_VAR_PROXY_ADD_X_FORWARDED_FOR: {
        bool had = put_header(o, req, "x-forwarded-for", 15);
        if (c->remote_addr) {
            if (had)
                put_raw(o, ", ", 2);
            put_str(o, c->remote_addr);
        } else if (!had) {
            put_unknown(o);
        }
        return;
    }
    case JN_VAR_SCHEME:
        c->scheme ? put_str(o, c->scheme) : put_unknown(o);
        return;
    case JN_VAR_REQUEST_URI:
        req ? put_value(o, req->path, req->path_len, false) : put_unknown(o);
        return;
    case JN_VAR_URI:
    case JN_VAR_ARGS:
    case JN_VAR_IS_ARGS: {
        if (req == NULL) {
            put_unknown(o);
            return;
        }
        size_t path_len, args_len;
        const char *args;
        split_path(req, &path_len, &args, &args_len);
        if (part->id == JN_VAR_URI)
            put_value(o, req->path, path_len, false);
        else if (part->id == JN_VAR_IS_ARGS)
            put_raw(o, "?", args ? 1 : 0);
        else if (args)
            put_value(o, args, args_len, false);
        else
            put_unknown(o);
        return;
    }
    case JN_VAR_REQUEST:
        if (req == NULL) {
            put_unknown(o);
            return;
        }
        put_value(o, req->method, req->method_len, false);
        put_raw(o, " ", 1);
        put_value(o, req->target, req->target_len, false);
        put_raw(o, " ", 1);
        put_str(o, protocol(c, req));
        return;
    case JN_VAR_REQUEST_METHOD:
        req ? put_value(o, req->method, req->method_len, false) : put_unknown(o);
        return;
    case JN_VAR_SERVER_PROTOCOL:
        req ? put_str(o, protocol(c, req)) : put_unknown(o);
        return;
    case JN_VAR_SERVER_PORT:
        c->server_port ? put_str(o, c->server_port) : put_unknown(o);
        return;
    case JN_VAR_SERVER_NAME:
        c->server_name ? put_str(o, c->server_name) : put_unknown(o);
        return;
    case JN_VAR_PROXY_HOST:
        c->proxy_host ? put_str(o, c->proxy_host) : put_unknown(o);
        return;
    case JN_VAR_USER:
        eval_user(o, part->len, c);
        return;
    default:
        eval_response_var(o, part, c);
        return;
    }
}

/* A user variable nests at most this deep (a set or map naming itself). */
#define USER_DEPTH_MAX 8

static void eval_parts(struct out *o, const struct jn_template *t, const struct jn_var_ctx *ctx)
{
    for (size_t i = 0; i < t->nparts && !o->over && !o->bad; i++)
        eval_var(o, &t->parts[i], ctx);
}

/* The value of user variable idx: the location's last set of it, else its
 * map (the source's value looked up: exact keys first, then the regular
 * expressions in order, then the default), else empty. */
static void eval_user(struct out *o, size_t idx, const struct jn_var_ctx *c)
{
    if (!c->user || idx >= c->user->n || o->depth >= USER_DEPTH_MAX) {
        put_unknown(o);
        return;
    }
    o->depth++;
    for (size_t i = c->nsets; i-- > 0;)
        if (c->sets[i].index == idx) {
            eval_parts(o, &c->sets[i].value, c);
            o->depth--;
            return;
        }
    const struct jn_user_var *v = &c->user->v[idx];
    if (!v->is_map) {
        o->depth--;
        put_unknown(o);
        return;
    }
    char src[1024];
    struct out so = {.p = src, .cap = sizeof(src), .depth = o->depth};
    eval_parts(&so, &v->source, c);
    const struct jn_template *val = &v->dflt;
    if (!so.bad) {
        const struct jn_map_entry *hit = NULL;
        for (size_t i = 0; i < v->nentries && !hit; i++)
            if (!v->entries[i].re && v->entries[i].key_len == so.len &&
                memcmp(v->entries[i].key, src, so.len) == 0)
                hit = &v->entries[i];
        for (size_t i = 0; i < v->nentries && !hit; i++)
            if (v->entries[i].re && jn_regex_match(v->entries[i].re, src, so.len))
                hit = &v->entries[i];
        if (hit)
            val = &hit->value;
    }
    eval_parts(o, val, c);
    o->depth--;
}

ssize_t jn_template_eval(const struct jn_template *t, const struct jn_var_ctx *ctx, bool log_mode,
                         char *out, size_t cap)
{
    struct out o = {.p = out, .cap = cap, .log_mode = log_mode};
    for (size_t i = 0; i < t->nparts && !o.over && !o.bad; i++)
        eval_var(&o, &t->parts[i], ctx);
    if (o.bad)
        return JN_EBADINPUT;
    if (o.over)
        return JN_ETOOBIG;
    return (ssize_t)o.len;
}
