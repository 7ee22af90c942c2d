/* cmd_serve.c: `jern serve [-c FILE]`: runs the daemon in the foreground. */
#include "core/common.h"

#include "cli/commands.h"
#include "control/daemon.h"
#include "core/layout.h"

#include <stdio.h>
#include <unistd.h>

int jn_cmd_serve(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: jern serve [-c FILE]\n\n"
                   "Runs the gateway and the control plane in the foreground.\n\n"
                   "Installed (/etc/jern/jern.conf exists, or jern lies under /usr/): the\n"
                   "config /etc/jern/jern.conf, state in /var/lib/jern, the admin socket\n"
                   "/run/jern/admin.sock (group jern may use it). Otherwise, without -c:\n"
                   "apps on 127.0.0.1:8080 (Host: APP.localhost), state in ./jern-state,\n"
                   "the admin socket STATE/admin.sock. $JERN_STATE names another state dir\n"
                   "(its admin.sock then too, and no system config is read); the file's\n"
                   "state_dir and admin win.\n");
            return 0;
        } else {
            fprintf(stderr, "jern serve: unexpected argument '%s' (usage: jern serve [-c FILE])\n",
                    argv[i]);
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
    return jn_daemon_run(path);
}
