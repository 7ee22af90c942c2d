/*
 * daemon_conf.c: the daemon's settings. The `jern { ... }` block is read by
 * the config loader through its directive table (config/jern_block.c, with
 * JN_CONF_DAEMON); this file copies its values and fills in the defaults.
 */
#include "core/common.h"

#include "config/load.h"
#include "control/daemon_conf.h"
#include "core/layout.h"

#include <stdio.h>

int jn_daemon_conf_load(const char *path, struct jn_daemon_conf *dc, struct jn_conf **conf,
                        char *err, size_t errlen)
{
    memset(dc, 0, sizeof(*dc));
    *conf = NULL;
    /* The embedded defaults use every CPU, as a server should. */
    static const char embedded[] = "worker_processes auto;";
    int r = path ? jn_conf_load_file(path, JN_CONF_DAEMON, conf, err, errlen)
                 : jn_conf_load_text("(embedded)", ".", embedded, sizeof(embedded) - 1,
                                     JN_CONF_DAEMON, conf, err, errlen);
    if (r < 0)
        return r;
    const struct jn_conf_jern *j = &(*conf)->jern;
    for (size_t i = 0; i < j->nlisten; i++)
        dc->listen[dc->nlisten++] = jn_strdup(j->listen[i]);
    /* Without a listen directive apps answer on every address of the http
     * block: show them. */
    for (size_t i = 0; j->nlisten == 0 && i < (*conf)->nservers; i++) {
        const struct jn_conf_server *sv = &(*conf)->servers[i];
        for (size_t k = 0; k < sv->nlistens && dc->nlisten < JN_DAEMON_MAX_LISTEN; k++) {
            bool dup = false;
            for (size_t m = 0; m < dc->nlisten && !dup; m++)
                dup = strcmp(dc->listen[m], sv->listens[k].text) == 0;
            if (!dup)
                dc->listen[dc->nlisten++] = jn_strdup(sv->listens[k].text);
        }
    }
    dc->drain_timeout_ms = j->drain_timeout_ms >= 0 ? j->drain_timeout_ms : 30000;
    dc->instance_log_size = j->instance_log_size > 0 ? j->instance_log_size : 10 << 20;
    dc->instance_log_files = j->instance_log_files >= 0 ? j->instance_log_files : 3;
    dc->log_retention_ms = j->log_retention_ms > 0 ? j->log_retention_ms : 24 * 3600 * 1000LL;
    /* Installed: the system's paths, unless $JERN_STATE names another. */
    const char *state_env = getenv("JERN_STATE");
    bool installed = jn_layout_installed() && !(state_env && *state_env);
    char sys[4096];
    if (j->state_dir)
        dc->state_dir = jn_strdup(j->state_dir);
    else if (state_env && *state_env)
        dc->state_dir = jn_strdup(state_env);
    else
        dc->state_dir =
            jn_strdup(installed ? jn_layout_path(JN_LAYOUT_STATE, sys, sizeof(sys)) : "jern-state");
    if (j->admin_unix) {
        dc->admin_unix = jn_strdup(j->admin_unix);
    } else if (installed) {
        dc->admin_unix = jn_strdup(jn_layout_path(JN_LAYOUT_ADMIN, sys, sizeof(sys)));
        dc->admin_group = JN_LAYOUT_GROUP;
    } else {
        size_t n = strlen(dc->state_dir) + sizeof("/admin.sock");
        dc->admin_unix = jn_malloc(n);
        snprintf(dc->admin_unix, n, "%s/admin.sock", dc->state_dir);
    }
    if (j->admin_tcp) {
        dc->admin_tcp = jn_strdup(j->admin_tcp);
        dc->admin_token = jn_strdup(j->admin_token);
    }
    dc->base_domain = jn_strdup(j->base_domain ? j->base_domain : "localhost");
    if (j->acme_directory) {
        dc->acme_directory = jn_strdup(j->acme_directory);
    } else {
        const char *env = getenv("JERN_ACME_DIRECTORY");
        dc->acme_directory = jn_strdup(env && *env ? env : JN_ACME_DEFAULT_DIRECTORY);
    }
    if (j->acme_email)
        dc->acme_email = jn_strdup(j->acme_email);
    if (j->acme_ca_bundle)
        dc->acme_ca_bundle = jn_strdup(j->acme_ca_bundle);
    dc->cluster = j->cluster ? jn_strdup(j->cluster) : NULL;
    dc->node = j->node ? jn_strdup(j->node) : NULL;
    dc->advertise = j->advertise ? jn_strdup(j->advertise) : NULL;
    for (size_t i = 0; i < j->nlabels; i++)
        dc->labels[dc->nlabels++] = jn_strdup(j->labels[i]);
    dc->node_memory = j->node_memory;
    return 0;
}

static void set(char **field, const char *v)
{
    if (!v)
        return;
    free(*field);
    *field = jn_strdup(v);
}

void jn_daemon_conf_flags(struct jn_daemon_conf *dc, const struct jn_daemon_flags *f)
{
    set(&dc->cluster, f->cluster);
    set(&dc->node, f->node);
    set(&dc->advertise, f->advertise);
    if (f->nlabels) {
        for (size_t i = 0; i < dc->nlabels; i++)
            free(dc->labels[i]);
        dc->nlabels = 0;
        for (size_t i = 0; i < f->nlabels; i++)
            dc->labels[dc->nlabels++] = jn_strdup(f->labels[i]);
    }
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
    free(dc->cluster);
    free(dc->node);
    free(dc->advertise);
    for (size_t i = 0; i < dc->nlabels; i++)
        free(dc->labels[i]);
    memset(dc, 0, sizeof(*dc));
}
