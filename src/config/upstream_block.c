/* upstream_block.c: "upstream NAME { ... }" and the directives inside it. */
#include "config/build.h"

#include "config/value.h"

#include <ctype.h>

JN_CONF_HANDLER(jn_conf_set_upstream)
{
    struct jn_conf *c = b->conf;
    const char *name = n->args[0];
    if (!name[0])
        return jn_conf_error(b, n, "empty upstream name");
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
            return jn_conf_error(b, n,
                                 "invalid upstream name \"%s\": use letters, digits, '_', '-' and "
                                 "'.'",
                                 name);
    for (size_t i = 0; i < c->nupstreams; i++)
        if (strcmp(c->upstreams[i].name, name) == 0)
            return jn_conf_error(b, n, "duplicate upstream \"%s\" (first defined on line %d)", name,
                                 c->upstreams[i].line);
    /* every upstream is defined (phase DEFINE) before any server refers to one,
     * so the array does not move after proxy_pass has pointed into it */
    struct jn_conf_upstream *u = jn_conf_grow(&c->upstreams, &c->nupstreams, sizeof(*u));
    u->name = jn_strdup(name);
    u->line = n->line;
    u->balance = JN_BALANCE_RR;
    u->keepalive = 0;
    u->keepalive_timeout_ms = 60000;
    u->keepalive_requests = 1000;
    int rc = jn_conf_walk(b, n, JN_CTX_UPSTREAM, u);
    if (rc < 0)
        return rc;
    if (u->nservers == 0)
        return jn_conf_error(b, n, "no servers are inside upstream \"%s\"", name);
    return 0;
}

static bool looks_like_host_name(const char *s)
{
    /* letters somewhere in the host part, and it is not an IPv6 literal */
    if (s[0] == '[')
        return false;
    for (const char *p = s; *p && *p != ':'; p++)
        if (isalpha((unsigned char)*p))
            return true;
    return false;
}

/* Parses "KEY=VALUE" parameters of an upstream server line. */
static int server_param(struct jn_conf_build *b, const struct jn_conf_node *n,
                        struct jn_conf_upstream_server *s, const char *a)
{
    long v;
    if (strncmp(a, "weight=", 7) == 0) {
        if (jn_conf_parse_int(a + 7, 1, 1000000, &v) < 0)
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in upstream \"server\": weight must be a "
                                 "number from 1 to 1000000",
                                 a);
        s->weight = (int)v;
    } else if (strncmp(a, "max_fails=", 10) == 0) {
        if (jn_conf_parse_int(a + 10, 0, 1000000, &v) < 0)
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in upstream \"server\": max_fails must be a "
                                 "number, 0 or more",
                                 a);
        s->max_fails = (int)v;
    } else if (strncmp(a, "fail_timeout=", 13) == 0) {
        int64_t ms = jn_conf_parse_time(a + 13);
        if (ms < 0)
            return jn_conf_error(
                b, n,
                "invalid value \"%s\" in upstream \"server\": fail_timeout must be "
                "a time such as 10s",
                a);
        s->fail_timeout_ms = ms;
    } else if (strncmp(a, "max_conns=", 10) == 0) {
        if (jn_conf_parse_int(a + 10, 0, 1 << 30, &v) < 0)
            return jn_conf_error(b, n,
                                 "invalid value \"%s\" in upstream \"server\": max_conns must be a "
                                 "number, 0 (unlimited) or more",
                                 a);
        s->max_conns = (int)v;
    } else if (strcmp(a, "backup") == 0) {
        s->backup = true;
    } else if (strcmp(a, "down") == 0) {
        s->down = true;
    } else {
        return jn_conf_error(b, n,
                             "invalid parameter \"%s\" in upstream \"server\": expected weight=N, "
                             "max_fails=N, fail_timeout=TIME, max_conns=N, backup or down",
                             a);
    }
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_upstream_server)
{
    struct jn_conf_upstream *u = target;
    const char *text = n->args[0];
    struct jn_addr addr;
    if (jn_addr_parse(text, 80, &addr) < 0) {
        if (looks_like_host_name(text))
            return jn_conf_error(b, n,
                                 "host name \"%s\" in upstream \"%s\" is not supported: jern never "
                                 "blocks on DNS; use an IP address, localhost or unix:/path",
                                 text, u->name);
        return jn_conf_error(b, n,
                             "invalid address \"%s\" in upstream \"%s\": expected IP[:PORT], "
                             "[IPv6]:PORT, localhost[:PORT] or unix:/path",
                             text, u->name);
    }
    struct jn_conf_upstream_server s = {
        .addr = addr,
        .weight = 1,
        .max_fails = 1,
        .fail_timeout_ms = 10000,
        .line = n->line,
    };
    for (size_t i = 1; i < n->nargs; i++) {
        int rc = server_param(b, n, &s, n->args[i]);
        if (rc < 0)
            return rc;
    }
    struct jn_conf_upstream_server *slot = jn_conf_grow(&u->servers, &u->nservers, sizeof(*slot));
    *slot = s;
    slot->text = jn_strdup(text);
    return 0;
}

const char *jn_balance_name(enum jn_balance b)
{
    return b == JN_BALANCE_LEAST_CONN ? "least_conn" : b == JN_BALANCE_P2C ? "p2c" : "round_robin";
}

static int set_balance(struct jn_conf_build *b, const struct jn_conf_node *n,
                       struct jn_conf_upstream *u, enum jn_balance how)
{
    if (u->balance_line)
        return jn_conf_error(b, n, "load balancing method redefined (first set on line %d)",
                             u->balance_line);
    u->balance = how;
    u->balance_line = n->line;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_least_conn)
{
    return set_balance(b, n, target, JN_BALANCE_LEAST_CONN);
}

JN_CONF_HANDLER(jn_conf_set_balance)
{
    static const enum jn_balance all[] = {JN_BALANCE_RR, JN_BALANCE_LEAST_CONN, JN_BALANCE_P2C};
    for (size_t i = 0; i < JN_ARRAY_LEN(all); i++)
        if (strcmp(n->args[0], jn_balance_name(all[i])) == 0)
            return set_balance(b, n, target, all[i]);
    return jn_conf_error(b, n,
                         "invalid value \"%s\" in \"balance\" directive: expected round_robin, "
                         "least_conn or p2c",
                         n->args[0]);
}

JN_CONF_HANDLER(jn_conf_set_upstream_number)
{
    return jn_conf_arg_count(b, n, (int *)((char *)target + d->offset));
}

JN_CONF_HANDLER(jn_conf_set_upstream_keepalive_timeout)
{
    int64_t ms = jn_conf_parse_time(n->args[0]);
    if (ms < 0)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"keepalive_timeout\" directive: expected a "
                             "time such as 60s",
                             n->args[0]);
    ((struct jn_conf_upstream *)target)->keepalive_timeout_ms = ms;
    return 0;
}
