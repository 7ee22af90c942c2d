/*
 * batch.c: the end-of-batch sends (batch.h).
 *
 * One epoll batch under load holds many connections' events. Sent as each
 * event is handled, the responses leave a few microseconds apart, and the
 * client (or backend) on another CPU wakes for the first, handles it, sleeps
 * and wakes again for the next. Sent together after the batch, most of them
 * are there when it wakes: fewer wake-ups and context switches on the peers'
 * side, which on a shared box is CPU the proxy gets back. Nothing waits
 * longer than the rest of the batch it arrived in; with one event per batch
 * (light load) nothing is deferred at all.
 */
#include "gateway/batch.h"

#include "core/common.h"
#include "ev/loop.h"

bool gw_batch_defer(struct gw_req *r)
{
    struct gw_worker *w = r->c->w;
    if (w->batch_sending || !jn_loop_in_batch(w->loop))
        return false;
    if (!r->batched) {
        if (w->nbatch == w->batch_cap) {
            w->batch_cap = w->batch_cap ? w->batch_cap * 2 : 64;
            w->batch = jn_realloc(w->batch, w->batch_cap * sizeof(*w->batch));
        }
        w->batch[w->nbatch++] = r;
        r->batched = true;
    }
    return true;
}

void gw_batch_forget(struct gw_worker *w, struct gw_req *r)
{
    for (size_t i = 0; i < w->nbatch; i++)
        if (w->batch[i] == r)
            w->batch[i] = NULL;
    r->batched = false;
}

void gw_batch_free(struct gw_worker *w)
{
    free(w->batch);
    w->batch = NULL;
    w->nbatch = w->batch_cap = 0;
}
