/*
 * ring.c: the dashboard's fixed one-hour ring of per-second samples.
 */
#include "core/common.h"

#include "control/ui/ring.h"

void jn_ring_init(struct jn_ring *r)
{
    memset(r, 0, sizeof(*r));
}

static void append(struct jn_ring *r, const float *vals)
{
    r->head = (r->head + 1) % JN_RING_LEN;
    for (int s = 0; s < JN_RING_NSERIES; s++)
        r->v[s][r->head] = vals ? vals[s] : 0;
    if (r->len < JN_RING_LEN)
        r->len++;
}

bool jn_ring_push(struct jn_ring *r, int64_t t, const float vals[JN_RING_NSERIES])
{
    if (r->len == 0) {
        r->head = JN_RING_LEN - 1;
        append(r, vals);
        r->last_t = t;
        return true;
    }
    if (t < r->last_t)
        return false;
    if (t == r->last_t) {
        for (int s = 0; s < JN_RING_NSERIES; s++)
            r->v[s][r->head] = vals[s];
        return true;
    }
    /* Fill a gap (the loop was busy, the clock jumped) with zeros: at most
     * a whole ring of them. */
    int64_t gap = t - r->last_t - 1;
    if (gap >= JN_RING_LEN) {
        r->len = 0;
        r->head = JN_RING_LEN - 1;
        gap = 0;
    }
    for (int64_t i = 0; i < gap; i++)
        append(r, NULL);
    append(r, vals);
    r->last_t = t;
    return true;
}

size_t jn_ring_since(const struct jn_ring *r, int64_t since, int64_t *first_t)
{
    int64_t oldest = r->last_t - (int64_t)r->len + 1;
    if (r->len == 0 || since >= r->last_t) {
        *first_t = r->last_t + 1;
        return 0;
    }
    int64_t first = since + 1 > oldest ? since + 1 : oldest;
    *first_t = first;
    return (size_t)(r->last_t - first + 1);
}

float jn_ring_get(const struct jn_ring *r, int64_t t, int s)
{
    if (r->len == 0 || t > r->last_t || t <= r->last_t - (int64_t)r->len || s < 0 ||
        s >= JN_RING_NSERIES)
        return 0;
    size_t back = (size_t)(r->last_t - t);
    return r->v[s][(r->head + JN_RING_LEN - back) % JN_RING_LEN];
}
