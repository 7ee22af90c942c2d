/*
 * rewrite_run.h: a request through its location's rewrite and if
 * statements (rewrite.h). Worker thread.
 */
#ifndef JN_GATEWAY_REWRITE_RUN_H
#define JN_GATEWAY_REWRITE_RUN_H

#include "gateway/rewrite.h"

struct gw_req;
/* Runs the statements in order until one applies: returns its status (a
 * redirect's or a return's) with its text (the Location, or the body) in
 * out[0..*len), *len -1 when it has none; 0 when none applied; -1 when the
 * text does not fit (the caller answers 500). */
int gw_rewrite_run(struct gw_req *r, const struct jn_gw_rewrite *v, size_t n, char *out, size_t cap,
                   ssize_t *len);

#endif
