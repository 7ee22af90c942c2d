/*
 * jws.c: ES256 JWS, JWK and CSR for the ACME client (OpenSSL 3).
 */
#include "core/common.h"

#include "acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

ssize_t jn_b64url(const void *in, size_t len, char *out, size_t cap)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = in;
    size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    if (need + 1 > cap)
        return JN_ETOOBIG;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return (ssize_t)o;
}

int jn_jws_sig_raw(const unsigned char *der, size_t len, unsigned char out[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (!sig)
        return JN_EBADINPUT;
    int rc = JN_EBADINPUT;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    if (p == der + len && BN_num_bytes(r) <= 32 && BN_num_bytes(s) <= 32 &&
        BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32)
        rc = 64;
    ECDSA_SIG_free(sig);
    return rc;
}

int jn_jws_key_new(EVP_PKEY **out)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return *out ? 0 : JN_EBASE;
}

static bool is_p256(EVP_PKEY *key)
{
    char group[32];
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          NULL) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

int jn_jws_key_load(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k || !is_p256(k)) {
        EVP_PKEY_free(k);
        return JN_EBADINPUT;
    }
    *out = k;
    return 0;
}

char *jn_jws_key_pem(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = jn_malloc((size_t)n + 1);
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(b);
    return out;
}

int jn_jws_jwk(EVP_PKEY *key, char *out, size_t cap)
{
    unsigned char pub[65];
    size_t n = 0;
    if (!is_p256(key) ||
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n) != 1)
        return JN_EBADINPUT;
    if (n != 65 || pub[0] != 0x04) { /* uncompressed point: 04 || X || Y */
        EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       "uncompressed");
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n) !=
                1 ||
            n != 65 || pub[0] != 0x04)
            return JN_EBADINPUT;
    }
    char x[JN_B64URL_32], y[JN_B64URL_32];
    jn_b64url(pub + 1, 32, x, sizeof(x));
    jn_b64url(pub + 33, 32, y, sizeof(y));
    int len =
        snprintf(out, cap, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    return len < 0 || (size_t)len >= cap ? JN_ETOOBIG : len;
}

int jn_jws_thumbprint(const char *jwk, char out[JN_B64URL_32])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(jwk, strlen(jwk), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return JN_EBASE;
    return (int)jn_b64url(md, 32, out, JN_B64URL_32);
}

char *jn_jws_sign(EVP_PKEY *key, const char *protected_json, const void *payload, size_t len)
{
    size_t plen = strlen(protected_json);
    size_t cap = (plen + len) / 3 * 4 + 256;
    char *signing = jn_malloc(cap); /* B64(protected) "." B64(payload) */
    ssize_t a = jn_b64url(protected_json, plen, signing, cap);
    signing[a] = '.';
    ssize_t b = jn_b64url(payload, len, signing + a + 1, cap - (size_t)a - 1);
    size_t slen = (size_t)a + 1 + (size_t)b;
    unsigned char der[80], raw[64];
    size_t dlen = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestSign(md, der, &dlen, (unsigned char *)signing, slen) == 1 &&
              jn_jws_sig_raw(der, dlen, raw) == 64;
    EVP_MD_CTX_free(md);
    char *out = NULL;
    if (ok) {
        char sig[96];
        jn_b64url(raw, sizeof(raw), sig, sizeof(sig));
        size_t olen = slen + sizeof(sig) + 64;
        out = jn_malloc(olen);
        snprintf(out, olen, "{\"protected\":\"%.*s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
                 (int)a, signing, signing + a + 1, sig);
    }
    free(signing);
    return out;
}

int jn_jws_csr(EVP_PKEY *key, const char *domain, unsigned char **der)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    char san[300];
    snprintf(san, sizeof(san), "DNS:%s", domain);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    int len = JN_EBASE;
    if (req && name && exts && ext && X509_REQ_set_version(req, 0) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)domain, -1, -1,
                                   0) == 1 &&
        X509_REQ_set_subject_name(req, name) == 1 && X509_REQ_set_pubkey(req, key) == 1 &&
        sk_X509_EXTENSION_push(exts, ext) > 0) {
        ext = NULL; /* owned by exts now */
        if (X509_REQ_add_extensions(req, exts) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0) {
            *der = NULL;
            int n = i2d_X509_REQ(req, der);
            len = n > 0 ? n : JN_EBASE;
        }
    }
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return len;
}
