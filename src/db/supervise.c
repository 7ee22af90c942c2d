/*
 * supervise.c: the database manager's supervision, run by its tick on the
 * control loop (db.c): a crashed mariadbd is restarted with backoff, the
 * figures for /metrics and jern db ls are refreshed, scheduled backups start,
 * and attachments of destroyed apps are dropped.
 */
#include "core/common.h"

#include "core/log.h"
#include "core/buf.h"
#include "db/db_int.h"
#include "db/run.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define STATUS_EVERY_MS 2000
#define BACKOFF_MAX_MS 30000

/* The figures for /metrics and jern db ls, at most every STATUS_EVERY_MS. */
static void refresh_status(struct db_rt *d, int64_t now)
{
    if (now - d->last_ms < STATUS_EVERY_MS)
        return;
    char err[256];
    struct jn_db_status s;
    struct jn_db_conn *c = db_conn(d, err, sizeof(err));
    if (!c || jn_db_status_read(c, &s) < 0) {
        db_drop_conn(d);
        return;
    }
    if (d->last_ms > 0 && s.queries >= d->last.queries)
        d->qps = (double)(s.queries - d->last.queries) * 1000.0 / (double)(now - d->last_ms);
    if (s.pool_read_requests > 0)
        d->hit_rate = 1.0 - (double)s.pool_reads / (double)s.pool_read_requests;
    d->last = s;
    d->last_ms = now;
    if (!d->version[0])
        jn_db_version(c, d->version, sizeof(d->version));
}

void db_supervise_one(struct jn_dbs *m, struct db_rt *d, int64_t now)
{
    bool alive = jn_db_server_is(d->pid, &d->p);
    char err[512] = "";
    switch (d->state) {
    case DB_RUNNING:
        if (alive) {
            if (now - d->state_since_ms > 60000)
                d->backoff_ms = 1000;
            refresh_status(d, now);
            break;
        }
        db_drop_conn(d);
        d->restarts++;
        jn_warn("database %s: mariadbd (pid %d) is gone; restarting (restart %d)", d->row.name,
                (int)d->pid, d->restarts);
        db_set_state(m, d, DB_RESTARTING);
        d->next_try_ms = now;
        __attribute__((fallthrough)); /* restart at once */
    case DB_RESTARTING:
    case DB_FAILED:
        if (now < d->next_try_ms)
            break;
        d->pid = jn_db_server_find(&d->p);
        if (d->pid <= 0)
            d->pid = jn_db_server_start(&d->p, NULL, d->row.memory_mb, err, sizeof(err));
        if (d->pid < 0) {
            jn_error("database %s: %s", d->row.name, err);
            db_set_state(m, d, DB_FAILED);
            d->next_try_ms = now + d->backoff_ms;
            d->backoff_ms = JN_MIN(d->backoff_ms * 2, BACKOFF_MAX_MS);
            break;
        }
        db_set_state(m, d, DB_STARTING);
        break;
    case DB_STARTING:
        if (!alive) {
            char tail[300];
            jn_db_tail(d->p.log, tail, sizeof(tail));
            jn_error("database %s: mariadbd exited while starting: %s", d->row.name, tail);
            db_set_state(m, d, DB_FAILED);
            d->next_try_ms = now + d->backoff_ms;
            d->backoff_ms = JN_MIN(d->backoff_ms * 2, BACKOFF_MAX_MS);
            break;
        }
        db_drop_conn(d);
        if (db_conn(d, err, sizeof(err))) {
            jn_notice("database %s: mariadbd pid %d ready on 127.0.0.1:%d", d->row.name,
                      (int)d->pid, d->row.port);
            db_set_state(m, d, DB_RUNNING);
        }
        break;
    }
}

void db_scheduled_backup(struct jn_dbs *m, struct db_rt *d, int64_t now)
{
    if (d->row.backup_every_s <= 0 || d->state != DB_RUNNING || now < d->next_backup_ms)
        return;
    /* Another job on it: the backup waits for the next tick. */
    if (db_job_running(m, d->row.name))
        return;
    d->next_backup_ms = now + d->row.backup_every_s * 1000;
    int id;
    char err[512];
    if (db_backup_job(m, d, "auto", &id, err, sizeof(err)) < 0)
        jn_error("database %s: scheduled backup: %s", d->row.name, err);
}

/* An app destroyed while attached: detach it, so a new app of the same name
 * never inherits the old one's credentials. */
void db_sweep_orphans(struct jn_dbs *m)
{
    struct jn_store_db_attach *v;
    int n = jn_store_db_attachments(m->st, NULL, &v);
    for (int i = 0; i < n; i++) {
        if (jn_store_app_get(m->st, v[i].app, NULL) != JN_ENOTFOUND)
            continue;
        char err[512];
        if (jn_dbs_detach(m, v[i].db, v[i].app, err, sizeof(err)) < 0)
            jn_warn("database %s: detaching the destroyed app %s: %s", v[i].db, v[i].app, err);
    }
    free(v);
}

void jn_dbs_metrics(struct jn_dbs *m, struct jn_buf *out)
{
    if (!m || !m->dbs)
        return;
    jn_buf_puts(out, "# HELP jern_db_up 1 when the database's mariadbd answers.\n"
                     "# TYPE jern_db_up gauge\n");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        jn_buf_printf(out, "jern_db_up{db=\"%s\",state=\"%s\"} %d\n", d->row.name,
                      db_state_name(d->state), d->state == DB_RUNNING);
    jn_buf_puts(out, "# HELP jern_db_connections Client connections open (Threads_connected).\n"
                     "# TYPE jern_db_connections gauge\n");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        jn_buf_printf(out, "jern_db_connections{db=\"%s\"} %lld\n", d->row.name,
                      (long long)d->last.threads_connected);
    jn_buf_puts(out, "# HELP jern_db_queries_per_second Statements per second, last interval.\n"
                     "# TYPE jern_db_queries_per_second gauge\n");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        jn_buf_printf(out, "jern_db_queries_per_second{db=\"%s\"} %.2f\n", d->row.name, d->qps);
    jn_buf_puts(out, "# HELP jern_db_buffer_pool_hit_ratio Page reads served from memory.\n"
                     "# TYPE jern_db_buffer_pool_hit_ratio gauge\n");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        if (d->hit_rate >= 0)
            jn_buf_printf(out, "jern_db_buffer_pool_hit_ratio{db=\"%s\"} %.4f\n", d->row.name,
                          d->hit_rate);
    jn_buf_puts(out, "# HELP jern_db_restarts_total Crashes of mariadbd restarted by jern.\n"
                     "# TYPE jern_db_restarts_total counter\n");
    for (struct db_rt *d = m->dbs; d; d = d->next)
        jn_buf_printf(out, "jern_db_restarts_total{db=\"%s\"} %d\n", d->row.name, d->restarts);
}
