/*
 * fuzz_demux.c: the demultiplexer of a container's attached output
 * (runtime/docker_attach.c). Feeds the input at once, byte by byte, and in
 * pieces of a size derived from the input; all three must hand the sink the
 * same bytes per stream, every piece inside the bytes fed by its call, and
 * the payload can never be more than the input.
 */
#include "fuzz/check.h"

#include "runtime/docker_attach.h"

struct got {
    char *buf[2];
    size_t len[2];
    const char *in;
    size_t in_len;
};

static int sink(void *arg, enum jn_log_stream stream, const char *data, size_t len)
{
    struct got *g = arg;
    FUZZ_CHECK(stream == JN_STREAM_STDOUT || stream == JN_STREAM_STDERR);
    FUZZ_CHECK(len > 0 && fuzz_inside(data, len, g->in, g->in_len));
    int s = stream == JN_STREAM_STDERR;
    memcpy(g->buf[s] + g->len[s], data, len);
    g->len[s] += len;
    return 0;
}

static void demux(const uint8_t *data, size_t size, size_t step, struct got *g)
{
    struct jn_dk_demux m = {0};
    g->buf[0] = malloc(size + 1);
    g->buf[1] = malloc(size + 1);
    g->len[0] = g->len[1] = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = JN_MIN(step, size - off);
        char *piece = fuzz_copy(data + off, n);
        g->in = piece;
        g->in_len = n;
        FUZZ_CHECK(jn_dk_demux_feed(&m, piece, n, sink, g) == 0);
        free(piece);
    }
    FUZZ_CHECK(g->len[0] + g->len[1] <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct got whole, bytes, pieces;
    demux(data, size, size ? size : 1, &whole);
    demux(data, size, 1, &bytes);
    demux(data, size, size ? 1 + data[0] % 13 : 1, &pieces);
    for (int s = 0; s < 2; s++) {
        FUZZ_CHECK(whole.len[s] == bytes.len[s] && whole.len[s] == pieces.len[s]);
        FUZZ_CHECK(memcmp(whole.buf[s], bytes.buf[s], whole.len[s]) == 0);
        FUZZ_CHECK(memcmp(whole.buf[s], pieces.buf[s], whole.len[s]) == 0);
        free(whole.buf[s]);
        free(bytes.buf[s]);
        free(pieces.buf[s]);
    }
    return 0;
}
