/*
 * env.c: an attached app's database variables, one "K=V" per line: a
 * process's as they are; a container's after "container:" (its 127.0.0.1 is
 * its own: it reaches the server through the socket directory jern mounts);
 * "#socket_dir=" names that directory on the host.
 */
#include "core/common.h"

#include "db/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void env_path(char *out, size_t n, const char *state_dir, const char *app)
{
    snprintf(out, n, "%s/db/env/%s", state_dir, app);
}

/* Replaces app's file with text (atomically: temp + rename, synced). */
static int write_file(const char *state_dir, const char *app, const char *text)
{
    char dir[4096], file[4200], tmp[4300];
    snprintf(dir, sizeof(dir), "%s/db", state_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/db/env", state_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    env_path(file, sizeof(file), state_dir, app);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    int e = write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ? (errno ? -errno : -EIO) : 0;
    close(fd);
    if (e == 0 && rename(tmp, file) < 0)
        e = -errno;
    if (e < 0)
        unlink(tmp);
    return e;
}

int jn_db_env_write(const char *state_dir, const char *app, int port, const char *run_dir,
                    const char *user, const char *pass, const char *dbname)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "DATABASE_URL=mysql://%s:%s@127.0.0.1:%d/%s\n"
             "MYSQL_HOST=127.0.0.1\nMYSQL_PORT=%d\nMYSQL_USER=%s\nMYSQL_PASSWORD=%s\n"
             "MYSQL_DATABASE=%s\n"
             "container:DATABASE_URL=mysql://%s:%s@localhost/%s?socket=%s/mariadbd.sock\n"
             "container:MYSQL_HOST=localhost\ncontainer:MYSQL_PORT=%d\n"
             "container:MYSQL_UNIX_PORT=%s/mariadbd.sock\n"
             "container:MYSQL_USER=%s\ncontainer:MYSQL_PASSWORD=%s\n"
             "container:MYSQL_DATABASE=%s\n"
             "#socket_dir=%s\n",
             user, pass, port, dbname, port, user, pass, dbname, user, pass, dbname,
             JN_DB_CONTAINER_RUN, port, JN_DB_CONTAINER_RUN, user, pass, dbname, run_dir);
    int r = write_file(state_dir, app, text);
    explicit_bzero(text, sizeof(text));
    return r;
}

int jn_db_env_write_remote(const char *state_dir, const char *app, const char *node,
                           const char *host, int port, const char *user, const char *pass,
                           const char *dbname)
{
    char text[8192], set[2048];
    snprintf(set, sizeof(set),
             "DATABASE_URL=mysql://%s:%s@%s:%d/%s\nMYSQL_HOST=%s\nMYSQL_PORT=%d\n"
             "MYSQL_USER=%s\nMYSQL_PASSWORD=%s\nMYSQL_DATABASE=%s\n",
             user, pass, host, port, dbname, host, port, user, pass, dbname);
    /* a container reaches the other node as a process does: over TCP */
    size_t len = (size_t)snprintf(text, sizeof(text), "%s", set);
    for (const char *l = set; *l && len < sizeof(text); l = strchr(l, '\n') + 1)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "container:%.*s\n",
                                (int)strcspn(l, "\n"), l);
    if (len < sizeof(text))
        snprintf(text + len, sizeof(text) - len, "#node=%s\n", node);
    int r = write_file(state_dir, app, text);
    explicit_bzero(text, sizeof(text));
    explicit_bzero(set, sizeof(set));
    return r;
}

void jn_db_env_remove(const char *state_dir, const char *app)
{
    char file[4200];
    env_path(file, sizeof(file), state_dir, app);
    unlink(file);
}

/* The file's lines of one set (prefix "" for a process's, "container:"),
 * the prefix removed, NULL-terminated (empty when there is none). */
static char **read_lines(const char *state_dir, const char *app, const char *prefix)
{
    char file[4200], line[1024];
    env_path(file, sizeof(file), state_dir, app);
    char **v = jn_calloc(1, sizeof(char *));
    FILE *f = fopen(file, "re");
    size_t n = 0;
    while (f && n < 32 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t pl = strlen(prefix);
        const char *kv = line + pl;
        const char *eq = strchr(kv, '=');
        /* A key with ':' or '#' belongs to another set. */
        if (strncmp(line, prefix, pl) != 0 || !eq || memchr(kv, ':', (size_t)(eq - kv)) ||
            kv[0] == '#')
            continue;
        v = jn_realloc(v, (n + 2) * sizeof(char *));
        v[n++] = jn_strdup(kv);
        v[n] = NULL;
    }
    if (f)
        fclose(f);
    return v;
}

int jn_db_env_get(const char *state_dir, const char *app, const char *key, char *out, size_t n)
{
    char **v = read_lines(state_dir, app, "");
    size_t kl = strlen(key);
    int r = JN_ENOTFOUND;
    for (size_t i = 0; v[i]; i++) {
        if (strncmp(v[i], key, kl) == 0 && v[i][kl] == '=') {
            snprintf(out, n, "%s", v[i] + kl + 1);
            r = 0;
        }
    }
    jn_db_env_free(v);
    return r;
}

static bool has_key(const char *const *env, const char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], kv, kl) == 0 && env[i][kl] == '=')
            return true;
    return false;
}

/* A "#KEY=" line's value (what jern notes for itself, never an app's). */
static int meta(const char *state_dir, const char *app, const char *key, char *out, size_t n)
{
    char **v = read_lines(state_dir, app, "#");
    size_t kl = strlen(key);
    int r = JN_ENOTFOUND;
    for (size_t i = 0; v[i]; i++) {
        if (strncmp(v[i], key, kl) == 0 && v[i][kl] == '=') {
            snprintf(out, n, "%s", v[i] + kl + 1);
            r = 0;
        }
    }
    jn_db_env_free(v);
    return r;
}

int jn_db_env_socket_dir(const char *state_dir, const char *app, char *out, size_t n)
{
    return meta(state_dir, app, "socket_dir", out, n);
}

int jn_db_env_node(const char *state_dir, const char *app, char *out, size_t n)
{
    return meta(state_dir, app, "node", out, n);
}

char **jn_db_env_merge(const char *state_dir, const char *app, const char *const *env,
                       bool container)
{
    char **db = read_lines(state_dir, app, container ? "container:" : "");
    size_t n = 0, m = 0;
    while (env && env[n])
        n++;
    while (db[m])
        m++;
    char **out = jn_calloc(n + m + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        out[k++] = jn_strdup(env[i]);
    for (size_t i = 0; i < m; i++)
        if (!has_key(env, db[i]))
            out[k++] = jn_strdup(db[i]);
    jn_db_env_free(db);
    return out;
}

void jn_db_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++) {
        explicit_bzero(env[i], strlen(env[i]));
        free(env[i]);
    }
    free(env);
}
