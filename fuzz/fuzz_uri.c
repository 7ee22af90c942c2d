/*
 * fuzz_uri.c: the path normaliser of static files (src/http/uri.c).
 * Invariants: a path it accepts comes out starting with '/', without NUL,
 * without an empty, "." or ".." segment (nothing can climb out of a root it
 * is joined to), and never longer than the room given.
 */
#include "fuzz/check.h"

#include "http/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *s = fuzz_copy(data, len);
    char out[256];
    ssize_t k = jn_uri_normalize(s, len, out, sizeof(out));
    if (k >= 0) {
        FUZZ_CHECK(k > 0 && (size_t)k < sizeof(out) && out[0] == '/');
        FUZZ_CHECK(memchr(out, '\0', (size_t)k) == NULL);
        for (ssize_t i = 0; i < k; i++) {
            if (out[i] != '/')
                continue;
            size_t rest = (size_t)(k - i - 1);
            FUZZ_CHECK(!(rest >= 1 && out[i + 1] == '/'));
            FUZZ_CHECK(!(rest == 1 && out[i + 1] == '.'));
            FUZZ_CHECK(!(rest >= 2 && out[i + 1] == '.' && out[i + 2] == '/'));
            FUZZ_CHECK(!(rest == 2 && out[i + 1] == '.' && out[i + 2] == '.'));
            FUZZ_CHECK(!(rest >= 3 && out[i + 1] == '.' && out[i + 2] == '.' && out[i + 3] == '/'));
        }
    }
    free(s);
    return 0;
}
