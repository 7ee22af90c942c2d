/*
 * batch_send.c: the batch's sends in one io_uring submission (batch_send.h).
 *
 * On this kind of machine (a paravirtualized guest) every kernel entry costs
 * about 1 us of its own and a send(2) about 2 us more than the same send
 * issued from a batched submission (bench/syscalls.sh). A worker under load
 * ends each batch with a send to an upstream and one to a client per
 * request; here they cost one io_uring_enter together.
 *
 * Every send carries MSG_DONTWAIT: io_uring then completes it inline, with
 * -EAGAIN when the socket is full, and never parks it to retry later, so
 * the submission returns with every outcome and no send is in flight when
 * the pumps look at their pipes.
 */
#include "gateway/batch_send.h"

#include "core/log.h"

#include <liburing.h>
#include <stdlib.h>
#include <sys/socket.h>

#define BSEND_ENTRIES 256 /* sends per submission; more go out one by one */

struct bsend_op {
    struct jn_pipe *p; /* the outcome goes to p, or to done(arg) */
    void (*done)(void *arg, ssize_t res);
    void *arg;
    size_t len;
    struct msghdr msg;
};

struct gw_bsend {
    struct io_uring ring;
    size_t nops;
    struct bsend_op ops[BSEND_ENTRIES];
    char *gather[BSEND_ENTRIES]; /* JN_PIPE_GATHER_MAX each, made when first needed */
};

static struct gw_bsend *bsend_get(struct gw_worker *w)
{
    if (w->bsend || w->bsend_off)
        return w->bsend;
    const char *env = getenv("JERN_URING");
    if (env && strcmp(env, "0") == 0) {
        w->bsend_off = true;
        return NULL;
    }
    struct gw_bsend *b = jn_calloc(1, sizeof(*b));
    /* Made in the worker thread, the only one that submits. */
    int rc = io_uring_queue_init(BSEND_ENTRIES, &b->ring,
                                 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
                                     IORING_SETUP_DEFER_TASKRUN);
    if (rc < 0)
        rc = io_uring_queue_init(BSEND_ENTRIES, &b->ring, 0);
    if (rc < 0) {
        if (w->id == 0)
            jn_info("gateway: io_uring is not available (%s): each send is its own system call",
                    strerror(-rc));
        free(b);
        w->bsend_off = true;
        return NULL;
    }
    w->bsend = b;
    return b;
}

/* A free entry and its op, or NULL. */
static struct io_uring_sqe *next_sqe(struct gw_worker *w, struct gw_bsend **bp)
{
    struct gw_bsend *b = *bp = bsend_get(w);
    if (!b || b->nops == BSEND_ENTRIES)
        return NULL;
    return io_uring_get_sqe(&b->ring);
}

bool gw_bsend_add_buf(struct gw_worker *w, int fd, const void *buf, size_t len,
                      void (*done)(void *arg, ssize_t res), void *arg)
{
    struct gw_bsend *b;
    struct io_uring_sqe *sqe = next_sqe(w, &b);
    if (!sqe)
        return false;
    b->ops[b->nops] = (struct bsend_op){.done = done, .arg = arg, .len = len};
    io_uring_prep_send(sqe, fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, b->nops);
    b->nops++;
    return true;
}

bool gw_bsend_add(struct gw_worker *w, struct jn_pipe *p, int fd)
{
    struct gw_bsend *b;
    struct io_uring_sqe *sqe = next_sqe(w, &b);
    if (!sqe)
        return false;
    const struct iovec *iov;
    int cnt;
    size_t bytes = jn_pipe_unsent(p, &iov, &cnt);
    struct bsend_op *op = &b->ops[b->nops];
    *op = (struct bsend_op){.p = p, .len = bytes};
    if (cnt == 1) {
        io_uring_prep_send(sqe, fd, iov[0].iov_base, bytes, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (bytes <= JN_PIPE_GATHER_MAX) {
        char **g = &b->gather[b->nops];
        if (!*g)
            *g = jn_malloc(JN_PIPE_GATHER_MAX);
        io_uring_prep_send(sqe, fd, *g, jn_pipe_gather(iov, cnt, *g), MSG_DONTWAIT | MSG_NOSIGNAL);
    } else {
        op->msg = (struct msghdr){.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
        io_uring_prep_sendmsg(sqe, fd, &op->msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, b->nops);
    b->nops++;
    return true;
}

/* The ring failed as a whole: sends not submitted are dropped with it, their
 * pipes untouched (their flushes send them), and the worker goes on without. */
static void give_up(struct gw_worker *w, int rc)
{
    jn_warn("gateway: io_uring submission failed (%s): sends are system calls from now on",
            strerror(-rc));
    gw_bsend_free(w);
    w->bsend_off = true;
}

void gw_bsend_submit(struct gw_worker *w)
{
    struct gw_bsend *b = w->bsend;
    if (!b || b->nops == 0)
        return;
    int rc;
    do /* interrupted before any was taken: nothing went */
        rc = io_uring_submit_and_wait(&b->ring, (unsigned)b->nops);
    while (rc == -EINTR);
    size_t taken = rc > 0 ? (size_t)rc : 0, got = 0;
    while (got < taken) {
        struct io_uring_cqe *cqe;
        int wr = io_uring_wait_cqe(&b->ring, &cqe);
        if (wr == -EINTR)
            continue;
        if (wr < 0)
            break;
        uint64_t i = io_uring_cqe_get_data64(cqe);
        if (i < b->nops && b->ops[i].p)
            jn_pipe_sent_ahead(b->ops[i].p, b->ops[i].len, cqe->res);
        else if (i < b->nops)
            b->ops[i].done(b->ops[i].arg, cqe->res);
        io_uring_cqe_seen(&b->ring, cqe);
        got++;
    }
    size_t n = b->nops;
    b->nops = 0;
    if (taken < n || got < taken)
        give_up(w, rc < 0 ? rc : -EIO);
}

void gw_bsend_free(struct gw_worker *w)
{
    struct gw_bsend *b = w->bsend;
    if (!b)
        return;
    io_uring_queue_exit(&b->ring);
    for (size_t i = 0; i < BSEND_ENTRIES; i++)
        free(b->gather[i]);
    free(b);
    w->bsend = NULL;
}
