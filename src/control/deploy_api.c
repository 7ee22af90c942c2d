/*
 * deploy_api.c: the deployer object and its admin API routes (docs/API.md,
 * docs/DEPLOY.md). Each POST validates everything, claims the app (409 when a
 * job already works on it), records what it needs and starts a job thread;
 * the answer (202) names the job, whose progress lines the CLI reads with
 * GET /v1/jobs/ID/AFTER as they are written.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/autoscale.h"
#include "control/deploy_int.h"
#include "control/jsonbody.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOB_KEEP_MS (10 * 60 * 1000)
#define JOB_KEEP_MAX 64

static const char *default_docker_socket(void)
{
    const char *h = getenv("DOCKER_HOST");
    if (h && strncmp(h, "unix://", 7) == 0)
        return h + 7;
    return "/var/run/docker.sock";
}

/* A whole number of seconds from the environment (1 to 3600), else dflt. */
static int64_t env_seconds(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < 1 || n > 3600) {
        if (v)
            jn_warn("ignoring %s=%s: expected whole seconds from 1 to 3600", name, v);
        return dflt;
    }
    return n;
}

/* The supervisor removes a destroyed app's instances at its next tick
 * rather than at its next periodic sweep. */
static void app_deleted(void *arg, const char *app)
{
    struct jn_deployer *d = arg;
    (void)app;
    pthread_mutex_lock(&d->mu);
    d->app_destroyed = true;
    pthread_mutex_unlock(&d->mu);
    jn_autoscale_forget(d->as, app);
}

/* This daemon's id, made at its first start and kept in the store: every
 * instance it creates carries it (label jern.daemon), so adoption and sweeps
 * tell its instances from those of other daemons sharing the engine. */
static void daemon_id(struct jn_control *ctl, char *id, size_t len)
{
    struct jn_store *st = jn_control_store(ctl);
    if (jn_store_setting_get(st, "daemon_id", id, len) > 0)
        return;
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* No entropy source: time and pid still tell daemons apart. */
        uint64_t x = (uint64_t)jn_now_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(rnd, &x, sizeof(rnd));
    }
    snprintf(id, len, "j");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(id + 1 + 2 * i, len - 1 - 2 * i, "%02x", rnd[i]);
    int r = jn_store_setting_set(st, "daemon_id", id);
    if (r < 0)
        jn_error("cannot record this daemon's id in the store: %s; after a restart it will "
                 "leave the instances it starts now alone",
                 jn_strerror(r));
}

struct jn_deployer *jn_deployer_new(struct jn_loop *loop, struct jn_control *ctl,
                                    const struct jn_deploy_opts *o)
{
    struct jn_deployer *d = jn_calloc(1, sizeof(*d));
    d->loop = loop;
    d->ctl = ctl;
    d->state_dir = jn_strdup(o->state_dir);
    d->docker_socket = jn_strdup(o->docker_socket ? o->docker_socket : default_docker_socket());
    d->drain_timeout_ms = o->drain_timeout_ms > 0 ? o->drain_timeout_ms
                                                  : env_seconds("JERN_DRAIN_TIMEOUT", 30) * 1000;
    d->log_size = o->log_size > 0 ? o->log_size : 10 << 20;
    d->log_files = o->log_files;
    d->log_retention_ms = o->log_retention_ms > 0 ? o->log_retention_ms : 24 * 3600 * 1000LL;
    d->stop_timeout_ms =
        o->stop_timeout_ms > 0 ? o->stop_timeout_ms : env_seconds("JERN_STOP_TIMEOUT", 10) * 1000;
    daemon_id(ctl, d->daemon_id, sizeof(d->daemon_id));
    d->rt.d = d;
    pthread_mutex_init(&d->mu, NULL);
    d->as = jn_autoscaler_new(d);
    jn_control_on_app_deleted(ctl, app_deleted, d);
    return d;
}

int jn_deployer_start(struct jn_deployer *d)
{
    dep_adopt(d);
    if (pthread_create(&d->sup, NULL, dep_supervise, d) == 0)
        d->sup_started = true;
    else
        jn_error("cannot start the instance supervisor: %s", strerror(errno));
    jn_autoscaler_start(d->as);
    return 0;
}

static void job_free(struct dep_job *j)
{
    for (size_t i = 0; i < j->nlines; i++)
        free(j->lines[i]);
    free(j->lines);
    for (int i = 0; i < 3; i++)
        free(j->auth_buf[i]);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void jn_deployer_free(struct jn_deployer *d)
{
    if (!d)
        return;
    jn_autoscaler_free(d->as);
    d->as = NULL;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_mutex_unlock(&d->mu);
    if (d->sup_started)
        pthread_join(d->sup, NULL);
    /* Jobs notice at their next store call; one blocked in a driver call
     * (a stop timeout) may take longer: then the deployer is left allocated
     * for the process's last moments rather than freed under it. */
    int threads = 1;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&d->mu);
        threads = d->threads;
        pthread_mutex_unlock(&d->mu);
        if (threads == 0)
            break;
        usleep(50 * 1000);
    }
    if (threads > 0) {
        jn_warn("%d deploy job(s) still running at stop; their new instances are removed at "
                "the next start",
                threads);
        return;
    }
    dep_rt_free(&d->rt);
    for (struct dep_job *j = d->jobs, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    free(d->busy);
    free(d->state_dir);
    free(d->docker_socket);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* ---- jobs ---- */

/* Frees finished jobs nobody reads any more. Control thread. */
static void jobs_gc(struct jn_deployer *d)
{
    int64_t now = jn_now_ms();
    pthread_mutex_lock(&d->mu);
    int count = 0;
    for (struct dep_job **pp = &d->jobs; *pp;) {
        struct dep_job *j = *pp;
        pthread_mutex_lock(&j->mu);
        bool old = j->done && (now - j->done_ms > JOB_KEEP_MS || count >= JOB_KEEP_MAX);
        pthread_mutex_unlock(&j->mu);
        count++;
        if (old) {
            *pp = j->next;
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* Starts a job for app (already claimed by the caller); returns it or NULL
 * (and unclaims) when no thread could be made. */
static struct dep_job *job_start_cold(struct jn_deployer *d, enum dep_kind kind, const char *app,
                                      int64_t release_id, int count, const cJSON *auth, bool cold)
{
    jobs_gc(d);
    struct dep_job *j = jn_calloc(1, sizeof(*j));
    j->kind = kind;
    snprintf(j->app, sizeof(j->app), "%s", app);
    j->release_id = release_id;
    j->count = count;
    j->cold = cold;
    j->d = d;
    j->t0 = jn_now_ms();
    pthread_mutex_init(&j->mu, NULL);
    if (auth) {
        const char *k[3] = {"username", "password", "server"};
        for (int i = 0; i < 3; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(auth, k[i]);
            j->auth_buf[i] = jn_strdup(cJSON_IsString(x) ? x->valuestring : "");
        }
        j->auth = (struct jn_registry_auth){j->auth_buf[0], j->auth_buf[1], j->auth_buf[2]};
    }
    pthread_mutex_lock(&d->mu);
    j->id = ++d->next_job;
    j->next = d->jobs;
    d->jobs = j;
    pthread_mutex_unlock(&d->mu);
    int r = dep_thread_start(d, dep_job_run, j);
    if (r != 0) {
        dep_job_log(j, "error: cannot start a thread: %s", strerror(r));
        j->done = true;
        j->done_ms = jn_now_ms();
        dep_unclaim(d, app);
    }
    return j;
}

bool jn_deployer_claim(struct jn_deployer *d, const char *app)
{
    return dep_claim(d, app);
}

void jn_deployer_unclaim(struct jn_deployer *d, const char *app)
{
    dep_unclaim(d, app);
}

int dep_thread_start(struct jn_deployer *d, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&d->mu);
    d->threads++;
    pthread_mutex_unlock(&d->mu);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&th, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        pthread_mutex_lock(&d->mu);
        d->threads--;
        pthread_mutex_unlock(&d->mu);
    }
    return r;
}

static struct dep_job *job_start(struct jn_deployer *d, enum dep_kind kind, const char *app,
                                 int64_t release_id, int count, const cJSON *auth)
{
    return job_start_cold(d, kind, app, release_id, count, auth, false);
}

int dep_job_start(struct jn_deployer *d, enum dep_kind kind, const char *app, int64_t release_id,
                  int count, bool cold)
{
    struct dep_job *j = job_start_cold(d, kind, app, release_id, count, NULL, cold);
    pthread_mutex_lock(&j->mu);
    bool failed = j->done;
    pthread_mutex_unlock(&j->mu);
    return failed ? JN_EBASE : 0;
}

static void job_accepted(struct jn_api_resp *resp, struct dep_job *j, int version)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "job", j->id);
    cJSON_AddStringToObject(o, "app", j->app);
    if (version > 0)
        cJSON_AddNumberToObject(o, "release", version);
    jn_api_send_json(resp, 202, o);
}

static void job_show(struct jn_deployer *d, const char *id_s, const char *after_s,
                     struct jn_api_resp *resp)
{
    char *end;
    long id = strtol(id_s, &end, 10);
    long after = after_s ? strtol(after_s, NULL, 10) : 0;
    pthread_mutex_lock(&d->mu);
    struct dep_job *j = d->jobs;
    while (j && j->id != id)
        j = j->next;
    if (!j || *end) {
        pthread_mutex_unlock(&d->mu);
        jn_api_error(resp, 404, "no job %s (jobs are kept 10 minutes after they end)", id_s);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "job", j->id);
    cJSON_AddStringToObject(o, "app", j->app);
    cJSON *lines = cJSON_AddArrayToObject(o, "lines");
    pthread_mutex_lock(&j->mu);
    for (size_t i = after > 0 ? (size_t)after : 0; i < j->nlines; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(j->lines[i]));
    cJSON_AddNumberToObject(o, "next", (double)j->nlines);
    cJSON_AddBoolToObject(o, "done", j->done);
    cJSON_AddBoolToObject(o, "ok", j->ok);
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&d->mu);
    jn_api_send_json(resp, 200, o);
}

static int running_job(struct jn_deployer *d, const char *app)
{
    pthread_mutex_lock(&d->mu);
    int id = 0;
    for (struct dep_job *j = d->jobs; j && !id; j = j->next) {
        pthread_mutex_lock(&j->mu);
        if (!j->done && strcmp(j->app, app) == 0)
            id = j->id;
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return id;
}

static bool claim_or_409(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    if (dep_claim(d, app))
        return true;
    int id = running_job(d, app);
    if (id)
        jn_api_error(resp, 409,
                     "a deploy, rollback, scale or restart of app '%s' is already running (job "
                     "%d): one at a time; wait for it to finish and try again",
                     app, id);
    else
        jn_api_error(resp, 409,
                     "app '%s' is busy: a crashed instance is being restarted; try again in a "
                     "few seconds",
                     app);
    return false;
}

/* ---- validation ---- */

static cJSON *parse_object(const struct jn_api_req *req, struct jn_api_resp *resp,
                           const char *const *allowed)
{
    size_t end = 0;
    cJSON *o =
        req->body_len ? jn_jsonbody_parse(req->body, req->body_len, &end) : cJSON_CreateObject();
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        jn_api_error(resp, 400, "the request body must be a JSON object");
        return NULL;
    }
    char field[128];
    if (!jn_jsonbody_check(o, field, sizeof(field))) {
        jn_api_error(resp, 400,
                     "field '%s' contains a control character (such as NUL or a newline), "
                     "which it cannot hold",
                     field);
        cJSON_Delete(o);
        return NULL;
    }
    for (cJSON *f = o->child; f; f = f->next) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(f->string, *a) == 0;
        if (!ok) {
            jn_api_error(resp, 400, "unknown field \"%.64s\" in the request body", f->string);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

static bool get_int_field(const cJSON *o, const char *k, int lo, int hi, int *out,
                          struct jn_api_resp *resp)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x)
        return true;
    if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int)x->valuedouble || x->valueint < lo ||
        x->valueint > hi) {
        jn_api_error(resp, 400, "\"%s\" must be a whole number from %d to %d", k, lo, hi);
        return false;
    }
    *out = x->valueint;
    return true;
}

/* "256m", "1g", "1048576" -> bytes. Returns -1 when malformed. */
static int64_t parse_size(const cJSON *x)
{
    if (cJSON_IsNumber(x))
        return x->valuedouble >= 0 ? (int64_t)x->valuedouble : -1;
    if (!cJSON_IsString(x))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(x->valuestring, &end);
    if (errno || end == x->valuestring || v < 0)
        return -1;
    int64_t mult = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0':
        break;
    case 'k':
        mult = 1024;
        end++;
        break;
    case 'm':
        mult = 1024 * 1024;
        end++;
        break;
    case 'g':
        mult = 1024 * 1024 * 1024;
        end++;
        break;
    default:
        return -1;
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    return *end ? -1 : (int64_t)(v * (double)mult);
}

static bool env_key_ok(const char *k)
{
    if (!*k || !(isalpha((unsigned char)*k) || *k == '_'))
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_')
            return false;
    return true;
}

/* Builds the settings snapshot from the deploy body; answers 400 on error. */
static cJSON *deploy_spec(const cJSON *b, bool docker, int *instances, struct jn_api_resp *resp)
{
    cJSON *spec = cJSON_CreateObject();
    int port = 8080, health_timeout = 30;
    if (!get_int_field(b, "port", 1, 65535, &port, resp) ||
        !get_int_field(b, "instances", 1, DEP_MAX_INSTANCES, instances, resp) ||
        !get_int_field(b, "health_timeout", 1, 600, &health_timeout, resp))
        goto bad;
    cJSON_AddStringToObject(spec, "driver", docker ? "docker" : "exec");
    cJSON_AddNumberToObject(spec, "port", port);
    cJSON_AddNumberToObject(spec, "health_timeout_ms", health_timeout * 1000.0);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "health");
    if (x) {
        bool ok = cJSON_IsString(x) && x->valuestring[0] == '/' && strlen(x->valuestring) < 200;
        for (const char *p = ok ? x->valuestring : ""; *p && ok; p++)
            ok = (unsigned char)*p > 0x20 && *p != 0x7f;
        if (!ok) {
            jn_api_error(resp, 400,
                         "\"health\" must be a path starting with / (at most 199 "
                         "characters, no spaces), e.g. /health");
            goto bad;
        }
        cJSON_AddStringToObject(spec, "health", x->valuestring);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(b, "memory"))) {
        int64_t m = parse_size(x);
        if (m < 4 * 1024 * 1024) {
            char shown[64];
            if (cJSON_IsString(x))
                snprintf(shown, sizeof(shown), " '%.40s'", x->valuestring);
            else if (cJSON_IsNumber(x))
                snprintf(shown, sizeof(shown), " %.0f", x->valuedouble);
            else
                shown[0] = '\0';
            jn_api_error(resp, 400,
                         "--memory%s is not a size of at least 4m: write a number with k, m or "
                         "g, like 256m or 1g",
                         shown);
            goto bad;
        }
        cJSON_AddNumberToObject(spec, "memory", (double)m);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(b, "cpus"))) {
        if (!cJSON_IsNumber(x) || x->valuedouble <= 0 || x->valuedouble > 1024) {
            jn_api_error(resp, 400,
                         "--cpus must be a number above 0 and at most 1024, like 0.5 "
                         "or 2");
            goto bad;
        }
        if (!docker) {
            jn_api_error(resp, 400,
                         "--cpus needs a container: the exec driver (--cmd) cannot "
                         "limit CPU; drop --cpus, or deploy an image with --image");
            goto bad;
        }
        cJSON_AddNumberToObject(spec, "cpus", x->valuedouble);
    }
    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(b, "volumes");
    if (vols) {
        if (!cJSON_IsArray(vols) || cJSON_GetArraySize(vols) > 32) {
            jn_api_error(resp, 400, "\"volumes\" must be a list of \"HOST:CONTAINER[:ro]\"");
            goto bad;
        }
        if (!docker && cJSON_GetArraySize(vols) > 0) {
            jn_api_error(resp, 400,
                         "--volume needs a container: plain processes (--cmd) see "
                         "the host's files directly; drop --volume, or deploy an "
                         "image with --image");
            goto bad;
        }
        cJSON *out = cJSON_AddArrayToObject(spec, "volumes");
        cJSON_ArrayForEach(x, vols)
        {
            char buf[1024];
            if (!cJSON_IsString(x) || strlen(x->valuestring) >= sizeof(buf)) {
                jn_api_error(resp, 400, "\"volumes\" must be a list of \"HOST:CONTAINER[:ro]\"");
                goto bad;
            }
            snprintf(buf, sizeof(buf), "%s", x->valuestring);
            char *c = strchr(buf, ':');
            char *ro = c ? strchr(c + 1, ':') : NULL;
            if (ro)
                *ro++ = '\0';
            if (!c || buf[0] != '/' || c[1] != '/' || (ro && strcmp(ro, "ro") != 0)) {
                jn_api_error(resp, 400,
                             "volume \"%.200s\": expected HOST:CONTAINER[:ro] with absolute "
                             "paths, e.g. /srv/data:/data",
                             x->valuestring);
                goto bad;
            }
            *c = '\0';
            /* The engine is on this machine (a unix socket): a missing
             * directory is better named now than as an engine error later. */
            struct stat sb;
            if (stat(buf, &sb) < 0) {
                jn_api_error(resp, 400,
                             "volume \"%.200s\": host path %.200s: %s (create it first, or "
                             "fix the path)",
                             x->valuestring, buf, strerror(errno));
                goto bad;
            }
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "host", buf);
            cJSON_AddStringToObject(v, "container", c + 1);
            cJSON_AddBoolToObject(v, "read_only", ro != NULL);
            cJSON_AddItemToArray(out, v);
        }
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(b, "workdir"))) {
        if (!cJSON_IsString(x) || x->valuestring[0] != '/' || strlen(x->valuestring) > 1000) {
            jn_api_error(resp, 400, "\"workdir\" must be an absolute directory path");
            goto bad;
        }
        /* The exec driver runs on this machine: a missing directory is named
         * now, not as a failed instance after the 202. */
        struct stat sb;
        const char *why = docker                          ? NULL
                          : stat(x->valuestring, &sb) < 0 ? strerror(errno)
                          : !S_ISDIR(sb.st_mode)          ? "not a directory"
                                                          : NULL;
        if (why) {
            jn_api_error(resp, 400, "\"workdir\" %.900s: %s (create it first, or fix the path)",
                         x->valuestring, why);
            goto bad;
        }
        char msg[1024];
        if (!docker && !jn_exec_can_use(x->valuestring, true, msg, sizeof(msg))) {
            jn_api_error(resp, 400, "\"workdir\": %s", msg);
            goto bad;
        }
        cJSON_AddStringToObject(spec, "workdir", x->valuestring);
    }
    return spec;
bad:
    cJSON_Delete(spec);
    return NULL;
}

static cJSON *deploy_env(const cJSON *b, struct jn_api_resp *resp)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(b, "env");
    if (!env)
        return cJSON_CreateObject();
    if (!cJSON_IsObject(env)) {
        jn_api_error(resp, 400, "\"env\" must be an object of KEY: \"value\"");
        return NULL;
    }
    for (const cJSON *e = env->child; e; e = e->next) {
        if (!env_key_ok(e->string) || strlen(e->string) > 128) {
            jn_api_error(resp, 400,
                         "environment variable name \"%.64s\" is invalid: letters, digits and _, "
                         "not starting with a digit",
                         e->string);
            return NULL;
        }
        if (!cJSON_IsString(e) || strlen(e->valuestring) > 32768) {
            jn_api_error(resp, 400,
                         "environment variable %s: the value must be a string of at "
                         "most 32 KiB",
                         e->string);
            return NULL;
        }
    }
    return cJSON_Duplicate(env, true);
}

/* When the command line starts with a program path (a word with a '/' and no
 * shell syntax), checks that it is an executable file: the common typo is
 * then a 400 naming the path instead of an instance that exits 127. Other
 * command lines (a program found through $PATH, shell syntax) are left to
 * the shell. Returns true when fine, else false with msg. */
static bool command_ok(const char *cmd, const char *workdir, char *msg, size_t len)
{
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    size_t n = 0;
    bool slash = false;
    for (; cmd[n] && cmd[n] != ' ' && cmd[n] != '\t' && cmd[n] != ';' && cmd[n] != '&' &&
           cmd[n] != '|';
         n++) {
        if (!isalnum((unsigned char)cmd[n]) && !strchr("/._+-", cmd[n]))
            return true; /* quoting, variables, globs, assignments: the shell's to read */
        slash |= cmd[n] == '/';
    }
    if (!slash || n == 0 || n >= 1024)
        return true;
    char path[2048];
    if (cmd[0] == '/')
        snprintf(path, sizeof(path), "%.*s", (int)n, cmd);
    else if (workdir)
        snprintf(path, sizeof(path), "%s/%.*s", workdir, (int)n, cmd);
    else
        return true; /* relative to the instance's own directory, made at start */
    struct stat sb;
    const char *why = NULL;
    if (stat(path, &sb) < 0)
        why = strerror(errno);
    else if (S_ISDIR(sb.st_mode))
        why = "is a directory";
    else if (!(sb.st_mode & 0111))
        why = "is not executable (chmod +x it)";
    if (why) {
        snprintf(msg, len, "\"command\": %.300s: %s", path, why);
        return false;
    }
    char cant[1024];
    if (!jn_exec_can_use(path, false, cant, sizeof(cant))) {
        snprintf(msg, len, "\"command\": %.400s", cant);
        return false;
    }
    return true;
}

static bool image_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 500)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

static void post_deploy(struct jn_deployer *d, const char *app, const struct jn_api_req *req,
                        struct jn_api_resp *resp)
{
    static const char *const allowed[] = {"image",   "command",   "port",           "env",
                                          "volumes", "instances", "health",         "memory",
                                          "cpus",    "workdir",   "health_timeout", "registry_auth",
                                          NULL};
    cJSON *b = parse_object(req, resp, allowed);
    if (!b)
        return;
    cJSON *spec = NULL, *env = NULL;
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(b, "image");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(b, "command");
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(b, "registry_auth");
    char err[512] = "";
    struct jn_store *st = jn_control_store(d->ctl);
    if (!image == !cmd) {
        jn_api_error(resp, 400, "give exactly one of --image IMAGE or --cmd \"COMMAND\"");
        goto out;
    }
    if (image && (!cJSON_IsString(image) || !image_ok(image->valuestring))) {
        jn_api_error(resp, 400,
                     "\"image\" must be an image reference like "
                     "registry.example.com/app:v2 (no spaces)");
        goto out;
    }
    if (cmd && (!cJSON_IsString(cmd) || !*cmd->valuestring || strlen(cmd->valuestring) > 8192)) {
        jn_api_error(resp, 400, "\"command\" must be a non-empty shell command line");
        goto out;
    }
    if (auth && (!cJSON_IsObject(auth) ||
                 !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(auth, "username")) ||
                 !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(auth, "password")) ||
                 !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(auth, "server")))) {
        jn_api_error(resp, 400,
                     "\"registry_auth\" must be {\"username\", \"password\", "
                     "\"server\"}");
        goto out;
    }
    int scale = 1, instances;
    int64_t serving = 0;
    bool exists = jn_store_app_serving(st, app, &serving, &scale) == 0;
    instances = scale > 0 ? scale : 1;
    if (!(spec = deploy_spec(b, image != NULL, &instances, resp)) || !(env = deploy_env(b, resp)))
        goto out;
    cJSON_AddNumberToObject(spec, "instances", instances);
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(spec, "workdir");
    if (cmd && !command_ok(cmd->valuestring, wd ? wd->valuestring : NULL, err, sizeof(err))) {
        jn_api_error(resp, 400, "%s", err);
        goto out;
    }
    int r;
    if (!exists && (r = jn_control_app_create(d->ctl, app, NULL, 0, err, sizeof(err))) < 0) {
        jn_api_error(resp, r == JN_EBADINPUT ? 400 : r == JN_EEXIST ? 409 : 500, "%s", err);
        goto out;
    }
    if (!claim_or_409(d, app, resp))
        goto out;
    char *spec_s = cJSON_PrintUnformatted(spec), *env_s = cJSON_PrintUnformatted(env);
    struct jn_store_release rel = {0};
    r = jn_store_release_create(st, app, image ? image->valuestring : NULL,
                                cmd ? cmd->valuestring : NULL, env_s, spec_s, &rel);
    free(spec_s);
    free(env_s);
    if (r < 0) {
        dep_unclaim(d, app);
        jn_api_error(resp, 500, "cannot record the release: %s",
                     r == JN_EBASE ? jn_store_error(st) : jn_strerror(r));
        goto out;
    }
    struct dep_job *j = job_start(d, JOB_DEPLOY, app, rel.id, instances, auth);
    job_accepted(resp, j, rel.version);
    jn_store_release_clear(&rel);
out:
    cJSON_Delete(spec);
    cJSON_Delete(env);
    cJSON_Delete(b);
}

/* The app's serving release and scale; answers 404/409 when there is none. */
static bool serving_or_error(struct jn_deployer *d, const char *app, int64_t *rel, int *scale,
                             struct jn_api_resp *resp)
{
    int r = jn_store_app_serving(jn_control_store(d->ctl), app, rel, scale);
    if (r == JN_ENOTFOUND) {
        jn_api_error(resp, 404,
                     "app '%s' does not exist (deploy it with: jern deploy %s "
                     "--image IMAGE)",
                     app, app);
        return false;
    }
    if (r < 0 || *rel == 0) {
        jn_api_error(resp, 409,
                     "app '%s' has no release serving yet (deploy one first: jern "
                     "deploy %s --image IMAGE)",
                     app, app);
        return false;
    }
    return true;
}

static void post_rollback(struct jn_deployer *d, const char *app, const struct jn_api_req *req,
                          struct jn_api_resp *resp)
{
    static const char *const allowed[] = {"release", NULL};
    cJSON *b = parse_object(req, resp, allowed);
    if (!b)
        return;
    int want = 0, scale;
    int64_t cur;
    if (!get_int_field(b, "release", 1, INT32_MAX, &want, resp) ||
        !serving_or_error(d, app, &cur, &scale, resp)) {
        cJSON_Delete(b);
        return;
    }
    cJSON_Delete(b);
    struct jn_store_release *v;
    int n = jn_store_release_list(jn_control_store(d->ctl), app, &v);
    struct jn_store_release *target = NULL, *active = NULL;
    for (int i = 0; i < n; i++) {
        if (v[i].id == cur)
            active = &v[i];
        if (want ? v[i].version == want
                 : (!target && strcmp(v[i].status, "retired") == 0 && v[i].id != cur))
            target = &v[i];
    }
    if (!target) {
        if (want)
            jn_api_error(resp, 404,
                         "app '%s' has no release v%d (kept: the last %d; see: jern "
                         "releases %s)",
                         app, want, JN_RELEASE_KEEP, app);
        else
            jn_api_error(resp, 409,
                         "app '%s' has no earlier release to roll back to (see: "
                         "jern releases %s)",
                         app, app);
    } else if (target == active) {
        jn_api_error(resp, 409, "release v%d of app '%s' is the one serving already", want, app);
    } else if (strcmp(target->status, "failed") == 0 || strcmp(target->status, "pending") == 0) {
        jn_api_error(resp, 409,
                     "release v%d of app '%s' never served (its deploy %s); roll "
                     "back to one that did (see: jern releases %s)",
                     target->version, app, target->status[0] == 'f' ? "failed" : "is still running",
                     app);
    } else if (claim_or_409(d, app, resp)) {
        struct dep_job *j =
            job_start(d, JOB_ROLLBACK, app, target->id, scale > 0 ? scale : 1, NULL);
        job_accepted(resp, j, target->version);
    }
    (void)active;
    jn_store_release_list_free(v, n);
}

static void post_scale(struct jn_deployer *d, const char *app, const struct jn_api_req *req,
                       struct jn_api_resp *resp)
{
    static const char *const allowed[] = {"instances", NULL};
    cJSON *b = parse_object(req, resp, allowed);
    if (!b)
        return;
    int n = -1, scale;
    int64_t cur;
    bool ok = get_int_field(b, "instances", 0, DEP_MAX_INSTANCES, &n, resp);
    cJSON_Delete(b);
    if (!ok)
        return;
    if (n < 0) {
        jn_api_error(resp, 400, "\"instances\" is required (0 to %d)", DEP_MAX_INSTANCES);
        return;
    }
    if (serving_or_error(d, app, &cur, &scale, resp) && claim_or_409(d, app, resp)) {
        jn_autoscale_clear(d->as, app); /* a fixed count: min = max = n */
        job_accepted(resp, job_start(d, JOB_SCALE, app, cur, n, NULL), 0);
    }
}

static void post_restart(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    int scale;
    int64_t cur;
    if (serving_or_error(d, app, &cur, &scale, resp) && claim_or_409(d, app, resp))
        job_accepted(resp, job_start(d, JOB_RESTART, app, cur, scale, NULL), 0);
}

static bool app_exists(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    if (jn_store_app_get(jn_control_store(d->ctl), app, NULL) == 0)
        return true;
    jn_api_error(resp, 404, "app '%s' does not exist (see: jern apps)", app);
    return false;
}

static void get_releases(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    if (!app_exists(d, app, resp))
        return;
    struct jn_store_release *v;
    int n = jn_store_release_list(jn_control_store(d->ctl), app, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON *arr = cJSON_AddArrayToObject(o, "releases");
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "version", v[i].version);
        cJSON_AddStringToObject(r, "status", v[i].status);
        cJSON_AddNumberToObject(r, "created_at", (double)v[i].created_at);
        if (v[i].image[0]) {
            cJSON_AddStringToObject(r, "image", v[i].image);
            cJSON_AddStringToObject(r, "image_id", v[i].image_id);
        } else {
            cJSON_AddStringToObject(r, "command", v[i].command);
        }
        /* Values may be secrets: only the names leave the daemon. */
        cJSON *keys = cJSON_AddArrayToObject(r, "env_keys");
        cJSON *env = cJSON_Parse(v[i].env);
        for (cJSON *e = env ? env->child : NULL; e; e = e->next)
            cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
        cJSON_Delete(env);
        cJSON *spec = cJSON_Parse(v[i].spec);
        cJSON_AddItemToObject(r, "settings", spec ? spec : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, r);
    }
    jn_store_release_list_free(v, n);
    jn_api_send_json(resp, 200, o);
}

static void get_ps(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    if (app && !app_exists(d, app, resp))
        return;
    struct jn_store_instance *v;
    int n = jn_store_instance_list(jn_control_store(d->ctl), app, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "instances");
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "app", v[i].app);
        cJSON_AddStringToObject(x, "name", v[i].name);
        cJSON_AddNumberToObject(x, "release", v[i].version);
        cJSON_AddStringToObject(x, "driver", v[i].driver);
        cJSON_AddStringToObject(x, "state", v[i].state);
        cJSON_AddStringToObject(x, "health", v[i].health);
        cJSON_AddNumberToObject(x, "port", v[i].host_port);
        cJSON_AddNumberToObject(x, "started_at", (double)v[i].started_at);
        cJSON_AddNumberToObject(x, "uptime_s",
                                v[i].started_at && strcmp(v[i].state, "running") == 0
                                    ? (double)(now - v[i].started_at)
                                    : 0);
        cJSON_AddNumberToObject(x, "restarts", v[i].restarts);
        cJSON_AddStringToObject(x, "id", v[i].external_id);
        char msg[128];
        struct jn_driver *drv =
            dep_rt_get(&d->rt, strcmp(v[i].driver, "exec") != 0, msg, sizeof(msg));
        struct jn_instance st;
        int pid = 0;
        if (drv && strcmp(v[i].state, "running") == 0 && v[i].external_id[0] &&
            jn_driver_inspect(drv, v[i].external_id, &st) == 0)
            pid = st.pid;
        cJSON_AddNumberToObject(x, "pid", pid);
        cJSON_AddItemToArray(arr, x);
    }
    free(v);
    cJSON *as = app ? jn_autoscale_json(d->as, app) : NULL;
    if (as)
        cJSON_AddItemToObject(o, "autoscale", as);
    jn_api_send_json(resp, 200, o);
}

static void get_logs(struct jn_deployer *d, const char *app, const char *rel_s,
                     struct jn_api_resp *resp)
{
    int64_t cur = 0;
    int scale;
    if (!app_exists(d, app, resp))
        return;
    struct jn_store *st = jn_control_store(d->ctl);
    int version = 0;
    if (rel_s) {
        char *end;
        long v = strtol(rel_s, &end, 10);
        if (*end || v <= 0 || v > INT32_MAX) {
            jn_api_error(resp, 400, "release \"%.32s\" is not a release number", rel_s);
            return;
        }
        version = (int)v;
    } else {
        jn_store_app_serving(st, app, &cur, &scale);
        struct jn_store_release r = {0};
        if (cur && jn_store_release_get(st, app, 0, cur, &r) == 0)
            version = r.version;
        jn_store_release_clear(&r);
        if (!version) {
            jn_api_error(resp, 404,
                         "app '%s' has no release serving (name one: jern logs %s "
                         "--release N)",
                         app, app);
            return;
        }
    }
    struct jn_store_release r = {0};
    if (jn_store_release_get(st, app, version, 0, &r) < 0) {
        jn_api_error(resp, 404, "app '%s' has no release v%d (see: jern releases %s)", app, version,
                     app);
        return;
    }
    jn_store_release_clear(&r);
    struct jn_store_instance *v;
    int n = jn_store_instance_list(st, app, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddNumberToObject(o, "release", version);
    cJSON_AddItemToObject(o, "instances", dep_logs_json(&d->rt, app, version, v, n > 0 ? n : 0));
    free(v);
    jn_api_send_json(resp, 200, o);
}

static bool method(const struct jn_api_req *req, enum jn_http_method m)
{
    return req->method == m || (m == JN_HTTP_GET && req->method == JN_HTTP_HEAD);
}

static void not_allowed(struct jn_api_resp *resp, const char *allow)
{
    jn_api_error(resp, 405, "method not allowed here (allowed: %s)", allow);
    resp->allow = allow;
}

bool jn_deployer_api(struct jn_deployer *d, const char *const *seg, int nseg,
                     const struct jn_api_req *req, struct jn_api_resp *resp)
{
    if (nseg < 2 || strcmp(seg[0], "v1") != 0)
        return false;
    if (strcmp(seg[1], "jobs") == 0 && (nseg == 3 || nseg == 4)) {
        if (method(req, JN_HTTP_GET))
            job_show(d, seg[2], nseg == 4 ? seg[3] : NULL, resp);
        else
            not_allowed(resp, "GET");
        return true;
    }
    if (strcmp(seg[1], "ps") == 0 && nseg == 2) {
        if (method(req, JN_HTTP_GET))
            get_ps(d, NULL, resp);
        else
            not_allowed(resp, "GET");
        return true;
    }
    if (strcmp(seg[1], "apps") != 0 || nseg < 4)
        return false;
    if (d->as && jn_autoscale_api(d->as, seg, nseg, req, resp))
        return true;
    const char *app = seg[2], *what = seg[3];
    static const char *const posts[] = {"deploy", "rollback", "scale", "restart", NULL};
    for (const char *const *p = posts; *p; p++) {
        if (strcmp(what, *p) != 0 || nseg != 4)
            continue;
        if (req->method != JN_HTTP_POST)
            not_allowed(resp, "POST");
        else if (what[0] == 'd')
            post_deploy(d, app, req, resp);
        else if (what[1] == 'o')
            post_rollback(d, app, req, resp);
        else if (what[1] == 'c')
            post_scale(d, app, req, resp);
        else
            post_restart(d, app, resp);
        return true;
    }
    bool logs = strcmp(what, "logs") == 0 && (nseg == 4 || nseg == 5);
    if (!logs && nseg != 4)
        return false;
    if (strcmp(what, "releases") != 0 && strcmp(what, "ps") != 0 && !logs)
        return false;
    if (!method(req, JN_HTTP_GET))
        not_allowed(resp, "GET");
    else if (what[0] == 'r')
        get_releases(d, app, resp);
    else if (what[0] == 'p')
        get_ps(d, app, resp);
    else
        get_logs(d, app, nseg == 5 ? seg[4] : NULL, resp);
    return true;
}
