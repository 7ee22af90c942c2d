/*
 * gateway.h: the gateway as a whole, for `jern gateway` and for the daemon.
 *
 * One control thread (the caller of jn_gateway_start, usually the main thread)
 * owns the gateway; N worker threads each run their own event loop with their
 * own SO_REUSEPORT listener per listen address. The control thread builds
 * immutable routing snapshots (gateway/snapshot.h) and publishes them; each
 * worker switches to a new snapshot as soon as its loop wakes (a post through
 * its eventfd: well under 10 ms), while requests already running keep the
 * snapshot they started with. Nothing in flight is dropped by any call here.
 *
 * Every function below must be called from the control thread, and none
 * blocks on the network.
 */
#ifndef JN_GATEWAY_GATEWAY_H
#define JN_GATEWAY_GATEWAY_H

#include "core/common.h"
#include "config/conf.h"
#include "gateway/stats.h"
#include "gateway/upstream.h"

struct jn_gateway;
struct jn_loop;
struct jn_tls_cert;

/* Checks a config as `-t` does: builds the whole runtime snapshot (compiles
 * templates, resolves upstreams and listen addresses) without opening any
 * socket. Takes ownership of conf. Returns 0, or JN_ECONFIG with
 * "FILE:LINE: what is wrong" in err. */
int jn_gateway_check(struct jn_conf *conf, char *err, size_t errlen);

/* Starts the workers for conf (taking ownership of it): raises RLIMIT_NOFILE
 * (worker_rlimit_nofile, else up to the hard limit), opens the listeners (one
 * per worker per address) and runs the worker threads. loop is the control
 * thread's loop, used for timers (access-log flushing is per worker).
 * Returns 0 and *out, or a negative code with a message in err (e.g. a listen
 * address in use). */
int jn_gateway_start(struct jn_loop *loop, struct jn_conf *conf, struct jn_gateway **out, char *err,
                     size_t errlen);

/* jn_gateway_start, but the workers accept nothing until jn_gateway_open:
 * the listeners are bound (connections wait in the kernel's queue, as a cold
 * start holds them) while the daemon adopts its instances and publishes the
 * apps, so no request for a known app meets the routes of the file alone
 * (a 404). Control thread. */
int jn_gateway_start_held(struct jn_loop *loop, struct jn_conf *conf, struct jn_gateway **out,
                          char *err, size_t errlen);

/* Hands the listeners to the workers (after jn_gateway_start_held; nothing
 * otherwise). Control thread. */
void jn_gateway_open(struct jn_gateway *g);

/* Applies a new config (taking ownership): builds a new snapshot (reusing
 * upstream peers by address, so counts and failure state carry over), opens
 * listeners for new addresses, keeps the fds of addresses that stay, closes
 * removed ones. On any error nothing changes, err says why, and a negative
 * code is returned. worker_processes changes need a restart (logged). */
int jn_gateway_reload(struct jn_gateway *g, struct jn_conf *conf, char *err, size_t errlen);

/* Replaces the upstream called name (a config upstream block, or a
 * proxy_pass HOST:PORT target by its text) with u, taking a reference to u. When wait_ready is
 * true, a request that finds no usable peer in u waits for one (bounded queue
 * per worker, wait_timeout_ms (0: 30 s), then 503 with Retry-After) instead of failing
 * with 502 at once: for apps scaled to zero. Returns 0 or JN_ENOTFOUND. */
int jn_gateway_set_upstream(struct jn_gateway *g, const char *name, struct jn_upstream *u,
                            bool wait_ready, int64_t wait_timeout_ms);

/* Routes requests whose Host (case-insensitive, port ignored) matches no
 * server_name of the listen address to u (takes a reference), with the
 * settings of that address's default server. Replaces an earlier entry for
 * host. wait_ready as above. Returns 0 or JN_EBADINPUT (bad host). */
int jn_gateway_set_app(struct jn_gateway *g, const char *host, struct jn_upstream *u,
                       bool wait_ready, int64_t wait_timeout_ms);

/* Gives every app entry set from now on its own access log, DIR/APP/access.log
 * (APP: its upstream's name), in its server's access_log format or combined
 * (jern logs APP --access). NULL: none. Control thread, before the apps. */
void jn_gateway_set_app_log_dir(struct jn_gateway *g, const char *dir);

/* Removes the app entry for host; in-flight requests finish. Returns 0 or
 * JN_ENOTFOUND. */
int jn_gateway_remove_app(struct jn_gateway *g, const char *host);

/* What plain HTTP requests for the app host get (docs/CERTIFICATES.md):
 * mode (enum jn_gw_https, gateway/snapshot.h): JN_GW_HTTPS_REDIRECT a 301 (GET, HEAD; 308 otherwise) to https://HOST[:port]/URI,
 * JN_GW_HTTPS_ONLY a 403; ACME challenges are answered in every mode. port 443
 * is left out of the URL. The mode lives on the app entry: a host withdrawn
 * and added again starts OFF. Returns 0 or JN_ENOTFOUND (no such app host). */
int jn_gateway_set_app_https(struct jn_gateway *g, const char *host, int mode, int port);
/* The mode of the app host (and its port in *port, may be NULL), or JN_ENOTFOUND. */
int jn_gateway_app_https(const struct jn_gateway *g, const char *host, int *port);

/* Serves cert (takes a reference; see tls/tls.h: jn_tls_cert_load or
 * jn_tls_cert_from_pem) to TLS clients whose SNI name is host (any case, no
 * port), on every `listen ... ssl` address, ahead of the server blocks'
 * certificates. Replaces an earlier certificate for host: a renewal is one
 * call; handshakes in flight and established connections keep the context
 * they started with. Returns 0 or JN_EBADINPUT (bad host). */
int jn_gateway_set_cert(struct jn_gateway *g, const char *host, struct jn_tls_cert *cert);
/* Stops serving the certificate for host. Returns 0 or JN_ENOTFOUND. */
int jn_gateway_remove_cert(struct jn_gateway *g, const char *host);
/* Reopens the error log and every access log (SIGUSR1). */
void jn_gateway_reopen_logs(struct jn_gateway *g);

/* Stops accepting and lets in-flight requests finish; idle keep-alive
 * connections are closed. done(arg) runs on the control loop when every
 * worker has finished (graceful stop, SIGQUIT). */
void jn_gateway_shutdown(struct jn_gateway *g, void (*done)(void *arg), void *arg);

/* Stops the workers now, closing every connection (SIGTERM), joins them and
 * frees everything. Also the final step after jn_gateway_shutdown's done. */
void jn_gateway_free(struct jn_gateway *g);

/* drain_timeout: a request still in flight on a server that a snapshot
 * marks drained, in maint or removed is ended ms after that snapshot reached
 * its worker (502 if nothing was sent to the client yet, else a closed
 * connection), so a deploy can retire the server. 0: wait forever. Default
 * 30 s. Applies from the next snapshot on. */
void jn_gateway_set_drain_timeout(struct jn_gateway *g, int64_t ms);

/* Sums the workers' counters into *out (requests, connections accepted and
 * open). Lock-free reads; any thread while g lives. Per upstream server
 * counters are read from the peers: jn_peer_stats_read (gateway/stats.h). */
void jn_gateway_stats(const struct jn_gateway *g, struct jn_gateway_stats *out);

/* The listen port of the first listener of address index i (tests, port 0). */
int jn_gateway_listen_port(const struct jn_gateway *g, size_t i);

#endif
