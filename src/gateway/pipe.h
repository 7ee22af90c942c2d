/*
 * pipe.h: one direction of a proxied exchange: body bytes from a source
 * buffer to a socket, re-framed on the way (Content-Length passed through,
 * chunked decoded and re-encoded, close-delimited passed through, or chunked
 * decoded to a raw stream for an HTTP/1.0 peer).
 *
 * The output is a queue of iovecs that point into the source buffer (no
 * copy) plus a few small chunk-size lines kept in the pipe itself, so the
 * caller must not move the source bytes until the queue is flushed. Filling
 * stops when the queue is full; flushing is one send. One owner thread.
 */
#ifndef JN_GATEWAY_PIPE_H
#define JN_GATEWAY_PIPE_H

#include "core/common.h"
#include "http/parse.h"

#include <sys/uio.h>

#define JN_PIPE_IOV 320 /* a whole rewritten head fits, one iov per header line */
#define JN_PIPE_CHUNK_LINES 32

struct jn_pipe {
    enum jn_http_framing in; /* how the source body is framed */
    bool out_chunked;        /* re-encode the output as chunked */
    bool body_done;          /* the whole body has been queued */
    uint64_t remaining;      /* JN_FRAMING_LENGTH: bytes left */
    uint64_t body_out;       /* payload bytes queued so far */
    struct jn_chunked dec;
    int niov, iov_i;
    int nlines;
    /* a send made ahead of the next flush (jn_pipe_sent_ahead) */
    bool ahead;
    ssize_t ahead_res;
    size_t ahead_len;
    /* iov[iov_i..raw_end) are already sealed (jn_pipe_seal_head): they go
     * to raw_fd as they are, before anything behind them */
    int raw_end, raw_fd;
    /* the arrays last: a short head touches the start of iov only */
    struct iovec iov[JN_PIPE_IOV];
    char lines[JN_PIPE_CHUNK_LINES][20];
};

/* Starts a body. in is the source framing (content_length for LENGTH); when
 * out_chunked the payload is re-encoded as chunks. NONE, or LENGTH with 0,
 * is done at once (a chunked output still gets its last chunk). */
void jn_pipe_start(struct jn_pipe *p, enum jn_http_framing in, uint64_t content_length,
                   bool out_chunked);

/* Queues a span of raw bytes (a head, a local response) as is. Returns 0, or
 * JN_ETOOBIG when the queue is full. */
int jn_pipe_push(struct jn_pipe *p, const void *data, size_t len);

/* Queues body payload found in src[0..len). Returns the count of source bytes
 * consumed (bytes after the end of the body are left alone), or JN_EBADINPUT
 * for a bad chunked encoding. Stops early when the queue is full. */
ssize_t jn_pipe_fill(struct jn_pipe *p, const char *src, size_t len);

/* The source reached EOF: completes a close-delimited body (returns 0);
 * for any other unfinished framing returns JN_ECLOSED (truncated body). */
int jn_pipe_eof(struct jn_pipe *p);

/* True when nothing is queued. */
static inline bool jn_pipe_empty(const struct jn_pipe *p)
{
    return p->iov_i == p->niov;
}

/* Room for more queued output. */
static inline bool jn_pipe_has_room(const struct jn_pipe *p)
{
    return p->niov + 4 <= JN_PIPE_IOV && p->nlines < JN_PIPE_CHUNK_LINES;
}

/* Writes the queue to socket fd (send; sendmsg above 4 KiB) until it is empty
 * or the socket is full.
 * Returns bytes written (>= 0; *full set when the socket would block) or
 * -errno. When the queue empties, its storage is reset. */
ssize_t jn_pipe_flush(struct jn_pipe *p, int fd, bool *full);

/* Queues up to this many bytes are copied into one buffer and sent with one
 * send: a request or response head is a dozen small iovecs, and the
 * kernel's per-segment work (importing, iterating, sendmsg's msghdr) costs
 * more than the copy. Bigger queues go out with sendmsg as they are. */
#define JN_PIPE_GATHER_MAX 4096

/* Copies iov[0..cnt) into dst (JN_PIPE_GATHER_MAX bytes) and returns the
 * count, or 0 (nothing copied) when they are more than that. */
size_t jn_pipe_gather(const struct iovec *iov, int cnt, char *dst);

/* The queue's unsent bytes as iov[0..*cnt) (at most IOV_MAX entries) for a
 * send made elsewhere (io_uring, batch_send.c): only the sealed span while
 * one is queued. Returns their count. */
size_t jn_pipe_unsent(const struct jn_pipe *p, const struct iovec **iov, int *cnt);

/* Such a send of the first len unsent bytes gave res (bytes written, or
 * -errno). The next flush takes it as its first write, before it writes
 * anything itself; until then only appends (fill, push) or a clear may touch
 * the queue. */
void jn_pipe_sent_ahead(struct jn_pipe *p, size_t len, ssize_t res);

/* A writer for jn_pipe_flush_with: writes a prefix of iov[0..cnt), returns
 * bytes written, -EAGAIN when nothing can be written now, or -errno. */
typedef ssize_t (*jn_pipe_writev_fn)(void *arg, const struct iovec *iov, int cnt);
/* As jn_pipe_flush through wv(arg, ...) (a TLS connection). A short write
 * counts as full, as with a socket. */
ssize_t jn_pipe_flush_with(struct jn_pipe *p, jn_pipe_writev_fn wv, void *arg, bool *full);

/* The first n unsent bytes were sealed (TLS records made of them, ahead of
 * the flush: jn_tls_seal) into buf[0..len): they leave the queue and buf
 * takes their place, to be written to fd as it is before the rest goes
 * through the flush's writer. buf must live until it is written. Returns
 * false (nothing changed) when the queue has no slot for it: see
 * jn_pipe_can_seal. */
bool jn_pipe_seal_head(struct jn_pipe *p, size_t n, void *buf, size_t len, int fd);

/* True when unsent bytes can be replaced by a sealed span: some are queued,
 * no sealed span is, and the queue has a slot for one. */
bool jn_pipe_can_seal(const struct jn_pipe *p);

/* True while a sealed span is queued. */
static inline bool jn_pipe_sealed(const struct jn_pipe *p)
{
    return p->raw_end > p->iov_i;
}

/* Empties the queue without writing (a retry rebuilds it). */
void jn_pipe_clear(struct jn_pipe *p);

#endif
