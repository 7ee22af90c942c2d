/*
 * proxy.h: the upstream side of an exchange (proxy.c: attempts, retries,
 * timers; proxy_head.c: the request and response heads; proxy_pump.c: the
 * byte pumps of both directions and the tunnel). Worker thread.
 */
#ifndef JN_GATEWAY_PROXY_H
#define JN_GATEWAY_PROXY_H

#include "gateway/types.h"

/* Routes are done: picks a peer and starts the first attempt. */
void gw_proxy_start(struct gw_req *r);
/* Moves bytes both ways as far as the sockets allow (after an event). */
void gw_proxy_run(struct gw_req *r);
/* The loop's end-of-batch hook (jn_loop_on_batch_end, arg: the worker):
 * runs the pumps of every request whose sends waited (batch.h). */
void gw_proxy_flush_batch(struct jn_loop *loop, void *arg);
/* Ends the upstream side of r (the client is gone). */
void gw_proxy_abort(struct gw_req *r);
/* A new snapshot arrived: every request waiting for a ready peer looks again
 * at once rather than at its next 10 ms tick (a cold start's instance is
 * published in a new snapshot). Worker thread. */
void gw_proxy_wake_waiters(struct gw_worker *w);
/* Ends r, still on a server drained or removed drain_timeout ago: 502 when
 * nothing reached the client yet, else the client sees the truncation. */
void gw_proxy_end_drained(struct gw_req *r);
/* The event callback of a busy or pooled upstream connection. */
void gw_upconn_event(struct jn_loop *loop, struct jn_io *io, uint32_t events);

/* Evaluates t (header mode: no CR/LF) for r into out[0..cap). Returns the
 * length or a negative code (too long, invalid). Worker thread. */
ssize_t gw_eval_template(struct gw_req *r, const struct jn_template *t, char *out, size_t cap);

/* proxy_head.c, for proxy.c */
/* Queues the request head (rewritten request line, kept and set headers) on
 * r->rq. Returns 0, or a negative code when it does not fit. */
int gw_proxy_request_head(struct gw_req *r);
/* Queues the response head (r->hresp, head_len bytes in r->rbuf) on r->rs and
 * starts the response body pipe. */
void gw_proxy_response_head(struct gw_req *r, size_t head_len);
bool gw_is_idempotent(enum jn_http_method m);
/* Writes v in decimal at dst (room for 10 digits); returns the length. */
size_t gw_put_uint(char *dst, unsigned v);

/* Makes a redirect target that starts with '/' absolute, as nginx's
 * absolute_redirect: scheme://$host[:listen port]target. Other targets are
 * copied. Returns the length written at out (NUL-terminated), or -1 when it
 * does not fit in cap. Worker thread. */
ssize_t gw_absolute_location(struct gw_req *r, const char *t, size_t tl, char *out, size_t cap);

/* Writes the add_header lines of r's location that apply to status
 * ("Name: value\r\n" each; empty values are left out) at out; returns
 * the bytes written (lines that do not fit are dropped). Worker thread. */
size_t gw_add_headers(struct gw_req *r, int status, char *out, size_t cap);

#endif
