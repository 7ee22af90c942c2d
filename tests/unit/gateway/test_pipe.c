#include "jn_test.h"

#include "gateway/pipe.h"

#include <sys/socket.h>
#include <unistd.h>

/* Flushes p into a socketpair and returns what came out (NUL-terminated). */
static size_t drain(struct jn_pipe *p, char *out, size_t cap)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    bool full = true;
    ssize_t n = jn_pipe_flush(p, sv[0], &full);
    assert_true(n >= 0);
    assert_false(full);
    assert_true(jn_pipe_empty(p));
    close(sv[0]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(sv[1], out + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    close(sv[1]);
    out[got] = '\0';
    assert_int_equal(got, (size_t)n);
    return got;
}

static void test_length_stops_at_the_end_of_the_body(void **state)
{
    (void)state;
    static struct jn_pipe p;
    memset(&p, 0, sizeof(p));
    jn_pipe_push(&p, "HEAD\r\n", 6);
    jn_pipe_start(&p, JN_FRAMING_LENGTH, 5, false);
    const char *src = "hello"
                      "GET / HTTP/1.1\r\n";
    ssize_t used = jn_pipe_fill(&p, src, strlen(src));
    assert_int_equal(used, 5); /* the pipelined request is left alone */
    assert_true(p.body_done);
    char out[256];
    drain(&p, out, sizeof(out));
    assert_string_equal(out, "HEAD\r\nhello");
}

static void test_chunked_is_decoded_and_re_encoded(void **state)
{
    (void)state;
    static struct jn_pipe p;
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_CHUNKED, 0, true);
    /* an extension and a trailer are dropped by the re-encoding */
    const char *src = "3;ext=1\r\nabc\r\n5\r\nde";
    ssize_t used = jn_pipe_fill(&p, src, strlen(src));
    assert_int_equal(used, (ssize_t)strlen(src));
    assert_false(p.body_done);
    const char *rest = "fgh\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    used = jn_pipe_fill(&p, rest, strlen(rest));
    assert_int_equal(used, (ssize_t)strlen(rest) - 4);
    assert_true(p.body_done);
    assert_int_equal(p.body_out, 8);
    char out[256];
    drain(&p, out, sizeof(out));
    assert_string_equal(out, "3\r\nabc\r\n2\r\nde\r\n3\r\nfgh\r\n0\r\n\r\n");
}

static void test_chunked_to_raw_and_bad_chunks(void **state)
{
    (void)state;
    static struct jn_pipe p;
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_CHUNKED, 0, false);
    const char *src = "2\r\nab\r\n0\r\n\r\n";
    assert_int_equal(jn_pipe_fill(&p, src, strlen(src)), (ssize_t)strlen(src));
    char out[64];
    drain(&p, out, sizeof(out));
    assert_string_equal(out, "ab");
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_CHUNKED, 0, true);
    assert_int_equal(jn_pipe_fill(&p, "zz\r\n", 4), JN_EBADINPUT);
}

static void test_eof_ends_only_close_delimited_bodies(void **state)
{
    (void)state;
    static struct jn_pipe p;
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_CLOSE, 0, false);
    assert_int_equal(jn_pipe_fill(&p, "abc", 3), 3);
    assert_int_equal(jn_pipe_eof(&p), 0);
    assert_true(p.body_done);
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_LENGTH, 10, true);
    assert_int_equal(jn_pipe_fill(&p, "abc", 3), 3);
    assert_int_equal(jn_pipe_eof(&p), JN_ECLOSED); /* truncated: no final chunk invented */
    char out[64];
    drain(&p, out, sizeof(out));
    assert_string_equal(out, "3\r\nabc\r\n");
}

static void test_queue_full_stops_filling(void **state)
{
    (void)state;
    static struct jn_pipe p;
    memset(&p, 0, sizeof(p));
    jn_pipe_start(&p, JN_FRAMING_CHUNKED, 0, true);
    static char src[JN_PIPE_CHUNK_LINES * 8 + 64];
    size_t n = 0;
    for (int i = 0; i < JN_PIPE_CHUNK_LINES + 4; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, "1\r\nx\r\n");
    ssize_t used = jn_pipe_fill(&p, src, n);
    assert_true(used > 0 && (size_t)used < n); /* stopped: no more chunk lines */
    char out[1024];
    drain(&p, out, sizeof(out));
    used += jn_pipe_fill(&p, src + used, n - (size_t)used);
    assert_int_equal(used, (ssize_t)n);
}

/* Small queues are gathered into one send, big ones go out with sendmsg; when
 * the socket fills mid-queue, the next flush resumes at the right byte. */
static void test_flush_gathers_small_queues_and_resumes_short_writes(void **state)
{
    (void)state;
    static struct jn_pipe p;
    static char big[3][40000], out[200000];
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);

    memset(&p, 0, sizeof(p));
    jn_pipe_push(&p, "GET ", 4);
    jn_pipe_push(&p, "/x", 2);
    jn_pipe_push(&p, " HTTP/1.1\r\n\r\n", 13);
    for (int i = 0; i < 3; i++) {
        memset(big[i], 'a' + i, sizeof(big[i]));
        jn_pipe_push(&p, big[i], sizeof(big[i]));
    }
    size_t want = 19 + 3 * sizeof(big[0]), got = 0, sent = 0;
    for (int rounds = 0; got < want && rounds < 10000; rounds++) {
        bool full = false;
        ssize_t n = jn_pipe_flush(&p, sv[0], &full);
        assert_true(n >= 0);
        sent += (size_t)n;
        ssize_t r;
        while ((r = read(sv[1], out + got, sizeof(out) - got)) > 0)
            got += (size_t)r;
    }
    assert_int_equal(got, want);
    assert_int_equal(sent, want);
    assert_true(jn_pipe_empty(&p));
    assert_memory_equal(out, "GET /x HTTP/1.1\r\n\r\n", 19);
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < sizeof(big[0]); k++)
            if (out[19 + i * sizeof(big[0]) + k] != 'a' + i)
                fail_msg("byte %zu of part %d", k, i);

    /* A queue small enough to gather: one send, same bytes. */
    jn_pipe_push(&p, "HTTP/1.1 200 OK\r\n", 17);
    jn_pipe_push(&p, "Content-Length: 2\r\n\r\n", 21);
    jn_pipe_push(&p, "ok", 2);
    bool full = true;
    assert_int_equal(jn_pipe_flush(&p, sv[0], &full), 40);
    assert_false(full);
    assert_int_equal(read(sv[1], out, sizeof(out)), 40);
    assert_memory_equal(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 40);
    close(sv[0]);
    close(sv[1]);
}

/* A writer that stands for TLS: what it is given lands in a buffer. */
struct captured {
    char buf[256];
    size_t len;
};

static ssize_t capture_writev(void *arg, const struct iovec *iov, int cnt)
{
    struct captured *cap = arg;
    size_t n = 0;
    for (int i = 0; i < cnt; i++) {
        memcpy(cap->buf + cap->len, iov[i].iov_base, iov[i].iov_len);
        cap->len += iov[i].iov_len;
        n += iov[i].iov_len;
    }
    return (ssize_t)n;
}

/* Sealed records (jn_pipe_seal_head) replace the plaintext they were made
 * of, go to the socket as they are, before the rest goes through the
 * writer; a send made ahead covers the sealed span alone. */
static void test_a_sealed_head_goes_out_first_and_as_it_is(void **state)
{
    (void)state;
    static struct jn_pipe p;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    char sock[64] = "";
    for (int shift = 0; shift < 2; shift++) {
        /* whole spans sealed (a slot is freed), or part of the first (shifted) */
        size_t n = shift ? 2 : 7;
        memset(&p, 0, sizeof(p));
        jn_pipe_push(&p, "HEAD:", 5);
        jn_pipe_push(&p, "abcdef", 6);
        jn_pipe_push(&p, "TAIL", 4);
        assert_true(jn_pipe_can_seal(&p));
        assert_true(jn_pipe_seal_head(&p, n, "[SEALED]", 8, sv[0]));
        assert_true(jn_pipe_sealed(&p));
        assert_false(jn_pipe_can_seal(&p)); /* one sealed span at a time */
        const struct iovec *iov;
        int cnt;
        assert_int_equal(jn_pipe_unsent(&p, &iov, &cnt), 8);
        assert_int_equal(cnt, 1);

        /* the socket took 3 of its 8 bytes ahead: full, the writer waits */
        assert_int_equal(write(sv[0], "[SE", 3), 3);
        jn_pipe_sent_ahead(&p, 8, 3);
        struct captured cap = {.len = 0};
        bool full = false;
        assert_int_equal(jn_pipe_flush_with(&p, capture_writev, &cap, &full), 3);
        assert_true(full);
        assert_int_equal(cap.len, 0);
        assert_true(jn_pipe_sealed(&p));

        /* then the rest of the span to the socket, the plaintext to the writer */
        assert_int_equal(jn_pipe_flush_with(&p, capture_writev, &cap, &full), 5 + 15 - (ssize_t)n);
        assert_false(full);
        assert_true(jn_pipe_empty(&p));
        assert_false(jn_pipe_sealed(&p));
        assert_int_equal(read(sv[1], sock, sizeof(sock)), 8);
        assert_memory_equal(sock, "[SEALED]", 8);
        const char *rest = "HEAD:abcdefTAIL" + n;
        assert_int_equal(cap.len, strlen(rest));
        assert_memory_equal(cap.buf, rest, cap.len);
    }
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_stops_at_the_end_of_the_body),
        cmocka_unit_test(test_chunked_is_decoded_and_re_encoded),
        cmocka_unit_test(test_chunked_to_raw_and_bad_chunks),
        cmocka_unit_test(test_eof_ends_only_close_delimited_bodies),
        cmocka_unit_test(test_queue_full_stops_filling),
        cmocka_unit_test(test_flush_gathers_small_queues_and_resumes_short_writes),
        cmocka_unit_test(test_a_sealed_head_goes_out_first_and_as_it_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
