/*
 * history.c: samples every app's upstream counters once a second into its
 * ring (see history.h).
 */
#include "core/common.h"

#include "control/ui/history.h"
#include "control/control.h"
#include "ev/loop.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

struct slot {
    char name[JN_STORE_NAME_MAX]; /* "" for a free slot */
    bool seen;                    /* in the latest sample */
    bool have_prev;
    struct jn_sample_counters prev;
    int64_t prev_ms;
    struct jn_ring ring;
};

struct jn_history {
    struct jn_loop *loop;
    struct jn_control *ctl;
    struct jn_timer timer;
    struct slot slots[JN_UI_MAX_APPS];
};

static struct slot *slot_for(struct jn_history *h, const char *name)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < JN_UI_MAX_APPS; i++) {
        if (strcmp(h->slots[i].name, name) == 0)
            return &h->slots[i];
        if (!h->slots[i].name[0] && !free_slot)
            free_slot = &h->slots[i];
    }
    if (!free_slot)
        return NULL;
    snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
    free_slot->have_prev = false;
    jn_ring_init(&free_slot->ring);
    return free_slot;
}

void jn_history_sample(struct jn_history *h)
{
    struct jn_ctl_upstream *v;
    int n = jn_control_upstreams(h->ctl, NULL, &v);
    if (n < 0)
        return;
    int64_t now_ms = jn_now_ms(), t = (int64_t)time(NULL);
    for (size_t i = 0; i < JN_UI_MAX_APPS; i++)
        h->slots[i].seen = false;
    for (int i = 0; i < n; i++) {
        if (!v[i].is_app)
            continue;
        struct slot *s = slot_for(h, v[i].name);
        if (!s)
            continue; /* more apps than slots: the rest have no graphs */
        s->seen = true;
        struct jn_sample_counters cur = {0};
        for (size_t j = 0; j < v[i].nservers; j++)
            jn_sample_add(&cur, &v[i].servers[j].stats);
        if (s->have_prev) {
            float vals[JN_RING_NSERIES];
            jn_sample_values(&s->prev, &cur, (double)(now_ms - s->prev_ms) / 1000.0, vals);
            jn_ring_push(&s->ring, t, vals);
        }
        s->prev = cur;
        s->prev_ms = now_ms;
        s->have_prev = true;
    }
    jn_control_upstreams_free(v, n);
    for (size_t i = 0; i < JN_UI_MAX_APPS; i++)
        if (h->slots[i].name[0] && !h->slots[i].seen)
            h->slots[i].name[0] = '\0'; /* the app is gone: free its slot */
}

static void tick(struct jn_loop *loop, struct jn_timer *timer)
{
    struct jn_history *h = timer->data;
    jn_history_sample(h);
    jn_timer_start(loop, &h->timer, JN_UI_SAMPLE_MS);
}

struct jn_history *jn_history_new(struct jn_loop *loop, struct jn_control *ctl)
{
    struct jn_history *h = jn_calloc(1, sizeof(*h));
    h->loop = loop;
    h->ctl = ctl;
    for (size_t i = 0; i < JN_UI_MAX_APPS; i++)
        jn_ring_init(&h->slots[i].ring); /* touch it all now: the footprint never grows */
    jn_timer_init(&h->timer, tick, h);
    jn_timer_start(loop, &h->timer, JN_UI_SAMPLE_MS);
    return h;
}

void jn_history_free(struct jn_history *h)
{
    if (!h)
        return;
    jn_timer_stop(h->loop, &h->timer);
    free(h);
}

size_t jn_history_bytes(const struct jn_history *h)
{
    return sizeof(*h);
}

static const char *const series_names[JN_RING_NSERIES] = {
    [JN_RING_RPS] = "rps",        [JN_RING_P50] = "p50",  [JN_RING_P99] = "p99",
    [JN_RING_2XX] = "r2xx",       [JN_RING_4XX] = "r4xx", [JN_RING_5XX] = "r5xx",
    [JN_RING_INST] = "instances",
};

cJSON *jn_history_json(const struct jn_history *h, const char *app, int64_t since)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "now", (double)time(NULL));
    cJSON_AddNumberToObject(o, "seconds", JN_RING_LEN);
    cJSON *apps = cJSON_AddObjectToObject(o, "apps");
    for (size_t i = 0; i < JN_UI_MAX_APPS; i++) {
        const struct slot *s = &h->slots[i];
        if (!s->name[0] || (app && strcmp(app, s->name) != 0))
            continue;
        int64_t first;
        size_t cnt = jn_ring_since(&s->ring, since, &first);
        cJSON *a = cJSON_AddObjectToObject(apps, s->name);
        cJSON_AddNumberToObject(a, "t0", (double)first);
        for (int k = 0; k < JN_RING_NSERIES; k++) {
            cJSON *arr = cJSON_AddArrayToObject(a, series_names[k]);
            for (size_t j = 0; j < cnt; j++) {
                double x = jn_ring_get(&s->ring, first + (int64_t)j, k);
                cJSON_AddItemToArray(arr, cJSON_CreateNumber(round(x * 100) / 100));
            }
        }
    }
    return o;
}
