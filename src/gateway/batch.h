/*
 * batch.h: sends set aside until the end of the worker loop's batch of
 * events, so a batch's responses and upstream requests leave together.
 * Worker thread.
 */
#ifndef JN_GATEWAY_BATCH_H
#define JN_GATEWAY_BATCH_H

#include "gateway/types.h"

/* Whether r's pending send (to the client or to its upstream) waits for the
 * end of the batch: true while the loop dispatches more than one event and
 * is not already sending the batch's sends; r is then queued once, and
 * gw_proxy_flush_batch (proxy.c), the loop's end-of-batch hook, runs its
 * pumps again. */
bool gw_batch_defer(struct gw_req *r);

/* r goes back to the free list (gw_req_put): out of the queue. */
void gw_batch_forget(struct gw_worker *w, struct gw_req *r);

/* The worker ends. */
void gw_batch_free(struct gw_worker *w);

#endif
