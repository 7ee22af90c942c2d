/* jern: one binary; the first argument names the subcommand (see cli/commands.c). */
#include "core/common.h"

#include "cli/commands.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        jn_usage();
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        name = "help";
    if (strcmp(name, "-v") == 0 || strcmp(name, "--version") == 0)
        name = "version";
    const struct jn_command *c = jn_command_find(name);
    if (!c) {
        fprintf(stderr, "jern: unknown command '%s' (see: jern help)\n", argv[1]);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
