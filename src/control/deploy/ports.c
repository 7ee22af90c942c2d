/*
 * ports.c: the 127.0.0.1 ports jern gives app instances. A fixed range below
 * the kernel's ephemeral range (32768+), so outgoing connections (the
 * gateway's, under load) never hold a port an instance is about to bind.
 */
#include "core/common.h"

#include "control/control.h"
#include "control/deploy/deploy_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static bool bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    /* An app binding 0.0.0.0:port collides with anything on that port. */
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int dep_port_alloc(struct jn_deployer *d)
{
    struct jn_store_instance *v;
    int n = jn_store_instance_list(jn_control_store(d->ctl), NULL, &v);
    if (n < 0)
        return n;
    static unsigned next; /* control thread only */
    int span = DEP_PORT_HI - DEP_PORT_LO + 1;
    if (next == 0)
        next = (unsigned)(getpid() * 7919u + (unsigned)jn_now_ms());
    int port = JN_EBASE;
    for (int tries = 0; tries < span; tries++) {
        int p = DEP_PORT_LO + (int)(next++ % (unsigned)span);
        bool used = false;
        for (int i = 0; i < n && !used; i++)
            used = v[i].host_port == p;
        if (!used && bindable(p)) {
            port = p;
            break;
        }
    }
    free(v);
    return port;
}
