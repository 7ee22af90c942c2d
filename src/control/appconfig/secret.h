/*
 * secret.h: an app's secret config values, encrypted at rest (AES-256-GCM,
 * OpenSSL's EVP; the one user of OpenSSL's cipher API in the control plane).
 *
 * The key is 32 random bytes in STATE/secret.key (0600), made on first use.
 * A sealed value is text: "jn-secret:v1:" + base64(nonce[12] ciphertext
 * tag[16]), with the variable's name as additional data, so a sealed value
 * copied under another name does not open. The store holds sealed values
 * only; they are opened where an instance or a one-off process is started
 * and by `jern config get`.
 *
 * Returns follow core/common.h. Any thread (no shared state).
 */
#ifndef JN_CONTROL_APPCONFIG_SECRET_H
#define JN_CONTROL_APPCONFIG_SECRET_H

#include "core/common.h"

#define JN_SECRET_KEY_LEN 32
#define JN_SECRET_KEY_FILE "secret.key"
#define JN_SECRET_PREFIX "jn-secret:v1:"

/* Reads the key of state_dir into key; when create is set and the file does
 * not exist, makes it (0600, O_EXCL, fsync'd). Returns 0, JN_ENOTFOUND (no
 * key file and !create) or another negative code, with msg naming the file
 * and the fix. */
int jn_secret_key(const char *state_dir, bool create, unsigned char key[JN_SECRET_KEY_LEN],
                  char *msg, size_t msglen);

/* True when v is a sealed value (starts with JN_SECRET_PREFIX). */
bool jn_secret_is_sealed(const char *v);

/* Seals plain under name. Returns a new string (caller frees), or NULL when
 * OpenSSL fails (no randomness). */
char *jn_secret_seal(const unsigned char key[JN_SECRET_KEY_LEN], const char *name,
                     const char *plain);

/* Opens sealed (made for name). Returns 0 and *out (caller frees), or
 * JN_EBADINPUT: not a sealed value, corrupt, or sealed with another key or
 * under another name. */
int jn_secret_open(const unsigned char key[JN_SECRET_KEY_LEN], const char *name,
                   const char *sealed, char **out);

/* Seals again under key to every sealed string of the object vars (opened
 * with key from): a cluster's values move between its key and a node's
 * (docs/CLUSTER.md). Returns 0, or JN_EBADINPUT (a value does not open) /
 * JN_EBASE with msg naming the variable. */
struct cJSON;
int jn_secret_reseal(struct cJSON *vars, const unsigned char from[JN_SECRET_KEY_LEN],
                     const unsigned char to[JN_SECRET_KEY_LEN], char *msg, size_t msglen);

#endif
