/*
 * challenge.c: the HTTP-01 answer table. Each slot is a seqlock: the writer
 * makes the count odd, stores the words, makes it even again; a reader copies
 * the words between two equal even counts. The words are atomics (relaxed),
 * so a torn read is a retry, never undefined behaviour.
 */
#include "core/common.h"

#include "gateway/challenge.h"
#include "gateway/types.h"

#include <pthread.h>
#include <stdatomic.h>

#define WORDS (JN_CHALLENGE_MAX / 8)

struct slot {
    _Atomic uint32_t seq;
    _Atomic uint64_t w[WORDS]; /* the key authorization, NUL padded; w[0] == 0: free */
};

static struct slot slots[JN_CHALLENGE_SLOTS];
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void slot_read(struct slot *s, char out[JN_CHALLENGE_MAX])
{
    for (;;) {
        uint32_t a = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (a & 1)
            continue;
        for (int i = 0; i < WORDS; i++) {
            uint64_t v = atomic_load_explicit(&s->w[i], memory_order_relaxed);
            memcpy(out + i * 8, &v, 8);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == a)
            break;
    }
    out[JN_CHALLENGE_MAX - 1] = '\0';
}

/* Writer side; the caller holds the writer mutex. */
static void slot_write(struct slot *s, const char *keyauth)
{
    char buf[JN_CHALLENGE_MAX] = {0};
    if (keyauth)
        memcpy(buf, keyauth, strlen(keyauth));
    uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < WORDS; i++) {
        uint64_t v;
        memcpy(&v, buf + i * 8, 8);
        atomic_store_explicit(&s->w[i], v, memory_order_relaxed);
    }
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

/* Whether the key authorization in ka answers token[0..len). */
static bool matches(const char *ka, const char *token, size_t len)
{
    return ka[0] && strncmp(ka, token, len) == 0 && ka[len] == '.';
}

int jn_challenge_put(const char *keyauth)
{
    const char *dot = strrchr(keyauth, '.');
    size_t tlen = dot ? (size_t)(dot - keyauth) : 0;
    if (!dot || tlen == 0 || strlen(keyauth) >= JN_CHALLENGE_MAX)
        return JN_EBADINPUT;
    for (size_t i = 0; i < tlen; i++)
        if (!b64url_char(keyauth[i]))
            return JN_EBADINPUT;
    pthread_mutex_lock(&writer);
    struct slot *same = NULL, *empty = NULL;
    char cur[JN_CHALLENGE_MAX];
    for (int i = 0; i < JN_CHALLENGE_SLOTS; i++) {
        slot_read(&slots[i], cur);
        if (matches(cur, keyauth, tlen))
            same = &slots[i];
        else if (!cur[0] && !empty)
            empty = &slots[i];
    }
    struct slot *s = same ? same : empty;
    if (s)
        slot_write(s, keyauth);
    pthread_mutex_unlock(&writer);
    return s ? 0 : JN_ETOOBIG;
}

void jn_challenge_remove(const char *token)
{
    char cur[JN_CHALLENGE_MAX];
    size_t tlen = strlen(token);
    pthread_mutex_lock(&writer);
    for (int i = 0; i < JN_CHALLENGE_SLOTS; i++) {
        slot_read(&slots[i], cur);
        if (matches(cur, token, tlen))
            slot_write(&slots[i], NULL);
    }
    pthread_mutex_unlock(&writer);
}

int jn_challenge_answer(const char *path, size_t path_len, char out[JN_CHALLENGE_MAX])
{
    size_t plen = sizeof(JN_CHALLENGE_PREFIX) - 1;
    if (path_len <= plen || memcmp(path, JN_CHALLENGE_PREFIX, plen) != 0)
        return -1;
    const char *token = path + plen;
    size_t tlen = path_len - plen;
    if (tlen >= JN_CHALLENGE_MAX)
        return -1;
    for (size_t i = 0; i < tlen; i++)
        if (!b64url_char(token[i]))
            return -1;
    for (int i = 0; i < JN_CHALLENGE_SLOTS; i++) {
        slot_read(&slots[i], out);
        if (matches(out, token, tlen))
            return (int)strlen(out);
    }
    return -1;
}

bool gw_challenge_respond(struct gw_req *r)
{
    const struct jn_http_request *h = &r->hreq;
    if (h->method_id != JN_HTTP_GET && h->method_id != JN_HTTP_HEAD)
        return false;
    char ka[JN_CHALLENGE_MAX];
    if (jn_challenge_answer(h->path, h->path_len, ka) < 0)
        return false;
    gw_exch_respond(r, 200, ka, NULL);
    return true;
}
