/*
 * fuzz_spec.c: the jern.yaml reader (src/apply/parse.c). Invariants: a parse
 * either succeeds or fails with a "FILE:LINE:COL: " message; a model that
 * parsed is written by export into a file that parses again and is written
 * the same way (the round trip `jern export` -> `jern plan` relies on).
 */
#include "fuzz/check.h"

#include "apply/spec.h"

static const char *lookup(const char *name, void *arg)
{
    return name[0] == 'U' ? NULL : "value with $ and \"quotes\"";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *s = fuzz_copy(data, len);
    struct jn_spec a, b;
    char err[512];
    int r = jn_spec_parse(s, len, "f.yaml", lookup, NULL, &a, err, sizeof(err));
    if (r < 0) {
        FUZZ_CHECK(r == JN_EBADINPUT && strncmp(err, "f.yaml:", 7) == 0);
    } else {
        FUZZ_CHECK(r == 0);
        struct jn_buf w1, w2;
        jn_buf_init(&w1, 16 << 20);
        jn_buf_init(&w2, 16 << 20);
        FUZZ_CHECK(jn_spec_write(&a, &w1) == 0);
        r = jn_spec_parse(w1.data, w1.len, "f.yaml", lookup, NULL, &b, err, sizeof(err));
        if (r != 0)
            fprintf(stderr, "%s\n%.*s\n", err, (int)w1.len, w1.data);
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(jn_spec_write(&b, &w2) == 0);
        FUZZ_CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
        jn_spec_free(&b);
        jn_buf_free(&w1);
        jn_buf_free(&w2);
    }
    jn_spec_free(&a);
    free(s);
    return 0;
}
