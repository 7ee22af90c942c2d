/*
 * image.c: `jern db create --image`: the image must be on this machine (or
 * pullable); running a database server from it is not implemented yet, and
 * the answer says so (docs/DATABASES.md).
 */
#include "core/common.h"

#include "db/db_int.h"
#include "runtime/driver.h"

#include <stdio.h>
#include <stdlib.h>

static const char *docker_socket(void)
{
    const char *h = getenv("DOCKER_HOST");
    return h && strncmp(h, "unix://", 7) == 0 ? h + 7 : "/var/run/docker.sock";
}

/* --image: the image must be on this machine (or pullable). Then still no
 * server from it: see docs/DATABASES.md. */
int db_image_check(const char *image, char *err, size_t errlen)
{
    struct jn_driver *drv = jn_driver_docker_new(docker_socket());
    char id[128], ver[128];
    int r = drv ? jn_driver_version(drv, ver, sizeof(ver)) : JN_EBASE;
    if (r < 0) {
        snprintf(err, errlen,
                 "--image needs a container engine: none answers at %s (%s); leave out "
                 "--image to run Debian's mariadbd as a process",
                 docker_socket(), drv ? jn_driver_errmsg(drv) : "cannot make a client");
    } else if ((r = jn_driver_image_ensure(drv, image, NULL, id, sizeof(id))) < 0) {
        snprintf(err, errlen,
                 "image '%.200s' is not available: %.300s. jern does not build database "
                 "images and this machine may reach no registry: load or build it first "
                 "(podman load / podman build -t %.200s), or leave out --image",
                 image, jn_driver_errmsg(drv), image);
        r = JN_EBADINPUT;
    } else {
        snprintf(err, errlen,
                 "image '%.200s' is present, but running a database server in a container "
                 "is not implemented yet: leave out --image (jern runs Debian's mariadbd as a "
                 "supervised process; docs/DATABASES.md)",
                 image);
        r = JN_EUNSUPPORTED;
    }
    jn_driver_destroy(drv);
    return r;
}
