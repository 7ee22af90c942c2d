/*
 * session.h: the dashboard's logins. A login (the admin token, or a one-time
 * code that `jern ui` asked for over the unix socket) opens a session: a
 * random id sent as an HttpOnly, SameSite=Strict cookie, and a random CSRF
 * token the page sends back with every state-changing request. A fixed
 * table: beyond JN_UI_MAX_SESSIONS the least recently used session ends.
 * Control thread only.
 */
#ifndef JN_CONTROL_UI_SESSION_H
#define JN_CONTROL_UI_SESSION_H

#include "core/common.h"

#define JN_UI_MAX_SESSIONS 32
#define JN_UI_MAX_CODES 8
#define JN_UI_SECRET_LEN 64                 /* hex characters of an id, token or code */
#define JN_UI_SESSION_MS (12 * 3600 * 1000) /* idle time after which a session ends */
#define JN_UI_CODE_MS (5 * 60 * 1000)       /* a one-time code's life */

struct jn_ui_session {
    char id[JN_UI_SECRET_LEN + 1]; /* "" for a free slot */
    char csrf[JN_UI_SECRET_LEN + 1];
    int64_t last_ms;
};

struct jn_ui_sessions {
    struct jn_ui_session s[JN_UI_MAX_SESSIONS];
    struct {
        char code[JN_UI_SECRET_LEN + 1];
        int64_t expires_ms;
    } codes[JN_UI_MAX_CODES];
};

/* Opens a session at now_ms. Returns it, or NULL when no randomness. */
struct jn_ui_session *jn_ui_session_open(struct jn_ui_sessions *t, int64_t now_ms);

/* The live session whose id is the n bytes at id (constant-time compare), its
 * idle clock reset; NULL when none. */
struct jn_ui_session *jn_ui_session_find(struct jn_ui_sessions *t, const char *id, size_t n,
                                         int64_t now_ms);

/* Ends a session. */
void jn_ui_session_close(struct jn_ui_session *s);

/* Writes a new one-time code into out (JN_UI_SECRET_LEN + 1). Returns 0 or -1. */
int jn_ui_code_new(struct jn_ui_sessions *t, int64_t now_ms, char *out);

/* Consumes a one-time code: true once for a live code. */
bool jn_ui_code_use(struct jn_ui_sessions *t, const char *code, size_t n, int64_t now_ms);

/* Constant-time equality of the n bytes at a with the string b. */
bool jn_ui_secret_eq(const char *a, size_t n, const char *b);

#endif
