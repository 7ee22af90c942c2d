/*
 * server.h: one managed mariadbd as a plain process with its own datadir
 * under STATE/db/NAME: initialise the datadir, start, find (adopt), stop.
 * Never two servers on one datadir: a start is refused while a mariadbd with
 * this server's my.cnf runs. Control thread.
 */
#ifndef JN_DB_SERVER_H
#define JN_DB_SERVER_H

#include "core/common.h"

#define JN_DB_PATH_MAX 1024

struct jn_db_paths {
    char dir[JN_DB_PATH_MAX];     /* STATE/db/NAME */
    char cnf[JN_DB_PATH_MAX];     /* my.cnf */
    char data[JN_DB_PATH_MAX];    /* the datadir */
    char pid[JN_DB_PATH_MAX];     /* mariadbd.pid */
    char log[JN_DB_PATH_MAX];     /* mariadbd.err */
    char run[JN_DB_PATH_MAX];     /* DIR/run: the socket alone (mounted into containers) */
    char sock[JN_DB_PATH_MAX];    /* RUN/mariadbd.sock (RUN in /tmp when DIR is too long) */
    char client[JN_DB_PATH_MAX];  /* client.cnf: the admin account, 0600 */
    char secrets[JN_DB_PATH_MAX]; /* secrets/: passwords, 0700 */
    char backups[JN_DB_PATH_MAX]; /* backups/ */
    char tmp[JN_DB_PATH_MAX];     /* tmp/: the server's own tmpdir, shared with no other */
    /* The image whose mariadbd runs in a container (DIR/image; image.c), or
     * "": Debian's mariadbd as a process. */
    char image[256];
};

/* Fills p for database name under state_dir (made absolute), and its image
 * from DIR/image when that exists. */
void jn_db_paths(const char *state_dir, const char *name, struct jn_db_paths *p);

/* Creates the datadir with mariadb-install-db. Returns 0, or a negative code
 * with the tool's last output in err. */
int jn_db_server_init(const struct jn_db_paths *p, char *err, size_t errlen);

/* Starts mariadbd on p->cnf, running init_file (SQL; NULL: none) before it
 * accepts connections, in a memory cgroup limited to memory_mb (cgroup.h;
 * where none can be made it runs unlimited, with a warning in the log); with
 * p->image, in a container limited to memory_mb by the engine.
 * Returns the pid (in this machine's pid namespace), or a negative code with err. */
pid_t jn_db_server_start(const struct jn_db_paths *p, const char *init_file, int64_t memory_mb,
                         char *err, size_t errlen);

/* True when pid exists and is not a zombie (it may not have exec'd yet). */
bool jn_db_pid_alive(pid_t pid);

/* True when pid is a live (not zombie) mariadbd started on p->cnf. */
bool jn_db_server_is(pid_t pid, const struct jn_db_paths *p);

/* The pid of the mariadbd running on p->cnf (pid file first, then /proc),
 * or 0 when there is none. */
pid_t jn_db_server_find(const struct jn_db_paths *p);

/* SIGTERM (a clean InnoDB shutdown), SIGKILL after timeout_ms. Returns 0 once
 * pid is gone (and, with p->image, its container removed). */
int jn_db_server_stop(pid_t pid, const struct jn_db_paths *p, int64_t timeout_ms);

/* image.c: the container driver (Docker Engine API at $DOCKER_HOST). */
/* STATE/db/NAME/image: written by a create with --image, read by jn_db_paths. */
int jn_db_image_save(const struct jn_db_paths *p, const char *image);
void jn_db_image_load(struct jn_db_paths *p);
/* The container's name: jern-db-NAME-<hash of the directory>. */
void jn_db_container_name(const struct jn_db_paths *p, char *out, size_t n);
pid_t jn_db_container_start(const struct jn_db_paths *p, const char *init_file,
                            int64_t memory_mb, char *err, size_t errlen);
/* Removes p's container, running or not; 0 also when there is none. */
int jn_db_container_remove(const struct jn_db_paths *p, char *err, size_t errlen);

/* True when something accepts TCP connections on 127.0.0.1:port. */
bool jn_db_port_busy(int port);

#endif
