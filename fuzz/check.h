/*
 * check.h: what every fuzz target shares: an invariant check that aborts (so
 * libFuzzer and the replay runner both see a crash) and buffer helpers.
 */
#ifndef JN_FUZZ_CHECK_H
#define JN_FUZZ_CHECK_H

#include "core/common.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Is [p, p + n) inside [buf, buf + len)? */
static inline bool fuzz_inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p != NULL && p >= buf && n <= len && p - buf <= (ptrdiff_t)(len - n);
}

/* An exactly-sized heap copy of data[0..n), so ASan flags any read past n. */
static inline char *fuzz_copy(const uint8_t *data, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    if (n)
        memcpy(p, data, n);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
