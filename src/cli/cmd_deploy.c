/*
 * cmd_deploy.c: jern deploy, rollback, releases, ps, scale, restart, logs.
 * Lifecycle commands start a job in the daemon and print its progress lines
 * as the daemon writes them (GET /v1/jobs/ID/AFTER, polled every 150 ms); the
 * exit code is the job's outcome.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/cluster_wait.h"
#include "cli/cmd_scale.h"
#include "cli/commands.h"
#include "core/timefmt.h"

#include <ctype.h>
#include <time.h>
#include <unistd.h>

#define DEPLOY_USAGE                                                                              \
    "deploy APP (--image IMAGE | --cmd \"COMMAND\" | --build DIR [--ref REF]) [--port N] "      \
    "[--env K=V]... "                                                                            \
    "[--volume HOST:CONTAINER[:ro]]... [--instances N] [--health PATH] [--health-timeout S] "    \
    "[--memory SIZE] [--cpus N] [--registry-user U] [--listen-fds] [--socket unix] "            \
    "[--no-wait | --wait-timeout DURATION]"

/* Follows job id to its end, printing its lines. Returns the exit code. */
int jn_cli_follow_job(struct jn_client *c, int id)
{
    int next = 0;
    for (;;) {
        char path[64];
        snprintf(path, sizeof(path), "/v1/jobs/%d/%d", id, next);
        cJSON *o;
        int st = jn_client_call(c, "GET", path, NULL, &o);
        if (st < 0)
            return 1;
        if (st != 200) {
            int rc = jn_client_fail(st, o);
            cJSON_Delete(o);
            return rc;
        }
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(o, "lines"))
        {
            if (cJSON_IsString(l))
                printf("%s\n", l->valuestring);
        }
        fflush(stdout);
        next = (int)jn_client_num(o, "next");
        bool done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"));
        bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
        cJSON_Delete(o);
        if (done)
            return ok ? 0 : 1;
        jn_sleep_ms(150);
    }
}

/* POSTs body to /v1/apps/APP/what and follows the job it starts; on a
 * cluster node, waits as w says until the cluster runs the change. */
static int start_job(struct jn_client *c, const char *app, const char *what, cJSON *body,
                     const struct jn_cli_wait *w)
{
    char *e = jn_client_escape(app);
    size_t len = strlen(e) + 32;
    char *path = jn_malloc(len);
    snprintf(path, len, "/v1/apps/%s/%s", e, what);
    free(e);
    cJSON *o;
    int st = jn_client_call(c, "POST", path, body, &o);
    free(path);
    int rc;
    if (st < 0)
        rc = 1;
    else if (st != 202)
        rc = jn_client_fail(st, o);
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cluster"))) {
        /* a cluster: recorded in etcd; each node starts what is placed on it */
        static const struct jn_cli_wait dflt = {0};
        rc = jn_cli_cluster_wait(c, app, o, w ? w : &dflt);
    } else {
        /* A rollback says which config the release returns with. */
        if (*jn_client_str(o, "config"))
            printf("%s\n", jn_client_str(o, "config"));
        rc = jn_cli_follow_job(c, (int)jn_client_num(o, "job"));
    }
    cJSON_Delete(o);
    return rc;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* The registry part of an image name ("127.0.0.1:5000/app:v1" -> "127.0.0.1:5000"),
 * or "docker.io". */
static void registry_of(const char *image, char *out, size_t len)
{
    const char *slash = strchr(image, '/');
    if (slash && (memchr(image, '.', (size_t)(slash - image)) ||
                  memchr(image, ':', (size_t)(slash - image)) ||
                  strncmp(image, "localhost/", 10) == 0))
        snprintf(out, len, "%.*s", (int)(slash - image), image);
    else
        snprintf(out, len, "docker.io");
}

/* --registry-user: the login for image's registry, its password from the
 * environment (never the command line). False after printing why not. */
static bool add_registry_auth(cJSON *b, const char *image, const char *user)
{
    const char *pw = getenv("JERN_REGISTRY_PASSWORD");
    if (!image || !pw) {
        fprintf(stderr, "jern: deploy: --registry-user needs --image and the password in "
                        "$JERN_REGISTRY_PASSWORD\n");
        return false;
    }
    char server[256];
    registry_of(image, server, sizeof(server));
    cJSON *auth = cJSON_AddObjectToObject(b, "registry_auth");
    cJSON_AddStringToObject(auth, "username", user);
    cJSON_AddStringToObject(auth, "password", pw);
    cJSON_AddStringToObject(auth, "server", server);
    return true;
}

static void print_help(void)
{
    jn_cli_print_usage(stdout, "usage: jern ", DEPLOY_USAGE);
    printf("  --image IMAGE          a container image (docker driver)\n"
           "  --cmd \"COMMAND\"        a plain process in this directory, listening on "
           "$PORT\n"
           "  --build DIR            build DIR's Containerfile/Dockerfile (docker driver)\n"
           "  --ref REF              with --build: DIR is a git repository, build REF\n"
           "  --port N               the port inside the container (default 8080)\n"
           "  --env K=V | --env K    repeatable; K alone takes the value from your "
           "shell\n"
           "  --volume H:C[:ro]      bind mount (containers)\n"
           "  --instances N          how many (default: as now, 1 for a new app)\n"
           "  --health PATH          GET PATH must answer 2xx/3xx before traffic\n"
           "  --health-timeout S     overall health deadline (default 30)\n"
           "  --memory SIZE          256m, 1g\n"
           "  --cpus N               CPU share (containers)\n"
           "  --registry-user U      private registry login; the password comes\n"
           "                         from $JERN_REGISTRY_PASSWORD\n"
           "  --listen-fds           jern binds $PORT and hands the app the listening\n"
           "                         socket (fd 3, LISTEN_FDS; --cmd with one program)\n"
           "  --socket unix          listen on a unix socket, which the gateway reaches\n"
           "                         without TCP: with --listen-fds for --cmd; a container\n"
           "                         listens at $JERN_SOCKET (tcp: the default)\n"
           "  --wait-timeout D       on a cluster: how long to wait for the instances to be\n"
           "                         placed and healthy (default 120s)\n"
           "  --no-wait              on a cluster: return once the release is recorded\n");
}

int jn_cmd_deploy(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    int rc = 2;
    cJSON *b = cJSON_CreateObject(), *env = cJSON_CreateObject(), *vols = cJSON_CreateArray();
    const char *app = NULL, *image = NULL, *cmd = NULL, *reg_user = NULL, *build = NULL,
               *ref = NULL;
    struct jn_cli_wait wait = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            rc = 0;
            goto out;
        }
        int took = jn_cli_wait_arg(&wait, argc, argv, &i, "deploy");
        if (took < 0)
            goto out;
        if (took)
            continue;
        if (a[0] != '-') {
            if (app) {
                fprintf(stderr, "jern: deploy: unexpected argument '%s'\n", a);
                goto usage;
            }
            app = a;
            continue;
        }
        if (strcmp(a, "--listen-fds") == 0) {
            cJSON_AddTrueToObject(b, "listen_fds");
            continue;
        }
        if (!v) {
            fprintf(stderr, "jern: deploy: %s needs a value\n", a);
            goto usage;
        }
        i++;
        if (strcmp(a, "--image") == 0) {
            image = v;
        } else if (strcmp(a, "--cmd") == 0) {
            cmd = v;
        } else if (strcmp(a, "--build") == 0) {
            build = v;
        } else if (strcmp(a, "--ref") == 0) {
            ref = v;
        } else if (strcmp(a, "--socket") == 0) {
            cJSON_AddStringToObject(b, "socket", v);
        } else if (strcmp(a, "--port") == 0 || strcmp(a, "--instances") == 0 ||
                   strcmp(a, "--health-timeout") == 0) {
            if (!parse_int(v, 1, 65535, &n)) {
                fprintf(stderr, "jern: deploy: %s '%s' is not a positive whole number\n", a, v);
                goto out;
            }
            cJSON_AddNumberToObject(b, a[2] == 'p' ? "port" : a[2] == 'i' ? "instances"
                                                                          : "health_timeout",
                                    n);
        } else if (strcmp(a, "--env") == 0) {
            const char *eq = strchr(v, '=');
            char key[256];
            snprintf(key, sizeof(key), "%.*s", (int)(eq ? eq - v : (long)strlen(v)), v);
            /* --env KEY alone takes the value from this shell: secrets stay off
             * the command line. */
            const char *val = eq ? eq + 1 : getenv(key);
            if (!key[0] || !val) {
                fprintf(stderr, "jern: deploy: --env '%s': expected KEY=VALUE, or KEY set in "
                                "your environment\n",
                        v);
                goto out;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(env, key);
            cJSON_AddStringToObject(env, key, val);
        } else if (strcmp(a, "--volume") == 0 || strcmp(a, "-v") == 0) {
            cJSON_AddItemToArray(vols, cJSON_CreateString(v));
        } else if (strcmp(a, "--health") == 0) {
            cJSON_AddStringToObject(b, "health", v);
        } else if (strcmp(a, "--memory") == 0) {
            cJSON_AddStringToObject(b, "memory", v);
        } else if (strcmp(a, "--cpus") == 0) {
            char *end;
            double d = strtod(v, &end);
            if (*end || end == v || d <= 0) {
                fprintf(stderr, "jern: deploy: --cpus '%s' is not a number above 0\n", v);
                goto out;
            }
            cJSON_AddNumberToObject(b, "cpus", d);
        } else if (strcmp(a, "--registry-user") == 0) {
            reg_user = v;
        } else {
            fprintf(stderr, "jern: deploy: unknown option '%s'\n", a);
            goto usage;
        }
    }
    if (!app || (image != NULL) + (cmd != NULL) + (build != NULL) != 1 || (ref && !build)) {
        if (app)
            fprintf(stderr, "jern: deploy: give exactly one of --image IMAGE, --cmd "
                            "\"COMMAND\" or --build DIR (--ref only with --build)\n");
        goto usage;
    }
    if (image)
        cJSON_AddStringToObject(b, "image", image);
    if (build) {
        /* The daemon reads the directory: its absolute path, as meant here. */
        char abs[4096];
        if (!realpath(build, abs)) {
            fprintf(stderr, "jern: deploy: --build %s: %s\n", build, strerror(errno));
            goto out;
        }
        cJSON_AddStringToObject(b, "build", abs);
        if (ref)
            cJSON_AddStringToObject(b, "ref", ref);
    }
    if (cmd) {
        char cwd[1024];
        cJSON_AddStringToObject(b, "command", cmd);
        /* A relative command means what it means here, where it was typed. */
        if (getcwd(cwd, sizeof(cwd)))
            cJSON_AddStringToObject(b, "workdir", cwd);
    }
    if (reg_user && !add_registry_auth(b, image, reg_user))
        goto out;
    if (cJSON_GetArraySize(env) > 0) {
        printf("env: ");
        const cJSON *e;
        cJSON_ArrayForEach(e, env) printf("%s%s", e->string, e->next ? ", " : "");
        printf(" (values not shown)\n");
    }
    cJSON_AddItemToObject(b, "env", env);
    env = NULL;
    if (cJSON_GetArraySize(vols) > 0) {
        cJSON_AddItemToObject(b, "volumes", vols);
        vols = NULL;
    }
    rc = start_job(&c, app, "deploy", b, &wait);
    goto out;
usage:
    rc = jn_client_usage(DEPLOY_USAGE);
out:
    cJSON_Delete(b);
    cJSON_Delete(env);
    cJSON_Delete(vols);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_rollback(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    int n = 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !parse_int(argv[2][0] == 'v' ? argv[2] + 1 : argv[2],
                                                         1, INT32_MAX, &n))) {
        jn_client_free(&c);
        return jn_client_usage("rollback APP [RELEASE]");
    }
    cJSON *b = cJSON_CreateObject();
    if (n)
        cJSON_AddNumberToObject(b, "release", n);
    int rc = start_job(&c, argv[1], "rollback", b, NULL);
    cJSON_Delete(b);
    jn_client_free(&c);
    return rc;
}

/* A whole number among args that is no option's value: scale's fixed count. */
static bool has_count(int argc, char **argv)
{
    int n;
    for (int i = 2; i < argc; i++)
        if (argv[i - 1][0] != '-' && parse_int(argv[i], 0, 1000, &n))
            return true;
    return false;
}

int jn_cmd_scale(int argc, char **argv)
{
    /* scale APP N [--no-wait | --wait-timeout D]: a fixed count; otherwise an
     * autoscaling option makes it the autoscaling form (whose own
     * --wait-timeout is how long requests wait for a cold start). */
    bool fixed = has_count(argc, argv);
    for (int i = 1; i < argc; i++)
        if (jn_cli_is_autoscale_flag(argv[i]) &&
            !(fixed && strcmp(argv[i], "--wait-timeout") == 0))
            return jn_cmd_autoscale(argc, argv); /* cmd_scale.c */
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    struct jn_cli_wait wait = {0};
    int n = -1, took = 1;
    for (int i = 2; i < argc && took >= 0; i++) {
        if ((took = jn_cli_wait_arg(&wait, argc, argv, &i, "scale")) == 0 &&
            (n >= 0 || !parse_int(argv[i], 0, 1000, &n)))
            took = -2;
    }
    if (took == -1) {
        jn_client_free(&c);
        return 2;
    }
    if (argc < 3 || took < 0 || n < 0) {
        jn_client_free(&c);
        return jn_client_usage("scale APP N [--no-wait | --wait-timeout D] | scale APP --min N "
                               "--max M [--idle D] [--concurrency C] (see: jern scale --help)");
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "instances", n);
    int rc = start_job(&c, argv[1], "scale", b, &wait);
    cJSON_Delete(b);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_restart(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 2) {
        jn_client_free(&c);
        return jn_client_usage("restart APP");
    }
    int rc = start_job(&c, argv[1], "restart", NULL, NULL);
    jn_client_free(&c);
    return rc;
}

static int get_app(struct jn_client *c, const char *app, const char *what, cJSON **o)
{
    char *e = jn_client_escape(app);
    size_t len = strlen(e) + strlen(what) + 16;
    char *path = jn_malloc(len);
    snprintf(path, len, "/v1/apps/%s/%s", e, what);
    free(e);
    int rc = jn_client_request(c, "GET", path, NULL, o);
    free(path);
    return rc;
}

int jn_cmd_releases(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc != 2) {
        jn_client_free(&c);
        return jn_client_usage("releases APP [--json]");
    }
    cJSON *o;
    int rc = get_app(&c, argv[1], "releases", &o);
    if (rc == 0 && !c.json) {
        printf("%-8s %-8s %-17s %-40s %-19s %-12s %s\n", "RELEASE", "STATUS", "CREATED (UTC)",
               "SOURCE", "IMAGE ID", "COMMIT", "ENV (keys)");
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(o, "releases"))
        {
            time_t t = (time_t)jn_client_num(r, "created_at");
            struct tm tm;
            char when[32], src[600], keys[512] = "";
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
            const char *img = jn_client_str(r, "image");
            if (*img)
                snprintf(src, sizeof(src), "%s", img);
            else
                snprintf(src, sizeof(src), "cmd: %s", jn_client_str(r, "command"));
            size_t n = 0;
            const cJSON *k;
            cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(r, "env_keys"))
            {
                if (cJSON_IsString(k) && n < sizeof(keys))
                    n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s%s", n ? "," : "",
                                          k->valuestring);
            }
            char ver[16];
            snprintf(ver, sizeof(ver), "v%.0f", jn_client_num(r, "version"));
            const char *id = jn_client_str(r, "image_id"), *commit = jn_client_str(r, "commit");
            printf("%-8s %-8s %-17s %-40s %-19.19s %-12.12s %s\n", ver, jn_client_str(r, "status"),
                   when, src, *id ? id : "-", *commit ? commit : "-", keys);
        }
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

static void fmt_uptime(double s, char *out, size_t len)
{
    long v = (long)s;
    if (v <= 0)
        snprintf(out, len, "-");
    else if (v < 120)
        snprintf(out, len, "%lds", v);
    else if (v < 7200)
        snprintf(out, len, "%ldm", v / 60);
    else
        snprintf(out, len, "%ldh", v / 3600);
}

int jn_cmd_ps(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    if (argc > 2) {
        jn_client_free(&c);
        return jn_client_usage("ps [APP] [--json]");
    }
    cJSON *o;
    int rc = argc == 2 ? get_app(&c, argv[1], "ps", &o)
                       : jn_client_request(&c, "GET", "/v1/ps", NULL, &o);
    if (rc == 0 && !c.json) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "instances");
        if (cJSON_GetArraySize(v) == 0) {
            /* An autoscaled app at zero is not an app to deploy: its
             * autoscale lines below say why nothing runs. */
            if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "autoscale")))
                printf("no instances running\n");
            else
                printf("no instances (deploy with: jern deploy APP --image IMAGE)\n");
        } else {
            printf("%-16s %-28s %-8s %-9s %-10s %-6s %-7s %s\n", "APP", "INSTANCE", "RELEASE",
                   "STATE", "HEALTH", "PORT", "UPTIME", "RESTARTS");
            const cJSON *x;
            cJSON_ArrayForEach(x, v)
            {
                char up[32], ver[16], port[16];
                fmt_uptime(jn_client_num(x, "uptime_s"), up, sizeof(up));
                snprintf(ver, sizeof(ver), "v%.0f", jn_client_num(x, "release"));
                if (cJSON_GetObjectItemCaseSensitive(x, "socket"))
                    snprintf(port, sizeof(port), "unix");
                else
                    snprintf(port, sizeof(port), "%.0f", jn_client_num(x, "port"));
                printf("%-16s %-28s %-8s %-9s %-10s %-6s %-7s %.0f\n", jn_client_str(x, "app"),
                       jn_client_str(x, "name"), ver, jn_client_str(x, "state"),
                       jn_client_str(x, "health"), port, up, jn_client_num(x, "restarts"));
            }
        }
        jn_cli_ps_autoscale(o);
        if (argc == 1)
            jn_cli_ps_databases(&c);
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}

struct logs_out {
    const struct jn_client *c;
    bool access; /* access log lines: as the gateway wrote them */
};

static void print_line(void *arg, const cJSON *l)
{
    const struct logs_out *lo = arg;
    const struct jn_client *c = lo->c;
    if (lo->access && !c->json) {
        printf("%s\n", jn_client_str(l, "text"));
    } else if (c->json) {
        char *t = cJSON_PrintUnformatted(l);
        printf("%s\n", t ? t : "");
        free(t);
    } else {
        char when[40] = "-";
        double at = jn_client_num(l, "at");
        if (at > 0)
            jn_rfc3339_format((int64_t)at, when, sizeof(when));
        printf("%s %s | %s\n", when, jn_client_str(l, "instance"), jn_client_str(l, "text"));
    }
    fflush(stdout);
}

#define LOGS_USAGE                                                                                 \
    "logs APP [-f] [--tail N] [--since T] [--until T] [--release N] [--access] (T: 10m, 2h, "     \
    "2026-12-04T18:00:00Z or @UNIX)"

int jn_cmd_logs(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    const char *app = NULL;
    bool follow = false, bad = false, access = false;
    int release = 0, tail = -1;
    int64_t since = 0, until = 0, now = (int64_t)time(NULL) * 1000;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
            follow = true;
        } else if (strcmp(a, "--access") == 0) {
            access = true;
        } else if (strcmp(a, "--release") == 0 && v &&
                   parse_int(v[0] == 'v' ? v + 1 : v, 1, INT32_MAX, &release)) {
            i++;
        } else if ((strcmp(a, "--tail") == 0 || strcmp(a, "-n") == 0) && v &&
                   parse_int(v, 0, 100000, &tail)) {
            i++;
        } else if ((strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) && v) {
            if (jn_time_arg_parse(v, now, a[2] == 's' ? &since : &until) < 0 ||
                (a[2] == 's' ? since : until) <= 0) {
                fprintf(stderr,
                        "jern: %s \"%s\" is not a time: write a duration back from now (10m, "
                        "2h, 1d), an RFC 3339 time (2026-12-04T18:00:00Z) or @UNIX seconds\n",
                        a, v);
                jn_client_free(&c);
                return 2;
            }
            i++;
        } else if (a[0] != '-' && !app) {
            app = a;
        } else {
            bad = true;
        }
    }
    if (!app || bad) {
        jn_client_free(&c);
        return jn_client_usage(LOGS_USAGE);
    }
    /* The last 100 lines unless a time range or --tail says otherwise. */
    if (tail < 0 && !since && !until)
        tail = 100;
    char *e = jn_client_escape(app), tail_q[32] = "";
    if (tail >= 0)
        snprintf(tail_q, sizeof(tail_q), "tail=%d&", tail);
    char path[512];
    snprintf(path, sizeof(path),
             "/v1/apps/%.200s/output?%ssince=%lld&until=%lld&release=%d&follow=%d&access=%d", e,
             tail_q, (long long)since, (long long)until, release, follow ? 1 : 0, access ? 1 : 0);
    struct logs_out lo = {&c, access};
    free(e);
    cJSON *o = NULL;
    int st, rc;
    if (follow) {
        st = jn_client_stream(&c, "GET", path, NULL, print_line, &lo, &o);
        rc = st == 200 ? 0 : st < 0 ? 1 : jn_client_fail(st, o);
    } else {
        st = jn_client_call(&c, "GET", path, NULL, &o);
        rc = st == 200 ? 0 : st < 0 ? 1 : jn_client_fail(st, o);
        const cJSON *l, *lines = st == 200 ? cJSON_GetObjectItemCaseSensitive(o, "lines") : NULL;
        cJSON_ArrayForEach(l, lines) print_line(&lo, l);
    }
    cJSON_Delete(o);
    jn_client_free(&c);
    return rc;
}
