/*
 * local.c: the heads of the answers jern makes itself (a return, an error
 * page, a redirect, a static file), written in the request's own buffers.
 * Worker thread.
 */
#include "gateway/local.h"

#include "gateway/date.h"
#include "gateway/proxy.h"
#include "http/status.h"

#include <stdio.h>
#include <string.h>

/* Appends the start of every head jern makes itself: the status line
 * (HTTP/1.1 whatever the request's version, as nginx), Server, Date and
 * Content-Type. Returns the length written at out (room for 512 bytes). */
size_t gw_local_head_start(struct gw_req *r, int status, const char *ctype, char *out)
{
    size_t n = 9;
    memcpy(out, "HTTP/1.1 ", 9);
    n += gw_put_uint(out + n, (unsigned)status);
    out[n++] = ' ';
    const char *reason = jn_http_reason(status);
    size_t rl = JN_MIN(strlen(reason), (size_t)64);
    memcpy(out + n, reason, rl);
    n += rl;
    static const char server[] = "\r\nServer: jern\r\n";
    memcpy(out + n, server, sizeof(server) - 1);
    n += sizeof(server) - 1;
    memcpy(out + n, gw_date_line(&r->c->w->date), GW_DATE_LEN);
    n += GW_DATE_LEN;
    int k = snprintf(out + n, 200, "Content-Type: %s\r\n", ctype);
    n += k < 0 ? 0 : JN_MIN((size_t)k, (size_t)199);
    return n;
}

/* The end of a local head: Content-Length, Retry-After for 503, Connection. */
size_t gw_local_head_end(struct gw_req *r, int status, size_t blen, char *out)
{
    const char *conn = r->keep_alive
                           ? (r->hreq.minor_version == 0 ? "Connection: keep-alive\r\n" : "")
                           : "Connection: close\r\n";
    int n = snprintf(out, 160, "Content-Length: %zu\r\n%s%s\r\n", blen,
                     status == 503 ? "Retry-After: 1\r\n" : "", conn);
    return n > 0 ? (size_t)n : 0;
}

void gw_local_begin(struct gw_req *r, int status)
{
    struct gw_conn *c = r->c;
    r->phase = GW_P_LOCAL;
    r->status = status;
    r->client_started = true;
    /* Unread request body bytes would be taken for the next request, unless
     * they are being discarded. */
    if ((!r->rq.body_done && !r->discarding) || c->w->draining)
        r->keep_alive = false;
    jn_pipe_clear(&r->rs);
}
