/*
 * states.c: the one table of instance state and health names, as the store
 * keeps them and the API shows them.
 */
#include "core/common.h"

#include "store/release.h"

static const char *const state_names[] = {
    [JN_INST_STARTING] = "starting", [JN_INST_RUNNING] = "running",   [JN_INST_CRASHED] = "crashed",
    [JN_INST_FAILED] = "failed",     [JN_INST_DRAINING] = "draining", [JN_INST_PAUSED] = "paused",
};

static const char *const health_names[] = {
    [JN_HEALTH_UNKNOWN] = "unknown",
    [JN_HEALTH_HEALTHY] = "healthy",
    [JN_HEALTH_UNHEALTHY] = "unhealthy",
};

static int lookup(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *jn_inst_state_name(enum jn_inst_state s)
{
    return (size_t)s < JN_ARRAY_LEN(state_names) ? state_names[s] : "failed";
}

int jn_inst_state_parse(const char *name)
{
    return lookup(state_names, JN_ARRAY_LEN(state_names), name);
}

const char *jn_inst_health_name(enum jn_inst_health h)
{
    return (size_t)h < JN_ARRAY_LEN(health_names) ? health_names[h] : "unknown";
}

int jn_inst_health_parse(const char *name)
{
    return lookup(health_names, JN_ARRAY_LEN(health_names), name);
}
