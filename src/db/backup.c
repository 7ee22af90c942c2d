/*
 * backup.c: mariadb-dump into backups/, listing, retention, restore.
 */
#include "core/common.h"

#include "db/backup.h"
#include "db/run.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool jn_db_backup_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 17 || n >= JN_DB_BACKUP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

int jn_db_backup_make(const struct jn_db_paths *p, char *const *databases, const char *kind,
                      struct jn_db_backup *out, char *err, size_t errlen)
{
    if (mkdir(p->backups, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", p->backups, strerror(errno));
        return -errno;
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s-%s", stamp, kind);
    /* Two backups in one second: a suffix keeps both. */
    char file[JN_DB_PATH_MAX + 80], tmp[JN_DB_PATH_MAX + 96];
    for (int i = 2; i < 100; i++) {
        snprintf(file, sizeof(file), "%s/%s.sql", p->backups, out->id);
        if (access(file, F_OK) != 0)
            break;
        snprintf(out->id, sizeof(out->id), "%s-%s-%d", stamp, kind, i);
    }
    snprintf(tmp, sizeof(tmp), "%s/.%s.sql.tmp", p->backups, out->id);
    char defaults[JN_DB_PATH_MAX + 32], log[JN_DB_PATH_MAX + 16];
    snprintf(defaults, sizeof(defaults), "--defaults-extra-file=%s", p->client);
    snprintf(log, sizeof(log), "%s/backup.log", p->dir);
    size_t n = 0;
    while (databases[n])
        n++;
    int r;
    if (n == 0) {
        /* Nothing attached yet: an empty, valid backup. */
        FILE *f = fopen(tmp, "we");
        r = f && fputs("-- jern: no user databases at backup time\n", f) >= 0 ? 0 : -errno;
        if (f)
            fclose(f);
    } else {
        char **argv = jn_calloc(n + 12, sizeof(char *));
        size_t k = 0;
        argv[k++] = "mariadb-dump";
        argv[k++] = defaults;
        argv[k++] = "--single-transaction";
        argv[k++] = "--routines";
        argv[k++] = "--events";
        argv[k++] = "--triggers";
        argv[k++] = "--add-drop-database";
        argv[k++] = "--databases";
        for (size_t i = 0; i < n; i++)
            argv[k++] = databases[i];
        argv[k] = NULL;
        r = jn_db_run(argv, NULL, tmp, log, 3600 * 1000);
        free(argv);
    }
    if (r == 0 && rename(tmp, file) < 0)
        r = -errno;
    if (r != 0) {
        unlink(tmp);
        char tail[300];
        jn_db_tail(log, tail, sizeof(tail));
        snprintf(err, errlen, "backup failed (%s): %s",
                 r == -ENOSPC ? "the disk is full" : r < 0 ? jn_strerror(r) : "mariadb-dump",
                 tail);
        return r < 0 ? r : JN_EBASE;
    }
    struct stat sb;
    if (stat(file, &sb) == 0) {
        out->size = sb.st_size;
        out->created_at = sb.st_mtime;
    }
    out->automatic = strcmp(kind, "auto") == 0;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct jn_db_backup *)a)->id, ((const struct jn_db_backup *)b)->id);
}

int jn_db_backup_list(const char *dir, struct jn_db_backup **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0 ||
            len - 4 >= JN_DB_BACKUP_ID_MAX)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = jn_realloc(*out, (size_t)cap * sizeof(**out));
        }
        struct jn_db_backup *b = &(*out)[n];
        memset(b, 0, sizeof(*b));
        memcpy(b->id, e->d_name, len - 4);
        if (!jn_db_backup_id_ok(b->id))
            continue;
        char file[JN_DB_PATH_MAX + 80];
        snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(file, &sb) == 0) {
            b->size = sb.st_size;
            b->created_at = sb.st_mtime;
        }
        b->automatic = strstr(b->id, "-auto") != NULL;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(*out, (size_t)n, sizeof(**out), by_id);
    return n;
}

int jn_db_backup_prune(const char *dir, int keep)
{
    if (keep <= 0)
        return 0;
    struct jn_db_backup *v;
    int n = jn_db_backup_list(dir, &v), autos = 0, removed = 0;
    for (int i = 0; i < n; i++)
        autos += v[i].automatic;
    for (int i = 0; i < n && autos > keep; i++) {
        if (!v[i].automatic)
            continue;
        char file[JN_DB_PATH_MAX + 80];
        snprintf(file, sizeof(file), "%s/%s.sql", dir, v[i].id);
        if (unlink(file) == 0)
            removed++;
        autos--;
    }
    free(v);
    return removed;
}

int jn_db_backup_load(const char *file, const char *client_cnf, const char *log, char *err,
                      size_t errlen)
{
    char defaults[JN_DB_PATH_MAX + 32];
    snprintf(defaults, sizeof(defaults), "--defaults-extra-file=%s", client_cnf);
    char *argv[] = {"mariadb", defaults, "--batch", NULL};
    int r = jn_db_run(argv, file, NULL, log, 3600 * 1000);
    if (r != 0) {
        char tail[300];
        jn_db_tail(log, tail, sizeof(tail));
        snprintf(err, errlen, "restore failed (%s): %s", r < 0 ? jn_strerror(r) : "mariadb",
                 tail);
        return r < 0 ? r : JN_EBASE;
    }
    return 0;
}
