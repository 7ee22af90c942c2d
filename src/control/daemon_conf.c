/*
 * daemon_conf.c: the `jern { ... }` block. The config parser (src/config)
 * knows nginx's directives; this file takes jern's own block out of the text
 * with the same lexer, blanks it (keeping newlines, so every line number in a
 * message stays right) and hands the rest to jn_conf_load_text.
 */
#include "core/common.h"

#include "config/lex.h"
#include "config/load.h"
#include "config/value.h"
#include "core/buf.h"
#include "control/daemon_conf.h"
#include "net/sock.h"

#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#define TEXT_MAX (16u << 20)

static const char *const known[] = {"listen",         "state_dir",    "admin",
                                    "base_domain",    "drain_timeout", "acme_directory",
                                    "acme_email",     "acme_ca_bundle", NULL};

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read the configuration: %s", path, strerror(errno));
        return JN_ECONFIG;
    }
    size_t cap = 4096, n = 0;
    char *buf = jn_malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= TEXT_MAX) {
                fclose(f);
                free(buf);
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                return JN_ECONFIG;
            }
            cap *= 2;
            buf = jn_realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: cannot read the configuration", path);
        return JN_ECONFIG;
    }
    *out = buf;
    *len = n;
    return 0;
}

struct directive {
    char name[32];
    char *args[4];
    int nargs;
    int line;
};

static void directive_free(struct directive *d)
{
    for (int i = 0; i < d->nargs; i++)
        free(d->args[i]);
    d->nargs = 0;
}

static int apply(struct jn_daemon_conf *dc, const char *file, struct directive *d, char *err,
                 size_t errlen)
{
    const char *name = d->name;
    int want_min = 1, want_max = 1;
    if (strcmp(name, "admin") == 0 || strcmp(name, "listen") == 0)
        want_max = 2;
    if (d->nargs < want_min || d->nargs > want_max) {
        snprintf(err, errlen, "%s:%d: invalid number of arguments in \"%s\" directive", file,
                 d->line, name);
        return JN_ECONFIG;
    }
    const char *a = d->args[0];
    struct jn_addr addr;
    if (strcmp(name, "listen") == 0) {
        if (dc->nlisten == JN_DAEMON_MAX_LISTEN || jn_addr_parse(a, 80, &addr) < 0 ||
            strncmp(a, "unix:", 5) == 0) {
            snprintf(err, errlen, "%s:%d: invalid listen address \"%s\" (example: 127.0.0.1:8080)",
                     file, d->line, a);
            return JN_ECONFIG;
        }
        if (d->nargs == 2 && strcmp(d->args[1], "ssl") != 0) {
            snprintf(err, errlen, "%s:%d: invalid parameter \"%s\" in \"listen\": expected ssl",
                     file, d->line, d->args[1]);
            return JN_ECONFIG;
        }
        /* "ADDR ssl": HTTPS for the hosts the control plane has certificates for */
        size_t len = strlen(a) + 5;
        char *text = jn_malloc(len);
        snprintf(text, len, "%s%s", a, d->nargs == 2 ? " ssl" : "");
        dc->listen[dc->nlisten++] = text;
    } else if (strcmp(name, "state_dir") == 0) {
        free(dc->state_dir);
        dc->state_dir = jn_strdup(a);
    } else if (strcmp(name, "drain_timeout") == 0) {
        int64_t ms = jn_conf_parse_time(a);
        if (ms < 0) {
            snprintf(err, errlen,
                     "%s:%d: invalid drain_timeout \"%s\" (a time: 30s, 500ms, 2m; 0 waits "
                     "forever)",
                     file, d->line, a);
            return JN_ECONFIG;
        }
        dc->drain_timeout_ms = ms;
    } else if (strncmp(name, "acme_", 5) == 0) {
        char **slot = strcmp(name, "acme_directory") == 0 ? &dc->acme_directory
                      : strcmp(name, "acme_email") == 0   ? &dc->acme_email
                                                          : &dc->acme_ca_bundle;
        if (slot == &dc->acme_directory && strncmp(a, "https://", 8) != 0 &&
            strncmp(a, "http://", 7) != 0) {
            snprintf(err, errlen,
                     "%s:%d: invalid acme_directory \"%s\" (a URL: "
                     "https://acme-v02.api.letsencrypt.org/directory, or off)",
                     file, d->line, a);
            if (strcmp(a, "off") != 0)
                return JN_ECONFIG;
        }
        free(*slot);
        *slot = jn_strdup(a);
    } else if (strcmp(name, "base_domain") == 0) {
        free(dc->base_domain);
        dc->base_domain = jn_strdup(a);
    } else if (strcmp(name, "admin") == 0) {
        if (strncmp(a, "unix:", 5) == 0) {
            if (d->nargs > 1 || a[5] == '\0') {
                snprintf(err, errlen,
                         "%s:%d: \"admin unix:PATH\" takes no token (the socket's "
                         "mode 0600 guards it)",
                         file, d->line);
                return JN_ECONFIG;
            }
            free(dc->admin_unix);
            dc->admin_unix = jn_strdup(a + 5);
            return 0;
        }
        if (jn_addr_parse(a, 0, &addr) < 0) {
            snprintf(err, errlen,
                     "%s:%d: invalid admin address \"%s\" (examples: "
                     "unix:/run/jern.sock, 127.0.0.1:8081 token=SECRET)",
                     file, d->line, a);
            return JN_ECONFIG;
        }
        if (d->nargs < 2 || strncmp(d->args[1], "token=", 6) != 0 || strlen(d->args[1]) < 6 + 16) {
            snprintf(err, errlen,
                     "%s:%d: \"admin %s\" needs token=SECRET with at least 16 "
                     "characters (the TCP admin API is never open without one)",
                     file, d->line, a);
            return JN_ECONFIG;
        }
        free(dc->admin_tcp);
        free(dc->admin_token);
        dc->admin_tcp = jn_strdup(a);
        dc->admin_token = jn_strdup(d->args[1] + 6);
    }
    return 0;
}

/* Finds the top-level jern blocks in text, applies their directives and
 * blanks them. */
static int take_jern_blocks(struct jn_daemon_conf *dc, const char *file, char *text, size_t len,
                            char *err, size_t errlen)
{
    struct jn_lexer lx;
    struct jn_token t;
    jn_lex_init(&lx, text, len);
    int depth = 0;
    bool at_start = true; /* the next word begins a directive */
    for (;;) {
        enum jn_tok_type ty = jn_lex_next(&lx, &t);
        if (ty == JN_TOK_EOF || ty == JN_TOK_ERROR)
            return 0; /* the config parser reports lexical errors with context */
        if (ty == JN_TOK_LBRACE) {
            depth++;
            at_start = true;
            continue;
        }
        if (ty == JN_TOK_RBRACE) {
            depth--;
            at_start = true;
            continue;
        }
        if (ty == JN_TOK_SEMI) {
            at_start = true;
            continue;
        }
        bool is_jern = at_start && depth == 0 && ty == JN_TOK_WORD && t.len == 4 &&
                       memcmp(t.start, "jern", 4) == 0;
        at_start = false;
        if (!is_jern)
            continue;
        size_t start = (size_t)(t.start - text);
        int line = t.line;
        if (jn_lex_next(&lx, &t) != JN_TOK_LBRACE) {
            snprintf(err, errlen, "%s:%d: \"jern\" takes a block: jern { ... }", file, line);
            return JN_ECONFIG;
        }
        struct directive d = {0};
        for (;;) {
            ty = jn_lex_next(&lx, &t);
            if (ty == JN_TOK_ERROR || ty == JN_TOK_EOF) {
                directive_free(&d);
                snprintf(err, errlen, "%s:%d: %s in the jern block", file, t.line,
                         ty == JN_TOK_EOF ? "unexpected end of file" : t.error);
                return JN_ECONFIG;
            }
            if (ty == JN_TOK_RBRACE && d.nargs == 0 && d.name[0] == '\0')
                break;
            if (ty == JN_TOK_LBRACE || ty == JN_TOK_RBRACE) {
                directive_free(&d);
                snprintf(err, errlen,
                         "%s:%d: unexpected \"%c\" in the jern block (directives "
                         "end with ';')",
                         file, t.line, ty == JN_TOK_LBRACE ? '{' : '}');
                return JN_ECONFIG;
            }
            if (ty == JN_TOK_SEMI) {
                if (d.name[0] == '\0') {
                    snprintf(err, errlen, "%s:%d: unexpected \";\"", file, t.line);
                    return JN_ECONFIG;
                }
                int r = apply(dc, file, &d, err, errlen);
                directive_free(&d);
                memset(&d, 0, sizeof(d));
                if (r < 0)
                    return r;
                continue;
            }
            char *v = jn_malloc(t.len + 1);
            jn_lex_value(&t, v);
            if (d.name[0] == '\0') {
                bool ok = false;
                for (const char *const *k = known; *k && !ok; k++)
                    ok = strcmp(*k, v) == 0;
                if (!ok || t.len >= sizeof(d.name)) {
                    snprintf(err, errlen,
                             "%s:%d: unknown directive \"%s\" in the jern block "
                             "(known: listen, state_dir, admin, base_domain, drain_timeout, "
                             "acme_directory, acme_email, acme_ca_bundle)",
                             file, t.line, v);
                    free(v);
                    return JN_ECONFIG;
                }
                snprintf(d.name, sizeof(d.name), "%s", v);
                d.line = t.line;
                free(v);
            } else if (d.nargs == (int)JN_ARRAY_LEN(d.args)) {
                free(v);
                directive_free(&d);
                snprintf(err, errlen, "%s:%d: too many arguments", file, t.line);
                return JN_ECONFIG;
            } else {
                d.args[d.nargs++] = v;
            }
        }
        size_t end = (size_t)(t.start - text) + 1;
        for (size_t i = start; i < end; i++)
            if (text[i] != '\n')
                text[i] = ' ';
        at_start = true;
    }
}

/* The offset of the '}' closing the top-level http block, or -1 when the
 * file has none. */
static ssize_t http_close(const char *text, size_t len)
{
    struct jn_lexer lx;
    struct jn_token t;
    jn_lex_init(&lx, text, len);
    int depth = 0;
    bool in_http = false, at_start = true;
    enum jn_tok_type ty;
    while ((ty = jn_lex_next(&lx, &t)) != JN_TOK_EOF && ty != JN_TOK_ERROR) {
        if (ty == JN_TOK_LBRACE) {
            depth++;
            at_start = true;
        } else if (ty == JN_TOK_RBRACE) {
            if (--depth == 0 && in_http)
                return t.start - text;
            at_start = true;
        } else if (ty == JN_TOK_SEMI) {
            at_start = true;
        } else {
            if (at_start && depth == 0 && ty == JN_TOK_WORD && t.len == 4 &&
                memcmp(t.start, "http", 4) == 0)
                in_http = true;
            at_start = false;
        }
    }
    return -1;
}

/* One server per jern listen address: the gateway routes a Host that no
 * server_name claims to the app of that host, else to this server's 404. */
static void app_servers(const struct jn_daemon_conf *dc, struct jn_buf *b)
{
    for (size_t i = 0; i < dc->nlisten; i++)
        jn_buf_printf(b,
                      " server { listen %s;%s location / { return 404 \"jern: no app answers at "
                      "this host (create one with: jern create NAME)\\n\"; } }",
                      dc->listen[i],
                      strstr(dc->listen[i], " ssl") ? " ssl_reject_handshake on;" : "");
}

int jn_daemon_conf_load(const char *path, struct jn_daemon_conf *dc, struct jn_conf **conf,
                        char *err, size_t errlen)
{
    memset(dc, 0, sizeof(*dc));
    dc->drain_timeout_ms = 30000;
    *conf = NULL;
    char *text = NULL;
    size_t len = 0;
    int r = 0;
    if (path) {
        if ((r = read_file(path, &text, &len, err, errlen)) < 0)
            return r;
        if ((r = take_jern_blocks(dc, path, text, len, err, errlen)) < 0) {
            free(text);
            jn_daemon_conf_free(dc);
            return r;
        }
    }
    ssize_t close_at = text ? http_close(text, len) : -1;
    bool listen_given = dc->nlisten > 0;
    if (!listen_given && close_at < 0)
        dc->listen[dc->nlisten++] = jn_strdup("127.0.0.1:8080");
    /* Spliced in on existing lines (no newline added), so every line number
     * in a message still points into the user's file. */
    struct jn_buf b;
    jn_buf_init(&b, TEXT_MAX + 64 * 1024);
    if (close_at >= 0) {
        jn_buf_append(&b, text, (size_t)close_at);
        if (listen_given)
            app_servers(dc, &b);
        jn_buf_append(&b, text + close_at, len - (size_t)close_at);
    } else {
        if (text)
            jn_buf_append(&b, text, len);
        else /* the embedded defaults: use every CPU, as a server should */
            jn_buf_puts(&b, "worker_processes auto;");
        jn_buf_puts(&b, "\nhttp {");
        app_servers(dc, &b);
        jn_buf_puts(&b, " }\n");
    }
    free(text);
    const char *name = path ? path : "(embedded)";
    char *copy = jn_strdup(path ? path : "./x");
    r = jn_conf_load_text(name, dirname(copy), b.data, b.len, 0, conf, err, errlen);
    free(copy);
    jn_buf_free(&b);
    if (r < 0) {
        jn_daemon_conf_free(dc);
        return r;
    }
    /* Apps answer on every address of the http block: show them. */
    for (size_t i = 0; !listen_given && close_at >= 0 && i < (*conf)->nservers; i++) {
        const struct jn_conf_server *sv = &(*conf)->servers[i];
        for (size_t k = 0; k < sv->nlistens && dc->nlisten < JN_DAEMON_MAX_LISTEN; k++) {
            bool dup = false;
            for (size_t m = 0; m < dc->nlisten && !dup; m++)
                dup = strcmp(dc->listen[m], sv->listens[k].text) == 0;
            if (!dup)
                dc->listen[dc->nlisten++] = jn_strdup(sv->listens[k].text);
        }
    }
    if (!dc->state_dir) {
        const char *env = getenv("JERN_STATE");
        dc->state_dir = jn_strdup(env && *env ? env : "jern-state");
    }
    if (!dc->admin_unix) {
        size_t n = strlen(dc->state_dir) + sizeof("/admin.sock");
        dc->admin_unix = jn_malloc(n);
        snprintf(dc->admin_unix, n, "%s/admin.sock", dc->state_dir);
    }
    if (!dc->base_domain)
        dc->base_domain = jn_strdup("localhost");
    if (!dc->acme_directory) {
        const char *env = getenv("JERN_ACME_DIRECTORY");
        dc->acme_directory = jn_strdup(env && *env ? env : JN_ACME_DEFAULT_DIRECTORY);
    }
    return 0;
}

void jn_daemon_conf_free(struct jn_daemon_conf *dc)
{
    for (size_t i = 0; i < dc->nlisten; i++)
        free(dc->listen[i]);
    free(dc->state_dir);
    free(dc->admin_unix);
    free(dc->admin_tcp);
    if (dc->admin_token)
        explicit_bzero(dc->admin_token, strlen(dc->admin_token));
    free(dc->admin_token);
    free(dc->base_domain);
    free(dc->acme_directory);
    free(dc->acme_email);
    free(dc->acme_ca_bundle);
    memset(dc, 0, sizeof(*dc));
}
