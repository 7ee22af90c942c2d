/*
 * https_mode.c: what a plain HTTP request for an app host in "redirect" or
 * "only" mode gets (jn_gateway_set_app_https; docs/CERTIFICATES.md).
 */
#include "core/common.h"

#include "gateway/challenge.h"
#include "gateway/types.h"

#include <stdio.h>

bool gw_https_respond(struct gw_req *r, const struct jn_gw_app *app)
{
    if (!app || app->https == JN_GW_HTTPS_OFF || r->c->tls)
        return false;
    const struct jn_http_request *h = &r->hreq;
    if (app->https == JN_GW_HTTPS_ONLY) {
        r->keep_alive = false;
        gw_exch_respond(r, 403, "this app answers over HTTPS only", NULL);
        return true;
    }
    /* The host as the client wrote it, without its port; the path with its
     * query (origin form). */
    size_t hl = h->host_len;
    const char *colon = h->host && h->host[0] != '[' ? memchr(h->host, ':', hl) : NULL;
    if (colon)
        hl = (size_t)(colon - h->host);
    char port[8] = "";
    if (app->https_port)
        snprintf(port, sizeof(port), ":%u", app->https_port);
    const char *path = h->path && h->path[0] == '/' ? h->path : "/";
    size_t pl = h->path && h->path[0] == '/' ? h->path_len : 1;
    char loc[2048];
    int n = snprintf(loc, sizeof(loc), "https://%.*s%s%.*s", (int)hl, h->host ? h->host : "", port,
                     (int)pl, path);
    if (n < 0 || (size_t)n >= sizeof(loc)) {
        gw_exch_respond(r, 414, "the URL is too long to redirect", NULL);
        return true;
    }
    bool safe = h->method_id == JN_HTTP_GET || h->method_id == JN_HTTP_HEAD;
    gw_exch_respond(r, safe ? 301 : 308, NULL, loc);
    return true;
}
