/* test_jws.c: base64url (RFC 4648 vectors), the RFC 7638 thumbprint example,
 * the JWK of a fixed key (expected values computed with Python's
 * cryptography), ES256 signatures verified by OpenSSL, and the CSR. */
#include "jn_test.h"

#include "acme/jws.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFe4j46MT7oCdOBW4\n"
                              "1IpXQier+PbgbGmVEwHmruIb0HChRANCAARGVSNcf3KU7KwJWKaJ+J39xJOEBNWK\n"
                              "CZQtBAANGDBOEicKQebb86n/cLaih3m3gvK2eCc29sHk+CtgB4wb2HLM\n"
                              "-----END PRIVATE KEY-----\n";

static EVP_PKEY *fixed_key(void)
{
    BIO *b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

static void test_b64url_rfc4648(void **state)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char buf[16];
    for (size_t i = 0; i < JN_ARRAY_LEN(in); i++) {
        assert_int_equal(jn_b64url(in[i], strlen(in[i]), buf, sizeof(buf)), strlen(out[i]));
        assert_string_equal(buf, out[i]);
    }
    /* the URL-safe alphabet: standard "+/8=" */
    const unsigned char x[] = {0xfb, 0xff};
    assert_int_equal(jn_b64url(x, 2, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "-_8");
    /* too small for the output and its NUL */
    assert_int_equal(jn_b64url("foobar", 6, buf, 9), 8);
    assert_int_equal(jn_b64url("foobar", 6, buf, 8), JN_ETOOBIG);
}

static void test_thumbprint_rfc7638(void **state)
{
    /* RFC 7638 section 3.1: the example RSA key's canonical JWK and thumbprint. */
    const char *jwk =
        "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhW"
        "x4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
        "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h"
        "ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-c"
        "sFCur-kEgU8awapJzKnqDKgw\"}";
    char t[JN_B64URL_32];
    assert_int_equal(jn_jws_thumbprint(jwk, t), 43);
    assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

static void test_jwk_of_a_fixed_key(void **state)
{
    EVP_PKEY *k = fixed_key();
    char jwk[256], t[JN_B64URL_32];
    assert_true(jn_jws_jwk(k, jwk, sizeof(jwk)) > 0);
    assert_string_equal(jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\","
                             "\"x\":\"RlUjXH9ylOysCVimifid_cSThATVigmULQQADRgwThI\","
                             "\"y\":\"JwpB5tvzqf9wtqKHebeC8rZ4Jzb2weT4K2AHjBvYcsw\"}");
    assert_int_equal(jn_jws_thumbprint(jwk, t), 43);
    assert_string_equal(t, "CjFKfp4ViFgbIUaqYbOapbF75ZX5DTC_3ybmN29ql-Y");
    assert_int_equal(jn_jws_jwk(k, jwk, 40), JN_ETOOBIG);
    EVP_PKEY_free(k);
    /* not a P-256 key */
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_int_equal(jn_jws_jwk(rsa, jwk, sizeof(jwk)), JN_EBADINPUT);
    EVP_PKEY_free(rsa);
}

static void test_sig_raw(void **state)
{
    unsigned char der[80], raw[64];
    /* r with its top bit set (DER adds a 00), s of 31 bytes (padded on the left). */
    size_t n = 0;
    der[n++] = 0x30;
    der[n++] = 2 + 33 + 2 + 31;
    der[n++] = 0x02, der[n++] = 33, der[n++] = 0x00;
    for (int i = 0; i < 32; i++)
        der[n++] = (unsigned char)(0x80 + i);
    der[n++] = 0x02, der[n++] = 31;
    for (int i = 0; i < 31; i++)
        der[n++] = (unsigned char)(1 + i);
    assert_int_equal(jn_jws_sig_raw(der, n, raw), 64);
    assert_int_equal(raw[0], 0x80);
    assert_int_equal(raw[31], 0x80 + 31);
    assert_int_equal(raw[32], 0x00);
    assert_int_equal(raw[33], 1);
    assert_int_equal(raw[63], 31);
    /* trailing garbage, truncation, an r of 33 significant bytes */
    der[n] = 0;
    assert_int_equal(jn_jws_sig_raw(der, n + 1, raw), JN_EBADINPUT);
    assert_int_equal(jn_jws_sig_raw(der, n - 1, raw), JN_EBADINPUT);
    der[4] = 0x01; /* 33 bytes: 01 80 81 ... */
    assert_int_equal(jn_jws_sig_raw(der, n, raw), JN_EBADINPUT);
    assert_int_equal(jn_jws_sig_raw((const unsigned char *)"junk", 4, raw), JN_EBADINPUT);
}

static size_t b64url_decode(const char *in, size_t len, unsigned char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = strchr(tab, in[i]);
        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* The value of "name":"..." in a flattened JWS. */
static const char *field(const char *jws, const char *name, size_t *len)
{
    char key[32];
    snprintf(key, sizeof(key), "\"%s\":\"", name);
    const char *p = strstr(jws, key);
    assert_non_null(p);
    p += strlen(key);
    *len = (size_t)(strchr(p, '"') - p);
    return p;
}

static void test_sign_verifies_with_openssl(void **state)
{
    EVP_PKEY *k = fixed_key();
    const char *prot = "{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"https://ca/x\"}";
    const char *payload = "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"shop.test\"}]}";
    for (int empty = 0; empty < 2; empty++) {
        char *jws = jn_jws_sign(k, prot, payload, empty ? 0 : strlen(payload));
        assert_non_null(jws);
        size_t pl, yl, sl;
        const char *p = field(jws, "protected", &pl), *y = field(jws, "payload", &yl);
        const char *s = field(jws, "signature", &sl);
        unsigned char dec[512];
        assert_int_equal(b64url_decode(p, pl, dec), strlen(prot));
        assert_memory_equal(dec, prot, strlen(prot));
        assert_int_equal(yl, empty ? 0 : 70); /* 52 bytes */
        unsigned char raw[64];
        assert_int_equal(sl, 86);
        assert_int_equal(b64url_decode(s, sl, raw), 64);
        /* signing input: B64(protected) "." B64(payload) */
        char input[1024];
        snprintf(input, sizeof(input), "%.*s.%.*s", (int)pl, p, (int)yl, y);
        ECDSA_SIG *sig = ECDSA_SIG_new();
        ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
        unsigned char *der = NULL;
        int dl = i2d_ECDSA_SIG(sig, &der);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
        assert_int_equal(
            EVP_DigestVerify(md, der, (size_t)dl, (unsigned char *)input, strlen(input)), 1);
        /* one bit changed in the input: refused */
        input[0] ^= 1;
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
        assert_int_not_equal(
            EVP_DigestVerify(md, der, (size_t)dl, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(md);
        OPENSSL_free(der);
        ECDSA_SIG_free(sig);
        free(jws);
    }
    EVP_PKEY_free(k);
}

static void test_csr(void **state)
{
    EVP_PKEY *k;
    assert_int_equal(jn_jws_key_new(&k), 0);
    unsigned char *der;
    int n = jn_jws_csr(k, "shop.test", &der);
    assert_true(n > 0);
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, n);
    assert_non_null(req);
    assert_int_equal(X509_REQ_verify(req, k), 1);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    GENERAL_NAMES *san = NULL;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts) && !san; i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
            san = X509V3_EXT_d2i(e);
    }
    assert_non_null(san);
    assert_int_equal(sk_GENERAL_NAME_num(san), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
    assert_int_equal(g->type, GEN_DNS);
    assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), "shop.test");
    GENERAL_NAMES_free(san);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    OPENSSL_free(der);
    /* the key PEM round-trips */
    char *pem = jn_jws_key_pem(k);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    free(pem);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_rfc4648),
        cmocka_unit_test(test_thumbprint_rfc7638),
        cmocka_unit_test(test_jwk_of_a_fixed_key),
        cmocka_unit_test(test_sig_raw),
        cmocka_unit_test(test_sign_verifies_with_openssl),
        cmocka_unit_test(test_csr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
