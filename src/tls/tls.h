/*
 * tls.h: TLS termination for the gateway, over OpenSSL 3. This module (tls.c,
 * tls_ctx.c) is the only user of <openssl/ssl.h> on the data path; the rest of
 * the gateway sees opaque objects and the functions below.
 *
 * Objects, all refcounted (atomic: any thread may ref/unref):
 *   struct jn_tls_cert  one host's certificate set: an SSL_CTX holding one or
 *                       more (chain, key) pairs (RSA and ECDSA side by side:
 *                       OpenSSL picks by the client's signature algorithms),
 *                       with the ssl_* settings of its server block.
 *   struct jn_tls_conn  one client connection's TLS state (an SSL object).
 *
 * A snapshot holds its certificates (server blocks' and the daemon's app
 * hosts'); a connection takes a reference to the certificate it shook hands
 * with, so a reload or a renewed certificate never changes a connection in
 * flight: the old SSL_CTX is freed when its last connection closes.
 *
 * Session resumption: the session cache and the ticket keys live in the
 * SSL_CTX, which every worker thread shares, so a session made on one worker
 * resumes on any other. A reload builds new contexts (new ticket keys), as an
 * nginx reload without ssl_session_ticket_key does.
 */
#ifndef JN_TLS_TLS_H
#define JN_TLS_TLS_H

#include "core/common.h"

#include <sys/uio.h>

struct jn_tls_cert;
struct jn_tls_conn;

/* The ssl_* settings of one server block (nginx's semantics and defaults). */
struct jn_tls_settings {
    unsigned protocols;  /* JN_TLS_V1..V13 bits; default TLSv1.2 | TLSv1.3 */
    const char *ciphers; /* ssl_ciphers (TLS <= 1.2); NULL: "HIGH:!aNULL:!MD5" */
    bool prefer_server_ciphers;
    bool session_cache;      /* ssl_session_cache builtin/shared: server-side cache on */
    long session_cache_size; /* entries (builtin:N; shared:NAME:SIZE as SIZE/256) */
    long session_timeout_s;  /* ssl_session_timeout; default 300 */
    bool session_tickets;    /* ssl_session_tickets; default on */
};

#define JN_TLS_V1 0x1u
#define JN_TLS_V11 0x2u
#define JN_TLS_V12 0x4u
#define JN_TLS_V13 0x8u

/* Default settings (nginx's). */
void jn_tls_settings_default(struct jn_tls_settings *s);

/* Builds a certificate set from PEM files: paths[i] holds a certificate chain,
 * keys[i] its private key (the same file may hold both). n >= 1 pairs; a pair
 * of a key type already loaded replaces it. s may be NULL (defaults). Returns
 * 0 and *out (one reference), or JN_ECONFIG with "what: why" in err (file
 * unreadable, key does not match the certificate...). Control thread;
 * reads files (blocking): never on a worker. */
int jn_tls_cert_load(const char *const *paths, const char *const *keys, size_t n,
                     const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                     size_t errlen);

/* As jn_tls_cert_load for one pair given as PEM text in memory (for the
 * daemon: certificates issued by ACME or stored in the state dir). */
int jn_tls_cert_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                         const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                         size_t errlen);

/* A certificate-less context that refuses every handshake with an
 * unrecognized_name alert unless SNI switches to a certificate
 * (ssl_reject_handshake on, or the daemon's HTTPS listener). */
int jn_tls_cert_reject(const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                       size_t errlen);

void jn_tls_cert_ref(struct jn_tls_cert *c);
void jn_tls_cert_unref(struct jn_tls_cert *c);

/* The SNI decision, made on the worker thread during the handshake: given the
 * name the client sent (NULL: none; lower-cased), returns the certificate set
 * to use (borrowed; must stay alive for the handshake: the snapshot the
 * connection holds keeps it), or NULL to refuse with an unrecognized_name
 * alert. */
typedef struct jn_tls_cert *(*jn_tls_sni_fn)(void *arg, const char *name);

/* Starts the server side of a handshake on fd with def as the first context
 * (the listen address's default server). sni(arg, name) is called once, during
 * the handshake. Returns NULL on allocation failure. Worker thread. */
struct jn_tls_conn *jn_tls_conn_new(struct jn_tls_cert *def, int fd, jn_tls_sni_fn sni, void *arg);
/* Frees the SSL object and drops the certificate reference(s). No I/O. */
void jn_tls_conn_free(struct jn_tls_conn *t);

/* ALPN: lets the client choose "h2" on t (before the handshake). */
void jn_tls_conn_offer_h2(struct jn_tls_conn *t);
/* After the handshake: the client and jern agreed on "h2". */
bool jn_tls_is_h2(const struct jn_tls_conn *t);

/* Results of the I/O calls below, beside bytes (> 0): */
#define JN_TLS_WANT_READ (-EAGAIN) /* wait for the socket to be readable */
#define JN_TLS_WANT_WRITE (-EBUSY) /* wait for it to be writable */

/* Advances the handshake. Returns 1 when done, JN_TLS_WANT_READ/WRITE, or a
 * negative code (JN_EBADINPUT: not TLS, an unsupported version, refused by
 * SNI, ...; -errno) after which the connection must be closed. */
int jn_tls_handshake(struct jn_tls_conn *t);
/* Reads plaintext: bytes, 0 at a clean close_notify or EOF, WANT_READ/WRITE,
 * or a negative code (renegotiation attempt, bad record, -errno). */
ssize_t jn_tls_read(struct jn_tls_conn *t, void *buf, size_t len);
/* Writes iov as far as the socket takes it: small spans are gathered into
 * records of up to 16 KiB, a large one goes out as it is. Returns the bytes
 * taken (all of them unless the socket filled up), WANT_WRITE/READ when
 * nothing could be written, or a negative code. After a short write or a
 * WANT_*, the next call must start with the bytes not taken (they may have
 * grown behind), as OpenSSL retries its pending record. */
ssize_t jn_tls_writev(struct jn_tls_conn *t, const struct iovec *iov, int cnt);
/* jn_tls_writev into out[0..cap) instead of the socket: the records are
 * made now, for a send made elsewhere (the gateway's batched sends). They
 * are part of the connection's stream from here on: the caller must send
 * out[0..*outlen) before anything else is written. Returns the plaintext
 * bytes taken (0 when none can be now: the handshake is not done, or a
 * record of an earlier write is pending; *outlen may still be > 0 with
 * bytes to send) or a negative code after which the connection must be
 * closed. A record that does not fit in out is kept, as with a full socket,
 * and the next write sends it. */
ssize_t jn_tls_seal(struct jn_tls_conn *t, const struct iovec *iov, int cnt, char *out, size_t cap,
                    size_t *outlen);
/* Sends close_notify (best effort, non-blocking). */
void jn_tls_shutdown(struct jn_tls_conn *t);
/* True when the last socket read left nothing behind and OpenSSL buffers no
 * record: with edge-triggered events, reading may stop until the next one. */
bool jn_tls_drained(const struct jn_tls_conn *t);

/* Variables: "TLSv1.3", "TLS_AES_128_GCM_SHA256", the SNI name ("" when none). */
const char *jn_tls_protocol(const struct jn_tls_conn *t);
const char *jn_tls_cipher(const struct jn_tls_conn *t);
const char *jn_tls_server_name(const struct jn_tls_conn *t);

#endif
