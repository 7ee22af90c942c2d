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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_stops_at_the_end_of_the_body),
        cmocka_unit_test(test_chunked_is_decoded_and_re_encoded),
        cmocka_unit_test(test_chunked_to_raw_and_bad_chunks),
        cmocka_unit_test(test_eof_ends_only_close_delimited_bodies),
        cmocka_unit_test(test_queue_full_stops_filling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
