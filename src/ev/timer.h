/*
 * timer.h: a binary min-heap of timers (ms, monotonic).
 * Each timer records its heap slot, so stopping one is O(log n).
 *
 * Moving a timer later is O(1): the heap is ordered by a key that may lag
 * behind the deadline (key <= deadline). A timeout re-armed on every
 * request (keep-alive, proxy_read_timeout) thus costs nothing until its
 * old key comes due; jn_timer_heap_expired then moves it to its deadline
 * once and goes on. nginx gets the same from its lazy timer updates.
 * Owned by one event loop; not thread-safe.
 */
#ifndef JN_EV_TIMER_H
#define JN_EV_TIMER_H

#include "core/common.h"

struct jn_loop;
struct jn_timer;

typedef void (*jn_timer_cb)(struct jn_loop *loop, struct jn_timer *t);

/* A deadline that never comes: a parked timer (jn_timer_park) has it. */
#define JN_TIMER_NEVER INT64_MAX

struct jn_timer {
    int64_t deadline; /* ms on the jn_now_ms() clock */
    int64_t key;      /* the heap's order: deadline, or an earlier one */
    size_t slot;      /* index in the heap + 1; 0 when not in it */
    jn_timer_cb cb;
    void *data;
};

struct jn_timer_heap {
    struct jn_timer **v;
    size_t n, cap;
};

static inline void jn_timer_init(struct jn_timer *t, jn_timer_cb cb, void *data)
{
    t->deadline = t->key = 0;
    t->slot = 0;
    t->cb = cb;
    t->data = data;
}

/* Changes what t calls, armed or not (jn_timer_init would drop it from
 * its heap). */
static inline void jn_timer_set_cb(struct jn_timer *t, jn_timer_cb cb, void *data)
{
    t->cb = cb;
    t->data = data;
}

/* Whether t will fire: in a heap, and not parked. */
static inline bool jn_timer_armed(const struct jn_timer *t)
{
    return t->slot != 0 && t->deadline != JN_TIMER_NEVER;
}

void jn_timer_heap_init(struct jn_timer_heap *h);
void jn_timer_heap_free(struct jn_timer_heap *h);

/* Arms t at deadline, or moves it there if in the heap. */
void jn_timer_heap_set(struct jn_timer_heap *h, struct jn_timer *t, int64_t deadline);

/* Takes t out of the heap; a no-op when it is not in it. */
void jn_timer_heap_remove(struct jn_timer_heap *h, struct jn_timer *t);

/* The timer with the smallest key, or NULL: nothing fires before its key
 * (the time to sleep until), though it may have been moved later since. */
static inline struct jn_timer *jn_timer_heap_top(const struct jn_timer_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

/* A timer whose deadline is at or before now, still in the heap (the
 * caller removes it before calling it), or NULL when none is due. Timers
 * whose key came due but whose deadline was moved later get their place
 * at the deadline on the way. */
struct jn_timer *jn_timer_heap_expired(struct jn_timer_heap *h, int64_t now);

#endif
