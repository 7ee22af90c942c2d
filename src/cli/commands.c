#include "core/common.h"

#include "cli/commands.h"

#include <stdio.h>

#define JERN_VERSION "0.1.0"

int jn_cmd_version(int argc, char **argv)
{
    printf("jern %s\n", JERN_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    jn_usage();
    return 0;
}

const struct jn_command jn_commands[] = {
    {"version", jn_cmd_version, "version", "print the version"},
    {"gateway", jn_cmd_gateway, "gateway [-t] -c FILE", "run the HTTP gateway (-t: check the config)"},
    {"help", cmd_help, "help", "show this help"},
    {NULL, NULL, NULL, NULL},
};

const struct jn_command *jn_command_find(const char *name)
{
    for (const struct jn_command *c = jn_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void jn_usage(void)
{
    printf("jern: serverless on your own iron\n\nusage:\n");
    for (const struct jn_command *c = jn_commands; c->name; c++)
        printf("  jern %-44s %s\n", c->usage, c->summary);
}
