/*
 * cluster.c: the cluster thread (lease, registration, election, scheduling,
 * reading the view) and the control changes written to etcd (cluster.h).
 */
#include "core/common.h"

#include "control/cluster/cluster_int.h"
#include "control/cluster/model.h"
#include "core/log.h"
#include "etcd/client.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#define ROUND_MS 1000     /* the longest wait between two rounds */
#define SLICE_MS 200      /* a round waits in watches this long, for the report's sake */
#define REPORT_MS 200     /* the control thread looks at the node's instances this often */
#define CALL_TIMEOUT_MS 1500

static char *print(const cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (!s)
        abort();
    return s;
}

static int64_t machine_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : 1LL << 30;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

struct jn_cluster *jn_cluster_new(const struct jn_cluster_opts *o, struct jn_loop *loop,
                                  struct jn_control *ctl, struct jn_deployer *d, char *msg,
                                  size_t msglen)
{
    if (!o->node || !name_ok(o->node)) {
        snprintf(msg, msglen,
                 "a cluster node needs a name: --node NAME (letters, digits, '-', '_', '.'; "
                 "at most 63)");
        return NULL;
    }
    if (!o->advertise || !*o->advertise || strchr(o->advertise, ':') ||
        strchr(o->advertise, '/')) {
        snprintf(msg, msglen,
                 "a cluster node needs the address other nodes reach it at: --advertise HOST "
                 "(an IP address or name, no port), e.g. --advertise 10.0.0.11");
        return NULL;
    }
    struct jn_cluster *c = jn_calloc(1, sizeof(*c));
    c->labels = cJSON_CreateObject();
    for (size_t i = 0; i < o->nlabels; i++) {
        if (jn_cluster_label_add(c->labels, o->labels[i]) < 0) {
            snprintf(msg, msglen, "invalid label \"%s\" (key=value, e.g. jurisdiction=NO)",
                     o->labels[i]);
            cJSON_Delete(c->labels);
            free(c);
            return NULL;
        }
    }
    c->e = jn_etcd_new(o->endpoints, CALL_TIMEOUT_MS, msg, msglen);
    c->ce = c->e ? jn_etcd_new(o->endpoints, CALL_TIMEOUT_MS, msg, msglen) : NULL;
    if (!c->ce) {
        jn_etcd_free(c->e);
        cJSON_Delete(c->labels);
        free(c);
        return NULL;
    }
    c->endpoints = jn_strdup(o->endpoints);
    c->node = jn_strdup(o->node);
    c->advertise = jn_strdup(o->advertise);
    c->gateway = jn_strdup(o->gateway ? o->gateway : "");
    c->state_dir = jn_strdup(o->state_dir ? o->state_dir : ".");
    c->memory = o->memory > 0 ? o->memory : machine_memory();
    c->loop = loop;
    c->ctl = ctl;
    c->deployer = d;
    c->written = cJSON_CreateObject();
    c->attempts = cJSON_CreateObject();
    c->config_written = cJSON_CreateObject();
    c->domain_errors = cJSON_CreateObject();
    c->seen = cJSON_CreateObject();
    c->config_seen = cJSON_CreateObject();
    c->destroyed = cJSON_CreateObject();
    c->dbmove_jobs = cJSON_CreateObject();
    c->dbask_jobs = cJSON_CreateObject();
    c->dbmove_before = cJSON_CreateObject();
    c->challenges = cJSON_CreateObject();
    c->cert_errors = cJSON_CreateObject();
    c->view = cJSON_CreateObject();
    cJSON_AddBoolToObject(c->view, "etcd", false);
    cJSON_AddStringToObject(c->view, "error", "not read from etcd yet");
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void jn_cluster_set_dbs(struct jn_cluster *c, struct jn_dbs *dbs)
{
    c->dbs = dbs;
}

const char *jn_cluster_node(const struct jn_cluster *c)
{
    return c->node;
}

const char *jn_cluster_advertise(const struct jn_cluster *c)
{
    return c->advertise;
}

const cJSON *jn_cluster_view(const struct jn_cluster *c)
{
    return c->view;
}

/* ---- the cluster thread ---- */

/* The node's running instances for the cluster thread; a change wakes it. */
static void update_report(struct jn_cluster *c)
{
    cJSON *report = jn_cluster_agent_report(c);
    pthread_mutex_lock(&c->mu);
    bool same = c->report && cJSON_Compare(c->report, report, true);
    if (same) {
        cJSON_Delete(report);
    } else {
        cJSON_Delete(c->report);
        c->report = report;
    }
    pthread_mutex_unlock(&c->mu);
    if (!same)
        atomic_store(&c->report_changed, true);
}

static void on_view(struct jn_loop *loop, void *arg)
{
    struct jn_cluster *c = arg;
    pthread_mutex_lock(&c->mu);
    cJSON *v = c->pending;
    c->pending = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!v)
        return;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "etcd")) &&
        cJSON_GetObjectItemCaseSensitive(c->view, "nodes")) {
        /* etcd away: keep the last known state, marked as such */
        cJSON *keep = cJSON_Duplicate(c->view, true);
        cJSON_ReplaceItemInObjectCaseSensitive(keep, "etcd", cJSON_CreateFalse());
        cJSON_DeleteItemFromObjectCaseSensitive(keep, "error");
        cJSON_AddItemToObject(keep, "error",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(v, "error"), true));
        cJSON_Delete(v);
        v = keep;
    }
    cJSON_Delete(c->view);
    c->view = v;
    jn_cluster_agent_apply(c);
    cJSON *data = jn_cluster_agent_data(c);
    pthread_mutex_lock(&c->mu);
    cJSON_Delete(c->data);
    c->data = data;
    pthread_mutex_unlock(&c->mu);
    update_report(c);
}

/* Between views too: an instance that turned healthy (a deploy job's) is
 * written at once, not after the next view, so other nodes and a waiting
 * jern deploy see it within a slice. */
static void report_tick(struct jn_loop *loop, struct jn_timer *t)
{
    struct jn_cluster *c = t->data;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->view, "etcd"))) {
        update_report(c);
        jn_cluster_load_sample(c);
    }
    jn_timer_start(loop, t, REPORT_MS);
}

/* Hands v to the control thread (replacing one it has not taken yet). */
static void post_view(struct jn_cluster *c, cJSON *v)
{
    pthread_mutex_lock(&c->mu);
    bool was = c->pending != NULL;
    cJSON_Delete(c->pending);
    c->pending = v;
    pthread_mutex_unlock(&c->mu);
    if (!was)
        jn_loop_post(c->loop, on_view, c);
}

/* A view saying etcd cannot be reached: the control thread keeps what it
 * has and refuses changes. */
static void post_unreachable(struct jn_cluster *c, const char *why)
{
    if (c->etcd_ok || c->revision == 0)
        jn_warn("cluster: %s; serving the last known state", why);
    c->etcd_ok = false;
    cJSON *v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "etcd", false);
    cJSON_AddStringToObject(v, "error", why);
    post_view(c, v);
}

static cJSON *node_record(struct jn_cluster *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->node);
    cJSON_AddStringToObject(o, "advertise", c->advertise);
    cJSON_AddStringToObject(o, "gateway", c->gateway);
    cJSON_AddItemToObject(o, "labels",
                          cJSON_Duplicate(c->labels_set ? c->labels_set : c->labels, true));
    cJSON_AddNumberToObject(o, "memory", (double)c->memory);
    cJSON_AddStringToObject(o, "health", "ok");
    return o;
}

static int keep_lease(struct jn_cluster *c)
{
    if (c->lease) {
        int ttl = 0;
        int r = jn_etcd_lease_keepalive(c->e, c->lease, &ttl);
        if (r < 0 && r != JN_EUPSTREAM)
            return r;
        if (r == 0 && ttl > 0)
            return 0;
        jn_warn("cluster: node %s lost its lease (etcd away longer than %d s); registering "
                "again",
                c->node, JN_CLUSTER_LEASE_TTL_S);
        c->lease = 0;
    }
    int r = jn_etcd_lease_grant(c->e, JN_CLUSTER_LEASE_TTL_S, &c->lease);
    if (r < 0)
        return r;
    c->node_written = false;
    cJSON_Delete(c->written);
    c->written = cJSON_CreateObject();
    cJSON_Delete(c->data_written);
    c->data_written = NULL;
    cJSON_Delete(c->load_written);
    c->load_written = NULL;
    return 0;
}

static int write_node(struct jn_cluster *c)
{
    if (c->node_written)
        return 0;
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_NODES "%s", c->node);
    cJSON *rec = node_record(c);
    char *s = print(rec);
    cJSON_Delete(rec);
    int r = jn_etcd_put(c->e, key, s, c->lease);
    free(s);
    if (r == 0) {
        c->node_written = true;
        jn_notice("cluster: node %s registered (lease %lld)", c->node, (long long)c->lease);
    }
    return r;
}

/* Writes the instance keys that changed since the last round. */
static int write_instances(struct jn_cluster *c)
{
    pthread_mutex_lock(&c->mu);
    cJSON *rep = c->report ? cJSON_Duplicate(c->report, true) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (!rep)
        return 0; /* the control thread has not reported yet */
    int r = 0;
    char key[512];
    const cJSON *x;
    cJSON_ArrayForEach(x, rep)
    {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(c->written, x->string);
        if (old && cJSON_Compare(old, x, true))
            continue;
        snprintf(key, sizeof(key), JN_CLUSTER_INSTANCES "%s/%s", x->string, c->node);
        char *s = print(x);
        r = jn_etcd_put(c->e, key, s, c->lease);
        free(s);
        if (r < 0)
            break;
        cJSON_DeleteItemFromObjectCaseSensitive(c->written, x->string);
        cJSON_AddItemToObject(c->written, x->string, cJSON_Duplicate(x, true));
    }
    for (cJSON *w = c->written ? c->written->child : NULL, *next; w && r == 0; w = next) {
        next = w->next;
        if (cJSON_GetObjectItemCaseSensitive(rep, w->string))
            continue;
        snprintf(key, sizeof(key), JN_CLUSTER_INSTANCES "%s/%s", w->string, c->node);
        if ((r = jn_etcd_delete(c->e, key, false)) == 0)
            cJSON_DeleteItemFromObjectCaseSensitive(c->written, w->string);
    }
    cJSON_Delete(rep);
    return r;
}

/* Writes the node's data record (databases, backups, logs) when it changed. */
static int write_data(struct jn_cluster *c)
{
    pthread_mutex_lock(&c->mu);
    cJSON *data = c->data ? cJSON_Duplicate(c->data, true) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (!data || (c->data_written && cJSON_Compare(c->data_written, data, true))) {
        cJSON_Delete(data);
        return 0;
    }
    char key[256];
    snprintf(key, sizeof(key), JN_CLUSTER_DATA "%s", c->node);
    char *s = print(data);
    int r = jn_etcd_put(c->e, key, s, c->lease);
    free(s);
    if (r < 0) {
        cJSON_Delete(data);
        return r;
    }
    cJSON_Delete(c->data_written);
    c->data_written = data;
    return 0;
}

/* /jern/ read whole into a view. */
static int read_view(struct jn_cluster *c, cJSON **out)
{
    struct jn_etcd_kv *kvs;
    size_t n;
    int r = jn_etcd_range(c->e, JN_CLUSTER_PREFIX, true, &kvs, &n, &c->revision);
    if (r < 0)
        return r;
    cJSON *v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "etcd", true);
    cJSON_AddNumberToObject(v, "at_ms", (double)jn_now_ms());
    cJSON_AddStringToObject(v, "node", c->node);
    cJSON *nodes = cJSON_AddObjectToObject(v, "nodes");
    cJSON *apps = cJSON_AddObjectToObject(v, "apps");
    cJSON *assign = cJSON_AddObjectToObject(v, "assign");
    cJSON *inst = cJSON_AddObjectToObject(v, "instances");
    cJSON *drain = cJSON_AddObjectToObject(v, "drain");
    cJSON *labels_set = cJSON_AddObjectToObject(v, "labels");
    cJSON *data = cJSON_AddObjectToObject(v, "data");
    cJSON *moves = cJSON_AddObjectToObject(v, "dbmoves");
    cJSON *asks = cJSON_AddObjectToObject(v, "dbasks");
    cJSON *load = cJSON_AddObjectToObject(v, "load");
    cJSON *certs = cJSON_AddObjectToObject(v, "certs");
    cJSON *challenges = cJSON_AddObjectToObject(v, "challenges");
    const char *leader = "";
    int64_t leader_lease = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = kvs[i].key;
        if (strcmp(k, JN_CLUSTER_LEADER) == 0) {
            leader = kvs[i].value;
            leader_lease = kvs[i].lease;
            continue;
        }
        if (strncmp(k, JN_CLUSTER_DRAIN, strlen(JN_CLUSTER_DRAIN)) == 0) {
            cJSON_AddTrueToObject(drain, k + strlen(JN_CLUSTER_DRAIN));
            continue;
        }
        cJSON *val = cJSON_Parse(kvs[i].value);
        if (!cJSON_IsObject(val)) {
            cJSON_Delete(val);
            continue; /* not ours */
        }
        if (strncmp(k, JN_CLUSTER_NODES, strlen(JN_CLUSTER_NODES)) == 0) {
            cJSON_AddItemToObject(nodes, k + strlen(JN_CLUSTER_NODES), val);
        } else if (strncmp(k, JN_CLUSTER_APPS, strlen(JN_CLUSTER_APPS)) == 0) {
            cJSON_AddNumberToObject(val, "mod_revision", (double)kvs[i].mod_revision);
            cJSON_AddItemToObject(apps, k + strlen(JN_CLUSTER_APPS), val);
        } else if (strncmp(k, JN_CLUSTER_LABELS, strlen(JN_CLUSTER_LABELS)) == 0) {
            cJSON_AddItemToObject(labels_set, k + strlen(JN_CLUSTER_LABELS), val);
        } else if (strncmp(k, JN_CLUSTER_CERTS, strlen(JN_CLUSTER_CERTS)) == 0) {
            cJSON_AddItemToObject(certs, k + strlen(JN_CLUSTER_CERTS), val);
        } else if (strncmp(k, JN_CLUSTER_ACME_CHALLENGE, strlen(JN_CLUSTER_ACME_CHALLENGE)) == 0) {
            cJSON_AddItemToObject(challenges, k + strlen(JN_CLUSTER_ACME_CHALLENGE), val);
        } else if (strncmp(k, JN_CLUSTER_DBMOVES, strlen(JN_CLUSTER_DBMOVES)) == 0) {
            cJSON_AddNumberToObject(val, "mod_revision", (double)kvs[i].mod_revision);
            cJSON_AddItemToObject(moves, k + strlen(JN_CLUSTER_DBMOVES), val);
        } else if (strncmp(k, JN_CLUSTER_LOAD, strlen(JN_CLUSTER_LOAD)) == 0) {
            cJSON_AddItemToObject(load, k + strlen(JN_CLUSTER_LOAD), val);
        } else if (strncmp(k, JN_CLUSTER_DBASKS, strlen(JN_CLUSTER_DBASKS)) == 0) {
            cJSON_AddNumberToObject(val, "mod_revision", (double)kvs[i].mod_revision);
            cJSON_AddItemToObject(asks, k + strlen(JN_CLUSTER_DBASKS), val);
        } else if (strncmp(k, JN_CLUSTER_DATA, strlen(JN_CLUSTER_DATA)) == 0) {
            cJSON_AddItemToObject(data, k + strlen(JN_CLUSTER_DATA), val);
        } else if (strncmp(k, JN_CLUSTER_ASSIGN, strlen(JN_CLUSTER_ASSIGN)) == 0) {
            cJSON_AddItemToObject(assign, k + strlen(JN_CLUSTER_ASSIGN), val);
        } else if (strncmp(k, JN_CLUSTER_INSTANCES, strlen(JN_CLUSTER_INSTANCES)) == 0) {
            const char *app = k + strlen(JN_CLUSTER_INSTANCES);
            const char *slash = strchr(app, '/');
            if (!slash) {
                cJSON_Delete(val);
                continue;
            }
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(slash - app), app);
            cJSON *per = cJSON_GetObjectItemCaseSensitive(inst, name);
            if (!per)
                per = cJSON_AddObjectToObject(inst, name);
            cJSON_AddItemToObject(per, slash + 1, val);
        } else {
            cJSON_Delete(val);
        }
    }
    cJSON_AddStringToObject(v, "leader", leader);
    cJSON_AddBoolToObject(v, "scheduler",
                          strcmp(leader, c->node) == 0 && leader_lease == c->lease);
    jn_etcd_kvs_free(kvs, n);
    *out = v;
    return 0;
}

/* The scheduler's moves of databases: data where an app must not have it,
 * or on a drained node, goes to a node that fits (dbmove.c carries each
 * out). */
static int start_moves(struct jn_cluster *c, const cJSON *v, const cJSON *nodes,
                       const cJSON *plan)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    cJSON *moves = jn_cluster_db_moves(nodes, cJSON_GetObjectItemCaseSensitive(v, "apps"), data,
                                       cJSON_GetObjectItemCaseSensitive(v, "dbmoves"), plan);
    const cJSON *x;
    int r = 0;
    char key[256];
    cJSON_ArrayForEach(x, moves)
    {
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "from"));
        const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "to"));
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(data, from),
                                             "databases"),
            x->string);
        bool purge = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "purge"));
        jn_notice("cluster: database %s sits on node %s, %s: moving it to node %s", x->string,
                  from, purge ? "outside its apps' labels" : "which is drained", to);
        cJSON *m = jn_cluster_db_move_new(x->string, from, to, rec, purge, jn_now_ms());
        snprintf(key, sizeof(key), JN_CLUSTER_DBMOVES "%s", x->string);
        char *s = print(m);
        cJSON_Delete(m);
        struct jn_etcd_kv cur = {0};
        r = jn_etcd_create(c->e, key, s, 0, &cur);
        free(s);
        free(cur.key);
        free(cur.value);
        if (r < 0)
            break;
        r = 0;
    }
    cJSON_Delete(moves);
    return r;
}

/* The scheduler's round: writes every placement that changed. */
static int schedule(struct jn_cluster *c, cJSON *v)
{
    int ar = jn_cluster_autoscale_round(c, v);
    if (ar < 0)
        return ar;
    cJSON *nodes = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(v, "nodes"), true);
    const cJSON *drain = cJSON_GetObjectItemCaseSensitive(v, "drain");
    cJSON *x;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    cJSON_ArrayForEach(x, nodes)
    {
        if (cJSON_GetObjectItemCaseSensitive(drain, x->string))
            cJSON_AddTrueToObject(x, "draining");
        /* its databases' memory is not the instances' */
        cJSON_AddNumberToObject(
            x, "db_memory",
            jn_cluster_db_memory(cJSON_GetObjectItemCaseSensitive(data, x->string)));
    }
    cJSON *assign = cJSON_GetObjectItemCaseSensitive(v, "assign");
    cJSON *next = jn_cluster_schedule(nodes, cJSON_GetObjectItemCaseSensitive(v, "apps"), assign);
    int r = 0;
    char key[256];
    cJSON_ArrayForEach(x, next)
    {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(assign, x->string);
        if (old && cJSON_Compare(old, x, true))
            continue;
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(x, "error");
        if (cJSON_IsString(err))
            jn_warn("cluster: %s", err->valuestring);
        snprintf(key, sizeof(key), JN_CLUSTER_ASSIGN "%s", x->string);
        char *s = print(x);
        r = jn_etcd_put(c->e, key, s, 0);
        free(s);
        if (r < 0)
            break;
    }
    cJSON_ArrayForEach(x, assign)
    {
        if (r == 0 && !cJSON_GetObjectItemCaseSensitive(next, x->string)) {
            snprintf(key, sizeof(key), JN_CLUSTER_ASSIGN "%s", x->string);
            r = jn_etcd_delete(c->e, key, false);
        }
    }
    if (r == 0)
        r = start_moves(c, v, nodes, next);
    if (r == 0)
        r = jn_cluster_certs_prune(c, v);
    cJSON_Delete(nodes);
    cJSON_DeleteItemFromObjectCaseSensitive(v, "assign");
    cJSON_AddItemToObject(v, "assign", next);
    return r;
}

/* Labels set through the API (/jern/labels/NODE) replace the flags' in the
 * node's record: written again when they changed. */
static int follow_labels(struct jn_cluster *c, const cJSON *v)
{
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "labels"), c->node),
        "labels");
    if (!cJSON_IsObject(set))
        set = NULL;
    if ((!set && !c->labels_set) ||
        (set && c->labels_set && cJSON_Compare(set, c->labels_set, true)))
        return 0;
    cJSON_Delete(c->labels_set);
    c->labels_set = set ? cJSON_Duplicate(set, true) : NULL;
    c->node_written = false;
    jn_notice("cluster: node %s: labels %s", c->node,
              set ? "set through the API" : "from its flags again");
    return write_node(c);
}

static int round_once(struct jn_cluster *c)
{
    int r;
    if ((r = keep_lease(c)) < 0 || (r = write_node(c)) < 0 || (r = write_instances(c)) < 0 ||
        (r = write_data(c)) < 0 || (r = jn_cluster_write_load(c)) < 0)
        return r;
    char key[] = JN_CLUSTER_LEADER;
    struct jn_etcd_kv cur = {0};
    r = jn_etcd_create(c->e, key, c->node, c->lease, &cur);
    if (r == 1)
        jn_notice("cluster: node %s is the scheduler", c->node);
    free(cur.key);
    free(cur.value);
    if (r < 0)
        return r;
    cJSON *v;
    if ((r = read_view(c, &v)) < 0)
        return r;
    if ((r = follow_labels(c, v)) < 0) {
        cJSON_Delete(v);
        return r;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "scheduler")) &&
        (r = schedule(c, v)) < 0) {
        cJSON_Delete(v);
        return r;
    }
    if (!c->etcd_ok && c->revision)
        jn_notice("cluster: etcd reachable; node %s in the cluster", c->node);
    c->etcd_ok = true;
    post_view(c, v);
    return 0;
}

static int on_change(void *arg, const struct jn_etcd_kv *kvs, size_t n, int64_t revision)
{
    ((struct jn_cluster *)arg)->watch_hit = true;
    return 1; /* any change starts the next round */
}

/* Until something under /jern/ changes, the report changes or a round's
 * time is up: watches of a slice each. */
static void wait_round(struct jn_cluster *c)
{
    c->watch_hit = false;
    for (int waited = 0; waited < ROUND_MS && !c->watch_hit && !atomic_load(&c->stop) &&
                         !atomic_exchange(&c->report_changed, false);
         waited += SLICE_MS) {
        if (jn_etcd_watch(c->e, JN_CLUSTER_PREFIX, c->revision + 1, SLICE_MS, on_change, c) < 0) {
            usleep(ROUND_MS * 1000);
            return;
        }
    }
}

static void *run(void *arg)
{
    struct jn_cluster *c = arg;
    while (!atomic_load(&c->stop)) {
        int r = round_once(c);
        if (r < 0) {
            post_unreachable(c, jn_etcd_errmsg(c->e));
            for (int i = 0; i < 10 && !atomic_load(&c->stop); i++)
                usleep(100 * 1000);
            continue;
        }
        wait_round(c);
    }
    if (c->lease)
        jn_etcd_lease_revoke(c->e, c->lease); /* leave at once, not a TTL later */
    return NULL;
}

int jn_cluster_start(struct jn_cluster *c)
{
    int r = pthread_create(&c->thread, NULL, run, c);
    if (r)
        return -r;
    c->started = true;
    jn_timer_init(&c->report_tick, report_tick, c);
    jn_timer_start(c->loop, &c->report_tick, REPORT_MS);
    return 0;
}

void jn_cluster_free(struct jn_cluster *c)
{
    if (!c)
        return;
    if (c->started) {
        jn_timer_stop(c->loop, &c->report_tick);
        atomic_store(&c->stop, true);
        pthread_join(c->thread, NULL);
    }
    jn_etcd_free(c->e);
    jn_etcd_free(c->ce);
    cJSON_Delete(c->labels);
    cJSON_Delete(c->labels_set);
    cJSON_Delete(c->written);
    cJSON_Delete(c->attempts);
    cJSON_Delete(c->config_written);
    cJSON_Delete(c->domain_errors);
    cJSON_Delete(c->seen);
    cJSON_Delete(c->config_seen);
    explicit_bzero(c->secret, sizeof(c->secret));
    cJSON_Delete(c->destroyed);
    cJSON_Delete(c->dbmove_jobs);
    cJSON_Delete(c->dbask_jobs);
    cJSON_Delete(c->dbmove_before);
    cJSON_Delete(c->challenges);
    cJSON_Delete(c->cert_errors);
    cJSON_Delete(c->view);
    cJSON_Delete(c->pending);
    cJSON_Delete(c->report);
    cJSON_Delete(c->data);
    cJSON_Delete(c->data_written);
    cJSON_Delete(c->load);
    cJSON_Delete(c->load_written);
    pthread_mutex_destroy(&c->mu);
    free(c->endpoints);
    free(c->node);
    free(c->advertise);
    free(c->gateway);
    free(c->state_dir);
    free(c);
}
