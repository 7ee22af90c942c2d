/*
 * loop.h: the event loop, one per thread. The only user of <sys/epoll.h>.
 *
 * File descriptors are registered once, edge-triggered, for both directions
 * (no epoll_ctl churn); a callback reads or writes until EAGAIN. Timers live
 * in a min-heap. Signals arrive through a signalfd. Other threads reach a loop
 * only through jn_loop_post() / jn_loop_stop(), which are thread-safe.
 * Everything else must be called from the loop's own thread.
 */
#ifndef JN_EV_LOOP_H
#define JN_EV_LOOP_H

#include "core/common.h"
#include "ev/timer.h"

#define JN_EV_READ 0x1u
#define JN_EV_WRITE 0x4u
#define JN_EV_ERROR 0x8u    /* EPOLLERR */
#define JN_EV_HUP 0x10u     /* EPOLLHUP */
#define JN_EV_RDHUP 0x2000u /* EPOLLRDHUP: peer shut down writing */

struct jn_loop;
struct jn_io;

typedef void (*jn_io_cb)(struct jn_loop *loop, struct jn_io *io, uint32_t events);
typedef void (*jn_post_cb)(struct jn_loop *loop, void *arg);
typedef void (*jn_signal_cb)(struct jn_loop *loop, int signo, void *arg);

struct jn_io {
    int fd;
    jn_io_cb cb;
    void *data;
};

/* Creates a loop. Returns 0 or -errno. */
int jn_loop_new(struct jn_loop **out);

/* Frees the loop; registered fds are not closed. Loop thread only, after run returned. */
void jn_loop_free(struct jn_loop *loop);

/* Watches fd for events (JN_EV_READ|JN_EV_WRITE), edge-triggered unless level is true.
 * io must stay valid until jn_io_del. Returns 0 or -errno. */
int jn_io_add(struct jn_loop *loop, struct jn_io *io, int fd, uint32_t events, bool level,
              jn_io_cb cb, void *data);

/* Changes the watched events. Returns 0 or -errno. */
int jn_io_mod(struct jn_loop *loop, struct jn_io *io, uint32_t events, bool level);

/* Stops watching io->fd (call before closing it). Events already fetched for
 * io in this iteration are not delivered after this call. */
void jn_io_del(struct jn_loop *loop, struct jn_io *io);

/*
 * Wake-up coalescing under load. Once the loop has handled at least
 * min_rate events per second over its last 10 ms window, it no longer goes
 * straight to sleep in epoll_wait when nothing is ready: it naps for nap_us
 * first, outside epoll's wait queue, and then takes everything that arrived
 * in one batch. Each event a peer makes ready while the loop blocks in
 * epoll_wait costs that peer a cross-CPU wake-up (an interrupt, a VM exit
 * in a guest) and this thread a context switch per event or two; under load
 * the nap turns those into one timer wake-up per batch. Below min_rate
 * (light load, single requests) nothing changes, so latency there is
 * untouched; above it an event that arrives during a nap waits at most
 * nap_us. nap_us 0 turns it off (the default).
 */
void jn_loop_coalesce(struct jn_loop *loop, int nap_us, int min_rate);

/* cb(loop, arg) runs after each batch of events, before the timers, and
 * within a long batch after every 16 events: work the batch's callbacks set
 * aside to do together (the gateway's sends), never inside a callback. One
 * hook per loop; NULL removes it. */
typedef void (*jn_batch_cb)(struct jn_loop *loop, void *arg);
void jn_loop_on_batch_end(struct jn_loop *loop, jn_batch_cb cb, void *arg);

/* Whether the loop is dispatching a batch of more than one event now: what
 * is set aside for the batch's end has company to go out with. */
bool jn_loop_in_batch(const struct jn_loop *loop);

/* How many naps the loop has taken so far (for tests and statistics). */
uint64_t jn_loop_naps(const struct jn_loop *loop);

/* The loop's cached monotonic time in ms, refreshed once per iteration. */
int64_t jn_loop_now(const struct jn_loop *loop);

/* The same cached instant in ns: what one iteration's events were read at.
 * Durations measured with it (request and upstream times) are as fine as
 * an iteration, without a clock read per request. */
int64_t jn_loop_now_ns(const struct jn_loop *loop);

/* Refreshes and returns the cached time. */
int64_t jn_loop_update_time(struct jn_loop *loop);

/* Arms (or re-arms) t to fire after delay_ms from the loop's cached time. */
void jn_timer_start(struct jn_loop *loop, struct jn_timer *t, int64_t delay_ms);

/* Disarms t, armed or parked; a no-op if it is neither. */
void jn_timer_stop(struct jn_loop *loop, struct jn_timer *t);

/* Disarms t the cheap way for a timer about to be started again (a
 * connection's timeout between requests): it stays in the heap, never
 * firing, so starting it later is O(1). jn_timer_stop must still run
 * before t's memory goes. A no-op if t is not armed. */
void jn_timer_park(struct jn_loop *loop, struct jn_timer *t);

/* Delivers signo through the loop (signalfd). The signal is blocked in the
 * calling thread: call before starting other threads so they inherit the mask.
 * Returns 0 or -errno. */
int jn_loop_signal(struct jn_loop *loop, int signo, jn_signal_cb cb, void *arg);

/* Runs cb(loop, arg) on the loop's thread soon. Thread-safe. Returns 0 or -errno. */
int jn_loop_post(struct jn_loop *loop, jn_post_cb cb, void *arg);

/* Runs until jn_loop_stop. Returns 0 or -errno from epoll_wait. */
int jn_loop_run(struct jn_loop *loop);

/* Makes jn_loop_run return after the current iteration. Thread-safe. */
void jn_loop_stop(struct jn_loop *loop);

/* Number of registered fds plus timers in the heap, armed or parked (for
 * tests and metrics). */
size_t jn_loop_count(const struct jn_loop *loop);

#endif
