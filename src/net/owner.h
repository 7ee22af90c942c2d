/*
 * owner.h: who holds a TCP listen address. jern gives each worker its own
 * SO_REUSEPORT socket, and the kernel lets any other process of the same
 * user add its own to the group: a second jern (or gateway) would then take
 * a share of the first one's connections without a word. Before it opens an
 * address, jern asks whether anyone listens there already and refuses, as
 * nginx does. Main thread; reads /proc.
 */
#ifndef JN_NET_OWNER_H
#define JN_NET_OWNER_H

#include "core/common.h"
#include "net/sock.h"

/* Returns 0 when no other process listens on a (a unix address or one this
 * process holds counts as free), else -EADDRINUSE with err set to "address
 * ADDR already in use by another jern (pid N)" (or "by pid N (COMM)", or
 * "by another process" when /proc does not say). */
int jn_sock_check_free(const struct jn_addr *a, char *err, size_t errlen);

#endif
