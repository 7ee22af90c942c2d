/*
 * date.h: the "Date: ...\r\n" header line every response carries (RFC 9110
 * 6.6.1), formatted once per second per worker, as nginx caches its time
 * strings: a response copies GW_DATE_LEN bytes, never calls strftime.
 */
#ifndef JN_GATEWAY_DATE_H
#define JN_GATEWAY_DATE_H

#include "core/common.h"

/* "Date: Fri, 04 Dec 2026 18:40:28 GMT\r\n" */
#define GW_DATE_LEN 37

struct gw_date {
    int64_t sec; /* the second the line shows */
    char line[GW_DATE_LEN + 1];
};

/* The Date line for now, refreshed when the second changed (one
 * CLOCK_REALTIME_COARSE read through the vDSO). Owner thread only. */
const char *gw_date_line(struct gw_date *d);

/* Formats unix time sec as an IMF-fixdate header line into out[GW_DATE_LEN].
 * Pure; any thread. */
void gw_date_format(int64_t sec, char *out);

#endif
