/* server.c: "server { ... }" in http, its listen/server_name, its locations,
 * and what a location does (proxy_pass, return). */
#include "config/build.h"

#include "config/value.h"

#include <ctype.h>

static bool looks_like_host_name(const char *s)
{
    if (s[0] == '[' || strncmp(s, "unix:", 5) == 0)
        return false;
    for (const char *p = s; *p && *p != ':'; p++)
        if (isalpha((unsigned char)*p))
            return true;
    return false;
}

static void add_listen(struct jn_conf_server *srv, const char *text, const struct jn_addr *a,
                       bool def, bool ssl, bool http2, int line)
{
    struct jn_conf_listen *l = jn_conf_grow(&srv->listens, &srv->nlistens, sizeof(*l));
    l->text = jn_strdup(text);
    l->addr = *a;
    l->default_server = def;
    l->ssl = ssl;
    l->http2 = http2;
    l->line = line;
}

/* nginx's server-level rewrite phase (its rewrite, if and return) runs
 * before location matching, so it sees every request of the server: its
 * statements go first in every location's, its return replaces theirs (and
 * what they would have run before it), and a "/" location is added for
 * requests that match none. */
static void apply_server_rewrites(struct jn_conf_server_build *sb, int line)
{
    struct jn_conf_server *srv = sb->srv;
    bool has_root = false;
    for (size_t i = 0; i < srv->nlocations; i++) {
        struct jn_conf_location *loc = &srv->locations[i];
        if (!loc->exact && !loc->regex && strcmp(loc->prefix, "/") == 0)
            has_root = true;
        if (sb->return_code) {
            loc->return_code = sb->return_code;
            free(loc->return_text);
            loc->return_text = sb->return_text ? jn_strdup(sb->return_text) : NULL;
            jn_conf_rewrites_free(loc->rewrites, loc->nrewrites);
            loc->rewrites = NULL;
            loc->nrewrites = 0;
        }
        struct jn_conf_rewrite *own = loc->rewrites;
        size_t nown = loc->nrewrites;
        loc->rewrites = NULL;
        loc->nrewrites = 0;
        jn_conf_rewrites_copy(&loc->rewrites, &loc->nrewrites, sb->rewrites, sb->nrewrites);
        jn_conf_rewrites_copy(&loc->rewrites, &loc->nrewrites, own, nown);
        jn_conf_rewrites_free(own, nown);
    }
    if (!has_root) {
        struct jn_conf_location *loc =
            jn_conf_grow(&srv->locations, &srv->nlocations, sizeof(*loc));
        loc->prefix = jn_strdup("/");
        loc->line = line;
        jn_conf_settings_copy(&loc->s, &srv->s);
        loc->return_code = sb->return_code;
        loc->return_text = sb->return_text ? jn_strdup(sb->return_text) : NULL;
        jn_conf_rewrites_copy(&loc->rewrites, &loc->nrewrites, sb->rewrites, sb->nrewrites);
    }
}

JN_CONF_HANDLER(jn_conf_set_server)
{
    struct jn_conf_level *http = target;
    struct jn_conf *c = b->conf;
    /* no other server is added while this one is built: srv stays valid */
    struct jn_conf_server *srv = jn_conf_grow(&c->servers, &c->nservers, sizeof(*srv));
    srv->line = n->line;
    jn_conf_settings_copy(&srv->s, http->s);
    struct jn_conf_server_build sb = {.lvl = {.s = &srv->s, .ctx = JN_CTX_SERVER}, .srv = srv};
    int rc = jn_conf_walk(b, n, JN_CTX_SERVER, &sb);
    if (rc == 0 && srv->nlistens == 0) {
        /* as nginx run by root: a server without listen listens on *:80 */
        struct jn_addr a;
        jn_addr_parse("80", 80, &a);
        add_listen(srv, "80", &a, false, false, false, n->line);
    }
    if (rc == 0 && (sb.return_code || sb.nrewrites))
        apply_server_rewrites(&sb, n->line);
    free(sb.return_text);
    jn_conf_rewrites_free(sb.rewrites, sb.nrewrites);
    return rc;
}

JN_CONF_HANDLER(jn_conf_set_listen)
{
    struct jn_conf_server_build *sb = target;
    const char *text = n->args[0];
    struct jn_addr a;
    if (jn_addr_parse(text, 80, &a) < 0) {
        if (looks_like_host_name(text))
            return jn_conf_error(b, n,
                                 "host name in \"listen %s\" is not supported: jern never resolves "
                                 "DNS; use an IP address, localhost, * or just the port",
                                 text);
        return jn_conf_error(b, n,
                             "invalid address \"%s\" in \"listen\" directive: expected [IP:]PORT, "
                             "[IPv6]:PORT or unix:/path",
                             text);
    }
    bool def = false, ssl = false, http2 = false;
    for (size_t i = 1; i < n->nargs; i++) {
        const char *p = n->args[i];
        if (strcmp(p, "default_server") == 0 || strcmp(p, "default") == 0)
            def = true;
        else if (strcmp(p, "ssl") == 0)
            ssl = true;
        else if (strcmp(p, "reuseport") == 0)
            continue; /* jern always listens with SO_REUSEPORT, one socket per worker */
        else if (strcmp(p, "http2") == 0)
            http2 = true; /* nginx's older form of "http2 on" */
        else if (strcmp(p, "quic") == 0)
            return jn_conf_error(b, n,
                                 "\"quic\" in \"listen\" directive is not supported: jern speaks "
                                 "HTTP/1.1 and HTTP/2 (with or without TLS)");
        else
            return jn_conf_error(b, n,
                                 "invalid parameter \"%s\" in \"listen\" directive: expected "
                                 "default_server, ssl, http2 or reuseport",
                                 p);
    }
    for (size_t i = 0; i < sb->srv->nlistens; i++)
        if (jn_addr_equal(&sb->srv->listens[i].addr, &a))
            return jn_conf_error(b, n, "duplicate listen %s in this server (first on line %d)",
                                 text, sb->srv->listens[i].line);
    if (def) {
        /* servers are built in file order: every earlier one is complete */
        const struct jn_conf *c = b->conf;
        for (size_t i = 0; i < c->nservers; i++)
            for (size_t j = 0; j < c->servers[i].nlistens; j++) {
                const struct jn_conf_listen *o = &c->servers[i].listens[j];
                if (o->default_server && jn_addr_equal(&o->addr, &a)) {
                    char buf[128];
                    return jn_conf_error(b, n,
                                         "a duplicate default server for %s (the first is the "
                                         "server on line %d)",
                                         jn_addr_format(&a, buf, sizeof(buf)), c->servers[i].line);
                }
            }
    }
    add_listen(sb->srv, text, &a, def, ssl, http2, n->line);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_server_name)
{
    struct jn_conf_server *srv = ((struct jn_conf_server_build *)target)->srv;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *name = n->args[i];
        if (name[0] == '~') {
            if (!name[1])
                return jn_conf_error(b, n, "empty regular expression in \"server_name\"");
            /* compiled with the routes (gateway/snapshot.c); kept as written */
            char **slot = jn_conf_grow(&srv->server_names, &srv->nserver_names, sizeof(*slot));
            *slot = jn_strdup(name);
            continue;
        }
        const char *star = strchr(name, '*');
        if (star && !(star == name && name[1] == '.') &&
            !(star[1] == '\0' && star > name && star[-1] == '.'))
            return jn_conf_error(b, n,
                                 "invalid server name \"%s\": a wildcard \"*\" may only be the "
                                 "first or the last part, as in *.example.com or www.example.*",
                                 name);
        if (star && strchr(star + 1, '*'))
            return jn_conf_error(b, n, "invalid server name \"%s\": only one \"*\" is allowed",
                                 name);
        char *lower = jn_strdup(name);
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        char **slot = jn_conf_grow(&srv->server_names, &srv->nserver_names, sizeof(*slot));
        *slot = lower;
    }
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_location)
{
    struct jn_conf_server_build *sb = target;
    struct jn_conf_server *srv = sb->srv;
    const char *mod = n->nargs == 2 ? n->args[0] : "";
    const char *prefix = n->nargs == 2 ? n->args[1] : n->args[0];
    bool exact = false;
    /* nginx also accepts the modifier glued to the path: "location =/x" */
    if (n->nargs == 1 && prefix[0] == '=' && prefix[1]) {
        mod = "=";
        prefix++;
    } else if (n->nargs == 1 && prefix[0] == '^' && prefix[1] == '~' && prefix[2]) {
        mod = "^~";
        prefix += 2;
    }
    bool regex = false, caseless = false;
    if (n->nargs == 1 && prefix[0] == '~') { /* the modifier glued to the expression */
        mod = prefix[1] == '*' ? "~*" : "~";
        prefix += strlen(mod);
    }
    if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0) {
        regex = true;
        caseless = mod[1] == '*';
        if (!prefix[0])
            return jn_conf_error(b, n, "empty regular expression in \"location\"");
    }
    if (prefix[0] == '@')
        return jn_conf_error(b, n, "named locations (\"%s\") are not supported", prefix);
    if (strcmp(mod, "=") == 0)
        exact = true;
    else if (mod[0] && !regex && strcmp(mod, "^~") != 0)
        return jn_conf_error(b, n,
                             "invalid location modifier \"%s\": expected \"=\", \"^~\", \"~\" or "
                             "\"~*\"",
                             mod);
    if (!regex && prefix[0] != '/')
        return jn_conf_error(
            b, n, "location \"%s\" would never match: a location starts with \"/\"", prefix);
    for (size_t i = 0; i < srv->nlocations; i++)
        if (srv->locations[i].exact == exact && srv->locations[i].regex == regex &&
            srv->locations[i].caseless == caseless && strcmp(srv->locations[i].prefix, prefix) == 0)
            return jn_conf_error(b, n, "duplicate location \"%s\" (first on line %d)", prefix,
                                 srv->locations[i].line);
    /* no other location is added while this one is built: loc stays valid */
    struct jn_conf_location *loc = jn_conf_grow(&srv->locations, &srv->nlocations, sizeof(*loc));
    loc->prefix = jn_strdup(prefix);
    loc->exact = exact;
    loc->regex = regex;
    loc->caseless = caseless;
    loc->stop_regex = strcmp(mod, "^~") == 0;
    loc->line = n->line;
    jn_conf_settings_copy(&loc->s, sb->lvl.s);
    struct jn_conf_location_build lb = {.lvl = {.s = &loc->s, .ctx = JN_CTX_LOCATION}, .loc = loc};
    return jn_conf_walk(b, n, JN_CTX_LOCATION, &lb);
}

JN_CONF_HANDLER(jn_conf_set_proxy_pass)
{
    struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
    const char *url = n->args[0];
    if (strncmp(url, "https://", 8) == 0)
        return jn_conf_error(b, n,
                             "\"proxy_pass %s\": https upstreams are not supported yet; use "
                             "http:// to a backend on a trusted network",
                             url);
    if (strncmp(url, "http://", 7) != 0)
        return jn_conf_error(b, n,
                             "invalid URL prefix in \"proxy_pass %s\": expected "
                             "http://UPSTREAM_OR_ADDRESS[/URI]",
                             url);
    if (strchr(url, '$')) {
        /* http://$var: the value names an upstream block at run time */
        const char *rest = url + 7;
        if (strchr(rest, '/'))
            return jn_conf_error(b, n,
                                 "\"proxy_pass %s\": with variables, jern supports only "
                                 "http://$name (the value naming an upstream block), no URI part",
                                 url);
        loc->pass_target = jn_strdup(rest);
        loc->pass_var = true;
        return 0;
    }
    const char *rest = url + 7;
    const char *slash;
    if (strncmp(rest, "unix:", 5) == 0) {
        /* nginx's form: http://unix:/path/to.sock:/uri */
        const char *colon = strchr(rest + 5, ':');
        slash = colon ? colon + 1 : rest + strlen(rest);
        if (colon && *slash != '/')
            return jn_conf_error(b, n,
                                 "invalid URI after the socket path in \"proxy_pass %s\": expected "
                                 "http://unix:/path.sock:/uri",
                                 url);
        loc->pass_target = jn_strndup(rest, (size_t)((colon ? colon : slash) - rest));
    } else {
        slash = strchr(rest, '/');
        if (!slash)
            slash = rest + strlen(rest);
        loc->pass_target = jn_strndup(rest, (size_t)(slash - rest));
    }
    loc->pass_uri = *slash ? jn_strdup(slash) : NULL;
    if (loc->pass_uri && loc->regex)
        return jn_conf_error(b, n,
                             "\"proxy_pass\" cannot have a URI part in a location given by a "
                             "regular expression (nginx's rule): write proxy_pass http://%s;",
                             loc->pass_target);
    if (!loc->pass_target[0])
        return jn_conf_error(b, n, "no host in \"proxy_pass %s\"", url);
    loc->pass_upstream = NULL;
    const struct jn_conf *c = b->conf;
    for (size_t i = 0; i < c->nupstreams; i++)
        if (strcmp(c->upstreams[i].name, loc->pass_target) == 0) {
            loc->pass_upstream = &c->upstreams[i];
            return 0;
        }
    if (jn_addr_parse(loc->pass_target, 80, &loc->pass_addr) < 0) {
        if (looks_like_host_name(loc->pass_target))
            return jn_conf_error(b, n,
                                 "no upstream \"%s\" for \"proxy_pass %s\", and jern never "
                                 "resolves host names: define upstream %s { server IP:PORT; } in "
                                 "the http block, or use an IP address",
                                 loc->pass_target, url, loc->pass_target);
        return jn_conf_error(b, n, "invalid address \"%s\" in \"proxy_pass %s\"", loc->pass_target,
                             url);
    }
    return 0;
}

bool jn_conf_is_redirect_target(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
           strncmp(s, "$scheme", 7) == 0;
}

char *jn_conf_path(const struct jn_conf_node *n, const char *path)
{
    if (path[0] == '/' || !n->src || !n->src->dir)
        return jn_strdup(path);
    size_t len = strlen(n->src->dir) + strlen(path) + 2;
    char *p = jn_malloc(len);
    snprintf(p, len, "%s/%s", n->src->dir, path);
    return p;
}

JN_CONF_HANDLER(jn_conf_set_return)
{
    struct jn_conf_level *lvl = target;
    long code;
    const char *text = NULL;
    if (n->nargs == 1 && jn_conf_is_redirect_target(n->args[0])) {
        code = 302;
        text = n->args[0];
    } else {
        if (jn_conf_parse_int(n->args[0], 100, 599, &code) < 0)
            return jn_conf_error(b, n,
                                 "invalid return code \"%s\": expected a status from 100 to 599, "
                                 "or a URL starting with http://, https:// or $scheme",
                                 n->args[0]);
        if (n->nargs == 2)
            text = n->args[1];
    }
    if (lvl->ctx == JN_CTX_IF)
        return jn_conf_if_return(b, n, target, (int)code, text);
    if (lvl->ctx == JN_CTX_SERVER) {
        struct jn_conf_server_build *sb = target;
        sb->return_code = (int)code;
        free(sb->return_text);
        sb->return_text = text ? jn_strdup(text) : NULL;
    } else {
        struct jn_conf_location *loc = ((struct jn_conf_location_build *)target)->loc;
        loc->return_code = (int)code;
        free(loc->return_text);
        loc->return_text = text ? jn_strdup(text) : NULL;
    }
    return 0;
}
