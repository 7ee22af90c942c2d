/*
 * freelist.c: a worker's free lists of client buffers, upstream response
 * buffers and request objects (see freelist.h).
 */
#include "gateway/freelist.h"

#include "gateway/batch.h"

#include "core/log.h"

#include <sys/mman.h>
#include <unistd.h>

/* Free-list node, stored at the start of a free buffer. */
struct free_buf {
    char *next;
    size_t cap;
};

/* Buffers and request objects are page-sized blocks taken from the kernel,
 * so what a burst of concurrent requests used goes back to it afterwards
 * (malloc would keep it: RSS per idle connection is measured against nginx).
 * The steady state never gets here: the free lists serve it. A block is
 * populated as it is mapped: one system call instead of a page fault for
 * each page the request touches later (a burst of 1,000 new streams spent a
 * fifth of its time in those faults). The sanitizer build uses malloc so
 * that ASan still guards every buffer. */
static void *block_alloc(size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
    return jn_malloc(n);
#else
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        jn_error("gateway: out of memory (%zu bytes)", n);
        abort();
    }
    return p;
#endif
}

static void block_free(void *p, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)n;
    free(p);
#else
    munmap(p, n);
#endif
}

static size_t req_size(void)
{
    return (sizeof(struct gw_req) + 4095) & ~(size_t)4095;
}

char *gw_buf_get(struct gw_worker *w, size_t *cap)
{
    if (w->free_bufs) {
        char *b = w->free_bufs;
        w->free_bufs = ((struct free_buf *)b)->next;
        if (--w->nfree_bufs < w->lo_bufs)
            w->lo_bufs = w->nfree_bufs;
        *cap = GW_CLIENT_BUF;
        return b;
    }
    *cap = GW_CLIENT_BUF;
    return block_alloc(GW_CLIENT_BUF);
}

char *gw_buf_grow(struct gw_worker *w, char *buf, size_t len, size_t *cap)
{
    size_t big = w->bufsize > *cap ? w->bufsize : *cap;
    char *nb = block_alloc(big);
    memcpy(nb, buf, len);
    gw_buf_put(w, buf, *cap);
    *cap = big;
    return nb;
}

void gw_buf_put(struct gw_worker *w, char *buf, size_t cap)
{
    if (!buf)
        return;
    if (w->nfree_bufs >= GW_FREE_BUFS_MAX || cap != GW_CLIENT_BUF) {
        block_free(buf, cap);
        return;
    }
    struct free_buf *fb = (struct free_buf *)buf;
    fb->next = w->free_bufs;
    fb->cap = cap;
    w->free_bufs = buf;
    w->nfree_bufs++;
}

char *gw_rbuf_get(struct gw_worker *w)
{
    if (w->free_rbufs) {
        char *b = w->free_rbufs;
        w->free_rbufs = ((struct free_buf *)b)->next;
        if (--w->nfree_rbufs < w->lo_rbufs)
            w->lo_rbufs = w->nfree_rbufs;
        return b;
    }
    return block_alloc(GW_RESP_BUF);
}

void gw_rbuf_put(struct gw_worker *w, char *buf)
{
    if (!buf)
        return;
    if (w->nfree_rbufs >= GW_FREE_BUFS_MAX) {
        block_free(buf, GW_RESP_BUF);
        return;
    }
    ((struct free_buf *)buf)->next = w->free_rbufs;
    w->free_rbufs = buf;
    w->nfree_rbufs++;
}

struct gw_req *gw_req_get(struct gw_worker *w)
{
    struct gw_req *r = w->free_reqs;
    if (r) {
        w->free_reqs = r->next_free;
        if (--w->nfree_reqs < w->lo_reqs)
            w->lo_reqs = w->nfree_reqs;
    } else {
        r = block_alloc(req_size());
    }
    /* Only the fixed part is cleared: the arrays are written before read. */
    memset(r, 0, offsetof(struct gw_req, rscratch));
    jn_pipe_clear(&r->rq);
    jn_pipe_clear(&r->rs);
    r->rq.body_out = r->rs.body_out = 0;
    r->rq.body_done = r->rs.body_done = false;
    r->up_time_us = -1;
    r->up_connect_us = -1;
    return r;
}

void gw_req_put(struct gw_worker *w, struct gw_req *r)
{
    if (r->batched)
        gw_batch_forget(w, r);
    if (w->nfree_reqs >= GW_FREE_REQS_MAX) {
        block_free(r, req_size());
        return;
    }
    r->next_free = w->free_reqs;
    w->free_reqs = r;
    w->nfree_reqs++;
}

/* How many of a list's free blocks none of the last GW_TRIM_PERIODS periods
 * needed: the current period's low-water mark and the past ones'. */
static size_t unneeded(size_t lo, const size_t *past)
{
    for (int k = 0; k < GW_TRIM_PERIODS - 1; k++)
        if (past[k] < lo)
            lo = past[k];
    return lo;
}

/* Records the period that ends, after `freed` blocks of the list went back:
 * the past periods' spare counts shrink by as many (those blocks are gone). */
static void close_period(size_t *past, unsigned i, size_t lo, size_t freed)
{
    for (int k = 0; k < GW_TRIM_PERIODS - 1; k++)
        past[k] = past[k] > freed ? past[k] - freed : 0;
    past[i] = lo - freed;
}

/* Returns the blocks of each free list that the last GW_TRIM_PERIODS trim
 * periods did not need (their lowest low-water mark) to the kernel: a steady
 * load keeps what it uses, a jittery one keeps its peak, with no mmap/munmap
 * per request, and what a burst left behind goes back within that many
 * periods plus one, so idle connections stay cheap. Runs on the worker's
 * periodic tick (GW_LOG_FLUSH_MS), so a period is one tick. */
void gw_worker_trim(struct gw_worker *w)
{
    size_t n = unneeded(w->lo_bufs, w->past_bufs), f;
    for (f = 0; f < n && w->free_bufs; f++) {
        char *b = w->free_bufs;
        w->free_bufs = ((struct free_buf *)b)->next;
        w->nfree_bufs--;
        block_free(b, GW_CLIENT_BUF);
    }
    close_period(w->past_bufs, w->past_i, w->lo_bufs, f);
    n = unneeded(w->lo_rbufs, w->past_rbufs);
    for (f = 0; f < n && w->free_rbufs; f++) {
        char *b = w->free_rbufs;
        w->free_rbufs = ((struct free_buf *)b)->next;
        w->nfree_rbufs--;
        block_free(b, GW_RESP_BUF);
    }
    close_period(w->past_rbufs, w->past_i, w->lo_rbufs, f);
    n = unneeded(w->lo_reqs, w->past_reqs);
    for (f = 0; f < n && w->free_reqs; f++) {
        struct gw_req *r = w->free_reqs;
        w->free_reqs = r->next_free;
        w->nfree_reqs--;
        block_free(r, req_size());
    }
    close_period(w->past_reqs, w->past_i, w->lo_reqs, f);
    w->past_i = (w->past_i + 1) % (GW_TRIM_PERIODS - 1);
    w->lo_bufs = w->nfree_bufs;
    w->lo_rbufs = w->nfree_rbufs;
    w->lo_reqs = w->nfree_reqs;
}

void gw_freelist_free_all(struct gw_worker *w)
{
    while (w->free_bufs) {
        char *b = w->free_bufs;
        w->free_bufs = ((struct free_buf *)b)->next;
        block_free(b, GW_CLIENT_BUF);
    }
    while (w->free_rbufs) {
        char *b = w->free_rbufs;
        w->free_rbufs = ((struct free_buf *)b)->next;
        block_free(b, GW_RESP_BUF);
    }
    while (w->free_reqs) {
        struct gw_req *r = w->free_reqs;
        w->free_reqs = r->next_free;
        block_free(r, req_size());
    }
}
