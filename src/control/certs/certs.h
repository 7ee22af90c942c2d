/*
 * certs.h: the certificate manager of `jern serve` (docs/CERTIFICATES.md).
 *
 * Every app domain that is not localhost or *.localhost gets a certificate
 * from the ACME directory (acme_directory), validated over HTTP-01 that the
 * gateway answers itself (gateway/challenge.h). Keys are ECDSA P-256; key and
 * chain live in STATE/certs/DOMAIN/{key,cert}.pem with mode 0600. A
 * certificate is renewed 30 days before it expires, or when forced; a CA
 * that refuses is retried with backoff (1 min, doubling, at most 12 h) and a
 * log line that says why. Users may install certificates of their own
 * instead (never renewed by jern).
 *
 * Every certificate held is attached to the gateway (jn_gateway_set_cert):
 * the HTTPS listeners serve it by SNI, and a renewed one replaces it for new
 * handshakes while connections in flight keep theirs. An app's https mode
 * (off, redirect, only) is applied to its domains that have a certificate.
 *
 * The manager lives on the control thread (a 1 s tick compares the store's
 * domains with the certificates held); each issuance runs on a job thread of
 * its own (one at a time), so the admin API and the gateway never wait for
 * the CA. Results come back through jn_loop_post.
 */
#ifndef JN_CONTROL_CERTS_H
#define JN_CONTROL_CERTS_H

#include "core/common.h"

struct jn_certs;
struct jn_control;
struct jn_gateway;
struct jn_loop;

struct jn_certs_opts {
    struct jn_gateway *gw; /* certificates and https modes go there; NULL: none */
    int https_port;        /* the first `listen ... ssl` port; 0: no HTTPS listener */
    const char *state_dir;
    const char *directory; /* ACME directory URL; NULL or "off": no issuance */
    const char *email;     /* account contact, may be NULL */
    const char *ca_bundle; /* trusted for the ACME server's HTTPS; NULL: the system's */
};

/* Creates the manager (loop and ctl borrowed, outliving it), loads the
 * certificates already in STATE/certs and starts the tick. Control thread.
 * Never NULL. */
struct jn_certs *jn_certs_new(struct jn_loop *loop, struct jn_control *ctl,
                              const struct jn_certs_opts *o);

/* Stops the tick; an issuance in flight is abandoned (its thread finishes
 * on its own and reports to no one). Control thread. NULL is fine. */
void jn_certs_free(struct jn_certs *cm);

/* A cluster node's ties to the others (docs/CLUSTER.md): one node obtains
 * each certificate and every node serves it. */
struct jn_certs_share {
    /* Control thread: whether this node may order domain now (it holds the
     * cluster's lock on it; force: a renewal asked for by hand). */
    bool (*may_issue)(void *arg, const char *domain, bool force);
    /* Control thread: an issuance ended (ok: its files are in STATE/certs/
     * DOMAIN, for every node); the lock goes. */
    void (*issued)(void *arg, const char *domain, bool ok);
    /* Job thread: a challenge every node's gateway must answer (0 once
     * they do, or a negative code with err; it gives up when cancelled(carg)
     * turns true), and its end. */
    int (*chal_put)(void *arg, const char *keyauth, bool (*cancelled)(void *carg), void *carg,
                    char *err, size_t errlen);
    void (*chal_del)(void *arg, const char *token);
    /* Control thread: the user added (jern cert add) or removed their own
     * certificate for domain on this node: every node gets it, or loses
     * the copy it got. */
    void (*own_put)(void *arg, const char *domain);
    void (*own_del)(void *arg, const char *domain);
    void *arg;
};

/* Shares certificates through s (copied). Control thread, before the
 * first tick's issuance matters (right after jn_certs_new). */
void jn_certs_set_share(struct jn_certs *cm, const struct jn_certs_share *s);

/* Installs a certificate another node obtained for domain (PEM chain and
 * key), checked as jern cert add checks one, and serves it. Returns 0, or
 * a negative code with err. Control thread. */
int jn_certs_install(struct jn_certs *cm, const char *domain, const char *chain, const char *key,
                     char *err, size_t errlen);

/* Installs the user's own certificate for domain (jern cert add: PEM chain
 * and key), checked, and serves it at once; shared: from the cluster's copy
 * of one added on another node. Returns 0; JN_EBADINPUT (unusable or
 * expired), JN_EEXIST (an issuance runs) or a write error, with err.
 * jn_certs_remove: removes domain's certificate, the user's own or not
 * (JN_ENOTFOUND: no entry; JN_EEXIST: an issuance runs); an app domain
 * gets an ACME certificate again. Control thread. */
int jn_certs_put_own(struct jn_certs *cm, const char *domain, const char *chain, const char *key,
                     bool shared, char *err, size_t errlen);
int jn_certs_remove(struct jn_certs *cm, const char *domain);

/* Whether the user's own certificate for domain is held here, with its
 * serial and whether it is the cluster's (*shared). jn_certs_own_shared:
 * marks it the cluster's (the cluster has the copy this node added), so
 * it goes when that copy goes. Control thread. */
bool jn_certs_own_serial(struct jn_certs *cm, const char *domain, char *serial, size_t n,
                         bool *shared);
void jn_certs_own_shared(struct jn_certs *cm, const char *domain);

/* The user's own certificates held here and whether each came from the
 * cluster's copy: calls fn for each. Control thread. */
void jn_certs_each_own(struct jn_certs *cm,
                       void (*fn)(void *arg, const char *domain, const char *serial, bool shared),
                       void *arg);

/* Whether domain is one this node wants a certificate for (an app's
 * domain here). Control thread. */
bool jn_certs_wants(struct jn_certs *cm, const char *domain);

/* domain's certificate as held here: its serial and expiry; false when
 * none (or one of the user's own). Control thread. */
bool jn_certs_held(struct jn_certs *cm, const char *domain, char *serial, size_t n,
                   int64_t *not_after);

/* The static name of the https mode s ("off", "redirect", "only"), or NULL. */
const char *jn_certs_https_mode_parse(const char *s);

/* The https mode of app: "off", "redirect" or "only" (default "off"). */
const char *jn_certs_https_mode(struct jn_certs *cm, const char *app);

/* Appends the certificate series of /metrics (expiry, validity, attempts,
 * failures in a row) to out. cm may be NULL. */
struct jn_buf;
void jn_certs_metrics(struct jn_certs *cm, struct jn_buf *out);

#endif
