#include "ev/timer.h"

void jn_timer_heap_init(struct jn_timer_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void jn_timer_heap_free(struct jn_timer_heap *h)
{
    free(h->v);
    jn_timer_heap_init(h);
}

static void place(struct jn_timer_heap *h, size_t i, struct jn_timer *t)
{
    h->v[i] = t;
    t->slot = i + 1;
}

static void sift_up(struct jn_timer_heap *h, size_t i)
{
    struct jn_timer *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->key <= t->key)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct jn_timer_heap *h, size_t i)
{
    struct jn_timer *t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1]->key < h->v[c]->key)
            c++;
        if (t->key <= h->v[c]->key)
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, t);
}

void jn_timer_heap_set(struct jn_timer_heap *h, struct jn_timer *t, int64_t deadline)
{
    if (t->slot) {
        t->deadline = deadline;
        if (deadline < t->key) { /* earlier than its place: move it up now */
            t->key = deadline;
            sift_up(h, t->slot - 1);
        }
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = jn_realloc(h->v, h->cap * sizeof(*h->v));
    }
    t->deadline = t->key = deadline;
    h->v[h->n] = t;
    t->slot = ++h->n;
    sift_up(h, h->n - 1);
}

void jn_timer_heap_remove(struct jn_timer_heap *h, struct jn_timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    struct jn_timer *last = h->v[--h->n];
    if (i == h->n)
        return;
    h->v[i] = last;
    last->slot = i + 1;
    if (i > 0 && last->key < h->v[(i - 1) / 2]->key)
        sift_up(h, i);
    else
        sift_down(h, i);
}

struct jn_timer *jn_timer_heap_expired(struct jn_timer_heap *h, int64_t now)
{
    while (h->n && h->v[0]->key <= now) {
        struct jn_timer *t = h->v[0];
        if (t->deadline <= now)
            return t;
        t->key = t->deadline; /* moved later since it was placed */
        sift_down(h, 0);
    }
    return NULL;
}
