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
    if (!c)
        return jn_command_unknown(argv[1]);
    /* --help anywhere: the command's own help, or its rows of the table. */
    for (int i = 2; !jn_command_own_help(c) && i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return jn_command_help(c->name);
    return c->run(argc - 1, argv + 1);
}
