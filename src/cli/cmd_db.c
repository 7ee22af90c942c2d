/*
 * cmd_db.c: `jern db SUBCOMMAND`: managed MariaDB databases (docs/DATABASES.md),
 * a client of /v1/databases. One table of subcommands; jern_cmd_db is the
 * only entry point (one row in commands.c).
 */
#include "core/common.h"

#include "cli/client.h"
#include "cli/cmd_scale.h"
#include "cli/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct db_cmd {
    const char *name;
    int min_args, max_args; /* positional, after the subcommand */
    const char *usage;
    int (*run)(struct jn_client *c, int argc, char **argv);
};

static char *db_path(const char *name, const char *leaf)
{
    char *e = jn_client_escape(name);
    size_t n = strlen(e) + (leaf ? strlen(leaf) : 0) + 32;
    char *p = jn_malloc(n);
    snprintf(p, n, "/v1/databases/%s%s%s", e, leaf ? "/" : "", leaf ? leaf : "");
    free(e);
    return p;
}

/* jn_client_request, following a started job (202) to its end: the answer
 * is then the job's outcome (its "result", or its "error"), as if the call
 * had waited. The daemon answers other requests meanwhile. */
/* An operation a cluster node asked of the node that holds the database
 * (202 {database, node, op, at_ms}), followed to its end: the status of its
 * job, *out its answer (as a job's, below). */
#define NOT_SEEN_MS 15000

static int follow_ask(struct jn_client *c, cJSON **out)
{
    char *p = db_path(jn_client_str(*out, "database"), "ask");
    char node[128];
    snprintf(node, sizeof(node), "%s", jn_client_str(*out, "node"));
    double at = jn_client_num(*out, "at_ms");
    int64_t start_ms = jn_now_ms();
    int st;
    for (;;) {
        cJSON_Delete(*out);
        *out = NULL;
        st = jn_client_call(c, "GET", p, NULL, out);
        if (st != 200)
            break;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(*out, "ask");
        double seen = cJSON_IsObject(a) ? jn_client_num(a, "at_ms") : 0;
        /* the node's view may not have the record yet: a while for it */
        if (seen < at && jn_now_ms() - start_ms < NOT_SEEN_MS) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (seen != at) {
            cJSON_Delete(*out);
            *out = cJSON_CreateObject();
            cJSON_AddStringToObject(*out, "error",
                                    seen > at ? "a later operation on the database replaced "
                                                "this one before its end was seen"
                                              : "the record of the operation is gone before "
                                                "its end was seen (see: jern where, and the "
                                                "node's log)");
            st = 500;
            break;
        }
        const char *state = jn_client_str(a, "state");
        if (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0) {
            cJSON *job = cJSON_DetachItemFromObjectCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(*out, "ask"), "job");
            cJSON_Delete(*out);
            *out = job ? job : cJSON_CreateObject();
            st = 200;
            break;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(p);
    if (st == 200) {
        st = (int)jn_client_num(*out, "status");
        cJSON *res = cJSON_GetObjectItemCaseSensitive(*out, "result");
        if (cJSON_IsObject(res) && !cJSON_GetObjectItemCaseSensitive(res, "node"))
            cJSON_AddStringToObject(res, "node", node);
    }
    return st;
}

int jn_cli_db_request(struct jn_client *c, const char *method, const char *path,
                      const cJSON *body, cJSON **out)
{
    int st = jn_client_call(c, method, path, body, out);
    if (st == 202 && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(*out, "at_ms"))) {
        st = follow_ask(c, out);
        if (st >= 200 && st < 300) {
            cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(*out, "result");
            cJSON_Delete(*out);
            *out = res ? res : cJSON_CreateObject();
        }
    } else if (st == 202 && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(*out, "id"))) {
        char jp[64];
        snprintf(jp, sizeof(jp), "/v1/db-jobs/%d", (int)jn_client_num(*out, "id"));
        for (;;) {
            cJSON_Delete(*out);
            *out = NULL;
            st = jn_client_call(c, "GET", jp, NULL, out);
            if (st != 200 || strcmp(jn_client_str(*out, "state"), "running") != 0)
                break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (st == 200) {
            st = (int)jn_client_num(*out, "status");
            if (st >= 200 && st < 300) {
                cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(*out, "result");
                cJSON_Delete(*out);
                *out = res ? res : cJSON_CreateObject();
            }
        }
    }
    return jn_client_settle(c, st, out);
}

/* Calls and prints errors; on success prints the JSON (--json) or calls show. */
static int call(struct jn_client *c, const char *method, const char *path, cJSON *body,
                void (*show)(const cJSON *o))
{
    cJSON *o;
    int rc = jn_cli_db_request(c, method, path, body, &o);
    if (rc == 0 && !c->json && show)
        show(o);
    cJSON_Delete(o);
    cJSON_Delete(body);
    return rc;
}

static void print_db_line(const cJSON *d)
{
    char apps[256] = "";
    size_t n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(d, "apps"))
    {
        if (cJSON_IsString(a) && n < sizeof(apps))
            n += (size_t)snprintf(apps + n, sizeof(apps) - n, "%s%s", n ? "," : "", a->valuestring);
    }
    const cJSON *hit = cJSON_GetObjectItemCaseSensitive(d, "buffer_pool_hit_rate");
    char hits[16] = "-";
    if (cJSON_IsNumber(hit))
        snprintf(hits, sizeof(hits), "%.1f%%", hit->valuedouble * 100);
    char mem[24];
    snprintf(mem, sizeof(mem), "%.0fM", jn_client_num(d, "memory_mb"));
    if (strcmp(jn_client_str(d, "state"), "elsewhere") == 0) { /* on another cluster node */
        char on[80];
        snprintf(on, sizeof(on), "on %s", jn_client_str(d, "node"));
        printf("%-16s %-10s %-7s %-8s %-7s %-6s %-9s %-7s %s\n", jn_client_str(d, "name"), on,
               "-", "-", mem, "-", "-", "-", n ? apps : "-");
        return;
    }
    printf("%-16s %-10s %-7.0f %-8.0f %-7s %-6.0f %-9.1f %-7s %s\n", jn_client_str(d, "name"),
           jn_client_str(d, "state"), jn_client_num(d, "pid"), jn_client_num(d, "port"), mem,
           jn_client_num(d, "connections"),
           jn_client_num(d, "queries_per_s"), hits, n ? apps : "-");
}

static void print_db_head(void)
{
    printf("%-16s %-10s %-7s %-8s %-7s %-6s %-8s %-7s %s\n", "DATABASE", "STATE", "PID", "PORT",
           "MEMORY", "CONNS", "QUERIES/S", "HIT", "APPS");
}

static void show_db(const cJSON *d)
{
    print_db_head();
    print_db_line(d);
    if (*jn_client_str(d, "node"))
        printf("on node %s\n", jn_client_str(d, "node"));
}

static void show_list(const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "databases"), *d;
    if (cJSON_GetArraySize(v) == 0) {
        printf("no databases (create one with: jern db create NAME --memory 1G)\n");
        return;
    }
    print_db_head();
    cJSON_ArrayForEach(d, v) print_db_line(d);
}

void jn_cli_ps_databases(struct jn_client *c)
{
    cJSON *o;
    if (jn_client_call(c, "GET", "/v1/databases", NULL, &o) == 200) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "databases"), *d;
        if (cJSON_GetArraySize(v) > 0) {
            printf("\n");
            print_db_head();
            cJSON_ArrayForEach(d, v) print_db_line(d);
        }
    }
    cJSON_Delete(o);
}

static int c_ls(struct jn_client *c, int argc, char **argv)
{
    return call(c, "GET", "/v1/databases", NULL, show_list);
}

#define CREATE_USAGE                                                                               \
    "db create NAME [--memory 1G] [--dedicated] [--port P] [--image IMAGE] [--app APP] [--node " \
    "NODE]"

static int c_attach(struct jn_client *c, int argc, char **argv);

static int c_create(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject();
    const char *app = NULL;
    cJSON_AddStringToObject(b, "name", argv[1]);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            cJSON_AddStringToObject(b, "memory", argv[++i]);
        } else if (strcmp(argv[i], "--dedicated") == 0) {
            cJSON_AddBoolToObject(b, "dedicated", true);
        } else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc) {
            cJSON_AddStringToObject(b, "image", argv[++i]);
        } else if (strcmp(argv[i], "--app") == 0 && i + 1 < argc) {
            app = argv[++i];
            cJSON_AddStringToObject(b, "app", app);
        } else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
            cJSON_AddStringToObject(b, "node", argv[++i]);
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            long p = strtol(argv[++i], &end, 10);
            if (*end || p < 1 || p > 65535) {
                fprintf(stderr, "jern: invalid port '%s' (1-65535)\n", argv[i]);
                cJSON_Delete(b);
                return 2;
            }
            cJSON_AddNumberToObject(b, "port", (double)p);
        } else {
            cJSON_Delete(b);
            return jn_client_usage(CREATE_USAGE);
        }
    }
    int rc = call(c, "POST", "/v1/databases", b, show_db);
    if (rc == 0 && app)
        return c_attach(c, 3, (char *[]){argv[0], argv[1], (char *)app, NULL});
    if (rc == 0 && !c->json)
        printf("attach it to an app with: jern db attach %s APP\n", argv[1]);
    return rc;
}

static void show_config(const cJSON *o)
{
    fputs(jn_client_str(o, "config"), stdout);
}

static void show_url(const cJSON *o)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "apps"))
        printf("%-16s %s\n", jn_client_str(a, "app"), jn_client_str(a, "url"));
    printf("%-16s %s\n", "(admin)", jn_client_str(o, "admin_url"));
}

static void show_backups(const cJSON *o)
{
    double every = jn_client_num(o, "backup_every_s");
    if (every > 0)
        printf("schedule: every %.0fs, keep %.0f automatic backups\n", every,
               jn_client_num(o, "backup_keep"));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "backups"), *b;
    if (cJSON_GetArraySize(v) == 0) {
        printf("no backups yet (make one with: jern db backup %s)\n", jn_client_str(o, "name"));
        return;
    }
    printf("%-32s %-12s %s\n", "BACKUP", "SIZE", "CREATED (UTC)");
    cJSON_ArrayForEach(b, v)
    {
        time_t t = (time_t)jn_client_num(b, "created_at");
        struct tm tm;
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
        printf("%-32s %-12.0f %s\n", jn_client_str(b, "id"), jn_client_num(b, "size"), when);
    }
}

static void show_backup(const cJSON *o)
{
    printf("backup %s (%.0f bytes)\n", jn_client_str(o, "id"), jn_client_num(o, "size"));
}

static int c_simple_get(struct jn_client *c, const char *name, const char *leaf,
                        void (*show)(const cJSON *))
{
    char *p = db_path(name, leaf);
    int rc = call(c, "GET", p, NULL, show);
    free(p);
    return rc;
}

static int c_config(struct jn_client *c, int argc, char **argv)
{
    return c_simple_get(c, argv[1], "config", show_config);
}

static int c_url(struct jn_client *c, int argc, char **argv)
{
    return c_simple_get(c, argv[1], "url", show_url);
}

static int c_backups(struct jn_client *c, int argc, char **argv)
{
    return c_simple_get(c, argv[1], "backups", show_backups);
}

static int c_attach(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "app", argv[2]);
    char *p = db_path(argv[1], "attachments");
    int rc = call(c, "POST", p, b, NULL);
    free(p);
    if (rc == 0 && !c->json)
        printf("attached %s to %s: DATABASE_URL reaches it from its next deploy or restart "
               "(jern restart %s)\n",
               argv[1], argv[2], argv[2]);
    return rc;
}

static int c_detach(struct jn_client *c, int argc, char **argv)
{
    char *e = jn_client_escape(argv[2]);
    size_t n = strlen(e) + 16;
    char *leaf = jn_malloc(n);
    snprintf(leaf, n, "attachments/%s", e);
    char *p = db_path(argv[1], leaf);
    int rc = call(c, "DELETE", p, NULL, NULL);
    free(p);
    free(leaf);
    free(e);
    if (rc == 0 && !c->json)
        printf("detached %s from %s (the rows stay in the database)\n", argv[2], argv[1]);
    return rc;
}

static int c_backup(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject();
    bool sched = false;
    for (int i = 2; i < argc; i++) {
        long long ms;
        if (strcmp(argv[i], "--schedule") == 0 && i + 1 < argc &&
            (ms = jn_cli_duration_ms(argv[i + 1])) >= 1000) {
            cJSON_AddNumberToObject(b, "every_s", (double)(ms / 1000));
            sched = true;
            i++;
        } else if (strcmp(argv[i], "--no-schedule") == 0) {
            cJSON_AddNumberToObject(b, "every_s", 0);
            sched = true;
        } else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            if (*end || k < 0 || k > 10000) {
                cJSON_Delete(b);
                fprintf(stderr, "jern: invalid --keep '%s' (0-10000; 0 keeps all)\n", argv[i]);
                return 2;
            }
            cJSON_AddNumberToObject(b, "keep", (double)k);
        } else {
            cJSON_Delete(b);
            return jn_client_usage("db backup NAME [--schedule 6h [--keep 14] | --no-schedule]");
        }
    }
    if (!sched && cJSON_GetObjectItem(b, "keep")) {
        cJSON_Delete(b);
        return jn_client_usage("db backup NAME --schedule 6h --keep 14 (--keep needs --schedule)");
    }
    char *p = db_path(argv[1], "backups");
    int rc = call(c, "POST", p, b, sched ? show_backups : show_backup);
    free(p);
    return rc;
}

static int c_restore(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "backup", argv[2]);
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            cJSON_AddStringToObject(b, "to", argv[++i]);
        } else {
            cJSON_Delete(b);
            return jn_client_usage("db restore NAME BACKUP [--to NEWNAME]");
        }
    }
    char *p = db_path(argv[1], "restore");
    cJSON *o;
    int rc = jn_cli_db_request(c, "POST", p, b, &o);
    if (rc == 0 && !c->json)
        printf("restored %s into database %s\n", argv[2], jn_client_str(o, "database"));
    cJSON_Delete(o);
    cJSON_Delete(b);
    free(p);
    return rc;
}

static int c_destroy(struct jn_client *c, int argc, char **argv)
{
    cJSON *b = cJSON_CreateObject();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--force") != 0) {
            cJSON_Delete(b);
            return jn_client_usage("db destroy NAME [--force]");
        }
        cJSON_AddBoolToObject(b, "force", true);
    }
    char *p = db_path(argv[1], NULL);
    cJSON *o;
    int rc = jn_cli_db_request(c, "DELETE", p, b, &o);
    if (rc == 0 && !c->json) {
        const char *fb = jn_client_str(o, "final_backup");
        printf("destroyed database %s%s%s\n", argv[1], *fb ? "; final backup kept: " : "", fb);
    }
    cJSON_Delete(o);
    cJSON_Delete(b);
    free(p);
    return rc;
}

#define MOVE_USAGE "db move NAME [--to NODE [--no-wait] [--wait-timeout 600s]]"

/* Follows a move until it is over: 0 when name is on to alone, 1 when it
 * failed or the time is up. Prints each state as it comes. */
static int move_wait(struct jn_client *c, const char *path, const char *name, const char *to,
                     double limit_s)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char last[32] = "";
    for (;;) {
        cJSON *o = NULL;
        int st = jn_client_call(c, "GET", path, NULL, &o);
        if (st != 200) {
            int rc = jn_client_fail(st, o);
            cJSON_Delete(o);
            return rc;
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "move");
        const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(o, "nodes");
        const cJSON *only = cJSON_GetArraySize(nodes) == 1 ? nodes->child : NULL;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
        if (cJSON_IsObject(m)) {
            const char *state = jn_client_str(m, "state");
            if (strcmp(state, "failed") == 0) {
                fprintf(stderr, "jern: the move of database %s failed: %s\n", name,
                        jn_client_str(m, "error"));
                cJSON_Delete(o);
                return 1;
            }
            if (strcmp(state, last) != 0 && !c->json)
                printf("%5.1fs  %s\n", el, state);
            snprintf(last, sizeof(last), "%s", state);
        } else if (cJSON_IsString(only) && strcmp(only->valuestring, to) == 0) {
            if (c->json)
                jn_client_print_json(o);
            else
                printf("moved database %s to node %s in %.1fs\n", name, to, el);
            cJSON_Delete(o);
            return 0;
        } else if (*last) {
            /* the move is over, and not on to: it failed and was cleaned up
             * before this saw it fail */
            fprintf(stderr,
                    "jern: the move of database %s ended without reaching node %s (it failed "
                    "after %s; see the daemons' logs); it is on: %s\n",
                    name, to, last, cJSON_IsString(only) ? only->valuestring : "no node now");
            cJSON_Delete(o);
            return 1;
        }
        cJSON_Delete(o);
        if (el > limit_s) {
            fprintf(stderr,
                    "jern: database %s has not finished moving to node %s after %.0fs (state "
                    "%s); see: jern db move %s, and the daemons' logs\n",
                    name, to, limit_s, *last ? last : "?", name);
            return 1;
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* `jern db move NAME --to NODE`: a consistent copy on NODE, the apps
 * switched to it, the old copy removed (docs/CLUSTER.md). Without --to:
 * where NAME is and how its move goes. */
static int c_move(struct jn_client *c, int argc, char **argv)
{
    const char *to = NULL;
    bool wait = true;
    double limit = 600;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            to = argv[++i];
        } else if (strcmp(argv[i], "--no-wait") == 0) {
            wait = false;
        } else if (strcmp(argv[i], "--wait-timeout") == 0 && i + 1 < argc) {
            char *end;
            limit = strtod(argv[++i], &end);
            if (end == argv[i] || (*end && strcmp(end, "s") != 0) || limit <= 0)
                return jn_client_usage(MOVE_USAGE);
        } else {
            return jn_client_usage(MOVE_USAGE);
        }
    }
    char *p = db_path(argv[1], "move");
    cJSON *o = NULL;
    int rc;
    if (!to) {
        rc = jn_client_request(c, "GET", p, NULL, &o);
        if (rc == 0 && !c->json) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "move");
            const cJSON *n;
            printf("database %s is on:", argv[1]);
            cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(o, "nodes"))
                printf(" %s", n->valuestring);
            printf("\n");
            if (cJSON_IsObject(m))
                printf("moving from %s to %s: %s%s%s\n", jn_client_str(m, "from"),
                       jn_client_str(m, "to"), jn_client_str(m, "state"),
                       *jn_client_str(m, "error") ? ": " : "", jn_client_str(m, "error"));
        }
    } else {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "to", to);
        int st = jn_client_call(c, "POST", p, b, &o);
        cJSON_Delete(b);
        if (st != 202 || !wait) {
            rc = jn_client_settle(c, st, &o);
            if (rc == 0 && !c->json)
                printf("moving database %s to node %s (follow it with: jern db move %s)\n",
                       argv[1], to, argv[1]);
        } else {
            rc = move_wait(c, p, argv[1], to, limit);
        }
    }
    cJSON_Delete(o);
    free(p);
    return rc;
}

/* `jern db shell NAME [ARGS]`: the mariadb client as the admin account; the
 * password goes through a 0600 file removed when the client exits, never
 * argv (which ps shows). */
static int c_shell(struct jn_client *c, int argc, char **argv)
{
    char *p = db_path(argv[1], "url");
    cJSON *o;
    int rc = jn_client_request(c, "GET", p, NULL, &o);
    free(p);
    if (rc != 0)
        return rc;
    char user[128], pass[128], host[128];
    int port;
    const char *url = jn_client_str(o, "admin_url");
    if (sscanf(url, "mysql://%127[^:]:%127[^@]@%127[^:]:%d", user, pass, host, &port) != 4) {
        fprintf(stderr, "jern: the daemon answered no usable address for %s\n", argv[1]);
        cJSON_Delete(o);
        return 1;
    }
    cJSON_Delete(o);
    char tmp[] = "/tmp/jern-db-shell-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "jern: cannot create a temporary file: %s\n", strerror(errno));
        return 1;
    }
    dprintf(fd, "[client]\nuser=%s\npassword=%s\nhost=%s\nport=%d\n", user, pass, host, port);
    close(fd);
    explicit_bzero(pass, sizeof(pass));
    char defaults[64];
    snprintf(defaults, sizeof(defaults), "--defaults-extra-file=%s", tmp);
    char **args = jn_calloc((size_t)argc + 3, sizeof(char *));
    size_t k = 0;
    args[k++] = "mariadb";
    args[k++] = defaults;
    for (int i = 2; i < argc; i++)
        args[k++] = argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        execvp("mariadb", args);
        fprintf(stderr, "jern: cannot run mariadb: %s (apt-get install mariadb-client)\n",
                strerror(errno));
        _exit(127);
    }
    int status = 1;
    if (pid > 0) {
        signal(SIGINT, SIG_IGN); /* Ctrl-C belongs to the client */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    unlink(tmp);
    free(args);
    return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void show_job(const cJSON *o)
{
    printf("job %d: %s of database %s: %s (%.1fs)", (int)jn_client_num(o, "id"),
           jn_client_str(o, "kind"), jn_client_str(o, "database"), jn_client_str(o, "state"),
           jn_client_num(o, "elapsed_ms") / 1000.0);
    const char *e = jn_client_str(o, "error");
    printf("%s%s\n", *e ? ": " : "", e);
}

static int c_job(struct jn_client *c, int argc, char **argv)
{
    char *e = jn_client_escape(argv[1]);
    char p[128];
    snprintf(p, sizeof(p), "/v1/db-jobs/%.64s", e);
    free(e);
    cJSON *o;
    int rc = jn_client_request(c, "GET", p, NULL, &o);
    if (rc == 0 && !c->json)
        show_job(o);
    cJSON_Delete(o);
    return rc;
}

static const struct db_cmd cmds[] = {
    {"ls", 0, 0, "db ls", c_ls},
    {"create", 1, 99, CREATE_USAGE, c_create},
    {"config", 1, 1, "db config NAME", c_config},
    {"attach", 2, 2, "db attach NAME APP", c_attach},
    {"detach", 2, 2, "db detach NAME APP", c_detach},
    {"url", 1, 1, "db url NAME", c_url},
    {"backup", 1, 99, "db backup NAME [--schedule 6h [--keep 14] | --no-schedule]", c_backup},
    {"backups", 1, 1, "db backups NAME", c_backups},
    {"restore", 2, 99, "db restore NAME BACKUP [--to NEWNAME]", c_restore},
    {"move", 1, 99, MOVE_USAGE, c_move},
    {"shell", 1, 99, "db shell NAME [mariadb client options]", c_shell},
    {"destroy", 1, 99, "db destroy NAME [--force]", c_destroy},
    {"job", 1, 1, "db job ID", c_job},
};

static void db_usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < JN_ARRAY_LEN(cmds); i++)
        jn_cli_print_usage(f, "  jern ", cmds[i].usage);
    fprintf(f, "See docs/DATABASES.md.\n");
}

int jn_cmd_db(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        db_usage(stdout);
        return 0;
    }
    if (argc < 2) {
        db_usage(stderr);
        return 2;
    }
    const struct db_cmd *cmd = NULL;
    for (size_t i = 0; i < JN_ARRAY_LEN(cmds) && !cmd; i++)
        if (strcmp(cmds[i].name, argv[1]) == 0)
            cmd = &cmds[i];
    if (!cmd) {
        fprintf(stderr, "jern: unknown db command '%s'\n", argv[1]);
        db_usage(stderr);
        return 2;
    }
    struct jn_client c;
    char **av = argv + 1;
    int n;
    /* create, backup, restore and destroy wait for MariaDB's tools: a dump or a
     * load of a large database takes minutes. */
    if (strcmp(cmd->name, "shell") == 0 && argc > 3) {
        /* The shell passes what follows NAME to the client untouched:
         * jn_client_init sees only "shell NAME" (it NUL-terminates argv). */
        char *two[3] = {argv[1], argv[2], NULL};
        if (jn_client_init(&c, 2, two) < 0)
            return 2;
        n = argc - 1;
    } else if ((n = jn_client_init(&c, argc - 1, av)) < 0) {
        return 2;
    }
    c.timeout_ms = 3600L * 1000;
    int rc;
    if (n - 1 < cmd->min_args || n - 1 > cmd->max_args || (n > 1 && av[1][0] == '-'))
        rc = jn_client_usage(cmd->usage);
    else
        rc = cmd->run(&c, n, av);
    jn_client_free(&c);
    return rc;
}
