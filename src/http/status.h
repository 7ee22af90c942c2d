/*
 * status.h: the reason phrase of every status code jern answers with, one
 * table for the gateway and the admin API. Any thread.
 */
#ifndef JN_HTTP_STATUS_H
#define JN_HTTP_STATUS_H

#include "core/common.h"

/* The RFC 9110 reason phrase of status ("Content Too Large" for 413), or
 * "Unknown" / "Error" (5xx) for a code the table lacks. Static string. */
const char *jn_http_reason(int status);

#endif
