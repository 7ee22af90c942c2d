/* cmd_serve.c: `jern serve [-c FILE] [--cluster ...]`: runs the daemon in the foreground. */
#include "core/common.h"

#include "cli/commands.h"
#include "control/daemon.h"
#include "control/daemon_conf.h"
#include "core/layout.h"

#include <stdio.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "usage: jern serve [-c FILE] [--cluster URL[,URL]] [--node NAME]\n"                            \
    "                  [--advertise HOST] [--label KEY=VALUE ...]"

int jn_cmd_serve(int argc, char **argv)
{
    const char *path = NULL;
    struct jn_daemon_flags f = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && has) {
            path = argv[++i];
        } else if (strcmp(a, "--cluster") == 0 && has) {
            f.cluster = argv[++i];
        } else if (strcmp(a, "--node") == 0 && has) {
            f.node = argv[++i];
        } else if (strcmp(a, "--advertise") == 0 && has) {
            f.advertise = argv[++i];
        } else if (strcmp(a, "--label") == 0 && has) {
            if (f.nlabels == JN_CONF_JERN_MAX_LABELS) {
                fprintf(stderr, "jern serve: at most %d labels\n", JN_CONF_JERN_MAX_LABELS);
                return 2;
            }
            f.labels[f.nlabels++] = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(USAGE "\n\n"
                   "Runs the gateway and the control plane in the foreground.\n\n"
                   "Installed (/etc/jern/jern.conf exists, or jern lies under /usr/): the\n"
                   "config /etc/jern/jern.conf, state in /var/lib/jern, the admin socket\n"
                   "/run/jern/admin.sock (group jern may use it). Otherwise, without -c:\n"
                   "apps on 127.0.0.1:8080 (Host: APP.localhost), state in ./jern-state,\n"
                   "the admin socket STATE/admin.sock. $JERN_STATE names another state dir\n"
                   "(its admin.sock then too, and no system config is read); the file's\n"
                   "state_dir and admin win.\n\n"
                   "With --cluster (or \"cluster\" in the jern block) the node joins a cluster\n"
                   "whose state is in etcd (docs/CLUSTER.md): --node names it (default: the host\n"
                   "name), --advertise is the host other nodes reach it at (default: the first\n"
                   "listen address's), --label KEY=VALUE are its placement labels.\n");
            return 0;
        } else {
            fprintf(stderr, "jern serve: unexpected argument '%s' (" USAGE ")\n", a);
            return 2;
        }
    }
    /* Installed: the system's config, unless $JERN_STATE asks for a daemon
     * of its own (as it does for the state dir, control/daemon_conf.c). */
    char sys[4096];
    const char *state = getenv("JERN_STATE");
    if (!path && !(state && *state) && jn_layout_installed() &&
        access(jn_layout_path(JN_LAYOUT_CONF, sys, sizeof(sys)), F_OK) == 0)
        path = sys;
    return jn_daemon_run(path, &f);
}
