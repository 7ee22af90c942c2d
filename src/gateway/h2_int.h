/*
 * h2_int.h: the session and stream records shared by h2.c and h2_stream.c,
 * the only files that include <nghttp2/nghttp2.h>. Worker thread.
 */
#ifndef JN_GATEWAY_H2_INT_H
#define JN_GATEWAY_H2_INT_H

#include "gateway/h2.h"

#include "core/buf.h"

#include <nghttp2/nghttp2.h>

#define GW_H2_OUT_BATCH 65536   /* frames gathered before one write */
#define GW_H2_OUT_MAX (1 << 20) /* stop reading while this much waits to go out */
#define GW_H2_RAW_CAP 16384     /* response bytes taken from the stream's exchange */
#define GW_H2_BODY_CAP 65536    /* decoded response body waiting for DATA frames */
#define GW_H2_TICK_MS 1000

struct gw_h2s;

struct gw_h2 {
    struct gw_conn *c;
    nghttp2_session *s;
    char *out; /* frames not yet written: out[opos..olen) */
    size_t olen, opos, ocap;
    struct gw_h2s *streams; /* open streams */
    int nstreams;
    uint32_t total;              /* streams begun on this connection */
    uint32_t max_total;          /* keepalive_requests: GOAWAY after that many */
    size_t max_head;             /* header list bytes per request */
    int64_t preread;             /* http2_body_preread_size */
    int64_t chunk;               /* http2_chunk_size */
    int64_t idle_ms;             /* keepalive_timeout */
    int64_t send_ms;             /* send_timeout */
    int64_t last_active;         /* ms: a frame arrived or a stream ended */
    int64_t last_written;        /* ms: bytes left for the client */
    struct jn_timer flush_timer; /* 0 ms: one write for every stream that moved this round */
    bool in_run, rerun, dead, flush_armed;
    bool ahead; /* in the worker's list of sessions to send at the batch's end */
    /* TLS records sealed at a batch's end (gw_h2_send_ahead) that the socket
     * has not taken yet: sealed[sealed_off..sealed_len), before out */
    char *sealed;
    size_t sealed_len, sealed_off;
};

/* One stream: an exchange of the gateway's client side (struct gw_conn
 * without a socket, x) reads the request from q and writes its response
 * into raw, through the struct gw_stream_io of h2_stream.c. */
struct gw_h2s {
    struct gw_h2 *h;
    struct gw_h2s *prev, *next;
    int32_t id;
    struct gw_conn *x; /* the exchange; NULL once it ended */
    uint32_t kick;     /* JN_EV_READ/WRITE for x, handed over by gw_h2s_kick */
    /* request: pseudo-headers, then the head, then body bytes */
    char *method, *path, *authority, *cookie;
    char *hb; /* regular header lines "Name: value\r\n" */
    size_t hblen, hbcap;
    size_t head_bytes;
    enum jn_http_method method_id;
    bool has_cl, chunked, req_end, started;
    char *q; /* bytes for the exchange: q[qpos..qlen) */
    size_t qlen, qpos, qcap;
    size_t unconsumed; /* DATA bytes not yet given back to the flow-control windows */
    /* response */
    /* raw and body grow as used up to their caps (GW_H2_RAW_CAP, raised
     * for a long head; GW_H2_BODY_CAP): a burst of small answers touches a
     * few hundred bytes per stream, not 80 KiB */
    struct jn_buf raw;  /* bytes written by the exchange, undecoded */
    struct jn_buf body; /* decoded body for DATA frames: body.data[bpos..len) */
    size_t bpos;
    bool head_done, resp_done, deferred, eof_sent;
    bool x_done;  /* the exchange wrote all it had (gw_conn_shutdown) */
    bool want_wr; /* the exchange has more to write once raw has room */
    enum jn_http_framing framing;
    uint64_t remaining;
    struct jn_chunked ck;
    int64_t last_progress; /* ms: a DATA frame took body bytes (stall check) */
};

/* h2_stream.c, for h2.c */
struct gw_h2s *gw_h2s_new(struct gw_h2 *h, int32_t id);
/* The stream is closed in the session: frees it and ends its exchange. */
void gw_h2s_free(struct gw_h2s *st);
/* Hands the exchanges of h's streams what is pending for them (outside
 * nghttp2's callbacks: an exchange may end in it). */
void gw_h2s_kick(struct gw_h2 *h);
/* The exchange on c ended (from gw_h2_free, as c closes). */
void gw_h2s_detach(struct gw_conn *c);
/* One header field of the request; false when the list is over max_head. */
bool gw_h2s_header(struct gw_h2s *st, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen);
/* The request head is complete (end_stream: no body follows). Returns 0 or
 * a negative code (the stream is reset). */
int gw_h2s_request(struct gw_h2s *st, bool end_stream);
/* Request body bytes, and the end of the body. */
void gw_h2s_data(struct gw_h2s *st, const uint8_t *data, size_t len);
void gw_h2s_end(struct gw_h2s *st);
/* nghttp2's data source for the response body. */
ssize_t gw_h2s_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg);

/* h2.c, for h2_stream.c: has what the session has to send written after
 * the events of this loop round (one write for all streams that moved), or
 * at once from within the session's own run. */
void gw_h2_flush(struct gw_h2 *h);

#endif
