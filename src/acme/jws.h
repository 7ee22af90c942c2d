/*
 * jws.h: the cryptography of ACME (RFC 8555 with RFC 7515/7517/7638):
 * base64url, ECDSA P-256 keys, the JWK and its thumbprint, ES256 JWS in the
 * flattened JSON form, and the CSR for a domain. OpenSSL 3; no I/O except
 * the key load/save helpers. Any thread (nothing shared).
 */
#ifndef JN_ACME_JWS_H
#define JN_ACME_JWS_H

#include "core/common.h"

#include <openssl/evp.h>

/* Length of the base64url (no padding) of a 32-byte value, plus NUL. */
#define JN_B64URL_32 44

/* Writes the base64url of in[0..len) without padding and a NUL into out.
 * Returns the length written (without the NUL), or JN_ETOOBIG when cap is too
 * small. Pure. */
ssize_t jn_b64url(const void *in, size_t len, char *out, size_t cap);

/* Converts an ECDSA-Sig-Value (DER, as OpenSSL signs) into the 64-byte
 * r || s that JWS ES256 wants (RFC 7518 3.4). Returns 64, or JN_EBADINPUT
 * (not DER, or r/s longer than 32 bytes). Pure. */
int jn_jws_sig_raw(const unsigned char *der, size_t len, unsigned char out[64]);

/* A new ECDSA P-256 key (*out; EVP_PKEY_free). Returns 0 or JN_EBASE. */
int jn_jws_key_new(EVP_PKEY **out);

/* Reads a PEM private key that must be ECDSA P-256. Returns 0, -errno,
 * or JN_EBADINPUT (not a P-256 key). */
int jn_jws_key_load(const char *path, EVP_PKEY **out);

/* The private key as PEM (PKCS#8), a new string (free), or NULL. */
char *jn_jws_key_pem(EVP_PKEY *key);

/* The public JWK of a P-256 key with its members in the order RFC 7638
 * hashes them: {"crv":"P-256","kty":"EC","x":"...","y":"..."}. Returns the
 * length, or JN_ETOOBIG / JN_EBADINPUT (not a P-256 key). */
int jn_jws_jwk(EVP_PKEY *key, char *out, size_t cap);

/* The RFC 7638 thumbprint: base64url(SHA-256(jwk)) of the text jn_jws_jwk
 * wrote. Returns 43 or JN_EBASE. Pure. */
int jn_jws_thumbprint(const char *jwk, char out[JN_B64URL_32]);

/* Signs with ES256 and returns the flattened JWS
 * {"protected":B64(protected_json),"payload":B64(payload),"signature":B64(r||s)}
 * as a new string (free), or NULL on failure. An empty payload (len 0) is
 * ACME's POST-as-GET. */
char *jn_jws_sign(EVP_PKEY *key, const char *protected_json, const void *payload, size_t len);

/* A DER certificate signing request for domain (CN and one DNS SAN), signed
 * with key (SHA-256). *der is freed with OPENSSL_free. Returns the length or
 * JN_EBASE. */
int jn_jws_csr(EVP_PKEY *key, const char *domain, unsigned char **der);

#endif
