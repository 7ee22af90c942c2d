/* The attached output's demultiplexer (src/runtime/docker_attach.c): frames
 * given whole or cut anywhere come out the same, per stream. */
#include "jn_test.h"

#include "core/buf.h"
#include "runtime/docker_attach.h"

#include <stdio.h>
#include <stdlib.h>

struct got {
    struct jn_buf out, err;
    int calls;
    int stop_after; /* 0: never */
};

static int sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct got *g = arg;
    jn_buf_append(stream == JN_STREAM_STDERR ? &g->err : &g->out, data, len);
    return g->stop_after && ++g->calls >= g->stop_after;
}

static void frame(struct jn_buf *b, int stream, const char *data, size_t len)
{
    unsigned char h[8] = {(unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                          (unsigned char)len};
    jn_buf_append(b, h, 8);
    jn_buf_append(b, data, len);
}

static void test_frames_cut_anywhere(void **state)
{
    struct jn_buf in;
    jn_buf_init(&in, 1 << 20);
    char *big = malloc(100000);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    frame(&in, 1, "hello\n", 6);
    frame(&in, 2, "oops", 4);
    frame(&in, 1, "", 0); /* an empty frame is nothing */
    frame(&in, 1, big, 100000);
    frame(&in, 2, " again\n", 7);
    static const size_t cuts[] = {1, 3, 7, 8, 9, 4096, 1 << 20};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        struct got g = {0};
        jn_buf_init(&g.out, 1 << 20);
        jn_buf_init(&g.err, 1 << 20);
        struct jn_dk_demux m = {0};
        for (size_t off = 0; off < in.len; off += cuts[c])
            assert_int_equal(jn_dk_demux_feed(&m, in.data + off, JN_MIN(cuts[c], in.len - off),
                                              sink, &g),
                             0);
        assert_int_equal(g.out.len, 6 + 100000);
        assert_memory_equal(g.out.data, "hello\n", 6);
        assert_memory_equal(g.out.data + 6, big, 100000);
        assert_int_equal(g.err.len, 11);
        assert_memory_equal(g.err.data, "oops again\n", 11);
        assert_int_equal(m.left, 0);
        assert_int_equal(m.have, 0);
        jn_buf_free(&g.out);
        jn_buf_free(&g.err);
    }
    free(big);
    jn_buf_free(&in);
}

static void test_sink_stops_it(void **state)
{
    struct jn_buf in;
    jn_buf_init(&in, 4096);
    frame(&in, 1, "one\n", 4);
    frame(&in, 1, "two\n", 4);
    struct got g = {.stop_after = 1};
    jn_buf_init(&g.out, 4096);
    jn_buf_init(&g.err, 4096);
    struct jn_dk_demux m = {0};
    assert_int_equal(jn_dk_demux_feed(&m, in.data, in.len, sink, &g), 1);
    assert_int_equal(g.out.len, 4);
    jn_buf_free(&g.out);
    jn_buf_free(&g.err);
    jn_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_cut_anywhere),
        cmocka_unit_test(test_sink_stops_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
