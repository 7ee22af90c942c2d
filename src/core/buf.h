/*
 * buf.h: a growable byte buffer with a hard cap (like curl's dynbuf). Every
 * buffer fed from the network has a cap; appending past it fails with
 * JN_ETOOBIG and leaves the buffer unchanged. Not thread-safe: one owner.
 */
#ifndef JN_CORE_BUF_H
#define JN_CORE_BUF_H

#include "core/common.h"

struct jn_buf {
    char *data;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on cap */
};

/* Initialises an empty buffer that may grow to max bytes. Allocates nothing. */
void jn_buf_init(struct jn_buf *b, size_t max);

/* Frees the storage; the buffer may be reused after jn_buf_init. */
void jn_buf_free(struct jn_buf *b);

/* Ensures room for n more bytes. Returns 0, or JN_ETOOBIG past the cap. */
int jn_buf_reserve(struct jn_buf *b, size_t n);

/* Appends n bytes. Returns 0 or JN_ETOOBIG (nothing appended). */
int jn_buf_append(struct jn_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without its NUL). */
int jn_buf_puts(struct jn_buf *b, const char *s);

/* Appends printf-formatted text. Returns 0 or JN_ETOOBIG. */
int jn_buf_printf(struct jn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void jn_buf_consume(struct jn_buf *b, size_t n);

/* Empties the buffer, keeping its storage. */
static inline void jn_buf_reset(struct jn_buf *b)
{
    b->len = 0;
}

/* Free space after the data, for reading into directly. */
static inline size_t jn_buf_avail(const struct jn_buf *b)
{
    return b->cap - b->len;
}

/* Returns a NUL-terminated view (appends a NUL outside len); NULL past the cap. */
const char *jn_buf_cstr(struct jn_buf *b);

#endif
