/*
 * local.h: the heads of the answers jern makes itself. Worker thread.
 */
#ifndef JN_GATEWAY_LOCAL_H
#define JN_GATEWAY_LOCAL_H

#include "gateway/types.h"

/* Appends the status line (HTTP/1.1 whatever the request's version, as
 * nginx), Server, Date and Content-Type at out (room for 512 bytes);
 * returns the length. */
size_t gw_local_head_start(struct gw_req *r, int status, const char *ctype, char *out);
/* The end of a local head: Content-Length, Retry-After for 503, Connection
 * (room for 160 bytes). */
size_t gw_local_head_end(struct gw_req *r, int status, size_t blen, char *out);
/* r answers locally with status from now on (what is queued is dropped). */
void gw_local_begin(struct gw_req *r, int status);

#endif
