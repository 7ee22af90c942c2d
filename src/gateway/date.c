#include "gateway/date.h"

#include <time.h>

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void gw_date_format(int64_t sec, char *out)
{
    static const char wday[] = "SunMonTueWedThuFriSat";
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    memcpy(out, "Date: ", 6);
    memcpy(out + 6, wday + 3 * tm.tm_wday, 3);
    memcpy(out + 9, ", ", 2);
    put2(out + 11, tm.tm_mday);
    out[13] = ' ';
    memcpy(out + 14, mon + 3 * tm.tm_mon, 3);
    out[17] = ' ';
    int y = tm.tm_year + 1900;
    put2(out + 18, y / 100);
    put2(out + 20, y % 100);
    out[22] = ' ';
    put2(out + 23, tm.tm_hour);
    out[25] = ':';
    put2(out + 26, tm.tm_min);
    out[28] = ':';
    put2(out + 29, tm.tm_sec);
    memcpy(out + 31, " GMT\r\n", 6);
}

const char *gw_date_line(struct gw_date *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if ((int64_t)ts.tv_sec != d->sec) {
        d->sec = (int64_t)ts.tv_sec;
        gw_date_format(d->sec, d->line);
        d->line[GW_DATE_LEN] = '\0';
    }
    return d->line;
}
