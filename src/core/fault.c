/*
 * fault.c: JERN_FAULT, the crash points tests ask for (see fault.h).
 */
#include "core/common.h"

#include "core/fault.h"
#include "core/log.h"

#include <signal.h>
#include <unistd.h>

void jn_fault_point(const char *step)
{
    const char *list = getenv("JERN_FAULT");
    if (JN_LIKELY(!list || !*list))
        return;
    size_t n = strlen(step);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, step, n) == 0) {
            jn_warn("fault injection: JERN_FAULT=%s: killing the daemon at %s", list, step);
            kill(getpid(), SIGKILL);
            _exit(137); /* not reached */
        }
        p += len;
        if (*p == ',')
            p++;
    }
}
