/*
 * publish.c: handing the control plane's state to the gateway.
 *
 * Interim: the gateway and the upstream runtime are being written on their
 * own branches; until they are merged nothing is published and the live
 * counters read zero. This file is the only one that changes at that merge.
 */
#include "core/common.h"

#include "control/control_int.h"

int jn_ctl_publish_upstream(struct jn_control *ctl, const char *name,
                            const struct jn_conf_upstream *cu, const struct jn_ctl_want *want,
                            size_t n)
{
    return 0;
}

void jn_ctl_unpublish_upstream(struct jn_control *ctl, const char *name)
{
}

int jn_ctl_publish_hosts(struct jn_control *ctl)
{
    return 0;
}

void jn_ctl_live_counters(struct jn_control *ctl, const char *name, struct jn_ctl_server *v,
                          size_t n)
{
}

void jn_ctl_live_free(struct jn_control *ctl)
{
}
