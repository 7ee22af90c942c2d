/*
 * deploys.c: the deploy routes (docs/API.md, docs/DEPLOY.md). Each POST
 * validates everything, claims the app (409 when a job already works on it),
 * records what it needs and starts a job of the deployer (deploy/jobs.c);
 * the answer (202) names the job, whose progress lines the CLI reads with
 * GET /v1/jobs/ID/AFTER as they are written.
 */
#include "core/common.h"

#include "control/api/api.h"
#include "control/api/ui_nodes.h"
#include "control/cluster/cluster.h"
#include "control/appconfig/rules.h"
#include "control/control.h"
#include "control/deploy/build.h"
#include "control/deploy/deploy.h"
#include "control/scale/autoscale.h"
#include "runtime/driver.h"
#include "store/release.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static struct jn_store *store(const struct jn_api_call *c)
{
    return jn_control_store(c->api->ctl);
}

static void job_accepted(struct jn_api_resp *resp, int job, const char *app, int version)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "job", job);
    cJSON_AddStringToObject(o, "app", app);
    if (version > 0)
        cJSON_AddNumberToObject(o, "release", version);
    jn_api_send_json(resp, 202, o);
}

bool jn_api_claim_app(struct jn_deployer *d, const char *app, struct jn_api_resp *resp,
                      const char *then)
{
    if (jn_deployer_claim(d, app))
        return true;
    bool background;
    int id = jn_deployer_running_job(d, app, &background);
    if (!background) {
        jn_api_error(resp, 409,
                     "a deploy, rollback, scale or restart of app '%s' is already running (job "
                     "%d): %s",
                     app, id, then);
        return false;
    }
    char msg[512];
    if (id)
        snprintf(msg, sizeof(msg), "app '%s' is busy: the autoscaler is scaling it (job %d)", app,
                 id);
    else
        snprintf(msg, sizeof(msg),
                 "app '%s' is busy: an instance is being restarted, paused or resumed", app);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "retry_after", 1);
    snprintf(resp->headers, sizeof(resp->headers), "Retry-After: 1\r\n");
    jn_api_send_json(resp, 409, o);
    return false;
}

static bool claim_or_409(struct jn_deployer *d, const char *app, struct jn_api_resp *resp)
{
    return jn_api_claim_app(d, app, resp, "one at a time; wait for it to finish and try again");
}

/* ---- validation ---- */

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

/* Builds the settings snapshot from the deploy body; answers 400 on error. */
/* "listen_fds": socket activation (driver.h), for one program run by the exec
 * driver. Adds it to spec; false (resp set) when it cannot be honoured. */
static bool listen_fds_spec(const cJSON *b, const struct jn_driver_kind *kind, cJSON *spec,
                            struct jn_api_resp *resp)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "listen_fds");
    if (!x || cJSON_IsFalse(x))
        return true;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(b, "command");
    if (!cJSON_IsTrue(x) || !cJSON_IsString(cmd) || strcmp(kind->name, "exec") != 0) {
        jn_api_error(resp, 400,
                     "\"listen_fds\" is true or false, and needs a plain process (--cmd, the "
                     "exec driver)");
        return false;
    }
    /* The socket goes to the process the command execs: one program. */
    if (strpbrk(cmd->valuestring, ";&|<>()`$\n\\'\"*?[]{}~#")) {
        jn_api_error(resp, 400,
                     "\"listen_fds\" needs a command that is one program and its arguments (no "
                     "shell operators, quotes or expansions): the listening socket goes to the "
                     "process it runs");
        return false;
    }
    cJSON_AddTrueToObject(spec, "listen_fds");
    return true;
}

/* "socket": "unix": the app listens on a unix socket instead of a port, and
 * the gateway and the health probe connect there (deploy/instance.c). A
 * process needs "listen_fds" (jern binds the socket and hands it over: the
 * state dir is not the app user's to enter); a container makes the socket
 * itself at $JERN_SOCKET, in a directory mounted from the state dir. */
static bool socket_spec(const cJSON *b, const struct jn_driver_kind *kind, cJSON *spec,
                        struct jn_api_resp *resp)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "socket");
    if (!x || (cJSON_IsString(x) && strcmp(x->valuestring, "tcp") == 0))
        return true;
    if (!cJSON_IsString(x) || strcmp(x->valuestring, "unix") != 0) {
        jn_api_error(resp, 400, "\"socket\" is \"unix\" or \"tcp\" (the default)");
        return false;
    }
    if (strcmp(kind->name, "exec") == 0 &&
        !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "listen_fds"))) {
        jn_api_error(resp, 400,
                     "\"socket\": \"unix\" needs --listen-fds: jern binds the socket and hands "
                     "it to the app as fd 3 (LISTEN_FDS, systemd's socket activation)");
        return false;
    }
    cJSON_AddStringToObject(spec, "socket", "unix");
    return true;
}

static cJSON *deploy_spec(const cJSON *b, const struct jn_driver_kind *kind, int *instances,
                          struct jn_api_resp *resp)
{
    cJSON *spec = cJSON_CreateObject();
    int port = 8080, health_timeout = 30;
    if (!jn_api_int(resp, b, "port", 1, 65535, &port) ||
        !jn_api_int(resp, b, "instances", 1, JN_DEPLOY_MAX_INSTANCES, instances) ||
        !jn_api_int(resp, b, "health_timeout", 1, 600, &health_timeout))
        goto bad;
    cJSON_AddStringToObject(spec, "driver", kind->name);
    cJSON_AddNumberToObject(spec, "port", port);
    cJSON_AddNumberToObject(spec, "health_timeout_ms", health_timeout * 1000.0);
    if (!listen_fds_spec(b, kind, spec, resp) || !socket_spec(b, kind, spec, resp))
        goto bad;
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
        if (!kind->images) {
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
        if (!kind->images && cJSON_GetArraySize(vols) > 0) {
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
        /* A driver whose instances see this machine's files (exec): a
         * missing directory is named now, not as a failed instance after the
         * 202. */
        struct stat sb;
        const char *why = !kind->can_use                   ? NULL
                          : stat(x->valuestring, &sb) < 0 ? strerror(errno)
                          : !S_ISDIR(sb.st_mode)          ? "not a directory"
                                                          : NULL;
        if (why) {
            jn_api_error(resp, 400, "\"workdir\" %.900s: %s (create it first, or fix the path)",
                         x->valuestring, why);
            goto bad;
        }
        char msg[1024];
        if (kind->can_use && !kind->can_use(x->valuestring, true, msg, sizeof(msg))) {
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

/* When the command line starts with a program path (a word with a '/' and no
 * shell syntax), checks that it is an executable file kind's instances can
 * use: the common typo is then a 400 naming the path instead of an instance
 * that exits 127. Other command lines (a program found through $PATH, shell
 * syntax) are left to the shell. Returns true when fine, else false with msg. */
static bool command_ok(const struct jn_driver_kind *kind, const char *cmd, const char *workdir,
                       char *msg, size_t len)
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
    if (!kind->can_use || !slash || n == 0 || n >= 1024)
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
    if (!kind->can_use(path, false, cant, sizeof(cant))) {
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

/* What a cluster node cannot deploy yet; false (resp set) for those. */
static bool cluster_can_deploy(struct jn_api_resp *resp, bool build, const cJSON *spec)
{
    if (build) {
        /* the other nodes could not see this node's directory or its image */
        jn_api_error(resp, 501,
                     "deploy --build is not supported on a cluster node yet: build the image, "
                     "push it to a registry and deploy --image");
        return false;
    }
    if (cJSON_GetObjectItemCaseSensitive(spec, "socket")) {
        /* the other nodes' gateways reach an instance over TCP */
        jn_api_error(resp, 400,
                     "\"socket\": \"unix\" serves only the gateway of its own node; on a "
                     "cluster node, deploy without --socket unix");
        return false;
    }
    return true;
}

/* A deploy's registry credentials for the cluster's record, the password
 * sealed with the cluster's key: every node may have to pull. NULL with err. */
static cJSON *cluster_auth(struct jn_cluster *cl, const cJSON *auth, char *err, size_t errlen)
{
    const char *pw = cJSON_GetObjectItemCaseSensitive(auth, "password")->valuestring;
    char *sealed = jn_cluster_seal(cl, "REGISTRY_PASSWORD", pw, err, errlen);
    if (!sealed)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "username",
                            cJSON_GetObjectItemCaseSensitive(auth, "username")->valuestring);
    cJSON_AddStringToObject(o, "server",
                            cJSON_GetObjectItemCaseSensitive(auth, "server")->valuestring);
    cJSON_AddStringToObject(o, "password", sealed);
    free(sealed);
    return o;
}

static void post_deploy(struct jn_api_call *c)
{
    struct jn_deployer *d = c->api->deployer;
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {
        "image",          "command",       "build",      "ref",  "port",
        "env",            "volumes",       "instances",  "health", "memory",
        "cpus",           "workdir",       "health_timeout", "registry_auth", "listen_fds",
        "socket",         NULL};
    cJSON *b = jn_api_body(c, allowed, false);
    if (!b)
        return;
    cJSON *spec = NULL, *env = NULL;
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(b, "image");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(b, "command");
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(b, "registry_auth");
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(b, "build");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(b, "ref");
    char err[1024] = "", built[600] = "";
    struct jn_store *st = store(c);
    if ((image != NULL) + (cmd != NULL) + (build != NULL) != 1) {
        jn_api_error(resp, 400,
                     "give exactly one of --image IMAGE, --cmd \"COMMAND\" or --build DIR");
        goto out;
    }
    if ((ref && !build) || (build && !cJSON_IsString(build)) || (ref && !cJSON_IsString(ref))) {
        jn_api_error(resp, 400, "\"build\" (a directory) and \"ref\" (a git revision, with "
                                "\"build\" only) must be strings");
        goto out;
    }
    struct jn_build_src src;
    if (build) {
        if (jn_build_resolve(build->valuestring, ref ? ref->valuestring : NULL, &src, err,
                             sizeof(err)) < 0) {
            jn_api_error(resp, 400, "%s", err);
            goto out;
        }
        snprintf(built, sizeof(built), "localhost/%s:%s", app, src.tag);
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
    const struct jn_driver_kind *kind = jn_driver_kind_for(image != NULL || build != NULL);
    if (!(spec = deploy_spec(b, kind, &instances, resp)) ||
        !(env = jn_api_config_vars(c, cJSON_GetObjectItemCaseSensitive(b, "env"), false, "env")))
        goto out;
    cJSON_AddNumberToObject(spec, "instances", instances);
    if (build) {
        cJSON *bo = cJSON_AddObjectToObject(spec, "build");
        cJSON_AddStringToObject(bo, "context", src.context);
        if (src.commit[0]) {
            cJSON_AddStringToObject(bo, "ref", src.ref);
            cJSON_AddStringToObject(bo, "commit", src.commit);
        }
        cJSON_AddStringToObject(bo, "dockerfile", src.dockerfile);
    }
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(spec, "workdir");
    if (cmd && !command_ok(kind, cmd->valuestring, wd ? wd->valuestring : NULL, err, sizeof(err))) {
        jn_api_error(resp, 400, "%s", err);
        goto out;
    }
    int r;
    if (c->api->cluster && !cluster_can_deploy(resp, build != NULL, spec))
        goto out;
    if (c->api->cluster) { /* the cluster's desired state; nodes deploy what is placed on them */
        char cerr[768];
        cJSON *ra = auth ? cluster_auth(c->api->cluster, auth, cerr, sizeof(cerr)) : NULL;
        r = auth && !ra ? JN_EBASE : jn_cluster_seal_for_cluster(c->api->cluster, env, cerr,
                                                                 sizeof(cerr));
        if (r >= 0)
            r = jn_cluster_deploy(c->api->cluster, app, image ? image->valuestring : NULL,
                                  cmd ? cmd->valuestring : NULL, env, spec, instances, ra, cerr,
                                  sizeof(cerr));
        cJSON_Delete(ra);
        if (r < 0) {
            jn_api_cluster_fail(resp, r, cerr);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "app", app);
            cJSON_AddNumberToObject(o, "release", r);
            cJSON_AddNumberToObject(o, "instances", instances);
            cJSON_AddBoolToObject(o, "cluster", true);
            jn_api_send_json(resp, 202, o);
        }
        goto out;
    }
    if (!exists && (r = jn_control_app_create(c->api->ctl, app, NULL, 0, err, sizeof(err))) < 0) {
        jn_api_error(resp, r == JN_EBADINPUT ? 400 : r == JN_EEXIST ? 409 : 500, "%s", err);
        goto out;
    }
    if (!claim_or_409(d, app, resp))
        goto out;
    char *spec_s = cJSON_PrintUnformatted(spec), *env_s = cJSON_PrintUnformatted(env);
    char *config_s = NULL;
    struct jn_store_release rel = {0};
    /* The app's config as it is now, --env over it for this release only. */
    r = jn_store_app_config_get(st, app, &config_s);
    if (r == 0)
        r = jn_store_release_create(st, app, built[0] ? built : image ? image->valuestring : NULL,
                                    cmd ? cmd->valuestring : NULL, config_s, env_s, spec_s, &rel);
    free(spec_s);
    free(env_s);
    free(config_s);
    if (r < 0) {
        jn_deployer_unclaim(d, app);
        jn_api_error(resp, 500, "cannot record the release: %s",
                     r == JN_EBASE ? jn_store_error(st) : jn_strerror(r));
        goto out;
    }
    struct jn_registry_auth ra = {0};
    if (auth)
        ra = (struct jn_registry_auth){
            cJSON_GetObjectItemCaseSensitive(auth, "username")->valuestring,
            cJSON_GetObjectItemCaseSensitive(auth, "password")->valuestring,
            cJSON_GetObjectItemCaseSensitive(auth, "server")->valuestring};
    int job =
        exists ? jn_deployer_job_start(d, JN_JOB_DEPLOY, app, rel.id, instances, auth ? &ra : NULL)
               : jn_deployer_first_deploy_start(d, app, rel.id, instances, auth ? &ra : NULL);
    job_accepted(resp, job, app, rel.version);
    snprintf(resp->note, sizeof(resp->note), "v%d %s %.400s", rel.version,
             image ? "image" : build ? "build" : "command",
             image ? image->valuestring : build ? built : cmd->valuestring);
    jn_store_release_clear(&rel);
out:
    cJSON_Delete(spec);
    cJSON_Delete(env);
    cJSON_Delete(b);
}

/* The app's serving release and scale; answers 404/409 when there is none. */
static bool serving_or_error(struct jn_api_call *c, const char *app, int64_t *rel, int *scale)
{
    struct jn_api_resp *resp = c->resp;
    int r = jn_store_app_serving(store(c), app, rel, scale);
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

static void post_rollback(struct jn_api_call *c)
{
    struct jn_deployer *d = c->api->deployer;
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"release", NULL};
    cJSON *b = jn_api_body(c, allowed, false);
    if (!b)
        return;
    int want = 0, scale;
    int64_t cur;
    if (!jn_api_int(resp, b, "release", 1, INT32_MAX, &want) ||
        !serving_or_error(c, app, &cur, &scale)) {
        cJSON_Delete(b);
        return;
    }
    cJSON_Delete(b);
    struct jn_store_release *v;
    int n = jn_store_release_list(store(c), app, &v);
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
        /* The release returns with the config it was deployed with, which
         * becomes the app's config again (a release of before config: the
         * app's config stays). */
        int r = target->config[0] ? jn_store_app_config_set(store(c), app, target->config) : 0;
        if (r < 0) {
            jn_deployer_unclaim(d, app);
            jn_api_error(resp, 500, "cannot restore the config of v%d: %s", target->version,
                         jn_store_error(store(c)));
            jn_store_release_list_free(v, n);
            return;
        }
        int job =
            jn_deployer_job_start(d, JN_JOB_ROLLBACK, app, target->id, scale > 0 ? scale : 1, NULL);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "job", job);
        cJSON_AddStringToObject(o, "app", app);
        cJSON_AddNumberToObject(o, "release", target->version);
        char names[400];
        jn_api_config_names(names, sizeof(names), target->config[0] ? target->config : "{}");
        char msg[512];
        if (target->config[0])
            snprintf(msg, sizeof(msg), "the config of v%d is the app's config again: %s",
                     target->version, names[0] ? names : "no variables");
        else
            snprintf(msg, sizeof(msg),
                     "v%d was deployed before jern kept config: it runs with its own "
                     "environment; the app's config is unchanged",
                     target->version);
        cJSON_AddStringToObject(o, "config", msg);
        jn_api_send_json(resp, 202, o);
        snprintf(resp->note, sizeof(resp->note), "to v%d (%.480s)", target->version, msg);
    }
    (void)active;
    jn_store_release_list_free(v, n);
}

static void post_scale(struct jn_api_call *c)
{
    struct jn_deployer *d = c->api->deployer;
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"instances", NULL};
    cJSON *b = jn_api_body(c, allowed, false);
    if (!b)
        return;
    int n = -1, scale;
    int64_t cur;
    bool ok = jn_api_int(resp, b, "instances", 0, JN_DEPLOY_MAX_INSTANCES, &n);
    cJSON_Delete(b);
    if (!ok)
        return;
    if (n < 0) {
        jn_api_error(resp, 400, "\"instances\" is required (0 to %d)", JN_DEPLOY_MAX_INSTANCES);
        return;
    }
    if (c->api->cluster) {
        char cerr[768];
        int r = jn_cluster_scale(c->api->cluster, app, n, cerr, sizeof(cerr));
        if (r < 0) {
            jn_api_cluster_fail(resp, r, cerr);
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "app", app);
        cJSON_AddNumberToObject(o, "instances", n);
        cJSON_AddBoolToObject(o, "cluster", true);
        jn_api_send_json(resp, 202, o);
        return;
    }
    if (serving_or_error(c, app, &cur, &scale) && claim_or_409(d, app, resp)) {
        jn_autoscale_clear(c->api->autoscaler, app); /* a fixed count: min = max = n */
        job_accepted(resp, jn_deployer_job_start(d, JN_JOB_SCALE, app, cur, n, NULL), app, 0);
        snprintf(resp->note, sizeof(resp->note), "%d instance(s)", n);
    }
}

static void post_restart(struct jn_api_call *c)
{
    struct jn_deployer *d = c->api->deployer;
    const char *app = jn_api_param(c, "app");
    int scale;
    int64_t cur;
    if (c->api->cluster) { /* every node's instances, not only this node's */
        char cerr[768];
        int r = jn_cluster_restart(c->api->cluster, app, cerr, sizeof(cerr));
        if (r < 0) {
            jn_api_cluster_fail(c->resp, r, cerr);
            return;
        }
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(jn_cluster_view(c->api->cluster), "apps"), app);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, "instances");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "app", app);
        cJSON_AddNumberToObject(o, "release", r);
        cJSON_AddNumberToObject(o, "instances", cJSON_IsNumber(n) ? n->valueint : 0);
        cJSON_AddBoolToObject(o, "cluster", true);
        jn_api_send_json(c->resp, 202, o);
        return;
    }
    if (serving_or_error(c, app, &cur, &scale) && claim_or_409(d, app, c->resp))
        job_accepted(c->resp, jn_deployer_job_start(d, JN_JOB_RESTART, app, cur, scale, NULL), app,
                     0);
}

static bool app_exists(struct jn_api_call *c, const char *app)
{
    if (jn_store_app_get(store(c), app, NULL) == 0)
        return true;
    jn_api_error(c->resp, 404, "app '%s' does not exist (see: jern apps)", app);
    return false;
}

static void get_releases(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    if (!app_exists(c, app))
        return;
    struct jn_store_release *v;
    int n = jn_store_release_list(store(c), app, &v);
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
        cJSON *spec = cJSON_Parse(v[i].spec);
        /* deploy --build: the commit it was built from ("" for a directory). */
        const cJSON *bo = cJSON_GetObjectItemCaseSensitive(spec, "build");
        if (bo) {
            const char *commit =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(bo, "commit"));
            cJSON_AddStringToObject(r, "commit", commit ? commit : "");
        }
        /* Values may be secrets: only the names leave the daemon. */
        cJSON *keys = cJSON_AddArrayToObject(r, "env_keys");
        cJSON *env = cJSON_Parse(v[i].env);
        for (cJSON *e = env ? env->child : NULL; e; e = e->next)
            cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
        cJSON_Delete(env);
        cJSON_AddItemToObject(r, "settings", spec ? spec : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, r);
    }
    jn_store_release_list_free(v, n);
    jn_api_send_json(c->resp, 200, o);
}

/* POST /v1/apps/:app/env-diff {"env": {...}}: which names of env differ from
 * the serving release's environment, without a value leaving the daemon
 * (`jern plan` asks before it decides to redeploy). */
static void post_env_diff(struct jn_api_call *c)
{
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app");
    static const char *const allowed[] = {"env", NULL};
    if (!app_exists(c, app))
        return;
    cJSON *b = jn_api_body(c, allowed, true);
    if (!b)
        return;
    cJSON *want = cJSON_DetachItemFromObjectCaseSensitive(b, "env");
    cJSON_Delete(b);
    bool ok = want == NULL || cJSON_IsObject(want);
    for (const cJSON *e = ok && want ? want->child : NULL; e && ok; e = e->next)
        ok = cJSON_IsString(e) && jn_appconfig_name_ok(e->string);
    if (!ok) {
        cJSON_Delete(want);
        jn_api_error(resp, 400, "\"env\" must be an object of NAME: \"value\" strings");
        return;
    }
    if (!want)
        want = cJSON_CreateObject();
    int64_t cur = 0;
    int scale;
    jn_store_app_serving(store(c), app, &cur, &scale);
    struct jn_store_release r = {0};
    /* What the serving release's instances get: its config, --env over it,
     * secrets opened (the answer carries names only). */
    cJSON *have = cJSON_CreateObject();
    char **env = NULL, why[256];
    if (cur && jn_store_release_get(store(c), app, 0, cur, &r) == 0 &&
        jn_appconfig_env(c->api->state_dir, r.config, r.env, &env, why, sizeof(why)) == 0) {
        for (char **e = env; *e; e++) {
            char *eq = strchr(*e, '=');
            if (!eq)
                continue;
            *eq = '\0';
            cJSON_DeleteItemFromObjectCaseSensitive(have, *e);
            cJSON_AddStringToObject(have, *e, eq + 1);
        }
        jn_appconfig_env_free(env);
    }
    /* A cluster node: the cluster's release is the one its nodes deploy. */
    const cJSON *crec =
        c->api->cluster
            ? cJSON_GetObjectItemCaseSensitive(
                  cJSON_GetObjectItemCaseSensitive(jn_cluster_view(c->api->cluster), "apps"), app)
            : NULL;
    const cJSON *cenv = cJSON_GetObjectItemCaseSensitive(crec, "env");
    if (cJSON_IsObject(cenv)) {
        cJSON_Delete(have);
        have = cJSON_Duplicate(cenv, true);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddNumberToObject(o, "release", cur ? r.version : 0);
    cJSON *added = cJSON_AddArrayToObject(o, "added");
    cJSON *changed = cJSON_AddArrayToObject(o, "changed");
    cJSON *removed = cJSON_AddArrayToObject(o, "removed");
    for (const cJSON *e = want->child; e; e = e->next) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, e->string);
        if (!cJSON_IsString(h))
            cJSON_AddItemToArray(added, cJSON_CreateString(e->string));
        else if (strcmp(h->valuestring, e->valuestring) != 0)
            cJSON_AddItemToArray(changed, cJSON_CreateString(e->string));
    }
    for (const cJSON *h = have ? have->child : NULL; h; h = h->next)
        if (!cJSON_GetObjectItemCaseSensitive(want, h->string))
            cJSON_AddItemToArray(removed, cJSON_CreateString(h->string));
    cJSON_Delete(have);
    cJSON_Delete(want);
    jn_store_release_clear(&r);
    jn_api_send_json(resp, 200, o);
}

static void get_ps(struct jn_api_call *c)
{
    const char *app = jn_api_param(c, "app");
    if (app && !app_exists(c, app))
        return;
    struct jn_store_instance *v;
    int n = jn_store_instance_list(store(c), app, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "instances");
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "app", v[i].app);
        cJSON_AddStringToObject(x, "name", v[i].name);
        cJSON_AddNumberToObject(x, "release", v[i].version);
        cJSON_AddStringToObject(x, "driver", v[i].driver);
        cJSON_AddStringToObject(x, "node", jn_ui_node_name(c->api));
        cJSON_AddStringToObject(x, "state", jn_inst_state_name(v[i].state));
        cJSON_AddStringToObject(x, "health", jn_inst_health_name(v[i].health));
        cJSON_AddNumberToObject(x, "port", v[i].host_port);
        if (v[i].sock[0])
            cJSON_AddStringToObject(x, "socket", v[i].sock);
        cJSON_AddNumberToObject(x, "started_at", (double)v[i].started_at);
        cJSON_AddNumberToObject(
            x, "uptime_s",
            v[i].started_at && v[i].state == JN_INST_RUNNING ? (double)(now - v[i].started_at) : 0);
        cJSON_AddNumberToObject(x, "restarts", v[i].restarts);
        cJSON_AddStringToObject(x, "id", v[i].external_id);
        cJSON_AddNumberToObject(x, "pid", jn_deployer_instance_pid(c->api->deployer, &v[i]));
        cJSON_AddItemToArray(arr, x);
    }
    free(v);
    cJSON *as = app ? jn_api_autoscale_json(c->api, app) : NULL;
    if (as)
        cJSON_AddItemToObject(o, "autoscale", as);
    jn_api_send_json(c->resp, 200, o);
}

static void get_logs(struct jn_api_call *c)
{
    struct jn_api_resp *resp = c->resp;
    const char *app = jn_api_param(c, "app"), *rel_s = jn_api_param(c, "release");
    int64_t cur = 0;
    int scale;
    if (!app_exists(c, app))
        return;
    struct jn_store *st = store(c);
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
    char **mask;
    size_t nmask = jn_api_app_secrets(c, app, &mask);
    cJSON_AddItemToObject(o, "instances",
                          jn_deployer_logs_json(c->api->deployer, app, version, v,
                                                n > 0 ? (size_t)n : 0,
                                                (const char *const *)mask, nmask));
    jn_appconfig_env_free(mask);
    free(v);
    jn_api_send_json(resp, 200, o);
}

static void get_job(struct jn_api_call *c)
{
    const char *id_s = jn_api_param(c, "id"), *after_s = jn_api_param(c, "after");
    char *end;
    long id = strtol(id_s, &end, 10);
    long after = after_s ? strtol(after_s, NULL, 10) : 0;
    cJSON *o = *end || id <= 0 || id > INT32_MAX
                   ? NULL
                   : jn_deployer_job_json(c->api->deployer, (int)id,
                                          (int)JN_MAX(0, JN_MIN(after, INT32_MAX)));
    if (!o)
        jn_api_error(c->resp, 404, "no job %s (jobs are kept 10 minutes after they end)", id_s);
    else
        jn_api_send_json(c->resp, 200, o);
}

#define DEPLOYER JN_ROUTE_DEPLOYER

const struct jn_route jn_deploy_routes[] = {
    {JN_HTTP_POST, "/v1/apps/:app/deploy", DEPLOYER, post_deploy, "deploy"},
    {JN_HTTP_POST, "/v1/apps/:app/rollback", DEPLOYER, post_rollback, "rollback"},
    {JN_HTTP_POST, "/v1/apps/:app/scale", DEPLOYER, post_scale, "scale"},
    {JN_HTTP_POST, "/v1/apps/:app/restart", DEPLOYER, post_restart, "restart"},
    {JN_HTTP_GET, "/v1/apps/:app/releases", DEPLOYER, get_releases, NULL},
    {JN_HTTP_POST, "/v1/apps/:app/env-diff", DEPLOYER, post_env_diff, NULL},
    {JN_HTTP_GET, "/v1/apps/:app/ps", DEPLOYER, get_ps, NULL},
    {JN_HTTP_GET, "/v1/apps/:app/logs", DEPLOYER, get_logs, NULL},
    {JN_HTTP_GET, "/v1/apps/:app/logs/:release", DEPLOYER, get_logs, NULL},
    {JN_HTTP_GET, "/v1/ps", DEPLOYER, get_ps, NULL},
    {JN_HTTP_GET, "/v1/jobs/:id", DEPLOYER, get_job, NULL},
    {JN_HTTP_GET, "/v1/jobs/:id/:after", DEPLOYER, get_job, NULL},
    {0},
};
