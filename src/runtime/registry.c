/*
 * registry.c: the runtime drivers by name, as config directives are rows of
 * a table (config/directives.c). Releases and instance rows carry a driver's
 * name; the deploy code asks the registry for it and never which one it is.
 */
#include "core/common.h"

#include "runtime/driver.h"

#include <stdio.h>
#include <sys/stat.h>

static struct jn_driver *docker_create(const struct jn_driver_env *env, char *msg, size_t msglen)
{
    return jn_driver_docker_new(env->docker_socket);
}

static bool docker_reachable(const struct jn_driver_env *env, char *msg, size_t msglen)
{
    struct stat sb;
    if (stat(env->docker_socket, &sb) == 0)
        return true;
    snprintf(msg, msglen, "no container engine at %s ($DOCKER_HOST)", env->docker_socket);
    return false;
}

static struct jn_driver *exec_create(const struct jn_driver_env *env, char *msg, size_t msglen)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/exec", env->state_dir);
    int err = 0;
    struct jn_driver *d = jn_driver_exec_new(dir, &err);
    if (!d)
        snprintf(msg, msglen, "cannot create the exec driver's directory %s: %s", dir,
                 jn_strerror(err));
    return d;
}

static const struct jn_driver_kind kinds[] = {
    {"exec", false, exec_create, NULL, jn_exec_can_use},
    {"docker", true, docker_create, docker_reachable, NULL},
};

_Static_assert(JN_ARRAY_LEN(kinds) <= JN_DRIVER_KINDS_MAX, "raise JN_DRIVER_KINDS_MAX");

const struct jn_driver_kind *jn_driver_kinds(size_t *n)
{
    *n = JN_ARRAY_LEN(kinds);
    return kinds;
}

const struct jn_driver_kind *jn_driver_kind(const char *name, size_t *index)
{
    for (size_t i = 0; name && i < JN_ARRAY_LEN(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0) {
            if (index)
                *index = i;
            return &kinds[i];
        }
    }
    return NULL;
}

const struct jn_driver_kind *jn_driver_kind_for(bool images)
{
    for (size_t i = 0; i < JN_ARRAY_LEN(kinds); i++)
        if (kinds[i].images == images)
            return &kinds[i];
    return NULL;
}

bool jn_driver_reachable(const struct jn_driver_kind *kind, const struct jn_driver_env *env,
                         char *msg, size_t msglen)
{
    return !kind->reachable || kind->reachable(env, msg, msglen);
}
