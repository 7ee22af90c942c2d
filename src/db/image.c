/*
 * image.c: a managed database whose mariadbd runs in a container
 * (`jern db create --image`), through the Docker Engine API (Docker, or
 * Podman's compatible service). The container runs the image's mariadbd on
 * jern's my.cnf, with the database's directory bind-mounted at the same path,
 * and shares the host's network: mariadbd binds 127.0.0.1:PORT itself, as the
 * process does. So everything else is the same for both: the argv
 * `mariadbd --defaults-file=STATE/db/NAME/my.cnf` is what identifies the
 * server in /proc (the container's processes are the host's), supervision
 * and adoption find it by it, clients reach the socket and the port.
 * The container is only a way to start mariadbd: jern never lets the engine
 * restart it (RestartPolicy "no"), it starts a new one.
 */
#include "core/common.h"

#include "core/log.h"
#include "db/db_int.h"
#include "db/run.h"
#include "db/server.h"
#include "runtime/driver.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *docker_socket(void)
{
    const char *h = getenv("DOCKER_HOST");
    return h && strncmp(h, "unix://", 7) == 0 ? h + 7 : "/var/run/docker.sock";
}

/* A client of the engine, or NULL with err when none answers. */
static struct jn_driver *engine(char *err, size_t errlen)
{
    struct jn_driver *drv = jn_driver_docker_new(docker_socket());
    char ver[128];
    if (jn_driver_version(drv, ver, sizeof(ver)) < 0) {
        snprintf(err, errlen,
                 "--image needs a container engine: none answers at %s (%s); start one "
                 "(scripts/podman-service.sh, or set DOCKER_HOST=unix://PATH for the daemon), "
                 "or leave out --image to run Debian's mariadbd as a process",
                 docker_socket(), jn_driver_errmsg(drv));
        jn_driver_destroy(drv);
        return NULL;
    }
    return drv;
}

int db_image_check(const char *image, char *err, size_t errlen)
{
    struct jn_driver *drv = engine(err, errlen);
    if (!drv)
        return JN_EUPSTREAM;
    char id[128];
    int r = jn_driver_image_ensure(drv, image, NULL, id, sizeof(id));
    if (r < 0) {
        snprintf(err, errlen,
                 "image '%.200s' is not available: %.300s. jern does not build database "
                 "images and this machine may reach no registry: load or build it first "
                 "(podman load / podman build -t %.200s; scripts/build-mariadb-image.sh makes "
                 "one from this machine's MariaDB), or leave out --image",
                 image, jn_driver_errmsg(drv), image);
        r = JN_EBADINPUT;
    }
    jn_driver_destroy(drv);
    return r;
}

void jn_db_container_name(const struct jn_db_paths *p, char *out, size_t n)
{
    /* The name, and a hash of the directory: two daemons (state directories)
     * sharing one engine never take each other's container. */
    uint64_t h = 1469598103934665603ull;
    for (const char *c = p->dir; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    snprintf(out, n, "jern-db-%.32s-%08llx", strrchr(p->dir, '/') + 1,
             (unsigned long long)(h & 0xffffffffull));
}

int jn_db_image_save(const struct jn_db_paths *p, const char *image)
{
    char f[JN_DB_PATH_MAX + 8];
    snprintf(f, sizeof(f), "%s/image", p->dir);
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = dprintf(fd, "%s\n", image) < 0 || fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

void jn_db_image_load(struct jn_db_paths *p)
{
    char f[JN_DB_PATH_MAX + 8];
    snprintf(f, sizeof(f), "%s/image", p->dir);
    p->image[0] = '\0';
    FILE *fp = fopen(f, "re");
    if (!fp)
        return;
    if (!fgets(p->image, sizeof(p->image), fp))
        p->image[0] = '\0';
    p->image[strcspn(p->image, "\n")] = '\0';
    fclose(fp);
}

/* Removes the container of p (running or not); 0 when there is none. */
int jn_db_container_remove(const struct jn_db_paths *p, char *err, size_t errlen)
{
    struct jn_driver *drv = jn_driver_docker_new(docker_socket());
    char name[128];
    jn_db_container_name(p, name, sizeof(name));
    int r = jn_driver_remove(drv, name);
    if (r == JN_ENOTFOUND)
        r = 0;
    if (r < 0)
        snprintf(err, errlen, "cannot remove the container %s: %s", name,
                 jn_driver_errmsg(drv));
    jn_driver_destroy(drv);
    return r;
}

pid_t jn_db_container_start(const struct jn_db_paths *p, const char *init_file,
                            int64_t memory_mb, char *err, size_t errlen)
{
    struct jn_driver *drv = engine(err, errlen);
    if (!drv)
        return JN_EUPSTREAM;
    char name[128], defaults[JN_DB_PATH_MAX + 32], init[JN_DB_PATH_MAX + 32];
    jn_db_container_name(p, name, sizeof(name));
    /* What is left of the last one (it exited: a crash, a kill): a new one
     * starts from the same datadir. */
    int r = jn_driver_remove(drv, name);
    if (r < 0 && r != JN_ENOTFOUND) {
        snprintf(err, errlen, "cannot remove the old container %s: %s", name,
                 jn_driver_errmsg(drv));
        jn_driver_destroy(drv);
        return r;
    }
    snprintf(defaults, sizeof(defaults), "--defaults-file=%s", p->cnf);
    const char *argv[4] = {"mariadbd", defaults, NULL, NULL};
    if (init_file) {
        snprintf(init, sizeof(init), "--init-file=%s", init_file);
        argv[2] = init;
    }
    /* The directory at its own path (my.cnf names host paths), and the
     * socket's directory when it is elsewhere (a long state path). */
    struct jn_volume vols[2] = {{.host = p->dir, .container = p->dir}};
    size_t nvols = 1;
    size_t dl = strlen(p->dir);
    if (strncmp(p->run, p->dir, dl) != 0 || p->run[dl] != '/') {
        vols[1] = (struct jn_volume){.host = p->run, .container = p->run};
        nvols = 2;
    }
    struct jn_instance_spec spec = {
        .name = name,
        .image = p->image,
        .argv = argv,
        .volumes = vols,
        .n_volumes = nvols,
        .memory = memory_mb << 20,
        .host_network = true,
        /* Labels no app can have (app names hold no '.'). No jern.daemon
         * label: the deploy supervisor's sweeps never take it for theirs. */
        .app = JN_DB_CONTAINER_APP,
        .release = "mariadb",
        .instance = strrchr(p->dir, '/') + 1,
        .log_size = 10 << 20,
        .log_files = 1,
    };
    struct jn_instance in;
    r = jn_driver_start(drv, &spec, &in);
    if (r < 0) {
        snprintf(err, errlen,
                 "cannot start the container %s from %s (the image must hold mariadbd on its "
                 "PATH): %s",
                 name, p->image, jn_driver_errmsg(drv));
    } else if (!in.running || in.pid <= 0) {
        char tail[400];
        jn_db_tail(p->log, tail, sizeof(tail));
        snprintf(err, errlen,
                 "the container %s from %s exited at once (exit code %d; is mariadbd the "
                 "image's, on its PATH?): %s",
                 name, p->image, in.exit_code, tail);
        jn_driver_remove(drv, name);
        r = JN_EBASE;
    } else {
        r = in.pid;
        jn_info("database %s: container %s (%s) runs mariadbd as pid %d",
                strrchr(p->dir, '/') + 1, name, p->image, in.pid);
    }
    jn_driver_destroy(drv);
    return r;
}
