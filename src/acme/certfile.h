/*
 * certfile.h: certificates and keys as files: inspecting a PEM chain (issuer,
 * serial, validity, key type), checking that a key belongs to it and that it
 * covers a domain, and writing the pair into the state dir (mode 0600). The
 * inspection is pure (buffers in, facts out); OpenSSL 3. Any thread.
 */
#ifndef JN_ACME_CERTFILE_H
#define JN_ACME_CERTFILE_H

#include "core/common.h"

struct jn_cert_info {
    char subject[256];  /* the leaf's subject, one line */
    char issuer[256];   /* the leaf's issuer, one line ("CN=Pebble Intermediate CA 2f3a1b") */
    char serial[80];    /* hex */
    char key_type[32];  /* "ECDSA P-256", "RSA 2048" */
    int64_t not_before; /* Unix seconds */
    int64_t not_after;
};

/* Inspects chain (PEM, leaf first) into *out. When key is given (PEM), it
 * must be the leaf's private key; when domain is given, the leaf must cover
 * it (SAN, wildcards as browsers match them). Returns 0, or JN_EBADINPUT with
 * a message naming the problem in err. */
int jn_cert_inspect(const char *chain, size_t chain_len, const char *key, size_t key_len,
                    const char *domain, struct jn_cert_info *out, char *err, size_t errlen);

/* Writes data to path with mode 0600, atomically (PATH.tmp renamed over
 * path, fsynced). Returns 0 or -errno. */
int jn_cert_write_file(const char *path, const char *data, size_t len);

/* Reads a whole file of at most 1 MiB into a new NUL-terminated string.
 * Returns its length, -errno, or JN_ETOOBIG. */
ssize_t jn_cert_read_file(const char *path, char **out);

#endif
