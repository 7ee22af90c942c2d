/* jn_tls_seal (tls/tls.h): records made ahead into a buffer, sent by the
 * caller, read by a real OpenSSL client as the connection's stream; a record
 * that does not fit stays OpenSSL's, and the next write sends it once. A
 * jern TLS connection on one end of a socket pair, an OpenSSL client on the
 * other, a certificate made at test time. */
#include "jn_test.h"

#include "tls/tls.h"
#include "tls/testcert.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

struct pair {
    int sv[2];
    struct jn_tls_cert *cert;
    struct jn_tls_conn *srv;
    SSL_CTX *cctx;
    SSL *cl;
};

/* Seals len bytes of buf (one span). */
static ssize_t seal(struct jn_tls_conn *t, const void *buf, size_t len, char *out, size_t cap,
                    size_t *outlen)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = len};
    return jn_tls_seal(t, &v, 1, out, cap, outlen);
}

/* Both ends non-blocking, the handshake driven from both sides in turn. */
static void open_pair(struct pair *p)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->sv), 0);
    p->cert = cert_for("seal.test", 1);
    p->srv = jn_tls_conn_new(p->cert, p->sv[0], NULL, NULL);
    assert_non_null(p->srv);
    p->cctx = SSL_CTX_new(TLS_client_method());
    p->cl = SSL_new(p->cctx);
    SSL_set_fd(p->cl, p->sv[1]);
    SSL_set_connect_state(p->cl);
    bool srv_done = false, cl_done = false;
    for (int i = 0; i < 1000 && !(srv_done && cl_done); i++) {
        if (!cl_done) {
            int r = SSL_do_handshake(p->cl);
            cl_done = r == 1;
            if (r != 1)
                assert_true(SSL_get_error(p->cl, r) == SSL_ERROR_WANT_READ);
        }
        if (!srv_done) {
            int r = jn_tls_handshake(p->srv);
            srv_done = r == 1;
            if (r != 1)
                assert_true(r == JN_TLS_WANT_READ || r == JN_TLS_WANT_WRITE);
        }
    }
    assert_true(srv_done && cl_done);
}

static void close_pair(struct pair *p)
{
    SSL_free(p->cl);
    SSL_CTX_free(p->cctx);
    jn_tls_conn_free(p->srv);
    jn_tls_cert_unref(p->cert);
    close(p->sv[0]);
    close(p->sv[1]);
}

/* What the client reads until want bytes came (session tickets and the
 * like are taken in passing). */
static size_t client_read(struct pair *p, char *out, size_t want)
{
    size_t got = 0;
    for (int i = 0; i < 1000 && got < want; i++) {
        size_t n;
        if (SSL_read_ex(p->cl, out + got, want - got, &n) == 1)
            got += n;
        else
            assert_int_equal(SSL_get_error(p->cl, 0), SSL_ERROR_WANT_READ);
    }
    return got;
}

static void send_all(int fd, const char *buf, size_t len)
{
    assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
}

static void test_sealed_records_are_the_streams_own(void **state)
{
    (void)state;
    struct pair p;
    open_pair(&p);
    static char out[16384], got[256];
    size_t len;

    /* records made now, sent later by the caller, read in order */
    assert_int_equal(seal(p.srv, "hello ", 6, out, sizeof(out), &len), 6);
    assert_true(len > 6 && len < 6 + 64); /* a header, the tag, the type: not the plaintext */
    assert_null(memmem(out, len, "hello", 5));
    send_all(p.sv[0], out, len);
    /* an ordinary write behind them */
    struct iovec v = {.iov_base = "world", .iov_len = 5};
    assert_int_equal(jn_tls_writev(p.srv, &v, 1), 5);
    assert_int_equal(client_read(&p, got, 11), 11);
    assert_memory_equal(got, "hello world", 11);

    /* a record that does not fit stays OpenSSL's: no seal until a write
     * has sent it, and then it arrives once */
    char big[100];
    memset(big, 'x', sizeof(big));
    assert_int_equal(seal(p.srv, big, sizeof(big), out, 10, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(seal(p.srv, big, sizeof(big), out, sizeof(out), &len), 0);
    assert_int_equal(len, 0);
    v = (struct iovec){.iov_base = big, .iov_len = sizeof(big)};
    assert_int_equal(jn_tls_writev(p.srv, &v, 1), (ssize_t)sizeof(big));
    assert_int_equal(seal(p.srv, "!", 1, out, sizeof(out), &len), 1);
    send_all(p.sv[0], out, len);
    assert_int_equal(client_read(&p, got, sizeof(big) + 1), sizeof(big) + 1);
    assert_memory_equal(got, big, sizeof(big));
    assert_int_equal(got[sizeof(big)], '!');
    char extra;
    assert_int_equal(recv(p.sv[1], &extra, 1, MSG_DONTWAIT), -1); /* nothing twice */
    close_pair(&p);
}

static void test_no_seal_before_the_handshake(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct jn_tls_cert *cert = cert_for("seal.test", 1);
    struct jn_tls_conn *t = jn_tls_conn_new(cert, sv[0], NULL, NULL);
    char out[256];
    size_t len = 99;
    assert_int_equal(seal(t, "x", 1, out, sizeof(out), &len), 0);
    assert_int_equal(len, 0);
    jn_tls_conn_free(t);
    jn_tls_cert_unref(cert);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_records_are_the_streams_own),
        cmocka_unit_test(test_no_seal_before_the_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
