#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>

void jn_buf_init(struct jn_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void jn_buf_free(struct jn_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int jn_buf_reserve(struct jn_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return JN_ETOOBIG;
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    if (cap < need)
        cap = need;
    b->data = jn_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int jn_buf_append(struct jn_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = jn_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int jn_buf_puts(struct jn_buf *b, const char *s)
{
    return jn_buf_append(b, s, strlen(s));
}

int jn_buf_printf(struct jn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return JN_EBADINPUT;
    /* +1 for vsnprintf's NUL, which is not counted in len */
    int rc = jn_buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void jn_buf_consume(struct jn_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    if (n == 0)
        return; /* nothing to move: callers consume what a pass took, often none */
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

const char *jn_buf_cstr(struct jn_buf *b)
{
    if (jn_buf_reserve(b, 1) < 0)
        return NULL;
    b->data[b->len] = '\0';
    return b->data;
}
