/*
 * static_run.h: a request answered with a file of its location (static.h).
 * Worker thread.
 */
#ifndef JN_GATEWAY_STATIC_RUN_H
#define JN_GATEWAY_STATIC_RUN_H

#include "gateway/static.h"
#include "gateway/types.h"

/* Answers r from its location's files. Returns 0 when a file's head is
 * queued (the caller's write loop sends it, then the body through
 * gw_static_fill), 1 when r was answered otherwise (an error or redirect,
 * already under way). */
int gw_static_serve(struct gw_req *r);

/* Queues the next piece of r's file once the previous one was written:
 * 1 queued, 0 nothing (left) to send, -1 the file could not be read (the
 * connection must close: its Content-Length cannot be kept). */
int gw_static_fill(struct gw_req *r);

/* Closes r's file, if one is open. */
void gw_static_close(struct gw_req *r);

#endif
