/*
 * challenge.h: the ACME HTTP-01 answers the gateway gives itself (RFC 8555
 * 8.3). While a certificate is being issued, the control plane publishes
 * token -> key authorization; a GET for /.well-known/acme-challenge/TOKEN on
 * any listener (the CA validates over plain HTTP) is answered with the key
 * authorization before any routing or https redirect, so no app ever sees
 * the CA's validation request.
 *
 * One small process-wide table of fixed slots. Workers read it lock-free
 * (a sequence count per slot, retried if a writer was busy); writers (any
 * thread, rare) serialise on a mutex. A request path outside the prefix
 * costs one length check and one memcmp.
 */
#ifndef JN_GATEWAY_CHALLENGE_H
#define JN_GATEWAY_CHALLENGE_H

#include "core/common.h"

#define JN_CHALLENGE_PREFIX "/.well-known/acme-challenge/"
#define JN_CHALLENGE_SLOTS 32
#define JN_CHALLENGE_MAX 256 /* key authorization: TOKEN "." THUMBPRINT, NUL included */

/* Publishes the key authorization keyauth ("TOKEN.THUMBPRINT"; the token is
 * the part before the last '.'). Returns 0, JN_EBADINPUT (no '.', too long,
 * a token with characters outside base64url) or JN_ETOOBIG (every slot
 * taken). Any thread. */
int jn_challenge_put(const char *keyauth);

/* Withdraws the answer for token. Any thread. */
void jn_challenge_remove(const char *token);

/* Looks up the request path: when it is JN_CHALLENGE_PREFIX + a published
 * token, copies the key authorization into out and returns its length; else
 * returns -1 and the request is routed as usual (an app may run its own
 * ACME client for tokens jern does not know). Lock-free; any thread. */
int jn_challenge_answer(const char *path, size_t path_len, char out[JN_CHALLENGE_MAX]);

struct gw_req;
struct jn_gw_app;

/* Answers r (a worker's request, routed or not) with 200 and the key
 * authorization when it is a GET or HEAD of a published challenge; returns
 * whether it did. Worker thread. */
bool gw_challenge_respond(struct gw_req *r);

/* Answers r, a plain HTTP request routed to app (may be NULL), with a redirect
 * to HTTPS or a 403 when the app host's mode says so (https_mode.c); returns
 * whether it did. Worker thread. */
bool gw_https_respond(struct gw_req *r, const struct jn_gw_app *app);

#endif
