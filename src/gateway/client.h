/*
 * client.h: client connections (client.c): accept, request heads, routing,
 * local responses, keep-alive and lingering close. Worker thread.
 */
#ifndef JN_GATEWAY_CLIENT_H
#define JN_GATEWAY_CLIENT_H

#include "gateway/types.h"

/* Takes over an accepted socket for the listen address listen_id. */
void gw_client_accept(struct gw_worker *w, int fd, const struct jn_addr *peer, int listen_id);
/* The exchange of an HTTP/2 stream of the session on connection session: a
 * client connection without a socket (with session's peer and address)
 * whose bytes go through sio to stream. The stream hands it its events. */
struct gw_conn *gw_client_open_stream(struct gw_conn *session, const struct gw_stream_io *sio,
                                      void *stream);
void gw_client_stream_event(struct gw_conn *c, uint32_t events);
void gw_client_close(struct gw_conn *c);
/* Ends the exchange (after its response went out): logs, frees, then either
 * starts the next pipelined request, idles, lingers or closes. */
void gw_client_finish(struct gw_conn *c);
/* Queues a local response (error page, return) on r and sends it. */
void gw_client_respond(struct gw_req *r, int status, const char *text, const char *location);
/* Reads and starts a request if its bytes already arrived (graceful stop). */
void gw_client_try_read(struct gw_conn *c);
/* Drops an idle keep-alive connection (graceful stop). Returns true if closed. */
bool gw_client_close_if_idle(struct gw_conn *c);

/* gw_client_respond, gw_client_finish and gw_client_close for the modules
 * below this one (types.h: struct gw_client_ops). */
extern const struct gw_client_ops gw_client_ops;

#endif
