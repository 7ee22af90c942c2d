/*
 * admin.h: the admin API's HTTP/1.1 server, on the control loop (never on a
 * gateway worker). Listens on a unix socket (mode 0600) and, when configured,
 * on TCP where every request needs "Authorization: Bearer TOKEN" (401
 * otherwise). Requests are parsed with jn_http_parse_request; heads and
 * bodies are capped (431/413), bodies need Content-Length (411 otherwise),
 * a request must arrive whole within JN_ADMIN_REQUEST_MS, idle connections
 * close after JN_ADMIN_IDLE_MS. Each listener holds at most
 * JN_ADMIN_MAX_CONNS connections of its own, so a flood on TCP never locks
 * out the unix socket; a TCP connection must send a request with the right
 * token within JN_ADMIN_AUTH_MS of accept (and is closed after a wrong one).
 * Control thread only.
 */
#ifndef JN_CONTROL_ADMIN_H
#define JN_CONTROL_ADMIN_H

#include "core/common.h"
#include "control/api/api.h"
#include "ev/loop.h"

#define JN_ADMIN_MAX_BODY (1024 * 1024)
#define JN_ADMIN_IDLE_MS 30000    /* a keep-alive connection with no request */
#define JN_ADMIN_REQUEST_MS 10000 /* a whole request (head and body), from its first byte */
#define JN_ADMIN_AUTH_MS 3000     /* TCP: accept to the first request with the token */
#define JN_ADMIN_MAX_CONNS 256    /* per listener */

struct jn_admin_opts {
    const char *unix_path; /* NULL: no unix socket */
    const char *unix_group; /* NULL: the socket is 0600; else 0660 for this group
                             * (when it exists), its directory 0750 */
    const char *tcp_addr;  /* NULL: no TCP listener */
    const char *token;     /* required when tcp_addr is set */
};

struct jn_admin;

/* Binds the listeners and registers them on loop. A stale unix socket (no
 * one answering) is replaced; a live one is an error. Returns 0 and *out, or
 * a negative code with a message in err. api is borrowed. */
int jn_admin_start(struct jn_loop *loop, struct jn_api *api, const struct jn_admin_opts *o,
                   struct jn_admin **out, char *err, size_t errlen);

/* Closes the listeners and every connection, removes the unix socket. */
void jn_admin_stop(struct jn_admin *a);

#endif
