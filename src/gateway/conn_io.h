/*
 * conn_io.h: reading and writing a client connection, plain or TLS, so the
 * rest of the gateway (client.c, proxy.c) never asks which. Worker thread.
 *
 * An HTTP/2 stream's exchange (c->sio set) reads and writes its stream
 * instead of a socket. Results everywhere: bytes (> 0), 0 at EOF, -EAGAIN when the connection
 * would block (the matching readiness flag is cleared), or -errno / a jern
 * code for an error after which the connection is closed.
 */
#ifndef JN_GATEWAY_CONN_IO_H
#define JN_GATEWAY_CONN_IO_H

#include "gateway/types.h"

/* Reads from socket fd into buf[*len..cap), adding to *len. A short read
 * clears *ready unless hup (a FIN is pending: with edge triggering its event
 * was delivered already). For upstream sockets too. */
ssize_t gw_read_into(int fd, char *buf, size_t *len, size_t cap, bool *ready, bool hup);

/* Reads from c into buf[*len..cap), adding to *len; clears c->rd_ready when
 * nothing more is buffered. */
ssize_t gw_conn_read(struct gw_conn *c, char *buf, size_t *len, size_t cap);
/* Writes p's queue to c (jn_pipe_flush's contract). */
ssize_t gw_conn_flush(struct gw_conn *c, struct jn_pipe *p, bool *full);
/* For a send made elsewhere (batch_send.h): encrypts the head of p's queue
 * on TLS connection c into records that take its place in the queue
 * (jn_pipe_seal_head), in a buffer c holds until they are written. Returns
 * true when p's queue starts with such records now: from here they are part
 * of the connection's stream, written or not. */
bool gw_conn_seal(struct gw_conn *c, struct jn_pipe *p);

/* Plaintext sealed at once: one record, whose ciphertext (the plaintext and
 * a few dozen bytes of header, tag and type) fits a buffer of the worker's
 * free list (GW_CLIENT_BUF). */
#define GW_SEAL_MAX (GW_CLIENT_BUF - 512)
/* Seals the first GW_SEAL_MAX bytes at most of iov[0..cnt) on TLS connection
 * c (jn_tls_seal) into a buffer of the worker's free list: returns it with
 * *len bytes of records to send before anything else, and *taken bytes of
 * plaintext they hold; NULL when nothing was sealed. */
char *gw_conn_seal_buf(struct gw_conn *c, const struct iovec *iov, int cnt, size_t *taken,
                       size_t *len);
/* Best-effort write of a small buffer (100 Continue). */
ssize_t gw_conn_send(struct gw_conn *c, const void *buf, size_t len);
/* Half-closes the write side (TLS: close_notify first). Returns 0 or -errno. */
int gw_conn_shutdown(struct gw_conn *c);

struct jn_var_ctx;
/* Sets $scheme and, over TLS, $https $ssl_protocol $ssl_cipher
 * $ssl_server_name in ctx; for an HTTP/2 stream those of its session and
 * the protocol HTTP/2.0 ($server_protocol, $request). */
void gw_conn_vars(const struct gw_conn *c, struct jn_var_ctx *ctx);

#endif
