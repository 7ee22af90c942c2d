/* testcert.h: a self-signed ECDSA P-256 certificate made with OpenSSL at
 * test time, for the TLS unit tests (header only: each test is one file). */
#ifndef JN_TEST_TESTCERT_H
#define JN_TEST_TESTCERT_H

#include "jn_test.h"

#include "tls/tls.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

/* The certificate for name with the given serial, and its key, as PEM. */
static void make_pem(const char *name, long serial, char **cert, size_t *clen, char **key,
                     size_t *klen)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    *clen = (size_t)BIO_get_mem_data(b, &p);
    *cert = jn_strndup(p, *clen);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    *klen = (size_t)BIO_get_mem_data(b, &p);
    *key = jn_strndup(p, *klen);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(pk);
}

/* The same, loaded as a certificate set (one reference). */
static struct jn_tls_cert *cert_for(const char *name, long serial)
{
    char *c, *k, err[256];
    size_t cl, kl;
    make_pem(name, serial, &c, &cl, &k, &kl);
    struct jn_tls_cert *cert;
    assert_int_equal(jn_tls_cert_from_pem(c, cl, k, kl, NULL, &cert, err, sizeof(err)), 0);
    free(c);
    free(k);
    return cert;
}

#endif
