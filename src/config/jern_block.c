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
 *       listen 127.0.0.1:8443 ssl;      # HTTPS for app domains with a certificate
 *       acme_directory URL;             # where certificates for app domains come
 *                                       # from (default Let's Encrypt; off: none)
 *       acme_email ops@example.com;     # the ACME account's contact
 *       acme_ca_bundle FILE;            # trust FILE for the ACME server's HTTPS
 *       cluster http://10.0.0.1:2379;   # join a cluster whose state is in etcd
 *       node oslo-1;                    # this node's name in the cluster
 *       advertise 10.0.0.11;            # the address other nodes reach it at
 *       label jurisdiction=NO;          # placement labels (repeatable)
 *       node_memory 8g;                 # memory offered to instances (default:
 *                                       # the machine's)
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

#include <ctype.h>
#include <stdio.h>

#define APP_SERVER                                                                                 \
    "server { listen %s;%s location / { return 404 \"jern: no app answers at this host (create "   \
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
    if (n->nargs == 2 && strcmp(n->args[1], "ssl") != 0)
        return jn_conf_error(b, n, "invalid parameter \"%s\" in \"listen\": expected ssl",
                             n->args[1]);
    /* "ADDR ssl": HTTPS for the hosts the control plane has certificates for */
    size_t len = strlen(a) + 5;
    char *text = jn_malloc(len);
    snprintf(text, len, "%s%s", a, n->nargs == 2 ? " ssl" : "");
    j->listen[j->nlisten++] = text;
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_acme_directory)
{
    const char *a = n->args[0];
    if (strcmp(a, "off") != 0 && strncmp(a, "https://", 8) != 0 && strncmp(a, "http://", 7) != 0)
        return jn_conf_error(b, n,
                             "invalid acme_directory \"%s\" (a URL: "
                             "https://acme-v02.api.letsencrypt.org/directory, or off)",
                             a);
    return jn_conf_set_jern_string(b, d, n, target);
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
        snprintf(text, sizeof(text), APP_SERVER, j->listen[i],
                 strstr(j->listen[i], " ssl") ? " ssl_reject_handshake on;" : "");
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

/* key=value, both [A-Za-z0-9_.-]{1,63} (docs/CLUSTER.md) */
static bool label_ok(const char *s)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || eq - s > 63 || !eq[1] || strlen(eq + 1) > 63)
        return false;
    for (const char *p = s; *p; p++)
        if (p != eq && !isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return true;
}

JN_CONF_HANDLER(jn_conf_set_jern_label)
{
    struct jn_conf_jern *j = target;
    const char *a = n->args[0];
    if (!label_ok(a))
        return jn_conf_error(b, n,
                             "invalid label \"%s\" (key=value, letters, digits, '_', '.', '-': "
                             "jurisdiction=NO)",
                             a);
    if (j->nlabels == JN_CONF_JERN_MAX_LABELS)
        return jn_conf_error(b, n, "too many labels (at most %d)", JN_CONF_JERN_MAX_LABELS);
    j->labels[j->nlabels++] = jn_strdup(a);
    return 0;
}

JN_CONF_HANDLER(jn_conf_set_jern_node_memory)
{
    struct jn_conf_jern *j = target;
    int64_t size = jn_conf_parse_size(n->args[0]);
    if (size < 1024 * 1024)
        return jn_conf_error(b, n, "invalid node_memory \"%s\" (a size: 512m, 8g)", n->args[0]);
    j->node_memory = size;
    return 0;
}
