/*
 * cluster_wait.c: waiting until the cluster runs what a deploy or scale
 * asked for (cluster_wait.h). A change on a cluster node is only written to
 * etcd; the scheduler places it and the nodes start it afterwards. This
 * reads the node's view (GET /v1/apps/APP/cluster: the record and the
 * scheduler's placement; GET /v1/where/APP: the instances each node reports
 * healthy) until the wanted instances of the release answer, so a script
 * that deploys and then sends requests finds them served.
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/cluster_wait.h"
#include "cli/cmd_scale.h"

#include <stdio.h>
#include <time.h>

#define POLL_MS 250
#define MAX_NODES 64

int jn_cli_wait_arg(struct jn_cli_wait *w, int argc, char **argv, int *i, const char *cmd)
{
    const char *a = argv[*i];
    if (strcmp(a, "--no-wait") == 0) {
        w->off = true;
        return 1;
    }
    if (strcmp(a, "--wait-timeout") != 0)
        return 0;
    const char *v = *i + 1 < argc ? argv[*i + 1] : "";
    long long ms = jn_cli_duration_ms(v);
    if (ms <= 0) {
        fprintf(stderr,
                "jern: %s: --wait-timeout needs a duration above 0 (e.g. 120s, 5m), not \"%s\" "
                "(--no-wait: do not wait)\n",
                cmd, v);
        return -1;
    }
    w->timeout_ms = ms;
    (*i)++;
    return 1;
}

/* What the node asked shows of the app in one reading. */
struct seen {
    bool known;      /* the app is in the node's view of the cluster */
    bool etcd;       /* the node reaches etcd: its view is current */
    bool caught_up;  /* the record shows the change asked for */
    bool placed;     /* the scheduler placed the record's version */
    int version;     /* the cluster's release of the app */
    int instances;   /* how many it wants */
    int healthy;     /* instances of version, healthy, inside the required labels */
    char error[800]; /* the scheduler's placement error */
    struct {
        char name[128];
        int placed, healthy;
    } nodes[MAX_NODES];
    size_t nnodes;
};

static int num(const cJSON *o, const char *key)
{
    return (int)jn_client_num(o, key);
}

static int node_slot(struct seen *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0)
            return (int)i;
    if (s->nnodes == MAX_NODES)
        return -1;
    snprintf(s->nodes[s->nnodes].name, sizeof(s->nodes[0].name), "%s", name);
    return (int)s->nnodes++;
}

/* GET path; 404 (not in the node's view yet) is no failure: *out stays NULL.
 * Returns 0, or 1 after printing why. */
static int get(struct jn_client *c, const char *path, cJSON **out)
{
    *out = NULL;
    cJSON *o = NULL;
    int st = jn_client_call(c, "GET", path, NULL, &o);
    if (st == 200) {
        *out = o;
        return 0;
    }
    int rc = st == 404 ? 0 : st < 0 ? 1 : jn_client_fail(st, o);
    cJSON_Delete(o);
    return rc;
}

/* One reading of the node's view. version: the release asked for (0: any),
 * want: the instances asked for (-1: the record's). Returns 0 or 1. */
static int read_seen(struct jn_client *c, const char *app, int version, int want, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    char *e = jn_client_escape(app), path[512];
    snprintf(path, sizeof(path), "/v1/apps/%s/cluster", e);
    cJSON *o;
    int rc = get(c, path, &o);
    if (rc || !o) {
        free(e);
        return rc;
    }
    s->known = true;
    s->etcd = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "etcd"));
    s->version = num(o, "version");
    s->instances = num(o, "instances");
    s->caught_up = s->version >= version && (want < 0 || s->instances == want);
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(o, "placement"), *x;
    if (pl && num(pl, "version") == s->version) {
        s->placed = true;
        snprintf(s->error, sizeof(s->error), "%s", jn_client_str(pl, "error"));
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(pl, "nodes"))
        {
            int k = node_slot(s, x->string);
            if (k >= 0 && cJSON_IsNumber(x))
                s->nodes[k].placed = x->valueint;
        }
    }
    cJSON_Delete(o);
    snprintf(path, sizeof(path), "/v1/where/%s", e);
    free(e);
    if ((rc = get(c, path, &o)) || !o)
        return rc;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "apps"))
    {
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(a, "items"))
        {
            if (strcmp(jn_client_str(x, "kind"), "instance") != 0 ||
                num(x, "release") != s->version ||
                !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "inside")))
                continue;
            s->healthy++;
            int k = node_slot(s, jn_client_str(x, "node"));
            if (k >= 0)
                s->nodes[k].healthy++;
        }
    }
    cJSON_Delete(o);
    return 0;
}

/* Done: the scheduler placed every wanted instance of the version, and each
 * node runs healthy exactly what it was given (a scale down is done once
 * the extra instances stopped; instances outside the labels never count). */
static bool converged(const struct seen *s)
{
    if (!s->caught_up || !s->placed || s->error[0] || s->healthy != s->instances)
        return false;
    int placed = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i].healthy != s->nodes[i].placed)
            return false;
        placed += s->nodes[i].placed;
    }
    return placed == s->instances;
}

/* "shop: 1/2 instances of v4 healthy (a: 1)"; during a scale down "shop: 3
 * instances of v4 healthy, 1 wanted (a: 2, b: 1)". */
static void progress(const char *app, const struct seen *s, char *out, size_t len)
{
    size_t n;
    if (s->healthy > s->instances)
        n = (size_t)snprintf(out, len, "%s: %d instances of v%d healthy, %d wanted", app,
                             s->healthy, s->version, s->instances);
    else
        n = (size_t)snprintf(out, len, "%s: %d/%d instance%s of v%d healthy", app, s->healthy,
                             s->instances, s->instances == 1 ? "" : "s", s->version);
    size_t k = 0;
    for (size_t i = 0; i < s->nnodes && n < len; i++)
        if (s->nodes[i].healthy)
            n += (size_t)snprintf(out + n, len - n, "%s%s: %d", k++ ? ", " : " (", s->nodes[i].name,
                                  s->nodes[i].healthy);
    if (k && n < len)
        snprintf(out + n, len - n, ")");
}

/* Why the wait ended without the instances, as far as the view tells. */
static void reason(const char *app, const struct seen *s, char *out, size_t len)
{
    if (!s->known) {
        snprintf(out, len,
                 "the node asked does not see app '%s' in the cluster (is its etcd reachable? "
                 "see: jern nodes)",
                 app);
    } else if (!s->etcd) {
        snprintf(out, len,
                 "the node asked cannot reach the cluster's etcd, so what it shows is "
                 "stale (see: jern nodes)");
    } else if (!s->caught_up) {
        snprintf(out, len,
                 "the node asked does not show the change yet (another change of app "
                 "'%s' since? see: jern where %s)",
                 app, app);
    } else if (s->error[0]) {
        snprintf(out, len, "%s", s->error);
    } else if (!s->placed) {
        snprintf(out, len,
                 "the scheduler has not placed v%d (is a scheduler elected? see: jern nodes)",
                 s->version);
    } else {
        size_t n = 0;
        bool few = false;
        for (size_t i = 0; i < s->nnodes && n < len; i++) {
            int h = s->nodes[i].healthy, p = s->nodes[i].placed;
            if (h == p)
                continue;
            few = few || h < p;
            n += (size_t)snprintf(out + n, len - n, "%snode %s has %d healthy, %d placed there%s",
                                  n ? "; " : "", s->nodes[i].name, h, p,
                                  h > p ? " (the others not stopped yet)" : "");
        }
        if (n == 0)
            snprintf(out, len, "instances run outside its required labels (see: jern where %s)",
                     app);
        else if (few && n < len)
            snprintf(out + n, len - n,
                     " (a start failing there? see: jern logs %s, jern ps %s on that node)", app,
                     app);
    }
}

static void print_recorded(const struct jn_client *c, const char *app, const cJSON *answer)
{
    if (c->json)
        jn_client_print_json(answer);
    else if (jn_client_num(answer, "release") > 0)
        printf("app '%s' release v%d recorded in the cluster: %d instance(s) being placed "
               "(see: jern where %s)\n",
               app, num(answer, "release"), num(answer, "instances"), app);
    else
        printf("app '%s': %d instance(s) recorded in the cluster (see: jern where %s)\n", app,
               num(answer, "instances"), app);
    fflush(stdout);
}

int jn_cli_cluster_wait(struct jn_client *c, const char *app, const cJSON *answer,
                        const struct jn_cli_wait *w)
{
    print_recorded(c, app, answer);
    if (w->off)
        return 0;
    /* A deploy names its release (the record's instances are wanted); a
     * scale names its count (of whatever release the cluster has). */
    int version = num(answer, "release");
    int want = version > 0 ? -1 : num(answer, "instances");
    int64_t limit = w->timeout_ms > 0 ? w->timeout_ms : JN_CLI_WAIT_DEFAULT_MS;
    int64_t end = jn_now_ms() + limit;
    char last[1024] = "", last_err[800] = "", line[1024];
    struct seen *s = jn_calloc(1, sizeof(*s));
    int rc;
    for (;;) {
        if ((rc = read_seen(c, app, version, want, s)))
            break;
        if (s->caught_up) {
            progress(app, s, line, sizeof(line));
            if (!c->json && strcmp(line, last) != 0)
                printf("%s\n", line);
            snprintf(last, sizeof(last), "%s", line);
            if (!c->json && s->error[0] && strcmp(s->error, last_err) != 0)
                printf("%s: not placed yet: %s\n", app, s->error);
            snprintf(last_err, sizeof(last_err), "%s", s->error);
            fflush(stdout);
            if (converged(s))
                break;
        }
        if (jn_now_ms() >= end) {
            char why[2048];
            reason(app, s, why, sizeof(why));
            fprintf(stderr, "jern: %s: %d of %d instance(s) of v%d healthy after %.0fs: %s\n", app,
                    s->caught_up ? JN_MIN(s->healthy, s->instances) : 0,
                    s->known ? s->instances : 0, version > 0 ? version : s->version,
                    (double)limit / 1000.0, why);
            rc = 1;
            break;
        }
        jn_sleep_ms(POLL_MS);
    }
    free(s);
    return rc;
}
