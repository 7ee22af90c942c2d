/*
 * secret.c: sealing and opening secret config values (secret.h).
 */
#include "core/common.h"

#include "control/appconfig/secret.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE_LEN 12
#define TAG_LEN 16

static int read_key(int fd, const char *path, unsigned char *key, char *msg, size_t msglen)
{
    unsigned char buf[JN_SECRET_KEY_LEN + 1];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, msglen, "secret key %s: %s", path, strerror(errno));
            return -errno;
        }
        got += (size_t)n;
    }
    if (got != JN_SECRET_KEY_LEN) {
        snprintf(msg, msglen,
                 "secret key %s: %zu bytes instead of %d (damaged: restore it from a backup; "
                 "without it the secrets of the state cannot be read)",
                 path, got, JN_SECRET_KEY_LEN);
        explicit_bzero(buf, sizeof(buf));
        return JN_EBADINPUT;
    }
    memcpy(key, buf, JN_SECRET_KEY_LEN);
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

static int make_key(const char *path, unsigned char *key, char *msg, size_t msglen)
{
    unsigned char k[JN_SECRET_KEY_LEN];
    if (RAND_bytes(k, sizeof(k)) != 1) {
        snprintf(msg, msglen, "secret key: no randomness from OpenSSL");
        return JN_EBASE;
    }
    /* A temporary name, then a link: a reader never sees a short key, and of
     * two daemons racing the first link wins and the second reads it. */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int r = 0;
    if (fd < 0 || write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) || fsync(fd) < 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
    if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
        r = -errno;
    unlink(tmp);
    explicit_bzero(k, sizeof(k));
    if (r < 0) {
        snprintf(msg, msglen, "secret key %s: cannot create it: %s", path, strerror(-r));
        return r;
    }
    /* Whoever won the race, the file is the key. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msglen, "secret key %s: %s", path, strerror(errno));
        return -errno;
    }
    r = read_key(fd, path, key, msg, msglen);
    close(fd);
    return r;
}

int jn_secret_key(const char *state_dir, bool create, unsigned char key[JN_SECRET_KEY_LEN],
                  char *msg, size_t msglen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/" JN_SECRET_KEY_FILE, state_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create)
            return make_key(path, key, msg, msglen);
        snprintf(msg, msglen,
                 "secret key %s is missing: the secrets of this state cannot be read "
                 "(restore the file, or set them again with jern config set --secret)",
                 path);
        return JN_ENOTFOUND;
    }
    if (fd < 0) {
        snprintf(msg, msglen, "secret key %s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        (void)fchmod(fd, 0600); /* copied in with a loose mode: tighten it */
    int r = read_key(fd, path, key, msg, msglen);
    close(fd);
    return r;
}

bool jn_secret_is_sealed(const char *v)
{
    return v && strncmp(v, JN_SECRET_PREFIX, sizeof(JN_SECRET_PREFIX) - 1) == 0;
}

char *jn_secret_seal(const unsigned char key[JN_SECRET_KEY_LEN], const char *name,
                     const char *plain)
{
    size_t n = strlen(plain);
    size_t raw_len = NONCE_LEN + n + TAG_LEN;
    unsigned char *raw = jn_malloc(raw_len);
    char *out = NULL;
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    bool ok = ctx && RAND_bytes(raw, NONCE_LEN) == 1 &&
              EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) == 1 &&
              EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)name, (int)strlen(name)) ==
                  1 &&
              EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &len, (const unsigned char *)plain,
                                (int)n) == 1 &&
              EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + len, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (ok) {
        size_t plen = sizeof(JN_SECRET_PREFIX) - 1;
        out = jn_malloc(plen + 4 * ((raw_len + 2) / 3) + 1);
        memcpy(out, JN_SECRET_PREFIX, plen);
        EVP_EncodeBlock((unsigned char *)out + plen, raw, (int)raw_len);
    }
    explicit_bzero(raw, raw_len);
    free(raw);
    return out;
}

int jn_secret_open(const unsigned char key[JN_SECRET_KEY_LEN], const char *name,
                   const char *sealed, char **out)
{
    *out = NULL;
    if (!jn_secret_is_sealed(sealed))
        return JN_EBADINPUT;
    const char *b64 = sealed + sizeof(JN_SECRET_PREFIX) - 1;
    size_t blen = strlen(b64);
    if (blen % 4 != 0 || blen < 4 * ((NONCE_LEN + TAG_LEN + 2) / 3))
        return JN_EBADINPUT;
    unsigned char *raw = jn_malloc(blen / 4 * 3 + 1);
    int rlen = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen);
    /* EVP_DecodeBlock counts the padding's zero bytes in. */
    if (rlen > 0 && b64[blen - 1] == '=')
        rlen -= b64[blen - 2] == '=' ? 2 : 1;
    if (rlen < NONCE_LEN + TAG_LEN) {
        free(raw);
        return JN_EBADINPUT;
    }
    size_t n = (size_t)rlen - NONCE_LEN - TAG_LEN;
    char *plain = jn_malloc(n + 1);
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) == 1 &&
              EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)name, (int)strlen(name)) ==
                  1 &&
              EVP_DecryptUpdate(ctx, (unsigned char *)plain, &len, raw + NONCE_LEN, (int)n) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + n) == 1 &&
              EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + len, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    if (!ok || memchr(plain, '\0', n)) {
        explicit_bzero(plain, n + 1);
        free(plain);
        return JN_EBADINPUT;
    }
    plain[n] = '\0';
    *out = plain;
    return 0;
}

int jn_secret_reseal(cJSON *vars, const unsigned char from[JN_SECRET_KEY_LEN],
                     const unsigned char to[JN_SECRET_KEY_LEN], char *msg, size_t msglen)
{
    for (cJSON *e = vars ? vars->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e) || !jn_secret_is_sealed(e->valuestring))
            continue;
        char *plain, *sealed;
        if (jn_secret_open(from, e->string, e->valuestring, &plain) < 0) {
            snprintf(msg, msglen,
                     "secret %s does not open with the key it was sealed with (was the key "
                     "replaced?): set it again with jern config set --secret",
                     e->string);
            return JN_EBADINPUT;
        }
        sealed = jn_secret_seal(to, e->string, plain);
        explicit_bzero(plain, strlen(plain));
        free(plain);
        if (!sealed) {
            snprintf(msg, msglen, "cannot encrypt %s: OpenSSL failed", e->string);
            return JN_EBASE;
        }
        cJSON_SetValuestring(e, sealed);
        free(sealed);
    }
    return 0;
}
