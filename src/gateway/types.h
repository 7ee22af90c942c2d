/*
 * types.h: the gateway's data-path types: a worker, its listeners, client
 * connections, exchanges (struct gw_req) and upstream connections. Only
 * types and constants; the functions are in worker.h (thread), freelist.h
 * (free lists), pool.h (upstream keep-alive pool), client.h and proxy.h.
 * Everything here belongs to one worker thread and is touched only by it.
 *
 * Header layout of src/gateway (no include loops: scripts/check-structure.py):
 * the types live apart from the APIs. This file and peer.h (struct jn_peer)
 * hold data; a module includes the types it uses and the APIs of modules
 * below it only: worker > client > proxy, challenge, https_mode, alog >
 * freelist, pool, conn_io > types; upstream > balancer, stats > peer. Where a
 * lower module must call up, it goes through a pointer set by the upper one:
 * gw_exch_respond/finish/close (struct gw_client_ops, filled by client.c)
 * and gw_worker's conn_closed (set by worker.c).
 */
#ifndef JN_GATEWAY_TYPES_H
#define JN_GATEWAY_TYPES_H

#include "core/common.h"
#include "ev/loop.h"
#include "gateway/date.h"
#include "gateway/pipe.h"
#include "gateway/snapshot.h"
#include "http/parse.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

struct jn_gateway;
struct jn_tls_conn;
struct gw_req;

/* Upper bounds for per-worker caches: what is above is freed, not kept.
 * Blocks a whole tick did not need go back to the kernel (gw_worker_trim). */
#define GW_FREE_BUFS_MAX 1024
#define GW_FREE_REQS_MAX 1024
#define GW_WAITERS_MAX 1024  /* requests waiting for a ready peer, per worker */
#define GW_RESP_BUF 16384    /* upstream response buffer (head + body window) */
#define GW_CLIENT_BUF 16384  /* client input buffer; grown for heads that do not fit */
#define GW_H2_AHEAD 64       /* HTTP/2 sessions sent together at a batch's end; more: a timer */
#define GW_BODY_WINDOW 16384 /* room for body bytes after the largest head */
#define GW_LINGER_MS 2000
/* Wake-up coalescing (jn_loop_coalesce): from 40,000 events/s (20,000 proxied
 * requests/s on one worker) a worker with nothing ready naps 20 us before it
 * blocks. docs/PERFORMANCE.md has the measurements. */
#define GW_NAP_US 20
#define GW_NAP_MIN_RATE 40000
#define GW_LOG_FLUSH_MS 200 /* how stale an access-log line may get */
/* Free-list blocks go back to the kernel when none of this many trim periods
 * (GW_LOG_FLUSH_MS each, 10 s in all, jemalloc's default decay) needed them:
 * a load whose in-flight count jitters keeps its peak instead of unmapping
 * and faulting blocks in every period, and a burst that comes back within
 * the window finds its blocks mapped (fresh pages cost a fault each, and far
 * more under a hypervisor's shadow paging: docs/PERFORMANCE.md). */
#define GW_TRIM_PERIODS 50
#define GW_DRAIN_TIMEOUT_MS 30000 /* default drain_timeout */

struct gw_listener {
    struct jn_io io;
    struct gw_worker *w;
    int id;
    bool paused; /* at the connection cap */
};

/* An idle or busy connection to an upstream peer. */
struct gw_upconn {
    struct jn_io io;
    struct gw_worker *w;
    struct jn_peer *peer;   /* one reference */
    struct gw_upconn *next; /* pool list */
    uint64_t idle_seq;      /* when it was pooled (the worker's pool_seq): LRU order */
    struct jn_timer timer;
    struct gw_req *req; /* NULL while idle in the pool */
    uint32_t nreqs;
    bool connected, rd_ready, wr_ready, eof;
    bool hup; /* RDHUP/HUP seen: read until 0 even after a short read */
};

/* The idle connections of one worker to one peer. Pools of the peers of one
 * upstream share its "keepalive N" bound (group: the upstream's pool_group). */
struct gw_pool {
    struct jn_peer *peer; /* one reference */
    uint64_t group;
    struct gw_upconn *idle; /* newest first */
    int nidle;
};

enum gw_conn_state {
    GW_C_TLS,    /* TLS handshake (counts into the head deadline) */
    GW_C_IDLE,   /* keep-alive, between requests */
    GW_C_HEAD,   /* reading a request head */
    GW_C_BUSY,   /* an exchange is running (struct gw_req) */
    GW_C_LINGER, /* response sent, write side shut, draining before close */
    GW_C_H2,     /* an HTTP/2 session (h2.c) */
};

struct gw_h2;
struct gw_conn;

/* The I/O of an HTTP/2 stream's exchange (h2_stream.c fills it in): conn_io.c
 * calls these for a client connection with sio set instead of a socket, with
 * the results of a socket call (bytes, 0 at the end, -EAGAIN, -errno). */
struct gw_stream_io {
    /* Request bytes for buf[0..cap). */
    ssize_t (*read)(struct gw_conn *c, char *buf, size_t cap);
    /* Response bytes (a jn_pipe_writev_fn; arg is c). */
    ssize_t (*writev)(void *arg, const struct iovec *iov, int cnt);
    /* The exchange is over: everything it had to send was written. */
    void (*shutdown)(struct gw_conn *c);
};

/* A client connection. Kept small: an idle keep-alive connection holds no
 * buffer and no request. */
struct gw_conn {
    int64_t born_ms; /* accepted at (loop ms), for keepalive_time */
    struct jn_io io;
    struct gw_worker *w;
    struct gw_conn *prev, *next;
    struct jn_timer timer;
    char *buf; /* client input, from the worker's free list; NULL when idle */
    size_t cap, len;
    struct gw_req *req;
    struct jn_tls_conn *tls; /* NULL on a plain listen address */
    char *sealed;            /* TLS records queued in a pipe, not sent yet (gw_conn_seal) */
    struct gw_h2 *h2;        /* state GW_C_H2 */
    uint64_t serial;
    uint32_t nreqs;
    int listen_id;
    uint8_t state;
    uint8_t h2_stream; /* the exchange of an HTTP/2 stream: 1 h2c, 2 h2 over TLS */
    /* An HTTP/2 stream's exchange has no socket: its bytes go through sio
     * to the stream (h2_stream.c), session is the connection it came on. */
    const struct gw_stream_io *sio;
    void *stream;
    struct gw_conn *session;
    bool rd_ready, wr_ready, eof;
    bool hup;                     /* RDHUP/HUP seen: read until 0 even after a short read */
    bool tls_rd_wants_wr;         /* a TLS read must wait for the socket to be writable */
    bool in_finish, next_pending; /* pipelined requests run in a loop, not recursion */
    int64_t head_deadline;
    union {
        struct sockaddr sa;
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
    } remote;
};

enum gw_phase {
    GW_P_NONE = 0, /* head parsed, not routed yet */
    GW_P_WAIT,     /* waiting for an upstream peer to become ready */
    GW_P_PROXY,    /* connecting / exchanging with the upstream */
    GW_P_LOCAL,    /* sending a response made here */
    GW_P_TUNNEL,   /* after 101: raw bytes both ways */
};

#define GW_TRIED_MAX 16

/* One request/response exchange, from the worker's free list. Its scalar
 * fields come first and the big arrays last, each array's used part at its
 * start: a burst of new requests pays for every page it touches (a
 * page's first touch after it is mapped is a trap on some hypervisors), and
 * a short exchange touches the first page of each array only. */
struct gw_req {
    struct gw_req *next_free;
    struct gw_conn *c;
    struct jn_gw_snapshot *snap; /* one reference */
    const struct jn_gw_location *loc;
    const struct jn_gw_listen *listen;
    const struct jn_gw_app *app; /* the app entry its host matched (in snap), or NULL */
    struct jn_upstream *u;       /* borrowed from snap */
    bool wait_ready;
    int64_t wait_timeout_ms;
    enum gw_phase phase;
    /* drain_timeout: set when the snapshot says peer was drained or removed
     * while this request was on it; the request is ended at the deadline. */
    int64_t drain_deadline;
    struct jn_peer *drain_peer;
    size_t head_scanned; /* c->buf bytes the head parser saw without a complete head */
    /* a static file being sent (static_run.c) */
    bool file_open;
    int file_fd;
    uint64_t file_off, file_left;
    size_t head_len;
    int64_t start_ns;
    bool keep_alive;   /* the client connection stays open after this exchange */
    bool batched;      /* in the worker's end-of-batch queue (batch.c) */
    bool client_wrote; /* response bytes were written to the client socket */

    /* request direction: client buffer -> upstream (pipe rq) */
    size_t rq_pos;       /* next unprocessed byte in c->buf */
    bool body_discarded; /* body bytes left the buffer: no replay possible */
    bool discarding;     /* a local answer: the body is read and dropped */
    bool error_paged;    /* error_page was applied: never twice */
    bool rq_eof_seen;

    /* upstream attempt */
    struct gw_upconn *up;
    struct jn_peer *peer; /* picked; borrowed from u */
    bool from_pool;
    bool connect_deferred; /* no idle connection: taken or made at the batch's end */
    struct jn_peer *tried[GW_TRIED_MAX];
    int ntried, attempts;
    int64_t first_attempt_ms, attempt_ns;
    int64_t up_time_us;    /* upstream response time of the last attempt */
    int64_t up_connect_us; /* its connect time (0 for a pooled connection); -1 none */
    bool sent_close;       /* we asked the upstream to close after this request */
    bool stale_retried;    /* a pooled connection failed before answering: retried once */
    bool up_progress;      /* bytes moved on the upstream side since the timer was set */
    int up_timer_kind, c_timer_kind;
    int64_t wait_deadline;
    int64_t wait_start_ms; /* jn_now_ms() when the wait began (cold start failures) */
    bool wait_transition;  /* waiting for the snapshot that replaces a draining upstream */
    struct jn_timer wait_timer;
    struct gw_req *wait_next, **wait_pprev; /* the worker's waiting list, in GW_P_WAIT */

    /* response direction: upstream buffer -> client (pipe rs) */
    char *rbuf;
    size_t rcap, rlen, rs_pos;
    bool resp_head_done;
    bool client_started; /* bytes of the response were queued to the client */
    int status;
    uint64_t body_bytes;
    uint64_t head_bytes;   /* response head bytes, for $bytes_sent */
    bool resp_close_after; /* the client connection closes after the response */

    char up_addrs[256]; /* $upstream_addr: "a, b" */
    char up_statuses[64];
    char remote_text[64];
    size_t scratch_len;

    /* The arrays: gw_req_get clears everything above this line. */
    char rscratch[2048]; /* response status line + added and rewritten headers */
    char scratch[4096];  /* rewritten request line + set headers, response additions */
    struct jn_http_request hreq;
    struct jn_pipe rq;
    struct jn_http_response hresp;
    struct jn_pipe rs;
};

/* Written by the worker only (relaxed load + store, no locked add), read by
 * the control thread (jn_gateway_stats); on its own cache line. */
struct gw_worker_stats {
    _Atomic uint64_t requests;
    _Atomic uint64_t accepted;
    _Atomic uint64_t open;
} __attribute__((aligned(64)));

static inline void gw_stat_add(_Atomic uint64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint64_t)d,
                          memory_order_relaxed);
}

/* How the modules that client.c hands an exchange to (proxy.c, challenge.c,
 * https_mode.c) give it back: client.c fills gw_client_ops (client.h) and
 * worker.c points every worker at it, so that those modules call the client
 * side without including client.h (which includes theirs). */
struct gw_client_ops {
    void (*respond)(struct gw_req *r, int status, const char *text, const char *location);
    void (*finish)(struct gw_conn *c);
    void (*close)(struct gw_conn *c);
    /* an HTTP/2 stream's exchange, without a socket (h2_stream.c) */
    struct gw_conn *(*open_stream)(struct gw_conn *session, const struct gw_stream_io *sio,
                                   void *stream);
    /* what the stream has for it: JN_EV_READ request bytes (or their end),
     * JN_EV_WRITE room for response bytes */
    void (*stream_event)(struct gw_conn *c, uint32_t events);
};

struct gw_worker {
    struct gw_worker_stats st;
    int id;
    struct gw_date date; /* the Date line, refreshed once a second */
    struct jn_gateway *g;
    struct jn_loop *loop;
    pthread_t thread;
    struct jn_gw_snapshot *snap; /* current, one reference */
    struct gw_listener *listeners;
    size_t nlisteners;
    size_t bufsize; /* grown client buffer size for the current snapshot */
    char *free_bufs;
    size_t nfree_bufs;
    char *free_rbufs;
    size_t nfree_rbufs;
    struct gw_req *free_reqs;
    size_t nfree_reqs;
    /* the fewest blocks each free list held since the last trim: that many
     * were not needed for a whole period; and those of the periods before
     * (gw_worker_trim gives back what none of the last GW_TRIM_PERIODS needed) */
    size_t lo_bufs, lo_rbufs, lo_reqs;
    size_t past_bufs[GW_TRIM_PERIODS - 1], past_rbufs[GW_TRIM_PERIODS - 1],
        past_reqs[GW_TRIM_PERIODS - 1];
    unsigned past_i;
    struct gw_conn *conns; /* every client connection, for shutdown */
    size_t nconns;
    size_t max_conns;
    struct gw_pool *pools;
    size_t npools;
    uint64_t pool_seq; /* counts connections put into a pool */
    int nwaiters;
    struct gw_req *waiting;           /* requests in GW_P_WAIT (gw_proxy_wake_waiters) */
    _Atomic int64_t drain_timeout_ms; /* set by the control thread; 0: never */
    struct jn_timer drain_timer;      /* the earliest drain deadline in flight */
    bool draining;
    uint64_t serial;
    struct jn_timer flush_timer;
    /* requests whose sends wait for the end of the loop's batch (batch.c) */
    struct gw_req **batch;
    size_t nbatch, batch_cap;
    bool batch_sending;
    struct gw_bsend *bsend;    /* the batch's sends as one io_uring submission (batch_send.c) */
    struct gw_h2 *h2_ahead[GW_H2_AHEAD]; /* HTTP/2 sessions to send at the batch's end */
    size_t nh2_ahead;
    bool bsend_off;            /* ... not available, or JERN_URING=0 */
    void *alog;                /* per-worker access log state */
    struct gw_conn *finishing; /* the connection in gw_client_finish's loop */
    bool finishing_closed;     /* ... and it was closed meanwhile */
    void (*quit_done)(struct gw_worker *, void *);
    void *quit_arg;
    const struct gw_client_ops *client; /* gw_client_ops, set by gw_worker_new */
    /* A client connection closed: counts it, and ends a graceful stop when it
     * was the last (worker.c; client.c calls it). */
    void (*conn_closed)(struct gw_worker *w);
};

/* Through the worker's gw_client_ops: gw_client_respond, gw_client_finish,
 * gw_client_close, gw_client_open_stream, gw_client_stream_event for the
 * modules below client.c. */
static inline void gw_exch_respond(struct gw_req *r, int status, const char *text,
                                   const char *location)
{
    r->c->w->client->respond(r, status, text, location);
}

static inline void gw_exch_finish(struct gw_conn *c)
{
    c->w->client->finish(c);
}

static inline void gw_exch_close(struct gw_conn *c)
{
    c->w->client->close(c);
}

static inline struct gw_conn *gw_exch_open_stream(struct gw_conn *session,
                                                  const struct gw_stream_io *sio, void *stream)
{
    return session->w->client->open_stream(session, sio, stream);
}

static inline void gw_exch_stream_event(struct gw_conn *c, uint32_t events)
{
    c->w->client->stream_event(c, events);
}

#endif
