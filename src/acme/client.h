/*
 * client.h: an ACME client (RFC 8555) for one certificate at a time, with
 * HTTP-01 validation. libcurl for HTTP, cJSON for the documents, acme/jws.h
 * for the signatures. Every call blocks (network round trips, polls): run it
 * on a job thread, never on the control loop or a gateway worker.
 */
#ifndef JN_ACME_CLIENT_H
#define JN_ACME_CLIENT_H

#include "core/common.h"

#include <openssl/evp.h>

struct jn_acme_opts {
    const char *directory; /* the CA's directory URL */
    const char *ca_bundle; /* PEM file trusted for the CA's own HTTPS; NULL: the system's */
    const char *email;     /* account contact; NULL or "": none */
    EVP_PKEY *account_key; /* borrowed; ECDSA P-256 */
    int64_t deadline_ms;   /* the whole issuance; 0: 120 s */
    /* Called with "TOKEN.THUMBPRINT" before the CA is asked to validate, and
     * with the token when it is done (either way). publish returns 0 or a
     * negative code. */
    int (*publish)(void *arg, const char *keyauth);
    void (*withdraw)(void *arg, const char *token);
    /* Polled during transfers and waits; true ends the issuance at once
     * (JN_ECLOSED). May be NULL. */
    bool (*cancelled)(void *arg);
    void *arg;
};

/* Orders, validates and downloads a certificate for domain whose key is
 * cert_key (borrowed). On success returns 0 and *chain_pem (the PEM chain,
 * leaf first; free). Otherwise returns a negative code and a message for the
 * user in err, e.g. "the CA refused the order: ... (urn:ietf:params:acme:
 * error:rejectedIdentifier)" or "validation failed: ...". */
int jn_acme_issue(const struct jn_acme_opts *o, const char *domain, EVP_PKEY *cert_key,
                  char **chain_pem, char *err, size_t errlen);

#endif
