/* node_url.h: "ssh://USER@HOST[:PORT]" as `jern node add` takes it. Pure. */
#ifndef JN_CLI_NODE_URL_H
#define JN_CLI_NODE_URL_H

#include "core/common.h"

struct jn_node_url {
    char user[65];
    char host[256]; /* a name, an IPv4 address, or an IPv6 address without [] */
    int port;       /* 22 when not given */
};

/* Parses s into *out. Returns 0, or JN_EBADINPUT with the reason in err.
 * Users and hosts are limited to characters a shell and ssh take as they
 * are (no spaces, quotes, options: a host never starts with '-'). */
int jn_node_url_parse(const char *s, struct jn_node_url *out, char *err, size_t errlen);

#endif
