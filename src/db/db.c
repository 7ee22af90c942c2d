/*
 * db.c: the database manager: create, backup, restore (destroy.c, attach.c:
 * the others), and the supervision tick (crash -> restart with backoff; figures
 * for /metrics; scheduled backups with retention).
 *
 * A create either finishes or removes everything it made (the directory, a
 * started server, the store row), so a failure leaves nothing half-created;
 * one cut short by the daemon's death is removed at the next start
 * (db_sweep_unfinished).
 */
#include "core/common.h"

#include "core/fault.h"
#include "core/log.h"
#include "db/cgroup.h"
#include "db/db_int.h"
#include "db/env.h"
#include "db/run.h"
#include "runtime/driver.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 500
#define READY_TIMEOUT_MS 60000
#define AUTO_PORT_LO 13306
#define AUTO_PORT_HI 13999

const char *db_state_name(enum db_state s)
{
    switch (s) {
    case DB_STARTING:
        return "starting";
    case DB_RUNNING:
        return "running";
    case DB_RESTARTING:
        return "restarting";
    case DB_FAILED:
        return "failed";
    }
    return "unknown";
}

struct db_rt *db_find(struct jn_dbs *m, const char *name)
{
    for (struct db_rt *d = m->dbs; d; d = d->next)
        if (strcmp(d->row.name, name) == 0)
            return d;
    return NULL;
}

void db_set_state(struct jn_dbs *m, struct db_rt *d, enum db_state s)
{
    if (s == DB_RESTARTING || s == DB_FAILED)
        d->frozen = false; /* a server started again takes writes */
    d->state = s;
    d->state_since_ms = jn_now_ms();
}

static int write_file(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int e = w == (ssize_t)len && fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return e;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void db_rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void admin_pass_path(const struct jn_db_paths *p, char *out, size_t n)
{
    snprintf(out, n, "%s/admin", p->secrets);
}

int db_conf_lines(const struct db_rt *d, struct jn_db_conf_line *lines, size_t max, char *err,
                  size_t errlen)
{
    struct jn_db_conf_in in = {
        .memory_mb = d->row.memory_mb,
        .dedicated = d->row.dedicated,
        .port = d->row.port,
        .bind_also = d->bind_also,
        .datadir = d->p.data,
        .tmpdir = d->p.tmp,
        .socket = d->p.sock,
        .pid_file = d->p.pid,
        .log_error = d->p.log,
        .as_root = geteuid() == 0,
    };
    return jn_db_conf_build(&in, lines, max, err, errlen);
}

struct jn_db_conn *db_conn(struct db_rt *d, char *err, size_t errlen)
{
    if (!d->mon)
        d->mon = jn_db_connect(d->row.port, JN_DB_ADMIN_USER, d->admin_pass, 5, err, errlen);
    return d->mon;
}

void db_drop_conn(struct db_rt *d)
{
    jn_db_close(d->mon);
    d->mon = NULL;
}

/* Waits until d's server answers the admin account, or dies, or the deadline. */
static int wait_ready(struct db_rt *d, int64_t timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = jn_now_ms() + timeout_ms;
    char cerr[256] = "";
    while (jn_now_ms() < deadline) {
        /* Alive, not "is mariadbd": the child may not have exec'd yet. */
        if (!jn_db_pid_alive(d->pid)) {
            char tail[600];
            jn_db_tail(d->p.log, tail, sizeof(tail));
            snprintf(err, errlen, "mariadbd exited while starting: %s", tail);
            return JN_EBASE;
        }
        db_drop_conn(d);
        if (db_conn(d, cerr, sizeof(cerr)))
            return 0;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen, "mariadbd did not answer within %llds (%.200s); see %.600s",
             (long long)(timeout_ms / 1000), cerr, d->p.log);
    return JN_ETIMEDOUT;
}

void jn_dbs_set_advertise(struct jn_dbs *m, const char *addr)
{
    /* loopback is bound already; a wildcard is no address to reach */
    static const char *const skip[] = {"", "127.0.0.1", "localhost", "0.0.0.0", "::", "[::]"};
    bool lo = !addr;
    for (size_t i = 0; !lo && i < JN_ARRAY_LEN(skip); i++)
        lo = strcmp(addr, skip[i]) == 0;
    snprintf(m->advertise, sizeof(m->advertise), "%s", lo ? "" : addr);
}

static struct db_rt *rt_new(struct jn_dbs *m, const struct jn_store_db *row)
{
    struct db_rt *d = jn_calloc(1, sizeof(*d));
    d->row = *row;
    jn_db_paths(m->state_dir, row->name, &d->p);
    snprintf(d->bind_also, sizeof(d->bind_also), "%s", m->advertise);
    /* One made before its node joined a cluster listens on loopback alone:
     * jn_dbs_start rewrites its my.cnf and restarts it once. */
    FILE *cnf = d->bind_also[0] ? fopen(d->p.cnf, "re") : NULL;
    if (cnf) {
        char line[512];
        bool also = false;
        while (fgets(line, sizeof(line), cnf))
            also = also || (strncmp(line, "bind_address", 12) == 0 && strchr(line, ','));
        fclose(cnf);
        d->rebind = !also;
    }
    d->hit_rate = -1;
    d->backoff_ms = 1000;
    char f[JN_DB_PATH_MAX + 8];
    admin_pass_path(&d->p, f, sizeof(f));
    FILE *fp = fopen(f, "re");
    if (fp) {
        if (!fgets(d->admin_pass, sizeof(d->admin_pass), fp))
            d->admin_pass[0] = '\0';
        d->admin_pass[strcspn(d->admin_pass, "\n")] = '\0';
        fclose(fp);
    }
    return d;
}

void db_rt_free(struct db_rt *d)
{
    db_drop_conn(d);
    explicit_bzero(d->admin_pass, sizeof(d->admin_pass));
    free(d);
}

void db_rt_unlink(struct jn_dbs *m, struct db_rt *d)
{
    for (struct db_rt **pp = &m->dbs; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            return;
        }
    }
}

static bool port_taken_by_db(struct jn_dbs *m, int port, char *who, size_t n)
{
    for (struct db_rt *d = m->dbs; d; d = d->next) {
        if (d->row.port == port) {
            snprintf(who, n, "%s", d->row.name);
            return true;
        }
    }
    for (struct db_job *j = m->jobs; j; j = j->next) {
        if (j->state == DB_JOB_RUNNING && j->port == port) {
            snprintf(who, n, "%s", j->db2[0] ? j->db2 : j->db);
            return true;
        }
    }
    return false;
}

static int pick_port(struct jn_dbs *m)
{
    char who[JN_STORE_NAME_MAX];
    for (int p = AUTO_PORT_LO; p <= AUTO_PORT_HI; p++)
        if (!port_taken_by_db(m, p, who, sizeof(who)) && !jn_db_port_busy(p))
            return p;
    return 0;
}

/* d's my.cnf, written from its settings. */
static int write_cnf(struct db_rt *d, char *err, size_t errlen)
{
    struct jn_db_conf_line lines[JN_DB_CONF_MAX_LINES];
    int n = db_conf_lines(d, lines, JN_ARRAY_LEN(lines), err, errlen);
    if (n < 0)
        return n;
    struct jn_buf text;
    jn_buf_init(&text, 256 * 1024);
    jn_db_conf_render(lines, n, &text);
    /* whole or not at all: a server restarted meanwhile reads one or the other */
    char tmp[JN_DB_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", d->p.cnf);
    int r = write_file(tmp, 0600, jn_buf_cstr(&text));
    jn_buf_free(&text);
    if (r == 0 && rename(tmp, d->p.cnf) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write %.400s: %s", d->p.cnf, strerror(-r));
    }
    return r;
}

/* The files that name the port: my.cnf and the admin's client file. */
static int port_files(struct db_rt *d, char *err, size_t errlen)
{
    int r = write_cnf(d, err, errlen);
    if (r < 0)
        return r;
    char client[2048];
    snprintf(client, sizeof(client),
             "[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n"
             "default-character-set=utf8mb4\n",
             JN_DB_ADMIN_USER, d->admin_pass, d->row.port);
    r = write_file(d->p.client, 0600, client);
    explicit_bzero(client, sizeof(client));
    if (r < 0)
        snprintf(err, errlen, "cannot write the files of %.700s: %s%s", d->p.dir, jn_strerror(r),
                 r == -ENOSPC ? " (the disk is full)" : "");
    return r;
}

/* Everything a create makes, in order; on failure the caller undoes it. */
static int create_files(struct db_rt *d, char *err, size_t errlen)
{
    const struct jn_db_paths *p = &d->p;
    /* run/ holds the socket alone: containers of attached apps mount it. */
    if (mkdir(p->secrets, 0700) < 0 || mkdir(p->backups, 0700) < 0 ||
        (mkdir(p->run, 0755) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "cannot create %s: %s", p->dir, strerror(errno));
        return -errno;
    }
    jn_db_password(d->admin_pass);
    char f[JN_DB_PATH_MAX + 8];
    admin_pass_path(p, f, sizeof(f));
    int r = write_file(f, 0600, d->admin_pass);
    if (r < 0) {
        snprintf(err, errlen, "cannot write the files of %s: %s%s", p->dir, jn_strerror(r),
                 r == -ENOSPC ? " (the disk is full)" : "");
        return r;
    }
    r = port_files(d, err, errlen);
    return r < 0 ? r : jn_db_server_init(p, err, errlen);
}

/* The first start: an init file gives the admin account its password and
 * removes the password-less root accounts before any client can connect. */
static int first_start(struct db_rt *d, char *err, size_t errlen)
{
    char init[JN_DB_PATH_MAX + 16], sql[1024];
    snprintf(init, sizeof(init), "%s/init.sql", d->p.secrets);
    snprintf(sql, sizeof(sql),
             "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';\n"
             "DELETE FROM mysql.global_priv WHERE User = '';\n"
             "FLUSH PRIVILEGES;\n"
             "CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s';\n"
             "GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1' WITH GRANT OPTION;\n",
             JN_DB_ADMIN_USER, d->admin_pass, JN_DB_ADMIN_USER);
    int r = write_file(init, 0600, sql);
    explicit_bzero(sql, sizeof(sql));
    if (r < 0) {
        snprintf(err, errlen, "cannot write %.700s: %s", init, jn_strerror(r));
        return r;
    }
    d->pid = jn_db_server_start(&d->p, init, d->row.memory_mb, err, errlen);
    r = d->pid < 0 ? d->pid : wait_ready(d, READY_TIMEOUT_MS, err, errlen);
    unlink(init);
    return r;
}

/* Stops and removes what a failed create made. */
static void db_create_undo(struct db_rt *d)
{
    jn_db_server_stop(d->pid, &d->p, 10000); /* and the container, if any */
    /* One that has not exec'd yet is no mariadbd to stop politely. */
    for (int i = 0; d->pid > 0 && jn_db_pid_alive(d->pid) && i < 250; i++) {
        kill(d->pid, SIGKILL);
        usleep(20000);
    }
    jn_db_cgroup_remove(d->p.dir);
    db_rm_tree(d->p.dir);
    unlink(d->p.sock);
    rmdir(d->p.run);
}

/* Checks a create and makes its directory: on success *out is the new
 * database, not yet linked; db_create_work (any thread) then makes the rest. */
static int db_create_prepare(struct jn_dbs *m, const struct jn_db_create *c, struct db_rt **out,
                             char *err, size_t errlen)
{
    if (!jn_db_name_ok(c->name)) {
        snprintf(err, errlen,
                 "invalid database name '%.64s': 1-%d of a-z, 0-9 and '-', starting with a "
                 "letter (example: shop-db)",
                 c->name, JN_DB_NAME_MAX);
        return JN_EBADINPUT;
    }
    if (db_find(m, c->name) || jn_store_db_get(m->st, c->name, NULL) == 0) {
        snprintf(err, errlen, "database '%s' exists already (see: jern db ls)", c->name);
        return JN_EEXIST;
    }
    struct db_job *busy = db_job_running(m, c->name);
    if (busy) {
        snprintf(err, errlen, "database '%s' is being created already (job %d)", c->name, busy->id);
        return JN_EEXIST;
    }
    struct jn_store_db row = {.memory_mb = c->memory_mb, .dedicated = c->dedicated};
    snprintf(row.name, sizeof(row.name), "%s", c->name);
    char who[JN_STORE_NAME_MAX];
    if (c->port != 0 && (c->port < 1 || c->port > 65535)) {
        snprintf(err, errlen, "port %d is out of range (1-65535)", c->port);
        return JN_EBADINPUT;
    }
    if (c->port != 0 && port_taken_by_db(m, c->port, who, sizeof(who))) {
        snprintf(err, errlen, "port %d is taken by database '%s' (choose another with --port)",
                 c->port, who);
        return JN_EEXIST;
    }
    if (c->port != 0 && jn_db_port_busy(c->port)) {
        snprintf(err, errlen,
                 "port %d is in use on 127.0.0.1 by another process (choose another with "
                 "--port, or leave it out to pick a free one)",
                 c->port);
        return JN_EEXIST;
    }
    row.port = c->port ? c->port : pick_port(m);
    bool auto_port = c->port == 0;
    if (row.port == 0) {
        snprintf(err, errlen, "no free port in %d-%d (give one with --port)", AUTO_PORT_LO,
                 AUTO_PORT_HI);
        return JN_EEXIST;
    }
    struct db_rt *d = rt_new(m, &row);
    d->auto_port = auto_port;
    /* The config check first: bad memory fails before anything is made. */
    struct jn_db_conf_line lines[JN_DB_CONF_MAX_LINES];
    int r = db_conf_lines(d, lines, JN_ARRAY_LEN(lines), err, errlen);
    if (r < 0) {
        db_rt_free(d);
        return r;
    }
    char parent[JN_DB_PATH_MAX + 8];
    snprintf(parent, sizeof(parent), "%s/db", m->state_dir);
    mkdir(parent, 0700);
    if (mkdir(d->p.dir, 0700) < 0) {
        snprintf(err, errlen,
                 errno == EEXIST ? "%s exists but no database '%s' is known: remove the "
                                   "directory (left by an earlier jern) and retry"
                                 : "cannot create %s for '%s': %s",
                 d->p.dir, c->name, strerror(errno));
        db_rt_free(d);
        return errno == EEXIST ? JN_EEXIST : -errno;
    }
    jn_notice("database %s: creating (memory %lldM%s, port %d)", c->name, (long long)c->memory_mb,
              c->dedicated ? ", dedicated" : "", row.port);
    *out = d;
    return 0;
}

/* The slow part of a create (a job thread): files, datadir, first start. On
 * failure removes what it made. */
static int db_create_work(struct db_rt *d, char *err, size_t errlen)
{
    int r = create_files(d, err, errlen);
    if (r == 0)
        r = first_start(d, err, errlen);
    /* A port jern picked can be taken between the pick and the server's bind
     * (another daemon on this machine, any program): the next free one. */
    for (int tries = 0; r < 0 && d->auto_port && tries < 8 &&
                        strstr(err, "Address already in use") && d->row.port < AUTO_PORT_HI;
         tries++) {
        int was = d->row.port, p = was + 1;
        while (p <= AUTO_PORT_HI && jn_db_port_busy(p))
            p++;
        if (p > AUTO_PORT_HI)
            break;
        d->row.port = p;
        jn_warn("database %s: port %d was taken before its server bound it; on %d instead",
                d->row.name, was, p);
        r = port_files(d, err, errlen);
        if (r == 0)
            r = first_start(d, err, errlen);
    }
    if (r < 0)
        db_create_undo(d);
    else
        jn_fault_point("db:create-after-start");
    return r;
}

/* Back on the control thread: the store row, then d joins the list. On
 * failure d is undone and freed. */
static int db_create_finish(struct jn_dbs *m, struct db_rt *d, char *err, size_t errlen)
{
    int r = jn_store_db_create(m->st, &d->row);
    if (r < 0) {
        snprintf(err, errlen, "the state store failed (see the daemon's log)");
        db_drop_conn(d);
        db_create_undo(d);
        db_rt_free(d);
        return r;
    }
    /* The job's connection was made on its thread: the tick makes its own. */
    db_drop_conn(d);
    db_set_state(m, d, DB_RUNNING);
    d->next = m->dbs;
    m->dbs = d;
    jn_notice("database %s: mariadbd pid %d ready on 127.0.0.1:%d", d->row.name, (int)d->pid,
              d->row.port);
    return 0;
}

struct create_job {
    struct db_rt *d;
    char *image;
};

static int db_create_work_image(struct db_rt *d, const char *image, char *err, size_t errlen)
{
    if (image) {
        int r = db_image_check(image, err, errlen);
        if (r == 0 && (r = jn_db_image_save(&d->p, image)) < 0)
            snprintf(err, errlen, "cannot write %.900s/image: %s", d->p.dir, jn_strerror(r));
        if (r < 0) {
            db_rm_tree(d->p.dir);
            return r;
        }
        snprintf(d->p.image, sizeof(d->p.image), "%s", image);
    }
    return db_create_work(d, err, errlen);
}

static int create_job_work(struct db_job *j)
{
    struct create_job *k = j->arg;
    return db_create_work_image(k->d, k->image, j->err, sizeof(j->err));
}

static void create_job_done(struct db_job *j)
{
    struct create_job *k = j->arg;
    struct db_rt *d = k->d;
    free(k->image);
    free(k);
    if (j->r < 0) {
        db_rt_free(d);
    } else if ((j->r = db_create_finish(j->m, d, j->err, sizeof(j->err))) == 0) {
        j->status = 201;
        j->result = db_json(j->m, d);
        return;
    }
    j->status = jn_dbs_http_status(j->r);
}

int jn_dbs_create(struct jn_dbs *m, const struct jn_db_create *c, int *job_id, char *err,
                  size_t errlen)
{
    struct db_rt *d;
    int r = db_create_prepare(m, c, &d, err, errlen);
    if (r < 0)
        return r;
    if (c->moving_in)
        db_moving_in_mark(&d->p, true);
    struct db_job *j = jn_calloc(1, sizeof(*j));
    j->kind = "create";
    snprintf(j->db, sizeof(j->db), "%s", c->name);
    j->port = d->row.port;
    struct create_job *k = jn_calloc(1, sizeof(*k));
    k->d = d;
    k->image = c->image ? jn_strdup(c->image) : NULL;
    j->work = create_job_work;
    j->done = create_job_done;
    j->arg = k;
    r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        db_rm_tree(d->p.dir);
        db_rt_free(d);
        free(k->image);
        free(k);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}

/* A backup of the server on port with the admin password: any thread. */
int db_backup_run(const char *name, const struct jn_db_paths *p, int port, const char *pass,
                  const char *kind, struct jn_db_backup *out, char *err, size_t errlen)
{
    char cerr[512] = "";
    struct jn_db_conn *c = jn_db_connect(port, JN_DB_ADMIN_USER, pass, 5, cerr, sizeof(cerr));
    if (!c) {
        snprintf(err, errlen, "database '%s' does not answer (%s): no backup", name, cerr);
        return JN_EBASE;
    }
    char **names = jn_db_user_databases(c);
    jn_db_close(c);
    int r = jn_db_backup_make(p, names, kind, out, err, errlen);
    jn_db_names_free(names);
    if (r == 0)
        jn_notice("database %s: backup %s (%lld bytes)", name, out->id, (long long)out->size);
    return r;
}

/* A backup or restore job's copy of what its thread needs. */
struct copy_job {
    struct jn_db_paths p;
    int port;
    char admin_pass[JN_DB_PASS_LEN + 1];
    const char *kind; /* backup: "manual" or "auto" */
    int keep;         /* auto: the retention */
    struct jn_db_backup b;
    char file[JN_DB_PATH_MAX + 80]; /* restore: the backup */
    char id[JN_DB_BACKUP_ID_MAX];   /* restore: its id */
    struct db_rt *created;          /* restore --to: the new database */
    bool create_failed;             /* ... whose create failed (and was undone) */
};

static void copy_job_free(struct copy_job *k)
{
    explicit_bzero(k->admin_pass, sizeof(k->admin_pass));
    free(k);
}

static struct copy_job *copy_job_new(const struct db_rt *d)
{
    struct copy_job *k = jn_calloc(1, sizeof(*k));
    k->p = d->p;
    k->port = d->row.port;
    snprintf(k->admin_pass, sizeof(k->admin_pass), "%s", d->admin_pass);
    return k;
}

static int backup_job_work(struct db_job *j)
{
    struct copy_job *k = j->arg;
    int r =
        db_backup_run(j->db, &k->p, k->port, k->admin_pass, k->kind, &k->b, j->err, sizeof(j->err));
    if (r == 0 && strcmp(k->kind, "auto") == 0) {
        int gone = jn_db_backup_prune(k->p.backups, k->keep);
        if (gone > 0)
            jn_notice("database %s: removed %d old automatic backup(s) (keep %d)", j->db, gone,
                      k->keep);
    }
    return r;
}

static void backup_job_done(struct db_job *j)
{
    struct copy_job *k = j->arg;
    if (j->r == 0) {
        j->status = 201;
        j->result = db_backup_json(&k->b);
    } else {
        j->status = jn_dbs_http_status(j->r);
    }
    copy_job_free(k);
}

int db_backup_job(struct jn_dbs *m, struct db_rt *d, const char *kind, int *job_id, char *err,
                  size_t errlen)
{
    if (d->state != DB_RUNNING) {
        snprintf(err, errlen, "database '%s' is %s: no backup now", d->row.name,
                 db_state_name(d->state));
        return JN_EEXIST;
    }
    struct copy_job *k = copy_job_new(d);
    k->kind = kind;
    k->keep = d->row.backup_keep;
    struct db_job *j = jn_calloc(1, sizeof(*j));
    j->kind = "backup";
    snprintf(j->db, sizeof(j->db), "%s", d->row.name);
    j->work = backup_job_work;
    j->done = backup_job_done;
    j->arg = k;
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        copy_job_free(k);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}

static int restore_job_work(struct db_job *j)
{
    struct copy_job *k = j->arg;
    const struct jn_db_paths *p = &k->p;
    if (k->created) {
        int r = db_create_work(k->created, j->err, sizeof(j->err));
        if (r < 0) {
            k->create_failed = true;
            return r;
        }
        p = &k->created->p;
    }
    char log[JN_DB_PATH_MAX + 16];
    snprintf(log, sizeof(log), "%s/restore.log", p->dir);
    int r = jn_db_backup_load(k->file, p->client, log, j->err, sizeof(j->err));
    if (r == 0)
        jn_notice("database %s: restored backup %s of %s", j->db2[0] ? j->db2 : j->db, k->id,
                  j->db);
    return r;
}

static void restore_job_done(struct db_job *j)
{
    struct copy_job *k = j->arg;
    int r = j->r;
    if (k->created) {
        /* The new database stays when the load failed, as a create that
         * succeeded; it goes when its create failed. */
        char err[1024];
        if (k->create_failed)
            db_rt_free(k->created);
        else if (db_create_finish(j->m, k->created, err, sizeof(err)) < 0 && r == 0) {
            r = JN_EBASE;
            snprintf(j->err, sizeof(j->err), "%s", err);
        }
    }
    if (r == 0) {
        j->status = 200;
        j->result = cJSON_CreateObject();
        cJSON_AddStringToObject(j->result, "restored", k->id);
        cJSON_AddStringToObject(j->result, "database", j->db2[0] ? j->db2 : j->db);
    } else {
        j->status = jn_dbs_http_status(r);
    }
    copy_job_free(k);
}

int jn_dbs_backup(struct jn_dbs *m, const char *name, int *job_id, char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    return db_backup_job(m, d, "manual", job_id, err, errlen);
}

int jn_dbs_restore(struct jn_dbs *m, const char *name, const char *id, const char *to, int *job_id,
                   char *err, size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    struct copy_job *k = copy_job_new(d);
    snprintf(k->file, sizeof(k->file), "%s/%s.sql", d->p.backups, id);
    if (!jn_db_backup_id_ok(id) || access(k->file, R_OK) != 0) {
        snprintf(err, errlen, "database '%s' has no backup '%.64s' (see: jern db backups %s)", name,
                 id, name);
        copy_job_free(k);
        return JN_ENOTFOUND;
    }
    snprintf(k->id, sizeof(k->id), "%s", id);
    struct db_job *busy = db_job_running(m, name);
    if (busy) {
        snprintf(err, errlen,
                 "database '%s' is busy: a %s is running (job %d); one operation per database "
                 "at a time, try again when it has finished",
                 name, busy->kind, busy->id);
        copy_job_free(k);
        return JN_EEXIST;
    }
    struct db_job *j = jn_calloc(1, sizeof(*j));
    j->kind = "restore";
    snprintf(j->db, sizeof(j->db), "%s", name);
    if (to) {
        struct jn_db_create c = {
            .name = to, .memory_mb = d->row.memory_mb, .dedicated = d->row.dedicated};
        int r = db_create_prepare(m, &c, &k->created, err, errlen);
        if (r < 0) {
            copy_job_free(k);
            free(j);
            return r;
        }
        snprintf(j->db2, sizeof(j->db2), "%s", to);
        j->port = k->created->row.port;
        /* The new server runs as the old one does: from its image, if any. */
        if (d->p.image[0] && (r = jn_db_image_save(&k->created->p, d->p.image)) == 0)
            snprintf(k->created->p.image, sizeof(k->created->p.image), "%s", d->p.image);
        if (r < 0) {
            snprintf(err, errlen, "cannot write %.900s/image: %s", k->created->p.dir,
                     jn_strerror(r));
            db_rm_tree(k->created->p.dir);
            db_rt_free(k->created);
            copy_job_free(k);
            free(j);
            return r;
        }
    }
    j->work = restore_job_work;
    j->done = restore_job_done;
    j->arg = k;
    int r = db_job_start(m, j, err, errlen);
    if (r < 0) {
        if (k->created) {
            db_rm_tree(k->created->p.dir);
            db_rt_free(k->created);
        }
        copy_job_free(k);
        free(j);
        return r;
    }
    *job_id = j->id;
    return 0;
}

int jn_dbs_schedule(struct jn_dbs *m, const char *name, int64_t every_s, int keep, char *err,
                    size_t errlen)
{
    struct db_rt *d = db_find(m, name);
    if (!d) {
        snprintf(err, errlen, "database '%.64s' does not exist (see: jern db ls)", name);
        return JN_ENOTFOUND;
    }
    int r = jn_store_db_set_schedule(m->st, name, every_s, keep);
    if (r < 0) {
        snprintf(err, errlen, "the state store failed (see the daemon's log)");
        return r;
    }
    d->row.backup_every_s = every_s;
    d->row.backup_keep = keep;
    d->next_backup_ms = every_s > 0 ? jn_now_ms() + every_s * 1000 : 0;
    return 0;
}

static void tick_cb(struct jn_loop *loop, struct jn_timer *t)
{
    struct jn_dbs *m = t->data;
    int64_t now = jn_now_ms();
    if (++m->ticks % 4 == 0)
        db_sweep_orphans(m);
    for (struct db_rt *d = m->dbs; d; d = d->next) {
        if (d->destroying)
            continue;
        db_supervise_one(m, d, now);
        db_scheduled_backup(m, d, now);
    }
    jn_timer_start(loop, &m->tick, TICK_MS);
}

struct jn_dbs *jn_dbs_new(struct jn_loop *loop, struct jn_store *st, const char *state_dir)
{
    struct jn_dbs *m = jn_calloc(1, sizeof(*m));
    m->loop = loop;
    m->st = st;
    m->state_dir = state_dir;
    jn_timer_init(&m->tick, tick_cb, m);
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

/* A database made before its node joined a cluster: its my.cnf binds the
 * node's advertised address too, and a running server restarts on it (once;
 * its attached apps on other nodes reach it from now on). Left on loopback
 * alone (bind_also "") when the file cannot be written. */
static void rebind(struct db_rt *d)
{
    char err[512];
    if (write_cnf(d, err, sizeof(err)) < 0) {
        jn_warn("database %s: stays on 127.0.0.1 only: %s", d->row.name, err);
        d->bind_also[0] = '\0';
        return;
    }
    jn_notice("database %s: listens on %s too now (its node is a cluster node)%s", d->row.name,
              d->bind_also, d->pid > 0 ? ": restarting its server once" : "");
    if (d->pid > 0 && jn_db_server_stop(d->pid, &d->p, 30000) == 0)
        d->pid = 0;
}

void jn_dbs_start(struct jn_dbs *m)
{
    db_sweep_unfinished(m);
    struct jn_store_db *rows;
    int n = jn_store_db_list(m->st, &rows);
    int64_t now = jn_now_ms();
    for (int i = 0; i < n; i++) {
        struct db_rt *d = rt_new(m, &rows[i]);
        d->pid = jn_db_server_find(&d->p);
        if (d->rebind)
            rebind(d);
        if (d->pid > 0) {
            jn_notice("database %s: adopted the running mariadbd (pid %d)", d->row.name,
                      (int)d->pid);
            db_set_state(m, d, DB_STARTING);
            d->frozen = db_frozen_marked(&d->p); /* read-only for a move still */
        } else {
            db_set_state(m, d, DB_RESTARTING);
            d->next_try_ms = now;
        }
        /* The schedule goes on from the newest automatic backup. */
        if (d->row.backup_every_s > 0) {
            struct jn_db_backup *b;
            int nb = jn_db_backup_list(d->p.backups, &b);
            int64_t last = 0;
            for (int k = 0; k < nb; k++)
                if (b[k].automatic && b[k].created_at > last)
                    last = b[k].created_at;
            free(b);
            int64_t due_in = last ? (last + d->row.backup_every_s - (int64_t)time(NULL)) : 0;
            d->next_backup_ms = now + (due_in > 0 ? due_in * 1000 : 0);
        }
        d->next = m->dbs;
        m->dbs = d;
        db_supervise_one(m, d, now);
    }
    free(rows);
    jn_timer_start(m->loop, &m->tick, TICK_MS);
}

void jn_dbs_free(struct jn_dbs *m)
{
    if (!m)
        return;
    jn_timer_stop(m->loop, &m->tick);
    /* A job thread still running keeps using m: then m stays allocated for
     * the process's last moments rather than freed under it. */
    if (!db_jobs_stop(m))
        return;
    db_jobs_free(m);
    pthread_mutex_destroy(&m->mu);
    while (m->dbs) {
        struct db_rt *d = m->dbs;
        m->dbs = d->next;
        db_rt_free(d);
    }
    free(m);
}
