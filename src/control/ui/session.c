/*
 * session.c: dashboard sessions, CSRF tokens and one-time login codes.
 */
#include "core/common.h"

#include "control/ui/session.h"

#include <stdio.h>
#include <sys/random.h>

static int random_hex(char *out)
{
    unsigned char rnd[JN_UI_SECRET_LEN / 2];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    explicit_bzero(rnd, sizeof(rnd));
    return 0;
}

bool jn_ui_secret_eq(const char *a, size_t n, const char *b)
{
    size_t want = strlen(b);
    unsigned char diff = n != want;
    for (size_t k = 0; k < want; k++)
        diff |= (unsigned char)(b[k] ^ (k < n ? a[k] : 0));
    return diff == 0 && want > 0;
}

struct jn_ui_session *jn_ui_session_open(struct jn_ui_sessions *t, int64_t now_ms)
{
    struct jn_ui_session *pick = &t->s[0];
    for (size_t i = 0; i < JN_UI_MAX_SESSIONS; i++) {
        struct jn_ui_session *s = &t->s[i];
        if (!s->id[0] || now_ms - s->last_ms > JN_UI_SESSION_MS) {
            pick = s;
            break;
        }
        if (s->last_ms < pick->last_ms)
            pick = s;
    }
    if (random_hex(pick->id) < 0 || random_hex(pick->csrf) < 0) {
        jn_ui_session_close(pick);
        return NULL;
    }
    pick->last_ms = now_ms;
    return pick;
}

struct jn_ui_session *jn_ui_session_find(struct jn_ui_sessions *t, const char *id, size_t n,
                                         int64_t now_ms)
{
    struct jn_ui_session *found = NULL;
    for (size_t i = 0; i < JN_UI_MAX_SESSIONS; i++) {
        struct jn_ui_session *s = &t->s[i];
        if (s->id[0] && jn_ui_secret_eq(id, n, s->id))
            found = s;
    }
    if (found && now_ms - found->last_ms > JN_UI_SESSION_MS) {
        jn_ui_session_close(found);
        return NULL;
    }
    if (found)
        found->last_ms = now_ms;
    return found;
}

void jn_ui_session_close(struct jn_ui_session *s)
{
    explicit_bzero(s, sizeof(*s));
}

int jn_ui_code_new(struct jn_ui_sessions *t, int64_t now_ms, char *out)
{
    size_t pick = 0;
    for (size_t i = 0; i < JN_UI_MAX_CODES; i++)
        if (t->codes[i].expires_ms < t->codes[pick].expires_ms)
            pick = i;
    if (random_hex(t->codes[pick].code) < 0)
        return -1;
    t->codes[pick].expires_ms = now_ms + JN_UI_CODE_MS;
    memcpy(out, t->codes[pick].code, JN_UI_SECRET_LEN + 1);
    return 0;
}

bool jn_ui_code_use(struct jn_ui_sessions *t, const char *code, size_t n, int64_t now_ms)
{
    bool ok = false;
    for (size_t i = 0; i < JN_UI_MAX_CODES; i++) {
        if (!t->codes[i].code[0] || t->codes[i].expires_ms < now_ms)
            continue;
        if (jn_ui_secret_eq(code, n, t->codes[i].code)) {
            explicit_bzero(&t->codes[i], sizeof(t->codes[i]));
            ok = true;
        }
    }
    return ok;
}
