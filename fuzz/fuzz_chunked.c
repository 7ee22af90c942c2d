/*
 * fuzz_chunked.c: the chunked decoder. Decodes the input at once, byte by
 * byte, and in pieces of a size derived from the input; all three must agree
 * on the outcome, the bytes consumed and the payload. Every span must lie
 * inside the bytes consumed by its call.
 */
#include "fuzz/check.h"

#include "http/parse.h"

struct outcome {
    ssize_t consumed; /* or JN_EBADINPUT */
    bool done;
    size_t payload_len;
    char *payload;
};

static void decode(const uint8_t *data, size_t len, size_t step, struct outcome *o)
{
    struct jn_chunked d;
    size_t off = 0;
    jn_chunked_init(&d);
    o->payload = malloc(len ? len : 1);
    o->payload_len = 0;
    o->consumed = 0;
    while (off < len && !d.done) {
        size_t n = JN_MIN(step, len - off);
        char *piece = fuzz_copy(data + off, n);
        size_t used = 0;
        while (used < n && !d.done) {
            const char *span;
            size_t span_len;
            ssize_t r = jn_chunked_decode(&d, piece + used, n - used, &span, &span_len);
            if (r == JN_EBADINPUT) {
                free(piece);
                o->consumed = JN_EBADINPUT;
                o->done = false;
                /* sticky */
                FUZZ_CHECK(jn_chunked_decode(&d, "0\r\n\r\n", 5, &span, &span_len) ==
                           JN_EBADINPUT);
                return;
            }
            FUZZ_CHECK(r > 0 && (size_t)r <= n - used);
            if (span_len) {
                FUZZ_CHECK(fuzz_inside(span, span_len, piece + used, (size_t)r));
                memcpy(o->payload + o->payload_len, span, span_len);
                o->payload_len += span_len;
            }
            used += (size_t)r;
        }
        free(piece);
        off += used;
    }
    o->consumed = (ssize_t)off;
    o->done = d.done;
    if (d.done) {
        const char *span;
        size_t span_len;
        FUZZ_CHECK(jn_chunked_decode(&d, "1\r\n", 3, &span, &span_len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome a, b, c;
    decode(data, size, size ? size : 1, &a);
    decode(data, size, 1, &b);
    decode(data, size, (size % 13) + 2, &c);
    const struct outcome *o[] = {&b, &c};
    for (int i = 0; i < 2; i++) {
        FUZZ_CHECK(o[i]->consumed == a.consumed);
        FUZZ_CHECK(o[i]->done == a.done);
        if (a.consumed >= 0) {
            FUZZ_CHECK(o[i]->payload_len == a.payload_len);
            FUZZ_CHECK(memcmp(o[i]->payload, a.payload, a.payload_len) == 0);
        }
    }
    FUZZ_CHECK(a.payload_len <= size);
    free(a.payload);
    free(b.payload);
    free(c.payload);
    return 0;
}
