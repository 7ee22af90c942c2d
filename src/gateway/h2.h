/*
 * h2.h: HTTP/2 on the client side (h2.c: the session over libnghttp2, its
 * limits and timers; h2_stream.c: one stream as an exchange of the client
 * side).
 * Worker thread.
 *
 * A client connection that chose "h2" by ALPN, or opened with the h2c
 * preface on a listen address with http2, becomes a session. Each stream
 * drives an exchange of the gateway's client side, a connection without a
 * socket (gw_client_open_stream), so routing, balancing, retries, timeouts,
 * cold-start holding, keep-alive pools, the access log and the metrics are
 * the ones every HTTP/1.1 request goes through.
 */
#ifndef JN_GATEWAY_H2_H
#define JN_GATEWAY_H2_H

#include "gateway/types.h"

/* The client connection preface of RFC 9113 3.4 (24 bytes). */
#define GW_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define GW_H2_PREFACE_LEN 24

/* Turns c into an HTTP/2 session; c->buf[0..c->len) holds bytes already read
 * (the h2c preface). On failure c is closed. */
void gw_h2_start(struct gw_conn *c);
/* Client socket readiness (client_event) and the connection timer. */
void gw_h2_event(struct gw_conn *c);
void gw_h2_timeout(struct gw_conn *c);
/* Frees the session (from gw_client_close): every open stream is reset. */
void gw_h2_free(struct gw_conn *c);
/* Graceful stop: GOAWAY; true when no stream is open (the caller closes). */
bool gw_h2_idle(struct gw_conn *c);

/* The end of a batch (gw_proxy_flush_batch): the sessions whose streams
 * wrote in it send their frames, in one io_uring submission when there are
 * several (batch_send.h; over TLS the frames are sealed into records
 * first), then run as their flush timer would have run them. */
void gw_h2_send_ahead(struct gw_worker *w);

#endif
