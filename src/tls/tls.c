/*
 * tls.c: certificate sets (SSL_CTX) and TLS connections (SSL) over OpenSSL 3.
 *
 * I/O goes through a small BIO of ours (recv/send with MSG_NOSIGNAL on the
 * connection's socket) that remembers whether the last recv drained the
 * socket: with edge-triggered events the gateway may stop reading only when
 * the socket is drained and OpenSSL holds no buffered record (read_ahead is
 * on, so one recv takes as many records as fit).
 */
#include "tls/tls.h"

#include "net/sock.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

struct jn_tls_cert {
    _Atomic int refs;
    SSL_CTX *ctx;
    bool reject; /* no certificate: the handshake is refused unless SNI switches */
};

struct jn_tls_conn {
    SSL *ssl;
    int fd;
    struct jn_tls_cert *def; /* one reference */
    struct jn_tls_cert *cur; /* one reference (may equal def: then two) */
    jn_tls_sni_fn sni;
    void *sni_arg;
    bool drained;  /* the last recv found the socket empty or took all it had */
    bool done;     /* handshake finished */
    bool reneg;    /* the client started a renegotiation */
    bool offer_h2; /* ALPN: "h2" may be chosen on this connection */
    bool wpend;    /* OpenSSL holds a record a write could not send: retried first */
    /* jn_tls_seal: the BIO appends to seal[0..seal_cap) instead of sending */
    char *seal;
    size_t seal_len, seal_cap;
};

#define RECORD_MAX 16384

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, int len)
{
    struct jn_tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = jn_sock_recv(t->fd, buf, (size_t)len);
        if (n >= 0) {
            t->drained = n < len;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        t->drained = true;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
}

static int bio_write(BIO *b, const char *buf, int len)
{
    struct jn_tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->seal) {
        /* a record that does not fit stays OpenSSL's, as with a full socket */
        if ((size_t)len > t->seal_cap - t->seal_len) {
            BIO_set_retry_write(b);
            return -1;
        }
        memcpy(t->seal + t->seal_len, buf, (size_t)len);
        t->seal_len += (size_t)len;
        return len;
    }
    for (;;) {
        ssize_t n = jn_sock_send(t->fd, buf, (size_t)len);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_init_method(void)
{
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "jern socket");
    BIO_meth_set_read(bio_method, bio_read);
    BIO_meth_set_write(bio_method, bio_write);
    BIO_meth_set_ctrl(bio_method, bio_ctrl);
    BIO_meth_set_create(bio_method, bio_create);
}

void jn_tls_settings_default(struct jn_tls_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->protocols = JN_TLS_V12 | JN_TLS_V13;
    s->session_cache = false;
    s->session_cache_size = 0;
    s->session_timeout_s = 300;
    s->session_tickets = true;
}

static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];
    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        /* "error:0A00018F:SSL routines::ee key too small" -> the reason */
        const char *r = strrchr(buf, ':');
        snprintf(err, errlen, "%s: %s", what, r ? r + 1 : buf);
    } else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

static int version_of(unsigned bit)
{
    switch (bit) {
    case JN_TLS_V1:
        return TLS1_VERSION;
    case JN_TLS_V11:
        return TLS1_1_VERSION;
    case JN_TLS_V12:
        return TLS1_2_VERSION;
    default:
        return TLS1_3_VERSION;
    }
}

static int sni_cb(SSL *ssl, int *al, void *arg);
static void info_cb(const SSL *ssl, int where, int ret);

/* ALPN: h2 first where the listen address speaks it, then http/1.1; a client
 * offering neither gets no ALPN answer and speaks HTTP/1.1 as before. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
    (void)arg;
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char h1[] = "\x08http/1.1";
    const struct jn_tls_conn *t = SSL_get_app_data(ssl);
    const unsigned char *srv = t && t->offer_h2 ? both : h1;
    unsigned srvlen = t && t->offer_h2 ? sizeof(both) - 1 : sizeof(h1) - 1;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, srv, srvlen, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* A context with s applied and no certificate yet. */
static SSL_CTX *ctx_new(const struct jn_tls_settings *s, char *err, size_t errlen)
{
    struct jn_tls_settings def;
    if (!s) {
        jn_tls_settings_default(&def);
        s = &def;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    unsigned lo = 0, hi = 0;
    for (unsigned bit = JN_TLS_V1; bit <= JN_TLS_V13; bit <<= 1) {
        if (s->protocols & bit) {
            if (!lo)
                lo = bit;
            hi = bit;
        }
    }
    if (!lo) {
        snprintf(err, errlen, "no protocol enabled in \"ssl_protocols\"");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, version_of(lo));
    SSL_CTX_set_max_proto_version(ctx, version_of(hi));
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
    /* holes between the lowest and the highest version */
    if (!(s->protocols & JN_TLS_V11) && lo < JN_TLS_V11 && hi > JN_TLS_V11)
        opts |= SSL_OP_NO_TLSv1_1;
    if (!(s->protocols & JN_TLS_V12) && lo < JN_TLS_V12 && hi > JN_TLS_V12)
        opts |= SSL_OP_NO_TLSv1_2;
    if (s->prefer_server_ciphers)
        opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (!s->session_tickets)
        opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    const char *ciphers = s->ciphers ? s->ciphers : "HIGH:!aNULL:!MD5";
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        ssl_err(err, errlen, "invalid \"ssl_ciphers\"");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"jern", 4);
    if (s->session_cache) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        if (s->session_cache_size > 0)
            SSL_CTX_sess_set_cache_size(ctx, s->session_cache_size);
    } else {
        /* nginx's "none": session ids are given out, nothing is stored;
         * resumption is by tickets */
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    }
    SSL_CTX_set_timeout(ctx, s->session_timeout_s > 0 ? s->session_timeout_s : 300);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_info_callback(ctx, info_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    return ctx;
}

static struct jn_tls_cert *cert_wrap(SSL_CTX *ctx, bool reject)
{
    struct jn_tls_cert *c = jn_calloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    c->ctx = ctx;
    c->reject = reject;
    SSL_CTX_set_app_data(ctx, c);
    return c;
}

int jn_tls_cert_load(const char *const *paths, const char *const *keys, size_t n,
                     const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = ctx_new(s, err, errlen);
    if (!ctx)
        return JN_ECONFIG;
    char what[600];
    for (size_t i = 0; i < n; i++) {
        if (SSL_CTX_use_certificate_chain_file(ctx, paths[i]) != 1) {
            snprintf(what, sizeof(what), "cannot load certificate \"%s\"", paths[i]);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, keys[i], SSL_FILETYPE_PEM) != 1) {
            snprintf(what, sizeof(what), "cannot load certificate key \"%s\"", keys[i]);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(what, sizeof(what), "certificate key \"%s\" does not match \"%s\"", keys[i],
                     paths[i]);
            ERR_clear_error(); /* OpenSSL's reason ("no certificate assigned") misleads */
            goto fail;
        }
    }
    *out = cert_wrap(ctx, false);
    return 0;
fail:
    ssl_err(err, errlen, what);
    SSL_CTX_free(ctx);
    return JN_ECONFIG;
}

int jn_tls_cert_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                         const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = ctx_new(s, err, errlen);
    if (!ctx)
        return JN_ECONFIG;
    const char *what = "invalid certificate PEM";
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    X509 *leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1)
        goto fail;
    X509 *ca;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            goto fail;
        }
    }
    ERR_clear_error(); /* the end of the chain is reported as an error */
    BIO_free(b);
    b = BIO_new_mem_buf(key_pem, (int)key_len);
    what = "invalid key PEM";
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    if (!key)
        goto fail;
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    what = "the key does not match the certificate";
    if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    BIO_free(b);
    X509_free(leaf);
    *out = cert_wrap(ctx, false);
    return 0;
fail:
    ssl_err(err, errlen, what);
    BIO_free(b);
    X509_free(leaf);
    SSL_CTX_free(ctx);
    return JN_ECONFIG;
}

int jn_tls_cert_reject(const struct jn_tls_settings *s, struct jn_tls_cert **out, char *err,
                       size_t errlen)
{
    SSL_CTX *ctx = ctx_new(s, err, errlen);
    if (!ctx) {
        *out = NULL;
        return JN_ECONFIG;
    }
    *out = cert_wrap(ctx, true);
    return 0;
}

void jn_tls_cert_ref(struct jn_tls_cert *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void jn_tls_cert_unref(struct jn_tls_cert *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

/* SNI: the gateway picks the certificate set; a refusal is a fatal
 * unrecognized_name alert, as nginx's ssl_reject_handshake. */
static int sni_cb(SSL *ssl, int *al, void *arg)
{
    (void)arg;
    struct jn_tls_conn *t = SSL_get_app_data(ssl);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    char low[256];
    const char *key = NULL;
    if (name) {
        size_t n = strlen(name);
        if (n == 0 || n >= sizeof(low)) {
            *al = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        for (size_t i = 0; i <= n; i++)
            low[i] = (char)tolower((unsigned char)name[i]);
        if (low[n - 1] == '.')
            low[n - 1] = '\0';
        key = low;
    }
    struct jn_tls_cert *c = t->sni ? t->sni(t->sni_arg, key) : t->def;
    if (!c || c->reject) {
        *al = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (c != t->cur) {
        jn_tls_cert_ref(c);
        SSL_set_SSL_CTX(ssl, c->ctx);
        /* as nginx: the options of the server that SNI picked */
        SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(c->ctx));
        SSL_set_options(ssl, SSL_CTX_get_options(c->ctx));
        jn_tls_cert_unref(t->cur);
        t->cur = c;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* A ClientHello after the handshake (TLS <= 1.2) is a renegotiation: the
 * connection is closed at the next read, as nginx does. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_START))
        return;
    struct jn_tls_conn *t = SSL_get_app_data(ssl);
    if (t && t->done && SSL_version(ssl) < TLS1_3_VERSION)
        t->reneg = true;
}

struct jn_tls_conn *jn_tls_conn_new(struct jn_tls_cert *def, int fd, jn_tls_sni_fn sni, void *arg)
{
    pthread_once(&bio_once, bio_init_method);
    SSL *ssl = SSL_new(def->ctx);
    BIO *b = ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        SSL_free(ssl);
        return NULL;
    }
    struct jn_tls_conn *t = jn_calloc(1, sizeof(*t));
    t->ssl = ssl;
    t->fd = fd;
    t->sni = sni;
    t->sni_arg = arg;
    jn_tls_cert_ref(def);
    jn_tls_cert_ref(def);
    t->def = t->cur = def;
    BIO_set_data(b, t);
    SSL_set_bio(ssl, b, b);
    SSL_set_app_data(ssl, t);
    SSL_set_accept_state(ssl);
    return t;
}

void jn_tls_conn_offer_h2(struct jn_tls_conn *t)
{
    t->offer_h2 = true;
}

bool jn_tls_is_h2(const struct jn_tls_conn *t)
{
    const unsigned char *p;
    unsigned n;
    SSL_get0_alpn_selected(t->ssl, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
}

void jn_tls_conn_free(struct jn_tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    jn_tls_cert_unref(t->cur);
    jn_tls_cert_unref(t->def);
    free(t);
}

/* Maps a failed SSL call to the vocabulary. */
static int io_error(struct jn_tls_conn *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return JN_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return JN_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return errno ? -errno : JN_ECLOSED;
    default:
        ERR_clear_error();
        return JN_EBADINPUT;
    }
}

int jn_tls_handshake(struct jn_tls_conn *t)
{
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->done = true;
        return 1;
    }
    int e = io_error(t, rc);
    return e == 0 ? JN_ECLOSED : e;
}

ssize_t jn_tls_read(struct jn_tls_conn *t, void *buf, size_t len)
{
    if (t->reneg)
        return JN_EBADINPUT;
    size_t n;
    errno = 0;
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
        return t->reneg ? JN_EBADINPUT : (ssize_t)n;
    return t->reneg ? JN_EBADINPUT : io_error(t, 0);
}

ssize_t jn_tls_writev(struct jn_tls_conn *t, const struct iovec *iov, int cnt)
{
    char tmp[RECORD_MAX];
    size_t total = 0, off = 0; /* position: iov[i], off bytes in */
    int i = 0;
    while (i < cnt) {
        const char *p = (const char *)iov[i].iov_base + off;
        size_t len = iov[i].iov_len - off;
        if (len < RECORD_MAX && i + 1 < cnt) {
            /* small spans (a head, chunk-size lines) go out as one record */
            len = 0;
            size_t o = off;
            for (int k = i; k < cnt && len < RECORD_MAX; k++, o = 0) {
                size_t take = JN_MIN(iov[k].iov_len - o, RECORD_MAX - len);
                memcpy(tmp + len, (const char *)iov[k].iov_base + o, take);
                len += take;
            }
            p = tmp;
        }
        size_t n;
        errno = 0;
        if (SSL_write_ex(t->ssl, p, len, &n) != 1) {
            int e = io_error(t, 0);
            t->wpend = e == JN_TLS_WANT_WRITE || e == JN_TLS_WANT_READ;
            /* what was written counts; the same bytes lead the next call */
            if (total > 0 && (e == JN_TLS_WANT_WRITE || e == JN_TLS_WANT_READ))
                return (ssize_t)total;
            return e == 0 ? -EPIPE : e;
        }
        t->wpend = false;
        total += n;
        while (n > 0 && i < cnt) {
            size_t left = iov[i].iov_len - off;
            if (n < left) {
                off += n;
                n = 0;
            } else {
                n -= left;
                off = 0;
                i++;
            }
        }
        while (i < cnt && iov[i].iov_len == 0)
            i++;
    }
    return (ssize_t)total;
}

ssize_t jn_tls_seal(struct jn_tls_conn *t, const struct iovec *iov, int cnt, char *out, size_t cap,
                    size_t *outlen)
{
    *outlen = 0;
    if (!t->done || t->wpend || t->reneg || SSL_in_init(t->ssl))
        return 0;
    /* a write whose BIO fills out instead of the socket */
    t->seal = out;
    t->seal_len = 0;
    t->seal_cap = cap;
    ssize_t r = jn_tls_writev(t, iov, cnt);
    *outlen = t->seal_len;
    t->seal = NULL;
    return r == JN_TLS_WANT_WRITE || r == JN_TLS_WANT_READ ? 0 : r;
}

void jn_tls_shutdown(struct jn_tls_conn *t)
{
    if (t->done && !SSL_in_init(t->ssl)) {
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}

bool jn_tls_drained(const struct jn_tls_conn *t)
{
    return t->drained && !SSL_has_pending(t->ssl);
}

const char *jn_tls_protocol(const struct jn_tls_conn *t)
{
    return SSL_get_version(t->ssl);
}

const char *jn_tls_cipher(const struct jn_tls_conn *t)
{
    return SSL_get_cipher_name(t->ssl);
}

const char *jn_tls_server_name(const struct jn_tls_conn *t)
{
    const char *n = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    return n ? n : "";
}
