/*
 * cmd_apply.c: `jern plan`, `jern apply`, `jern export` (docs/APPLY.md).
 * The file is read into a model (apply/spec.h), the daemon's state into
 * another (apply_live.c), their difference is the plan (apply/plan.h), and
 * apply runs it through the same admin API as the other commands.
 */
#include "core/common.h"

#include "apply/plan.h"
#include "apply/spec.h"
#include "cli/apply_live.h"
#include "cli/client.h"
#include "cli/cluster_wait.h"
#include "cli/commands.h"

#include <libgen.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *file;
    const char *env_files[8];
    int nenv_files;
    const char *out; /* export -o */
    bool prune;
    struct jn_cli_wait wait; /* apply on a cluster: --no-wait, --wait-timeout */
};

static int parse_opts(int argc, char **argv, struct opts *o, bool is_export, const char *usage)
{
    memset(o, 0, sizeof(*o));
    o->file = "jern.yaml";
    bool is_apply = strcmp(argv[0], "apply") == 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        int took = is_apply ? jn_cli_wait_arg(&o->wait, argc, argv, &i, "apply") : 0;
        if (took < 0)
            return 2;
        if (took)
            continue;
        if (!is_export && (!strcmp(a, "-f") || !strcmp(a, "--file")) && has) {
            o->file = argv[++i];
        } else if (!is_export && !strcmp(a, "--env-file") && has && o->nenv_files < 8) {
            o->env_files[o->nenv_files++] = argv[++i];
        } else if (!is_export && !strcmp(a, "--prune")) {
            o->prune = true;
        } else if (is_export && (!strcmp(a, "-o") || !strcmp(a, "--output")) && has) {
            o->out = argv[++i];
        } else {
            fprintf(stderr, "jern: %s: unexpected argument \"%s\"\n", argv[0], a);
            return jn_client_usage(usage);
        }
    }
    return 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "jern: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct jn_buf b;
    jn_buf_init(&b, max + 1);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (jn_buf_append(&b, chunk, n) < 0) {
            fprintf(stderr, "jern: %s is larger than %zu bytes\n", path, max);
            rc = 1;
            break;
        }
    if (!in)
        fclose(f);
    if (rc) {
        jn_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = b.data ? b.data : jn_strdup("");
    return 0;
}

/* ${VAR}: the environment first, then the env files. */
static const char *lookup(const char *name, void *arg)
{
    const char *v = getenv(name);
    if (v)
        return v;
    const struct jn_spec_kv *e = jn_spec_kvs_find(arg, name);
    return e ? e->value : NULL;
}

/* Reads o->file ("-": stdin) into *spec. A command app without workdir
 * runs in the file's directory (stdin: the current one, as `jern deploy
 * --cmd`). */
static int load(const struct opts *o, struct jn_spec *spec)
{
    struct jn_spec_kvs envs = {0};
    char err[1024];
    int rc = 0;
    for (int i = 0; i < o->nenv_files && !rc; i++) {
        char *buf;
        size_t len;
        if ((rc = read_file(o->env_files[i], 1 << 20, &buf, &len)))
            break;
        if (jn_spec_envfile_parse(buf, len, o->env_files[i], &envs, err, sizeof(err)) < 0) {
            fprintf(stderr, "jern: %s\n", err);
            rc = 1;
        }
        free(buf);
    }
    char *buf = NULL;
    size_t len;
    if (!rc && !(rc = read_file(o->file, JN_SPEC_MAX_BYTES, &buf, &len)) &&
        jn_spec_parse(buf, len, strcmp(o->file, "-") ? o->file : "<stdin>", lookup, &envs, spec,
                      err, sizeof(err)) < 0) {
        fprintf(stderr, "jern: %s\n", err);
        rc = 1;
    }
    free(buf);
    jn_spec_kvs_free(&envs);
    if (rc)
        return rc;
    /* -f - (stdin): the current directory, as jern deploy --cmd. */
    char *copy = jn_strdup(strcmp(o->file, "-") ? o->file : "./-"), dir[PATH_MAX];
    if (!realpath(dirname(copy), dir)) {
        fprintf(stderr, "jern: %s: %s\n", o->file, strerror(errno));
        rc = 1;
    }
    free(copy);
    for (size_t i = 0; !rc && i < spec->napps; i++)
        if (spec->apps[i].command && !spec->apps[i].workdir)
            spec->apps[i].workdir = jn_strdup(dir);
    return rc;
}

/* Reads the file and the daemon; makes the plan. Returns 0 or 1. */
static int prepare(struct jn_client *c, const struct opts *o, struct jn_spec *want,
                   struct jn_spec *live, struct jn_plan *plan)
{
    memset(live, 0, sizeof(*live));
    memset(plan, 0, sizeof(*plan));
    if (load(o, want) || jn_cli_live_fetch(c, want, live))
        return 1;
    jn_plan_make(want, live, o->prune, plan);
    struct jn_buf b;
    jn_buf_init(&b, 64 << 20);
    jn_plan_print(plan, &b);
    fwrite(b.data, 1, b.len, stdout);
    fflush(stdout);
    jn_buf_free(&b);
    return 0;
}

int jn_cmd_plan(int argc, char **argv)
{
    static const char usage[] = "plan [-f jern.yaml] [--env-file F] [--prune]";
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    struct opts o;
    int rc = parse_opts(argc, argv, &o, false, usage);
    if (rc) {
        jn_client_free(&c);
        return rc;
    }
    struct jn_spec want = {0}, live;
    struct jn_plan plan;
    rc = prepare(&c, &o, &want, &live, &plan);
    if (rc == 0)
        rc = jn_plan_changes(&plan) ? 2 : 0;
    jn_plan_free(&plan);
    jn_spec_free(&want);
    jn_spec_free(&live);
    jn_client_free(&c);
    return rc;
}

/* ---- apply's steps ---- */

/* One API call; prints what failed. Returns 0 or 1; *out (may be NULL) the
 * answer on success. */
static int call(struct jn_client *c, const char *method, const char *path, cJSON *body,
                int want_status, cJSON **out)
{
    cJSON *o = NULL;
    int st = jn_client_call(c, method, path, body, &o);
    cJSON_Delete(body);
    int rc = 0;
    if (st < 0) {
        rc = 1;
    } else if (st != want_status && !(want_status == 200 && st == 201)) {
        jn_client_fail(st, o);
        rc = 1;
    }
    if (rc == 0 && out)
        *out = o;
    else
        cJSON_Delete(o);
    return rc;
}

/* tmpl with its first %s replaced by a and its second by b, each
 * URL-escaped (b may be NULL when there is one). */
static char *path_of(const char *tmpl, const char *a, const char *b)
{
    struct jn_buf out;
    jn_buf_init(&out, 1 << 16);
    const char *args[2] = {a, b};
    int k = 0;
    for (const char *t = tmpl; *t; t++) {
        if (t[0] == '%' && t[1] == 's' && k < 2 && args[k]) {
            char *e = jn_client_escape(args[k++]);
            jn_buf_puts(&out, e);
            free(e);
            t++;
        } else {
            jn_buf_append(&out, t, 1);
        }
    }
    jn_buf_cstr(&out);
    return out.data;
}

/* Follows a database job until it ends (jobs run minutes at most). */
static cJSON *deploy_body(const struct jn_plan_change *ch)
{
    const struct jn_spec_app *a = ch->app;
    cJSON *b = cJSON_CreateObject();
    if (a->image)
        cJSON_AddStringToObject(b, "image", a->image);
    else
        cJSON_AddStringToObject(b, "command", a->command);
    if (a->workdir)
        cJSON_AddStringToObject(b, "workdir", a->workdir);
    if (a->port)
        cJSON_AddNumberToObject(b, "port", a->port);
    /* The env is the app's config (set before), which every release gets;
     * a cluster's release carries its own. */
    cJSON *env = ch->env_in_deploy ? cJSON_AddObjectToObject(b, "env") : NULL;
    for (size_t i = 0; env && i < a->env.n; i++)
        cJSON_AddStringToObject(env, a->env.v[i].key, a->env.v[i].value);
    if (a->instances >= 0)
        cJSON_AddNumberToObject(b, "instances", a->instances);
    else if (ch->create_app && a->scale_min >= 0)
        cJSON_AddNumberToObject(b, "instances", JN_MAX(1, a->scale_min));
    if (a->health)
        cJSON_AddStringToObject(b, "health", a->health);
    if (a->health_timeout)
        cJSON_AddNumberToObject(b, "health_timeout", a->health_timeout);
    if (a->memory)
        cJSON_AddNumberToObject(b, "memory", (double)a->memory);
    return b;
}

static cJSON *labels_json(const struct jn_spec_kvs *kv)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < kv->n; i++)
        cJSON_AddStringToObject(o, kv->v[i].key, kv->v[i].value);
    return o;
}

/* A deploy or scale job to follow; on a cluster node the change is the
 * cluster's desired state, and the nodes the scheduler picks run it: wait
 * for them as the options say. */
static int follow(struct jn_client *c, const char *app, cJSON *o, const struct jn_cli_wait *w)
{
    int rc = 0;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cluster")))
        rc = jn_cli_cluster_wait(c, app, o, w);
    else
        rc = jn_cli_follow_job(c, (int)jn_client_num(o, "job"));
    cJSON_Delete(o);
    return rc;
}

/* The file's env into the app's config, recorded only ("rollout": false):
 * the deploy that follows (when a value changed) carries it, and so does
 * every later `jern deploy`. Values from ${VAR} are stored as secrets. */
static int config_step(struct jn_client *c, const struct jn_plan_change *ch)
{
    const struct jn_spec_app *a = ch->app;
    int rc = 0;
    for (int secret = 0; secret < 2 && rc == 0; secret++) {
        cJSON *b = cJSON_CreateObject();
        cJSON *set = cJSON_AddObjectToObject(b, "set");
        for (size_t i = 0; i < a->env.n; i++)
            if (a->env.v[i].secret == (secret == 1))
                cJSON_AddStringToObject(set, a->env.v[i].key, a->env.v[i].value);
        if (!secret && ch->unset.n) {
            cJSON *u = cJSON_AddArrayToObject(b, "unset");
            for (size_t i = 0; i < ch->unset.n; i++)
                cJSON_AddItemToArray(u, cJSON_CreateString(ch->unset.v[i]));
        }
        if (!set->child && !(!secret && ch->unset.n)) {
            cJSON_Delete(b);
            continue;
        }
        cJSON_AddBoolToObject(b, "secret", secret == 1);
        cJSON_AddBoolToObject(b, "rollout", false);
        char *p = path_of("/v1/apps/%s/config", a->name, NULL);
        rc = call(c, "POST", p, b, 200, NULL);
        free(p);
    }
    if (rc == 0)
        printf("app %s: env recorded in the app's config (%zu variable%s)\n", a->name, a->env.n,
               a->env.n == 1 ? "" : "s");
    return rc;
}

static int node_step(struct jn_client *c, const struct jn_plan_change *ch)
{
    printf("node %s: setting its labels\n", ch->name);
    char *p = path_of("/v1/nodes/%s/labels", ch->name, NULL);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "labels", labels_json(&ch->node->labels));
    int rc = call(c, "PUT", p, b, 200, NULL);
    free(p);
    if (rc)
        return rc;
    /* The node rewrites its record within a round: wait for it, so the
     * placements after this step are checked against the new labels. */
    cJSON *want = labels_json(&ch->node->labels);
    for (int64_t end = jn_now_ms() + 15000;; jn_sleep_ms(200)) {
        cJSON *o;
        if ((rc = call(c, "GET", "/v1/nodes", NULL, 200, &o)))
            break;
        const cJSON *n, *have = NULL;
        cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(o, "nodes"))
        {
            if (strcmp(jn_client_str(n, "name"), ch->name) == 0)
                have = cJSON_GetObjectItemCaseSensitive(n, "labels");
        }
        bool done = have && cJSON_Compare(have, want, true);
        cJSON_Delete(o);
        if (done)
            break;
        if (jn_now_ms() > end) {
            fprintf(stderr,
                    "jern: node %s has not taken its new labels after 15 s (is it "
                    "running? see: jern nodes)\n",
                    ch->name);
            rc = 1;
            break;
        }
    }
    cJSON_Delete(want);
    return rc;
}

static int app_steps(struct jn_client *c, const struct jn_plan_change *ch,
                     const struct jn_cli_wait *w)
{
    const struct jn_spec_app *a = ch->app;
    char *p;
    int rc = 0;
    /* Placement first: a new release is placed by the new labels at once. */
    if (ch->placement) {
        printf("app %s: placement\n", a->name);
        p = path_of("/v1/apps/%s/placement", a->name, NULL);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToObject(b, "require", labels_json(&a->require));
        cJSON_AddItemToObject(b, "prefer", labels_json(&a->prefer));
        rc = call(c, "POST", p, b, 200, NULL);
        free(p);
        if (rc)
            return rc;
    }
    /* A new app is made by its first deploy (POST .../deploy creates it); one
     * whose env goes into its config first is created first, and removed
     * again when that deploy is refused, so no empty app is left behind. */
    bool made = false;
    if (ch->create_app && ch->config) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", a->name);
        if ((rc = call(c, "POST", "/v1/apps", b, 201, NULL)))
            return rc;
        made = true;
    }
    if (ch->config && (rc = config_step(c, ch)) == 0 && (ch->deploy || ch->create_app))
        printf("app %s: deploying (with its config)\n", a->name);
    else if (rc == 0 && (ch->deploy || ch->create_app))
        printf("app %s: deploying\n", a->name);
    if (rc == 0 && (ch->deploy || ch->create_app)) {
        fflush(stdout);
        p = path_of("/v1/apps/%s/deploy", a->name, NULL);
        cJSON *o;
        rc = call(c, "POST", p, deploy_body(ch), 202, &o);
        free(p);
        if (rc == 0 && (rc = follow(c, a->name, o, w)))
            return rc; /* a deploy that ran and failed: its app and release stay */
    }
    if (rc && made) { /* refused: the app made for it goes again */
        p = path_of("/v1/apps/%s", a->name, NULL);
        call(c, "DELETE", p, NULL, 200, NULL);
        free(p);
    }
    if (rc)
        return rc;
    if (!ch->deploy && !ch->create_app && ch->scale && a->instances >= 0) {
        printf("app %s: scaling to %d\n", a->name, a->instances);
        fflush(stdout);
        p = path_of("/v1/apps/%s/scale", a->name, NULL);
        cJSON *b = cJSON_CreateObject(), *o;
        cJSON_AddNumberToObject(b, "instances", a->instances);
        rc = call(c, "POST", p, b, 202, &o);
        free(p);
        if (rc || (rc = follow(c, a->name, o, w)))
            return rc;
    }
    if (ch->autoscale) {
        printf("app %s: autoscale min %d max %d\n", a->name, a->scale_min, a->scale_max);
        p = path_of("/v1/apps/%s/autoscale", a->name, NULL);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "min", a->scale_min);
        cJSON_AddNumberToObject(b, "max", a->scale_max);
        if (a->idle_ms >= 0)
            cJSON_AddNumberToObject(b, "idle_ms", (double)a->idle_ms);
        if (a->concurrency >= 0)
            cJSON_AddNumberToObject(b, "concurrency", a->concurrency);
        rc = call(c, "POST", p, b, 200, NULL);
        free(p);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < ch->dom_add.n; i++) {
        printf("app %s: adding domain %s\n", a->name, ch->dom_add.v[i]);
        p = path_of("/v1/apps/%s/domains", a->name, NULL);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "domain", ch->dom_add.v[i]);
        rc = call(c, "POST", p, b, 201, NULL);
        free(p);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < ch->dom_del.n; i++) {
        printf("app %s: removing domain %s\n", a->name, ch->dom_del.v[i]);
        p = path_of("/v1/apps/%s/domains/%s", a->name, ch->dom_del.v[i]);
        rc = call(c, "DELETE", p, NULL, 200, NULL);
        free(p);
        if (rc)
            return rc;
    }
    if (ch->https) {
        printf("app %s: https %s\n", a->name, a->https);
        p = path_of("/v1/apps/%s/https", a->name, NULL);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "https", a->https);
        rc = call(c, "PUT", p, b, 200, NULL);
        free(p);
    }
    return rc;
}

/* POST that starts a database job, then follows it. */
/* A database's job (or an operation asked of another cluster node),
 * followed to its end (jn_cli_db_request). body is taken. */
static int db_job(struct jn_client *c, const char *method, const char *path, cJSON *body)
{
    cJSON *o = NULL;
    int rc = jn_cli_db_request(c, method, path, body, &o);
    cJSON_Delete(o);
    cJSON_Delete(body);
    return rc;
}

static int db_steps(struct jn_client *c, const struct jn_plan_change *ch)
{
    const struct jn_spec_db *d = ch->db;
    int rc = 0;
    if (ch->op == JN_PLAN_CREATE) {
        printf("database %s: creating\n", d->name);
        fflush(stdout);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", d->name);
        if (d->memory_mb)
            cJSON_AddNumberToObject(b, "memory", (double)d->memory_mb);
        cJSON_AddBoolToObject(b, "dedicated", d->dedicated);
        if (d->port)
            cJSON_AddNumberToObject(b, "port", d->port);
        if (d->image)
            cJSON_AddStringToObject(b, "image", d->image);
        if ((rc = db_job(c, "POST", "/v1/databases", b)))
            return rc;
    }
    for (size_t i = 0; i < ch->attach.n; i++) {
        printf("database %s: attaching app %s\n", d->name, ch->attach.v[i]);
        fflush(stdout);
        char *p = path_of("/v1/databases/%s/attachments", d->name, NULL);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "app", ch->attach.v[i]);
        rc = db_job(c, "POST", p, b);
        free(p);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < ch->detach.n; i++) {
        printf("database %s: detaching app %s\n", d->name, ch->detach.v[i]);
        char *p = path_of("/v1/databases/%s/attachments/%s", d->name, ch->detach.v[i]);
        rc = db_job(c, "DELETE", p, NULL);
        free(p);
        if (rc)
            return rc;
    }
    return 0;
}

static const struct jn_spec_server *server_of(const struct jn_spec_upstream *u, const char *addr)
{
    for (size_t i = 0; i < u->nservers; i++)
        if (strcmp(u->servers[i].addr, addr) == 0)
            return &u->servers[i];
    return NULL;
}

static int upstream_steps(struct jn_client *c, const struct jn_plan_change *ch)
{
    const struct jn_spec_upstream *u = ch->up;
    int rc = 0;
    for (size_t i = 0; i < ch->srv_add.n + ch->srv_set.n && !rc; i++) {
        bool add = i < ch->srv_add.n;
        const char *addr = add ? ch->srv_add.v[i] : ch->srv_set.v[i - ch->srv_add.n];
        const struct jn_spec_server *s = server_of(u, addr);
        printf("upstream %s: %s server %s\n", u->name, add ? "adding" : "changing", addr);
        cJSON *b = cJSON_CreateObject();
        if (add)
            cJSON_AddStringToObject(b, "addr", addr);
        cJSON_AddNumberToObject(b, "weight", s->weight ? s->weight : 1);
        cJSON_AddStringToObject(b, "state", s->state ? s->state : "ready");
        char *p = add ? path_of("/v1/upstreams/%s/servers", u->name, NULL)
                      : path_of("/v1/upstreams/%s/servers/%s", u->name, addr);
        rc = call(c, add ? "POST" : "PATCH", p, b, add ? 201 : 200, NULL);
        free(p);
    }
    for (size_t i = 0; i < ch->srv_del.n && !rc; i++) {
        printf("upstream %s: removing server %s\n", u->name, ch->srv_del.v[i]);
        char *p = path_of("/v1/upstreams/%s/servers/%s", u->name, ch->srv_del.v[i]);
        rc = call(c, "DELETE", p, NULL, 200, NULL);
        free(p);
    }
    return rc;
}

static int delete_step(struct jn_client *c, const struct jn_plan_change *ch)
{
    bool app = strcmp(ch->kind, "app") == 0;
    printf("%s %s: %s\n", ch->kind, ch->name, app ? "destroying" : "destroying (final backup)");
    fflush(stdout);
    char *p = path_of(app ? "/v1/apps/%s" : "/v1/databases/%s", ch->name, NULL);
    cJSON *b = NULL;
    if (!app) {
        b = cJSON_CreateObject();
        cJSON_AddBoolToObject(b, "force", true);
    }
    /* a database's destroy is a job (final backup, then the server stopped) */
    int rc = app ? call(c, "DELETE", p, b, 200, NULL) : db_job(c, "DELETE", p, b);
    free(p);
    return rc;
}

static int run_step(struct jn_client *c, const struct jn_plan_change *ch,
                    const struct jn_cli_wait *w)
{
    if (ch->op == JN_PLAN_NOTE)
        return 0;
    if (ch->remove)
        return delete_step(c, ch);
    if (ch->node)
        return node_step(c, ch);
    if (ch->app)
        return app_steps(c, ch, w);
    if (ch->db)
        return db_steps(c, ch);
    if (ch->up)
        return upstream_steps(c, ch);
    return 0;
}

int jn_cmd_apply(int argc, char **argv)
{
    static const char usage[] =
        "apply [-f jern.yaml] [--env-file F] [--prune] [--no-wait | --wait-timeout DURATION]";
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    c.timeout_ms = 15 * 60 * 1000; /* a deploy's follow-up calls are short; creates are not */
    struct opts o;
    int rc = parse_opts(argc, argv, &o, false, usage);
    if (rc) {
        jn_client_free(&c);
        return rc;
    }
    struct jn_spec want = {0}, live;
    struct jn_plan plan;
    rc = prepare(&c, &o, &want, &live, &plan);
    if (rc == 0 && !jn_plan_changes(&plan)) {
        printf("Nothing to change.\n");
    } else if (rc == 0) {
        printf("Applying...\n");
        fflush(stdout);
        int64_t t0 = jn_now_ms();
        for (size_t i = 0; i < plan.n && rc == 0; i++) {
            rc = run_step(&c, &plan.v[i], &o.wait);
            fflush(stdout);
            if (rc)
                fprintf(stderr,
                        "jern: apply stopped at %s %s; what came before it is done (run "
                        "jern plan to see what is left)\n",
                        plan.v[i].kind, plan.v[i].name);
        }
        if (rc == 0)
            printf("Apply complete in %.1fs: %d created, %d updated, %d deleted.\n",
                   (double)(jn_now_ms() - t0) / 1000.0, plan.creates, plan.updates, plan.deletes);
    }
    jn_plan_free(&plan);
    jn_spec_free(&want);
    jn_spec_free(&live);
    jn_client_free(&c);
    return rc;
}

int jn_cmd_export(int argc, char **argv)
{
    struct jn_client c;
    if ((argc = jn_client_init(&c, argc, argv)) < 0)
        return 2;
    struct opts o;
    int rc = parse_opts(argc, argv, &o, true, "export [-o FILE]");
    struct jn_spec live = {0};
    if (rc == 0 && (rc = jn_cli_live_fetch(&c, NULL, &live)) == 0) {
        struct jn_buf b;
        jn_buf_init(&b, 64 << 20);
        jn_buf_puts(&b, "# jern export: env values are never exported; they read ${NAME}\n"
                        "# (give them with the environment or --env-file)\n");
        if (jn_spec_write(&live, &b) < 0) {
            fprintf(stderr, "jern: the state is too large to export\n");
            rc = 1;
        } else if (o.out) {
            FILE *f = fopen(o.out, "w");
            if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
                fprintf(stderr, "jern: cannot write %s: %s\n", o.out, strerror(errno));
                rc = 1;
            }
        } else {
            fwrite(b.data, 1, b.len, stdout);
        }
        jn_buf_free(&b);
    }
    jn_spec_free(&live);
    jn_client_free(&c);
    return rc;
}
