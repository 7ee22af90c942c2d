/*
 * daemon_conf.c: interim: the embedded defaults only, until the config
 * parser (branch config) is merged; then the jern block is read from -c FILE.
 */
#include "core/common.h"

#include "control/daemon_conf.h"

#include <stdio.h>

int jn_daemon_conf_load(const char *path, struct jn_daemon_conf *dc, struct jn_conf **conf,
                        char *err, size_t errlen)
{
    memset(dc, 0, sizeof(*dc));
    *conf = NULL;
    dc->drain_timeout_ms = 30000;
    if (path) {
        snprintf(err, errlen, "%s: config files need the config parser (branch config, not "
                              "merged yet); run without -c", path);
        return JN_ECONFIG;
    }
    if (dc->nlisten == 0)
        dc->listen[dc->nlisten++] = jn_strdup("127.0.0.1:8080");
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
    memset(dc, 0, sizeof(*dc));
}
