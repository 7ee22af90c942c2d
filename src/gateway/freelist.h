/*
 * freelist.h: a worker's free lists (freelist.c), so that the data path
 * (client.c, proxy.c) does not malloc per request. Worker thread only.
 */
#ifndef JN_GATEWAY_FREELIST_H
#define JN_GATEWAY_FREELIST_H

#include "gateway/types.h"

/* A client input buffer of GW_CLIENT_BUF bytes (*cap). */
char *gw_buf_get(struct gw_worker *w, size_t *cap);
/* Moves buf[0..len) into a buffer for the largest head (+ body window) and
 * gives buf back. Only while no pointer into buf is kept (head phase). */
char *gw_buf_grow(struct gw_worker *w, char *buf, size_t len, size_t *cap);
void gw_buf_put(struct gw_worker *w, char *buf, size_t cap);
char *gw_rbuf_get(struct gw_worker *w);
void gw_rbuf_put(struct gw_worker *w, char *buf);
struct gw_req *gw_req_get(struct gw_worker *w);
void gw_req_put(struct gw_worker *w, struct gw_req *r);
/* Frees the free-list blocks that went unused since the last call. Worker
 * thread, once per GW_LOG_FLUSH_MS tick. */
void gw_worker_trim(struct gw_worker *w);

/* Frees every block of w's free lists (gw_worker_free, thread stopped). */
void gw_freelist_free_all(struct gw_worker *w);

#endif
