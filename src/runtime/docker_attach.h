/* docker_attach.h: a container's stdin through the Engine API's attach
 * (docker_attach.c), for docker.c. */
#ifndef JN_RUNTIME_DOCKER_ATTACH_H
#define JN_RUNTIME_DOCKER_ATTACH_H

#include "core/common.h"

#include "runtime/driver.h"

/* Attaches to container id (created, not yet started) through the engine's
 * unix socket sock, API version api ("1.41"): POST
 * /vAPI/containers/ID/attach?stream=1 with Upgrade: tcp, for its stdin alone
 * (input: stdin=1&stdout=0&stderr=0; the container needs OpenStdin) or for its
 * output alone (stdout=1&stderr=1). Waits at most timeout_ms for the engine's
 * answer. Returns the connection the engine took over (101 or 200): a
 * non-blocking, close-on-exec AF_UNIX socket the caller owns. Input: what the
 * caller writes is the container's stdin and shutdown(SHUT_WR) its end.
 * Output: it carries the engine's multiplexed stream (frames of an 8-byte
 * head: stream, 0, 0, 0, big-endian length; then the payload) until the
 * container ends. Else an error with msg set ("docker: attach ID: ...").
 * Blocks: never on a thread that serves others. */
int jn_dk_attach(const char *sock, const char *api, const char *id, bool input, int timeout_ms,
                 char *msg, size_t msglen);

/* The demultiplexer of an attached output stream (no TTY). Zero it to start. */
struct jn_dk_demux {
    unsigned char head[8];
    size_t have;   /* bytes of head */
    uint32_t left; /* payload bytes left in the current frame */
    int stream;    /* 1 stdout, 2 stderr */
};

/* Hands each piece of payload in p[0..len) to sink(arg, stream, ...) as it
 * comes (a frame may be given in several pieces). Returns 0, or 1 once the
 * sink asks to stop. Pure. */
int jn_dk_demux_feed(struct jn_dk_demux *m, const char *p, size_t len, jn_log_sink sink,
                     void *arg);

#endif
