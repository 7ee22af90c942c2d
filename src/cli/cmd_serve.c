/* cmd_serve.c: `jern serve [-c FILE]`: runs the daemon in the foreground. */
#include "core/common.h"

#include "cli/commands.h"
#include "control/daemon.h"

#include <stdio.h>

int jn_cmd_serve(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: jern serve [-c FILE]\n\n"
                   "Runs the gateway and the control plane in the foreground. Without -c:\n"
                   "apps on 127.0.0.1:8080 (Host: APP.localhost), state in $JERN_STATE or\n"
                   "./jern-state, admin API on the unix socket STATE/admin.sock.\n");
            return 0;
        } else {
            fprintf(stderr, "jern serve: unexpected argument '%s' (usage: jern serve [-c FILE])\n",
                    argv[i]);
            return 2;
        }
    }
    return jn_daemon_run(path);
}
