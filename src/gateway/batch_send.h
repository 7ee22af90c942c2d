/*
 * batch_send.h: the sends of a batch's end (batch.h) made in one io_uring
 * submission instead of one system call each. Worker thread.
 *
 * At the end of a batch the worker queues every pipe that is about to be
 * flushed to a plain socket (gw_bsend_add), then submits them together
 * (gw_bsend_submit): each send runs non-blocking inside that one
 * io_uring_enter, and its outcome is left in its pipe (jn_pipe_sent_ahead),
 * where the pump's next flush takes it as its own first write. The pumps
 * then run as before: what they see is what a send(2) of theirs would have
 * returned, a short count or EAGAIN included.
 *
 * Where io_uring is not available (an old kernel, a seccomp filter,
 * kernel.io_uring_disabled), or JERN_URING=0 is set, nothing is queued and
 * every flush makes its own system call, as without this module.
 */
#ifndef JN_GATEWAY_BATCH_SEND_H
#define JN_GATEWAY_BATCH_SEND_H

#include "gateway/pipe.h"
#include "gateway/types.h"

/* Queues p's unsent bytes for fd. Returns false (nothing queued) when the
 * worker has no ring; the flush then sends itself. */
bool gw_bsend_add(struct gw_worker *w, struct jn_pipe *p, int fd);

/* Queues a send of buf[0..len) to fd (an HTTP/2 session's frames); done(arg,
 * res) gets its outcome (bytes written or -errno, -EAGAIN included) at the
 * submission. Returns false (nothing queued) as gw_bsend_add. */
bool gw_bsend_add_buf(struct gw_worker *w, int fd, const void *buf, size_t len,
                      void (*done)(void *arg, ssize_t res), void *arg);

/* Submits what was queued, waits for every outcome (all are immediate:
 * the sends never block) and leaves each in its pipe. */
void gw_bsend_submit(struct gw_worker *w);

/* The worker ends. */
void gw_bsend_free(struct gw_worker *w);

#endif
