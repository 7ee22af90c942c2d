/*
 * timer.h: a binary min-heap of timers keyed by deadline (ms, monotonic).
 * Each timer records its heap slot, so stopping or moving one is O(log n).
 * Owned by one event loop; not thread-safe.
 */
#ifndef JN_EV_TIMER_H
#define JN_EV_TIMER_H

#include "core/common.h"

struct jn_loop;
struct jn_timer;

typedef void (*jn_timer_cb)(struct jn_loop *loop, struct jn_timer *t);

struct jn_timer {
    int64_t deadline; /* ms on the jn_now_ms() clock */
    size_t slot;      /* index in the heap + 1; 0 when not armed */
    jn_timer_cb cb;
    void *data;
};

struct jn_timer_heap {
    struct jn_timer **v;
    size_t n, cap;
};

static inline void jn_timer_init(struct jn_timer *t, jn_timer_cb cb, void *data)
{
    t->deadline = 0;
    t->slot = 0;
    t->cb = cb;
    t->data = data;
}

static inline bool jn_timer_armed(const struct jn_timer *t)
{
    return t->slot != 0;
}

void jn_timer_heap_init(struct jn_timer_heap *h);
void jn_timer_heap_free(struct jn_timer_heap *h);

/* Arms t at deadline, or moves it there if already armed. */
void jn_timer_heap_set(struct jn_timer_heap *h, struct jn_timer *t, int64_t deadline);

/* Disarms t; a no-op when not armed. */
void jn_timer_heap_remove(struct jn_timer_heap *h, struct jn_timer *t);

/* The earliest timer, or NULL. */
static inline struct jn_timer *jn_timer_heap_top(const struct jn_timer_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

#endif
