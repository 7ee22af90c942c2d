/*
 * certfile.c: PEM inspection and the 0600 files of certificates and keys.
 */
#include "core/common.h"

#include "acme/certfile.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_MAX (1 << 20)

static int64_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void key_type(EVP_PKEY *k, char *out, size_t cap)
{
    char group[64];
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ==
            1)
        snprintf(out, cap, "ECDSA %.20s", strcmp(group, "prime256v1") == 0 ? "P-256" : group);
    else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
        snprintf(out, cap, "RSA %d", EVP_PKEY_get_bits(k));
    else
        snprintf(out, cap, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
}

int jn_cert_inspect(const char *chain, size_t chain_len, const char *key, size_t key_len,
                    const char *domain, struct jn_cert_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int rc = JN_EBADINPUT;
    BIO *b = BIO_new_mem_buf(chain, (int)chain_len);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    EVP_PKEY *pk = NULL;
    if (!leaf) {
        snprintf(err, errlen, "the certificate is not a PEM certificate");
        goto out;
    }
    X509_NAME_oneline(X509_get_subject_name(leaf), out->subject, sizeof(out->subject));
    X509_NAME_oneline(X509_get_issuer_name(leaf), out->issuer, sizeof(out->issuer));
    BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    char *hex = sn ? BN_bn2hex(sn) : NULL;
    snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(sn);
    out->not_before = asn1_time(X509_get0_notBefore(leaf));
    out->not_after = asn1_time(X509_get0_notAfter(leaf));
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    if (pub)
        key_type(pub, out->key_type, sizeof(out->key_type));
    if (domain && X509_check_host(leaf, domain, strlen(domain), 0, NULL) != 1) {
        snprintf(err, errlen, "the certificate does not cover %s (its subject: %s)", domain,
                 out->subject);
        goto out;
    }
    if (key) {
        BIO *kb = BIO_new_mem_buf(key, (int)key_len);
        pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
        BIO_free(kb);
        if (!pk) {
            snprintf(err, errlen,
                     "the key is not a PEM private key (an encrypted key is not "
                     "supported: decrypt it with openssl pkey)");
            goto out;
        }
        if (X509_check_private_key(leaf, pk) != 1) {
            snprintf(err, errlen, "the key does not belong to the certificate");
            goto out;
        }
    }
    rc = 0;
out:
    ERR_clear_error();
    EVP_PKEY_free(pk);
    X509_free(leaf);
    return rc;
}

int jn_cert_write_file(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno != EINTR)
            rc = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

ssize_t jn_cert_read_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    char *buf = jn_malloc(FILE_MAX + 1);
    size_t n = fread(buf, 1, FILE_MAX + 1, f);
    fclose(f);
    if (n > FILE_MAX) {
        free(buf);
        return JN_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    return (ssize_t)n;
}
