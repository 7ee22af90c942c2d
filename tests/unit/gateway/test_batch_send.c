/* The batch's sends through io_uring (batch_send.c) and the pipe's taking of
 * a send made ahead (pipe.c): real sockets, a real ring. What a flush then
 * returns is what a send(2) of its own would have: all, a short count with
 * the socket full, EAGAIN, or the error; bytes queued after the send go out
 * with the flush, in order. */
#include "jn_test.h"

#include "gateway/batch_send.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static struct gw_worker *worker(void)
{
    struct gw_worker *w = jn_calloc(1, sizeof(*w));
    return w;
}

static void pair(int sv[2], int sndbuf)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    if (sndbuf)
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
}

static size_t drain(int fd, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(fd, out + got, cap - got)) > 0)
        got += (size_t)r;
    return got;
}

static void test_a_send_ahead_is_the_flushs_first_write(void **state)
{
    (void)state;
    struct gw_worker *w = worker();
    static struct jn_pipe p;
    char out[256];
    int sv[2];
    pair(sv, 0);
    jn_pipe_push(&p, "GET ", 4);
    jn_pipe_push(&p, "/x", 2);
    jn_pipe_push(&p, " HTTP/1.1\r\n\r\n", 13);
    if (!gw_bsend_add(w, &p, sv[0]))
        skip();                  /* no io_uring on this kernel: the module stands aside */
    jn_pipe_push(&p, "tail", 4); /* queued after: not part of the send */
    gw_bsend_submit(w);
    assert_true(p.ahead);
    assert_int_equal(drain(sv[1], out, sizeof(out)), 19);
    assert_memory_equal(out, "GET /x HTTP/1.1\r\n\r\n", 19);
    bool full = true;
    assert_int_equal(jn_pipe_flush(&p, sv[0], &full), 23);
    assert_false(full);
    assert_true(jn_pipe_empty(&p));
    assert_false(p.ahead);
    assert_int_equal(drain(sv[1], out, sizeof(out)), 4);
    assert_memory_equal(out, "tail", 4);

    /* A cleared queue forgets it: the next flush writes for itself. */
    jn_pipe_push(&p, "one", 3);
    assert_true(gw_bsend_add(w, &p, sv[0]));
    gw_bsend_submit(w);
    jn_pipe_clear(&p);
    jn_pipe_push(&p, "two", 3);
    assert_int_equal(jn_pipe_flush(&p, sv[0], &full), 3);
    assert_int_equal(drain(sv[1], out, sizeof(out)), 6);
    assert_memory_equal(out, "onetwo", 6);
    close(sv[0]);
    close(sv[1]);
    gw_bsend_free(w);
    free(w);
}

static void test_full_short_and_broken_sockets(void **state)
{
    (void)state;
    struct gw_worker *w = worker();
    static struct jn_pipe p;
    static char big[100000], out[200000];
    memset(big, 'b', sizeof(big));
    int sv[2];
    pair(sv, 4096);
    /* Short: the socket takes part; the flush says full and, once the
     * reader made room, goes on from where the send stopped. */
    jn_pipe_push(&p, big, sizeof(big));
    if (!gw_bsend_add(w, &p, sv[0]))
        skip();
    gw_bsend_submit(w);
    assert_true(p.ahead_res > 0 && (size_t)p.ahead_res < sizeof(big));
    bool full = false;
    ssize_t first = jn_pipe_flush(&p, sv[0], &full);
    assert_int_equal(first, p.ahead_res);
    assert_true(full);
    size_t got = 0, sent = (size_t)first;
    for (int rounds = 0; got < sizeof(big) && rounds < 100000; rounds++) {
        got += drain(sv[1], out + got, sizeof(out) - got);
        ssize_t n = jn_pipe_flush(&p, sv[0], &full);
        assert_true(n >= 0);
        sent += (size_t)n;
    }
    assert_int_equal(got, sizeof(big));
    assert_int_equal(sent, sizeof(big));

    /* Full: EAGAIN, nothing moves, the flush says full. */
    while (write(sv[0], big, sizeof(big)) > 0)
        ;
    jn_pipe_push(&p, "x", 1);
    assert_true(gw_bsend_add(w, &p, sv[0]));
    gw_bsend_submit(w);
    assert_int_equal(p.ahead_res, -EAGAIN);
    assert_int_equal(jn_pipe_flush(&p, sv[0], &full), 0);
    assert_true(full);
    assert_false(jn_pipe_empty(&p));

    /* Broken: the reader is gone; the flush returns the error. */
    close(sv[1]);
    assert_true(gw_bsend_add(w, &p, sv[0]));
    gw_bsend_submit(w);
    assert_true(jn_pipe_flush(&p, sv[0], &full) < 0);
    close(sv[0]);
    jn_pipe_clear(&p);
    gw_bsend_free(w);
    free(w);
}

static void test_many_sends_in_one_submission(void **state)
{
    (void)state;
    struct gw_worker *w = worker();
    enum { N = 300 }; /* more than one submission holds: the rest send themselves */
    static struct jn_pipe p[N];
    static int sv[N][2];
    char msg[N][16], out[32];
    int queued = 0;
    for (int i = 0; i < N; i++) {
        pair(sv[i], 0);
        int len = snprintf(msg[i], sizeof(msg[i]), "message %d", i);
        jn_pipe_push(&p[i], msg[i], (size_t)len);
        jn_pipe_push(&p[i], "!", 1);
        queued += gw_bsend_add(w, &p[i], sv[i][0]);
    }
    if (queued == 0)
        skip();
    assert_true(queued >= 64 && queued < N);
    gw_bsend_submit(w);
    for (int i = 0; i < N; i++) {
        bool full = true;
        int len = (int)strlen(msg[i]) + 1;
        assert_int_equal(jn_pipe_flush(&p[i], sv[i][0], &full), len);
        assert_false(full);
        assert_int_equal(drain(sv[i][1], out, sizeof(out)), (size_t)len);
        assert_memory_equal(out, msg[i], (size_t)len - 1);
        close(sv[i][0]);
        close(sv[i][1]);
    }
    gw_bsend_free(w);
    free(w);
}

struct outcome {
    int calls;
    ssize_t res;
};

static void record(void *arg, ssize_t res)
{
    struct outcome *o = arg;
    o->calls++;
    o->res = res;
}

/* A buffer's send (an HTTP/2 session's frames) beside a pipe's, in one
 * submission: each outcome reaches its own owner, a full socket included. */
static void test_a_buffers_send_reports_to_its_owner(void **state)
{
    (void)state;
    struct gw_worker *w = worker();
    static struct jn_pipe p;
    static char big[1 << 20];
    char out[256];
    int a[2], b[2];
    pair(a, 0);
    pair(b, 4096);
    struct outcome oa = {0}, ob = {0};
    if (!gw_bsend_add_buf(w, a[0], "frames", 6, record, &oa))
        skip();
    jn_pipe_push(&p, "pipe", 4);
    assert_true(gw_bsend_add(w, &p, a[0]));
    assert_true(gw_bsend_add_buf(w, b[0], big, sizeof(big), record, &ob));
    gw_bsend_submit(w);
    assert_int_equal(oa.calls, 1);
    assert_int_equal(oa.res, 6);
    assert_true(p.ahead && p.ahead_res == 4);
    assert_int_equal(drain(a[1], out, sizeof(out)), 10);
    assert_memory_equal(out, "framespipe", 10);
    assert_int_equal(ob.calls, 1);
    assert_true(ob.res > 0 && ob.res < (ssize_t)sizeof(big)); /* short: the socket is full */
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    gw_bsend_free(w);
    free(w);
}

static void test_jern_uring_0_stands_aside(void **state)
{
    (void)state;
    setenv("JERN_URING", "0", 1);
    struct gw_worker *w = worker();
    static struct jn_pipe p;
    jn_pipe_push(&p, "x", 1);
    assert_false(gw_bsend_add(w, &p, 0));
    gw_bsend_submit(w);
    assert_false(p.ahead);
    gw_bsend_free(w);
    free(w);
    unsetenv("JERN_URING");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_send_ahead_is_the_flushs_first_write),
        cmocka_unit_test(test_full_short_and_broken_sockets),
        cmocka_unit_test(test_many_sends_in_one_submission),
        cmocka_unit_test(test_a_buffers_send_reports_to_its_owner),
        cmocka_unit_test(test_jern_uring_0_stands_aside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
