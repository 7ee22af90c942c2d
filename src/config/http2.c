/*
 * http2.c: the HTTP/2 directives' values (http2 itself is an on/off flag,
 * http2_max_concurrent_streams a count): sizes between 1k and 16m, the
 * range HTTP/2's windows and frame sizes can carry.
 */
#include "config/build.h"

#include "config/value.h"

JN_CONF_HANDLER(jn_conf_set_http2_size)
{
    int64_t v = jn_conf_parse_size(n->args[0]);
    if (v < 1024 || v > (16 << 20) - 1)
        return jn_conf_error(b, n,
                             "invalid value \"%s\" in \"%s\" directive: expected a size from 1k "
                             "to 16m-1 such as 64k",
                             n->args[0], n->name);
    struct jn_conf_level *lvl = target;
    *(int64_t *)((char *)lvl->s + d->offset) = v;
    return 0;
}
