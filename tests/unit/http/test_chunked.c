#include "jn_test.h"

#include "http/parse.h"

#define S(lit) lit, sizeof(lit) - 1

/*
 * Decodes in[0..len) fed in pieces of `step` bytes (0: all at once), each piece
 * in its own exactly-sized allocation so ASan catches over-reads. Appends the
 * payload to out. Returns the total consumed, or JN_EBADINPUT.
 */
static ssize_t decode(const char *in, size_t len, size_t step, char *out, size_t *out_len,
                      struct jn_chunked *d)
{
    size_t off = 0;
    *out_len = 0;
    jn_chunked_init(d);
    while (off < len && !d->done) {
        size_t n = step ? JN_MIN(step, len - off) : len - off;
        char *piece = malloc(n);
        memcpy(piece, in + off, n);
        size_t used = 0;
        while (used < n && !d->done) {
            const char *data;
            size_t data_len;
            ssize_t r = jn_chunked_decode(d, piece + used, n - used, &data, &data_len);
            if (r < 0) {
                free(piece);
                return r;
            }
            assert_true(r > 0);
            assert_true((size_t)r <= n - used);
            if (data_len) {
                assert_true(data >= piece + used && data + data_len <= piece + used + r);
                memcpy(out + *out_len, data, data_len);
                *out_len += data_len;
            } else {
                assert_null(data);
            }
            used += (size_t)r;
        }
        free(piece);
        off += used;
    }
    return (ssize_t)off;
}

static void test_simple(void **state)
{
    static const char in[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    char out[64];
    size_t n;
    struct jn_chunked d;
    assert_int_equal(decode(S(in), 0, out, &n, &d), sizeof(in) - 1 - 16);
    assert_true(d.done);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello world", 11);
    /* done: nothing more is consumed */
    const char *data;
    size_t dl;
    assert_int_equal(jn_chunked_decode(&d, "GET", 3, &data, &dl), 0);
    assert_int_equal(dl, 0);
    assert_int_equal(jn_chunked_decode(&d, "", 0, &data, &dl), 0);
}

static void test_one_span_per_call(void **state)
{
    static const char in[] = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    struct jn_chunked d;
    const char *data;
    size_t dl;
    jn_chunked_init(&d);
    ssize_t r = jn_chunked_decode(&d, S(in), &data, &dl);
    assert_int_equal(r, 6); /* "3\r\nabc" */
    assert_ptr_equal(data, in + 3);
    assert_int_equal(dl, 3);
    r = jn_chunked_decode(&d, in + 6, sizeof(in) - 1 - 6, &data, &dl);
    assert_int_equal(r, 2 + 3 + 3);
    assert_memory_equal(data, "def", 3);
    r = jn_chunked_decode(&d, in + 14, sizeof(in) - 1 - 14, &data, &dl);
    assert_int_equal(r, sizeof(in) - 1 - 14);
    assert_int_equal(dl, 0);
    assert_true(d.done);
}

static const char *const valid[] = {
    "0\r\n\r\n",
    "1\r\nx\r\n0\r\n\r\n",
    "A\r\n0123456789\r\n0\r\n\r\n",
    "a\r\n0123456789\r\n0000\r\n\r\n",
    "000000000000000a\r\n0123456789\r\n0\r\n\r\n",
    "5;ext\r\nhello\r\n0\r\n\r\n",
    "5;a=b;c=\"d e\\\"f\"\r\nhello\r\n0;last\r\n\r\n",
    "5 ; a = b ;c\t=\t\"\"\r\nhello\r\n0\r\n\r\n",
    "5;a=\"\xff\\\xfe\"\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\t1 2\r\n\r\n",
    "5\r\nhe\r\nl\r\n0\r\n\r\n", /* CRLF inside data is data */
};

static void test_valid_split_everywhere(void **state)
{
    char out[256], out2[256];
    size_t n, n2;
    struct jn_chunked d;
    for (size_t i = 0; i < JN_ARRAY_LEN(valid); i++) {
        size_t len = strlen(valid[i]);
        ssize_t whole = decode(valid[i], len, 0, out, &n, &d);
        if (whole != (ssize_t)len)
            fail_msg("case %zu: %s: %zd", i, valid[i], whole);
        assert_true(d.done);
        /* byte by byte, and in two pieces split at every boundary */
        assert_int_equal(decode(valid[i], len, 1, out2, &n2, &d), len);
        assert_int_equal(n2, n);
        assert_memory_equal(out2, out, n);
        for (size_t cut = 1; cut < len; cut++) {
            struct jn_chunked d2;
            const char *data;
            size_t dl, got = 0, off = 0;
            jn_chunked_init(&d2);
            const size_t ends[2] = {cut, len};
            for (int part = 0; part < 2; part++) {
                while (off < ends[part] && !d2.done) {
                    ssize_t r = jn_chunked_decode(&d2, valid[i] + off, ends[part] - off, &data, &dl);
                    assert_true(r > 0);
                    memcpy(out2 + got, data ? data : "", dl);
                    got += dl;
                    off += (size_t)r;
                }
            }
            assert_true(d2.done);
            assert_int_equal(off, len);
            assert_int_equal(got, n);
            assert_memory_equal(out2, out, n);
        }
    }
}

static void test_large_sizes(void **state)
{
    struct jn_chunked d;
    const char *data;
    size_t dl;
    jn_chunked_init(&d);
    assert_int_equal(jn_chunked_decode(&d, S("ffffffffffffffff\r\nab"), &data, &dl), 20);
    assert_int_equal(dl, 2);
    assert_true(d.remaining == UINT64_MAX - 2);
    jn_chunked_init(&d);
    assert_int_equal(jn_chunked_decode(&d, S("10000000000000000\r\n"), &data, &dl), JN_EBADINPUT);
    jn_chunked_init(&d);
    assert_int_equal(jn_chunked_decode(&d, S("00000000000000001\r\n"), &data, &dl), JN_EBADINPUT);
}

static const char *const invalid[] = {
    "\r\n",                        /* empty size */
    "0x5\r\nhello\r\n0\r\n\r\n",   /* 0x prefix */
    "x5\r\nhello\r\n0\r\n\r\n",
    "-5\r\nhello\r\n0\r\n\r\n",    /* signs */
    "+5\r\nhello\r\n0\r\n\r\n",
    "5_0\r\n",                     /* underscore */
    "_5\r\n",
    "g\r\n",
    " 5\r\nhello\r\n0\r\n\r\n",    /* leading space */
    "5 \r\nhello\r\n0\r\n\r\n",    /* trailing space without extension */
    "5\nhello\r\n0\r\n\r\n",       /* bare LF after size */
    "5\r\rhello",                  /* bare CR */
    "5\r\nhelloX\r\n0\r\n\r\n",    /* missing CRLF after data */
    "5\r\nhello\n0\r\n\r\n",       /* bare LF after data */
    "5\r\nhello\r0\r\n\r\n",
    "5\r\nhello0\r\n\r\n",
    "5;\r\nhello\r\n0\r\n\r\n",    /* empty extension name */
    "5;=b\r\nhello\r\n0\r\n\r\n",
    "5;a=\r\nhello\r\n0\r\n\r\n",  /* empty extension value */
    "5;a=b c\r\nhello\r\n0\r\n\r\n",
    "5;a=\"b\r\nhello\r\n0\r\n\r\n", /* unterminated quoted-string */
    "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n",
    "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n",
    "5;a\x7f\r\nhello\r\n0\r\n\r\n",
    "5;a=b\n",
    "0\r\n\n",                     /* bare LF ending the trailer section */
    "0\r\nX: a\nY: b\r\n\r\n",
    "0\r\nX: a\r\n b\r\n\r\n",     /* obs-fold in trailer */
    "0\r\nX : a\r\n\r\n",
    "0\r\n: a\r\n\r\n",
    "0\r\nX: \x01\r\n\r\n",
    "0\r\nX: a\rb\r\n\r\n",
    "0\r\n\rX",
    "5\r\nhello\r\n\r\n",          /* CRLF where a size belongs */
};

static void test_invalid(void **state)
{
    char out[256];
    size_t n;
    struct jn_chunked d;
    for (size_t i = 0; i < JN_ARRAY_LEN(invalid); i++) {
        size_t len = strlen(invalid[i]);
        if (decode(invalid[i], len, 0, out, &n, &d) != JN_EBADINPUT)
            fail_msg("case %zu accepted: %s", i, invalid[i]);
        /* the same byte by byte */
        assert_int_equal(decode(invalid[i], len, 1, out, &n, &d), JN_EBADINPUT);
        /* sticky */
        const char *data;
        size_t dl;
        assert_int_equal(jn_chunked_decode(&d, S("0\r\n\r\n"), &data, &dl), JN_EBADINPUT);
    }
}

static void test_extension_cap(void **state)
{
    /* size line of exactly JN_CHUNKED_MAX_LINE bytes: fine; one more: refused */
    size_t cap = JN_CHUNKED_MAX_LINE;
    char *b = malloc(cap + 32);
    char out[8];
    size_t n;
    struct jn_chunked d;
    b[0] = '1';
    b[1] = ';';
    memset(b + 2, 'e', cap - 2);
    memcpy(b + cap, "\r\nx\r\n0\r\n\r\n", 11);
    assert_int_equal(decode(b, cap + 10, 0, out, &n, &d), cap + 10);
    assert_true(d.done);
    memset(b + 2, 'e', cap - 1);
    memcpy(b + cap + 1, "\r\nx\r\n0\r\n\r\n", 11);
    assert_int_equal(decode(b, cap + 11, 0, out, &n, &d), JN_EBADINPUT);
    /* refused before the line ends: a slow drip of extension bytes cannot go on forever */
    assert_int_equal(decode(b, cap + 1, 7, out, &n, &d), JN_EBADINPUT);
    /* the cap is per line: many lines with extensions are fine */
    size_t len = 0;
    char *many = malloc(20 * (cap + 8) + 8);
    for (int i = 0; i < 20; i++) {
        many[len++] = '1';
        many[len++] = ';';
        memset(many + len, 'e', cap - 2);
        len += cap - 2;
        memcpy(many + len, "\r\nx\r\n", 5);
        len += 5;
    }
    memcpy(many + len, "0\r\n\r\n", 5);
    len += 5;
    char out20[32];
    assert_int_equal(decode(many, len, 0, out20, &n, &d), len);
    assert_int_equal(n, 20);
    free(many);
    free(b);
}

static void test_trailer_cap(void **state)
{
    size_t cap = JN_CHUNKED_MAX_TRAILER * 2;
    char *b = malloc(cap + 64);
    size_t len = 0;
    char out[8];
    size_t n;
    struct jn_chunked d;
    memcpy(b, "0\r\n", 3);
    len = 3;
    while (len < cap) {
        memcpy(b + len, "X-Trailer: 0123456789abcdef\r\n", 29);
        len += 29;
    }
    memcpy(b + len, "\r\n", 2);
    len += 2;
    assert_int_equal(decode(b, len, 0, out, &n, &d), JN_EBADINPUT);
    /* under the cap */
    assert_int_equal(decode(b, 3 + 29 * 10, 0, out, &n, &d), 3 + 29 * 10);
    assert_false(d.done);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_one_span_per_call),
        cmocka_unit_test(test_valid_split_everywhere),
        cmocka_unit_test(test_large_sizes),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_extension_cap),
        cmocka_unit_test(test_trailer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
