/*
 * alog.h: the gateway's use of the access log writer (gateway/accesslog.h):
 * each worker keeps one writer per access_log path, opened the first time a
 * request logs to it, flushed on the worker's 200 ms timer and at exit.
 * All functions run on the worker's own thread (free: after it stopped).
 */
#ifndef JN_GATEWAY_ALOG_H
#define JN_GATEWAY_ALOG_H

struct gw_worker;
struct gw_req;

void jn_gw_alog_flush(struct gw_worker *w);
void jn_gw_alog_reopen(struct gw_worker *w);
void jn_gw_alog_free(struct gw_worker *w);
/* Writes r's line to every access_log of its location. */
void gw_alog_request(struct gw_worker *w, struct gw_req *r);

#endif
