/* test_certs.c: which domains get a certificate, and the PEM checks behind
 * jern cert add (a certificate made here with OpenSSL). */
#include "jn_test.h"

#include "acme/certfile.h"
#include "acme/jws.h"
#include "control/certs/certs_int.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

static void test_eligible(void **state)
{
    assert_true(jn_certs_eligible("shop.example.com"));
    assert_true(jn_certs_eligible("shop.test"));
    assert_true(jn_certs_eligible("a-1.example.no"));
    assert_false(jn_certs_eligible("localhost"));
    assert_false(jn_certs_eligible("shop.localhost"));
    assert_false(jn_certs_eligible("a.b.localhost"));
    assert_false(jn_certs_eligible("example"));
    assert_false(jn_certs_eligible("127.0.0.1"));
    assert_false(jn_certs_eligible("::1"));
    assert_false(jn_certs_eligible("*.example.com"));
    assert_false(jn_certs_eligible(""));
}

/* A self-signed certificate for cn valid from now+from_s to now+to_s, PEM. */
static char *make_cert(EVP_PKEY *k, const char *cn, long from_s, long to_s)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    char san[128];
    snprintf(san, sizeof(san), "DNS:%s", cn);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *out = jn_malloc((size_t)len + 1);
    memcpy(out, p, (size_t)len);
    out[len] = '\0';
    BIO_free(b);
    X509_free(x);
    return out;
}

static void test_inspect(void **state)
{
    EVP_PKEY *k, *other;
    assert_int_equal(jn_jws_key_new(&k), 0);
    assert_int_equal(jn_jws_key_new(&other), 0);
    char *cert = make_cert(k, "shop.test", -60, 86400);
    char *key = jn_jws_key_pem(k), *okey = jn_jws_key_pem(other);
    struct jn_cert_info ci;
    char err[256];
    assert_int_equal(
        jn_cert_inspect(cert, strlen(cert), key, strlen(key), "shop.test", &ci, err, sizeof(err)),
        0);
    assert_string_equal(ci.subject, "/CN=shop.test");
    assert_string_equal(ci.issuer, "/CN=shop.test");
    assert_string_equal(ci.serial, "1234");
    assert_string_equal(ci.key_type, "ECDSA P-256");
    int64_t now = (int64_t)time(NULL);
    assert_true(ci.not_after > now + 86000 && ci.not_after <= now + 86401);
    assert_true(ci.not_before < now);
    /* no key or domain to check: facts only */
    assert_int_equal(jn_cert_inspect(cert, strlen(cert), NULL, 0, NULL, &ci, err, sizeof(err)), 0);
    assert_int_equal(
        jn_cert_inspect(cert, strlen(cert), okey, strlen(okey), "shop.test", &ci, err, sizeof(err)),
        JN_EBADINPUT);
    assert_string_equal(err, "the key does not belong to the certificate");
    assert_int_equal(jn_cert_inspect(cert, strlen(cert), key, strlen(key), "www.shop.test", &ci,
                                     err, sizeof(err)),
                     JN_EBADINPUT);
    assert_non_null(strstr(err, "does not cover www.shop.test"));
    assert_int_equal(
        jn_cert_inspect(key, strlen(key), key, strlen(key), NULL, &ci, err, sizeof(err)),
        JN_EBADINPUT);
    assert_non_null(strstr(err, "not a PEM certificate"));
    assert_int_equal(jn_cert_inspect(cert, strlen(cert), "junk", 4, NULL, &ci, err, sizeof(err)),
                     JN_EBADINPUT);
    assert_non_null(strstr(err, "not a PEM private key"));
    /* truncated PEM */
    assert_int_equal(jn_cert_inspect(cert, strlen(cert) / 2, NULL, 0, NULL, &ci, err, sizeof(err)),
                     JN_EBADINPUT);
    free(cert);
    free(key);
    free(okey);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eligible),
        cmocka_unit_test(test_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
