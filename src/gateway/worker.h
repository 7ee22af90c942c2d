/*
 * worker.h: one gateway worker thread: lifecycle (called by gateway.c on the
 * control thread) and its per-worker free lists (worker thread only).
 */
#ifndef JN_GATEWAY_WORKER_H
#define JN_GATEWAY_WORKER_H

#include "gateway/freelist.h"
#include "gateway/types.h"

/* worker.c: lifecycle, called by gateway.c on the control thread */
struct gw_listen_fd {
    int id;
    int fd; /* this worker's own SO_REUSEPORT socket */
};
/* Creates a worker (not running yet). */
struct gw_worker *gw_worker_new(struct jn_gateway *g, int id, size_t max_conns);
/* Starts its thread. Returns 0 or -errno. */
int gw_worker_run(struct gw_worker *w);
/* Hands the worker a new snapshot (one reference, transferred) and its full
 * listener set (fds not yet known to it are added; its fds for ids missing
 * from lfds are closed). lfds is copied. Thread-safe (posted). */
void gw_worker_update(struct gw_worker *w, struct jn_gw_snapshot *snap,
                      const struct gw_listen_fd *lfds, size_t n);
/* Graceful stop: close listeners and idle connections, finish the rest, then
 * call done(w, arg) on the worker thread and leave the loop. Thread-safe. */
void gw_worker_quit(struct gw_worker *w, void (*done)(struct gw_worker *, void *), void *arg);
/* drain_timeout for the next snapshots (0: wait forever). Thread-safe. */
void gw_worker_set_drain_timeout(struct gw_worker *w, int64_t ms);
/* Fast stop: leave the loop now. Thread-safe. */
void gw_worker_stop(struct gw_worker *w);
/* Joins the thread and frees everything (closing all connections). */
void gw_worker_free(struct gw_worker *w);
/* Asks the worker to reopen its access logs. Thread-safe. */
void gw_worker_reopen(struct gw_worker *w);

#endif
