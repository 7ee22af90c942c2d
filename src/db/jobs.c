/*
 * jobs.c: the database manager's jobs. A create, attach, backup, restore or
 * destroy takes seconds to minutes (mariadb-install-db, a first start,
 * mariadb-dump, a load, a clean InnoDB shutdown), so it runs on a thread of its own while the control thread keeps
 * answering the admin API and supervising. The job's work() touches only its
 * own files, processes and connections; when it ends, the job hops back to
 * the control thread (jn_loop_post), where done() writes the store and links
 * what was made. One job per database at a time: a second one is refused
 * (409) naming the running one. Finished jobs are kept for GET /v1/db-jobs/ID.
 */
#include "core/common.h"

#include "core/log.h"
#include "db/db_int.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define JOB_KEEP_MS (10 * 60 * 1000)
#define JOB_KEEP_MAX 64
#define STOP_WAIT_MS 10000

int jn_dbs_http_status(int r)
{
    return r == JN_EBADINPUT      ? 400
           : r == JN_ENOTFOUND    ? 404
           : r == JN_EEXIST       ? 409
           : r == JN_EUNSUPPORTED ? 501
           : r == JN_EUPSTREAM    ? 503 /* the container engine */
                                  : 500;
}

static const char *job_state_name(enum db_job_state s)
{
    return s == DB_JOB_RUNNING ? "running" : s == DB_JOB_DONE ? "done" : "failed";
}

static void job_free(struct db_job *j)
{
    cJSON_Delete(j->result);
    free(j);
}

struct db_job *db_job_running(struct jn_dbs *m, const char *name)
{
    for (struct db_job *j = m->jobs; j; j = j->next)
        if (j->state == DB_JOB_RUNNING &&
            (strcmp(j->db, name) == 0 || (j->db2[0] && strcmp(j->db2, name) == 0)))
            return j;
    return NULL;
}

struct db_job *db_job_find(struct jn_dbs *m, int id)
{
    for (struct db_job *j = m->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

cJSON *db_job_json(const struct db_job *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "kind", j->kind);
    cJSON_AddStringToObject(o, "database", j->db2[0] ? j->db2 : j->db);
    cJSON_AddStringToObject(o, "state", job_state_name(j->state));
    int64_t end = j->state == DB_JOB_RUNNING ? jn_now_ms() : j->ended_ms;
    cJSON_AddNumberToObject(o, "elapsed_ms", (double)(end - j->started_ms));
    if (j->state != DB_JOB_RUNNING)
        cJSON_AddNumberToObject(o, "status", j->status);
    if (j->state == DB_JOB_DONE && j->result)
        cJSON_AddItemToObject(o, "result", cJSON_Duplicate(j->result, true));
    if (j->state == DB_JOB_FAILED)
        cJSON_AddStringToObject(o, "error", j->err);
    return o;
}

/* Drops finished jobs older than JOB_KEEP_MS, and the oldest past JOB_KEEP_MAX. */
static void prune(struct jn_dbs *m)
{
    int64_t now = jn_now_ms();
    int kept = 0;
    for (struct db_job **pp = &m->jobs; *pp;) {
        struct db_job *j = *pp;
        if (j->state != DB_JOB_RUNNING &&
            (now - j->ended_ms > JOB_KEEP_MS || kept >= JOB_KEEP_MAX)) {
            *pp = j->next;
            job_free(j);
            continue;
        }
        kept++;
        pp = &j->next;
    }
}

/* On the control thread: the job's outcome. */
static void finish_cb(struct jn_loop *loop, void *arg)
{
    struct db_job *j = arg;
    (void)loop;
    j->done(j);
    j->arg = NULL;
    j->ended_ms = jn_now_ms();
    j->state = j->status >= 200 && j->status < 300 ? DB_JOB_DONE : DB_JOB_FAILED;
    if (j->state == DB_JOB_FAILED)
        jn_warn("database %s: %s job %d failed: %s", j->db2[0] ? j->db2 : j->db, j->kind, j->id,
                j->err);
}

static void *job_thread(void *arg)
{
    struct db_job *j = arg;
    struct jn_dbs *m = j->m;
    j->r = j->work(j);
    pthread_mutex_lock(&m->mu);
    /* At stop the loop no longer runs: the outcome is dropped, the manager
     * is left allocated (db_jobs_stop) and the next daemon adopts. */
    if (!m->stopping && jn_loop_post(m->loop, finish_cb, j) < 0)
        jn_error("database %s: %s job %d: cannot report to the control thread", j->db, j->kind,
                 j->id);
    m->threads--;
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

struct db_job *db_job_new(const char *kind, const char *db, int (*work)(struct db_job *j),
                          void (*done)(struct db_job *j), void *arg)
{
    struct db_job *j = jn_calloc(1, sizeof(*j));
    j->kind = kind;
    snprintf(j->db, sizeof(j->db), "%s", db);
    j->work = work;
    j->done = done;
    j->arg = arg;
    return j;
}

int db_job_start(struct jn_dbs *m, struct db_job *j, char *err, size_t errlen)
{
    struct db_job *busy = db_job_running(m, j->db);
    if (!busy && j->db2[0])
        busy = db_job_running(m, j->db2);
    if (busy) {
        snprintf(err, errlen,
                 "database '%s' is busy: a %s is running (job %d, see: jern db job %d); one "
                 "operation per database at a time, try again when it has finished",
                 strcmp(busy->db, j->db) == 0 || strcmp(busy->db, j->db2) == 0 ? busy->db
                                                                                : busy->db2,
                 busy->kind, busy->id, busy->id);
        return JN_EEXIST;
    }
    prune(m);
    j->m = m;
    j->id = ++m->next_job_id;
    j->state = DB_JOB_RUNNING;
    j->started_ms = jn_now_ms();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&m->mu);
    pthread_t th;
    int e = pthread_create(&th, &attr, job_thread, j);
    if (e == 0)
        m->threads++;
    pthread_mutex_unlock(&m->mu);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        snprintf(err, errlen, "cannot start a thread for the %s: %s", j->kind, strerror(e));
        return JN_EBASE;
    }
    j->next = m->jobs;
    m->jobs = j;
    jn_notice("database %s: %s job %d started", j->db2[0] ? j->db2 : j->db, j->kind, j->id);
    return 0;
}

bool db_jobs_stop(struct jn_dbs *m)
{
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_mutex_unlock(&m->mu);
    for (int waited = 0;; waited += 50) {
        pthread_mutex_lock(&m->mu);
        int n = m->threads;
        pthread_mutex_unlock(&m->mu);
        if (n == 0)
            return true;
        if (waited >= STOP_WAIT_MS) {
            jn_warn("%d database job(s) still running at stop; what they made is found again "
                    "(or removed) at the next start",
                    n);
            return false;
        }
        usleep(50 * 1000);
    }
}

void db_jobs_free(struct jn_dbs *m)
{
    while (m->jobs) {
        struct db_job *j = m->jobs;
        m->jobs = j->next;
        job_free(j);
    }
}
