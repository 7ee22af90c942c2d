/*
 * applogs.c: app output kept per release. A live instance's output is read
 * from its driver; when an instance is removed its output is copied to
 * STATE/logs/APP/vN/NAME.log first, so it outlives the instance until the
 * release itself is pruned. Kept logs of a destroyed app, or of a release
 * that failed (or was pruned), are removed log_retention after they were last
 * written (dep_logs_retention, from the supervisor's sweep).
 */
#include "core/common.h"

#include "control/appconfig/rules.h"
#include "control/control.h"
#include "control/deploy/deploy_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "gateway/gateway.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_SAVE_MAX (16u * 1024 * 1024)
#define LOG_SHOW_LINES 200

static void release_dir(struct jn_deployer *d, const char *app, int version, char *out,
                        size_t len)
{
    snprintf(out, len, "%s/logs/%s/v%d", d->state_dir, app, version);
}

static int to_buf(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct jn_buf *b = arg;
    if (jn_buf_append(b, data, len) < 0)
        return 1;
    if (len > 0 && data[len - 1] != '\n')
        jn_buf_append(b, "\n", 1);
    return 0;
}

static int read_live(struct dep_rt *rt, const struct jn_store_instance *in, int tail,
                     bool stamps, struct jn_buf *b)
{
    char msg[256];
    struct jn_driver *drv = dep_rt_get(rt, in->driver, msg, sizeof(msg));
    if (!drv || !in->external_id[0])
        return JN_ENOTFOUND;
    struct jn_logs_opts o = {.tail = tail, .timestamps = stamps};
    return jn_driver_logs(drv, in->external_id, &o, to_buf, b);
}

void dep_logs_save(struct dep_rt *rt, const struct jn_store_instance *in)
{
    struct jn_buf b;
    jn_buf_init(&b, LOG_SAVE_MAX);
    /* Kept with their time stamps: jern logs --since reads them later. */
    if (read_live(rt, in, 0, true, &b) == 0 && b.len > 0) {
        char dir[4096], path[4400];
        release_dir(rt->d, in->app, in->version, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/%s.log", dir, in->name);
        int fd =
            jn_mkdirs(dir) == 0 ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
        if (fd >= 0 && !f)
            close(fd);
        if (f) {
            fwrite(b.data, 1, b.len, f);
            fclose(f);
        } else {
            jn_warn("cannot keep the logs of %s in %s: %s", in->name, path, strerror(errno));
        }
    }
    jn_buf_free(&b);
}

void dep_logs_tail(struct dep_rt *rt, const struct jn_store_instance *in, int n, char *buf,
                   size_t len)
{
    struct jn_buf b;
    jn_buf_init(&b, 64 * 1024);
    buf[0] = '\0';
    if (read_live(rt, in, n, false, &b) == 0)
        snprintf(buf, len, "%.*s", (int)b.len, b.data ? b.data : "");
    jn_buf_free(&b);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

void dep_logs_drop(struct jn_deployer *d, const char *app, int version)
{
    char dir[4096];
    release_dir(d, app, version, dir, sizeof(dir));
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* True when path was last changed at least age_ms ago. */
static bool older_than(const char *path, int64_t age_ms)
{
    struct stat sb;
    struct timespec now;
    if (stat(path, &sb) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
        return false;
    int64_t then = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - then >= age_ms;
}

/* An app's access log past log_size goes to access.log.1 (the one before is
 * dropped) and the gateway's workers reopen their files. */
static void rotate_access(struct jn_deployer *d, const char *adir)
{
    char path[4500], old[4510];
    snprintf(path, sizeof(path), "%s/access.log", adir);
    struct stat sb;
    int64_t cap = d->log_size > 0 ? d->log_size : 10 << 20;
    if (stat(path, &sb) < 0 || sb.st_size < cap)
        return;
    snprintf(old, sizeof(old), "%s.1", path);
    if (rename(path, old) < 0) {
        jn_warn("cannot rotate %s: %s", path, strerror(errno));
        return;
    }
    struct jn_gateway *gw = jn_control_gateway(d->ctl);
    if (gw)
        jn_gateway_reopen_logs(gw);
}

void dep_logs_retention(struct jn_deployer *d)
{
    struct jn_store *st = jn_control_store(d->ctl);
    char root[4096];
    snprintf(root, sizeof(root), "%s/logs", d->state_dir);
    DIR *apps = opendir(root);
    if (!apps)
        return;
    struct dirent *e;
    while ((e = readdir(apps))) {
        if (e->d_name[0] == '.')
            continue;
        char adir[4400];
        snprintf(adir, sizeof(adir), "%s/%s", root, e->d_name);
        if (jn_store_app_get(st, e->d_name, NULL) == JN_ENOTFOUND) {
            if (older_than(adir, d->log_retention_ms)) {
                jn_notice("removing the kept logs of app '%s': destroyed, and older than "
                          "log_retention",
                          e->d_name);
                nftw(adir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            }
            continue;
        }
        rotate_access(d, adir);
        DIR *rels = opendir(adir);
        struct dirent *r;
        while (rels && (r = readdir(rels))) {
            if (r->d_name[0] != 'v')
                continue;
            int version = atoi(r->d_name + 1);
            struct jn_store_release rel = {0};
            int found = jn_store_release_get(st, e->d_name, version, 0, &rel);
            bool dead = found == JN_ENOTFOUND || (found == 0 && strcmp(rel.status, "failed") == 0);
            jn_store_release_clear(&rel);
            char vdir[4700];
            snprintf(vdir, sizeof(vdir), "%s/%s", adir, r->d_name);
            if (dead && older_than(vdir, d->log_retention_ms)) {
                jn_notice("removing the kept logs of release v%d of app '%s': %s, and older "
                          "than log_retention",
                          version, e->d_name, found == 0 ? "it failed" : "it was pruned");
                nftw(vdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            }
        }
        if (rels)
            closedir(rels);
    }
    closedir(apps);
}

/* Adds {"name", "total", "lines": last LOG_SHOW_LINES} for text to arr. */
static void add_lines(cJSON *arr, const char *name, const char *text, size_t len,
                      const char *const *mask, size_t nmask)
{
    size_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += text[i] == '\n';
    if (len > 0 && text[len - 1] != '\n')
        total++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON *lines = cJSON_AddArrayToObject(o, "lines");
    size_t skip = total > LOG_SHOW_LINES ? total - LOG_SHOW_LINES : 0, idx = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (idx++ >= skip) {
            int64_t ms;
            int st = jn_log_stamp_parse(p, (size_t)(e - p), &ms); /* kept files have them */
            if (st > 0)
                p += st;
            char *s = jn_appconfig_mask_text(p, (size_t)(e - p), mask, nmask);
            cJSON_AddItemToArray(lines, cJSON_CreateString(s));
            free(s);
        }
        p = nl ? nl + 1 : end;
    }
    cJSON_AddItemToArray(arr, o);
}

cJSON *dep_logs_json(struct dep_rt *rt, const char *app, int version,
                     const struct jn_store_instance *live, size_t nlive, const char *const *mask,
                     size_t nmask)
{
    cJSON *arr = cJSON_CreateArray();
    char dir[4096];
    release_dir(rt->d, app, version, dir, sizeof(dir));
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ents[i]->d_name);
        if (l > 4 && strcmp(ents[i]->d_name + l - 4, ".log") == 0) {
            char path[4400];
            snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
            struct jn_buf b;
            jn_buf_init(&b, LOG_SAVE_MAX);
            FILE *f = fopen(path, "re");
            char chunk[8192];
            size_t k;
            while (f && (k = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
                   jn_buf_append(&b, chunk, k) == 0)
                ;
            if (f)
                fclose(f);
            ents[i]->d_name[l - 4] = '\0';
            add_lines(arr, ents[i]->d_name, b.data ? b.data : "", b.len, mask, nmask);
            jn_buf_free(&b);
        }
        free(ents[i]);
    }
    free(ents);
    for (size_t i = 0; i < nlive; i++) {
        if (live[i].version != version)
            continue;
        struct jn_buf b;
        jn_buf_init(&b, LOG_SAVE_MAX);
        if (read_live(rt, &live[i], 0, false, &b) == 0)
            add_lines(arr, live[i].name, b.data ? b.data : "", b.len, mask, nmask);
        jn_buf_free(&b);
    }
    return arr;
}
