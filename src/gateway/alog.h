/*
 * alog.h: the gateway's use of the access log writer (gateway/accesslog.h):
 * each worker keeps one writer per access_log path, opened the first time a
 * request logs to it, flushed on the worker's 200 ms timer and at exit.
 * All functions run on the worker's own thread (free: after it stopped).
 */
#ifndef JN_GATEWAY_ALOG_H
#define JN_GATEWAY_ALOG_H

struct gw_worker;

void jn_gw_alog_flush(struct gw_worker *w);
void jn_gw_alog_reopen(struct gw_worker *w);
void jn_gw_alog_free(struct gw_worker *w);

#endif
