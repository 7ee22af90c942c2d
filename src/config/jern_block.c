/*
 * jern_block.c: the `jern { ... }` block of `jern serve` (docs/CONFIG.md),
 * through the directive table like every other block:
 *
 *   jern {
 *       listen 127.0.0.1:8080;          # where apps answer (repeatable)
 *       state_dir /var/lib/jern;        # the store and the admin socket
 *       admin unix:/run/jern.sock;      # admin API on a unix socket (mode 0600)
 *       admin 127.0.0.1:8081 token=S;   # and/or on TCP, bearer token required
 *       base_domain localhost;          # apps answer at APP.BASE
 *       drain_timeout 30s;              # requests left on a drained/removed server
 *       instance_log_size 10m;          # an instance's log rotates past this size
 *       instance_log_files 3;           # rotated files kept per instance (0-9)
 *       log_retention 24h;              # kept logs of destroyed apps, failed releases
 *   }
 *
 * The values land in conf->jern; control/daemon_conf.c adds the defaults.
 * The block is applied before the http block, whose handler then adds one
 * server per listen address (jn_conf_jern_app_servers).
 */
#include "config/build.h"

#include "config/load.h"
#include "config/value.h"
#include "net/sock.h"

#include <stdio.h>

#define APP_SERVER                                                                                 \
    "server { listen %s; location / { return 404 \"jern: no app answers at this host (create "     \
    "one with: jern create NAME)\\n\"; } }"

JN_CONF_HANDLER(jn_conf_set_jern)
{
    if (!(b->flags & JN_CONF_DAEMON))
        return jn_conf_error(b, n,
                             "the \"jern\" block is read by jern serve; jern gateway takes "
                             "nginx's directives only");
    return jn_conf_walk(b, n, JN_CTX_JERN, &b->conf->jern);
}

JN_CONF_HANDLER(jn_conf_set_jern_listen)
{
    struct jn_conf_jern *j = target;
    const char *a = n->args[0];
    struct jn_addr addr;
    if (j->nlisten == JN_CONF_JERN_MAX_LISTEN || jn_addr_parse(a, 80, &addr) < 0 ||
        strncmp(a, "unix:", 5) == 0)
        return jn_conf_error(b, n, "invalid listen address \"%s\" (example: 127.0.0.1:8080)", a);
    j->listen[j->nlisten++] = jn_strdup(a);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_string)
{
    char **field = (char **)((char *)target + d->offset);
    free(*field);
    *field = jn_strdup(n->args[0]);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_drain_timeout)
{
    struct jn_conf_jern *j = target;
    int64_t ms = jn_conf_parse_time(n->args[0]);
    if (ms < 0)
        return jn_conf_error(b, n,
                             "invalid drain_timeout \"%s\" (a time: 30s, 500ms, 2m; 0 waits "
                             "forever)",
                             n->args[0]);
    j->drain_timeout_ms = ms;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_instance_log_size)
{
    struct jn_conf_jern *j = target;
    int64_t size = jn_conf_parse_size(n->args[0]);
    if (size < 4096)
        return jn_conf_error(b, n,
                             "invalid instance_log_size \"%s\" (a size of at least 4k: 512k, 10m)",
                             n->args[0]);
    j->instance_log_size = size;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_instance_log_files)
{
    struct jn_conf_jern *j = target;
    long v;
    if (jn_conf_parse_int(n->args[0], 0, 9, &v) < 0)
        return jn_conf_error(b, n,
                             "invalid instance_log_files \"%s\" (rotated files kept per "
                             "instance: 0 to 9)",
                             n->args[0]);
    j->instance_log_files = (int)v;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_log_retention)
{
    struct jn_conf_jern *j = target;
    int64_t ms = jn_conf_parse_time(n->args[0]);
    if (ms <= 0)
        return jn_conf_error(b, n, "invalid log_retention \"%s\" (a time: 24h, 7d, 30m)",
                             n->args[0]);
    j->log_retention_ms = ms;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_admin)
{
    struct jn_conf_jern *j = target;
    const char *a = n->args[0];
    if (strncmp(a, "unix:", 5) == 0) {
        if (n->nargs > 1 || a[5] == '\0')
            return jn_conf_error(b, n,
                                 "\"admin unix:PATH\" takes no token (the socket's mode 0600 "
                                 "guards it)");
        free(j->admin_unix);
        j->admin_unix = jn_strdup(a + 5);
        return 0;
    }
    struct jn_addr addr;
    if (jn_addr_parse(a, 0, &addr) < 0)
        return jn_conf_error(b, n,
                             "invalid admin address \"%s\" (examples: unix:/run/jern.sock, "
                             "127.0.0.1:8081 token=SECRET)",
                             a);
    if (n->nargs < 2 || strncmp(n->args[1], "token=", 6) != 0 || strlen(n->args[1]) < 6 + 16)
        return jn_conf_error(b, n,
                             "\"admin %s\" needs token=SECRET with at least 16 characters (the "
                             "TCP admin API is never open without one)",
                             a);
    free(j->admin_tcp);
    free(j->admin_token);
    j->admin_tcp = jn_strdup(a);
    j->admin_token = jn_strdup(n->args[1] + 6);
    return 0;
}

int jn_conf_jern_app_servers(struct jn_conf_build *b, struct jn_conf_level *lvl)
{
    struct jn_conf_jern *j = &b->conf->jern;
    /* Without a listen directive, apps answer on the http block's own
     * addresses (the daemon lists them), or on 127.0.0.1:8080 when the file
     * has no http block. */
    if (j->nlisten == 0 && b->http_added)
        j->listen[j->nlisten++] = jn_strdup("127.0.0.1:8080");
    static const struct jn_conf_src src = {.name = "(jern app servers)", .dir = "."};
    for (size_t i = 0; i < j->nlisten; i++) {
        char text[512];
        snprintf(text, sizeof(text), APP_SERVER, j->listen[i]);
        struct jn_conf_node parent = {.src = &src};
        int rc = jn_conf_parse(&src, text, strlen(text), &parent.children, &parent.nchildren,
                               b->err, b->errlen);
        if (rc == 0)
            rc = jn_conf_validate(b, parent.children, parent.nchildren, JN_CTX_HTTP);
        if (rc == 0)
            rc = jn_conf_walk(b, &parent, JN_CTX_HTTP, lvl);
        jn_conf_nodes_free(parent.children, parent.nchildren);
        if (rc < 0)
            return rc;
    }
    return 0;
}
