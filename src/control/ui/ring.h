/*
 * ring.h: the dashboard's history: a fixed ring of one sample a second over
 * the last hour (JN_RING_LEN seconds), several series per sample. Its size
 * never changes after jn_ring_init, so keeping an hour costs the same memory
 * from the first second on. Pure data structure; no locking (control thread).
 */
#ifndef JN_CONTROL_UI_RING_H
#define JN_CONTROL_UI_RING_H

#include "core/common.h"

#define JN_RING_LEN 3600

/* The series of one sample (an app's second). */
enum jn_ring_series {
    JN_RING_RPS, /* responses per second */
    JN_RING_P50, /* median response time, ms */
    JN_RING_P99, /* 99th percentile response time, ms */
    JN_RING_2XX, /* responses per second by class */
    JN_RING_4XX,
    JN_RING_5XX,
    JN_RING_INST, /* servers (instances) in the app's upstream */
    JN_RING_NSERIES
};

struct jn_ring {
    int64_t last_t; /* the newest sample's second; 0: empty */
    size_t head;    /* index of the newest sample */
    size_t len;     /* samples held, at most JN_RING_LEN */
    float v[JN_RING_NSERIES][JN_RING_LEN];
};

/* Empties r and touches all of its memory. */
void jn_ring_init(struct jn_ring *r);

/* Records the sample of second t. A second after the newest appends (missed
 * seconds in between are recorded as 0); the newest second again replaces
 * it; an older second is ignored (returns false). */
bool jn_ring_push(struct jn_ring *r, int64_t t, const float vals[JN_RING_NSERIES]);

/* How many samples are newer than second since; *first_t: the oldest of them. */
size_t jn_ring_since(const struct jn_ring *r, int64_t since, int64_t *first_t);

/* The value of series s in the sample of second t (0 when not held). */
float jn_ring_get(const struct jn_ring *r, int64_t t, int s);

#endif
