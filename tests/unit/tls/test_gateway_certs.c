/* The certificate interface for the daemon (jn_gateway_set_cert and
 * tls/tls.h) in-process: a real gateway with an HTTPS listener shaped like
 * `jern serve`'s (no certificate of its own, ssl_reject_handshake on), keys
 * and certificates made with OpenSSL at test time, an OpenSSL client. */
#include "jn_test.h"

#include "config/conf.h"
#include "ev/loop.h"
#include "gateway/gateway.h"
#include "net/sock.h"
#include "tls/tls.h"
#include "tls/testcert.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client TLS connection with SNI name; NULL when the handshake fails. */
struct client {
    int fd;
    SSL *ssl;
};

static bool client_open(struct client *cl, SSL_CTX *ctx, int port, const char *name)
{
    cl->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cl->ssl = SSL_new(ctx);
    SSL_set_fd(cl->ssl, cl->fd);
    SSL_set_tlsext_host_name(cl->ssl, name);
    if (SSL_connect(cl->ssl) != 1) {
        ERR_clear_error();
        SSL_free(cl->ssl);
        close(cl->fd);
        return false;
    }
    return true;
}

static void client_close(struct client *cl)
{
    SSL_free(cl->ssl);
    close(cl->fd);
}

static long peer_serial(struct client *cl)
{
    X509 *x = SSL_get1_peer_certificate(cl->ssl);
    long s = ASN1_INTEGER_get(X509_get_serialNumber(x));
    X509_free(x);
    return s;
}

/* One keep-alive request on cl; returns the status (-1 on failure). */
static int client_get(struct client *cl, const char *host)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    if (SSL_write(cl->ssl, req, n) != n)
        return -1;
    char buf[2048];
    int got = 0, r;
    while ((r = SSL_read(cl->ssl, buf + got, (int)sizeof(buf) - 1 - got)) > 0) {
        got += r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl_hdr = strstr(buf, "Content-Length: ");
        if (end && cl_hdr && got >= (end + 4 - buf) + atoi(cl_hdr + 16))
            break;
    }
    int status = -1;
    if (got > 0)
        sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}

static void test_certificates_by_host_name_swap_without_dropping(void **state)
{
    (void)state;
    const char *text =
        "events {} http { server { listen 127.0.0.1:0 ssl; ssl_reject_handshake on;\n"
        " access_log off; location / { return 200 \"ok\"; } } }\n";
    struct jn_conf *conf;
    char err[512];
    assert_int_equal(jn_conf_load_string("certs.conf", text, strlen(text), &conf, err, sizeof(err)),
                     0);
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    struct jn_gateway *g;
    assert_int_equal(jn_gateway_start(loop, conf, &g, err, sizeof(err)), 0);
    int port = jn_gateway_listen_port(g, 0);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    struct client a, b;

    /* no certificate for the name: the handshake is refused */
    assert_false(client_open(&a, cctx, port, "shop.test"));

    struct jn_tls_cert *c1 = cert_for("shop.test", 1);
    assert_int_equal(jn_gateway_set_cert(g, "Shop.Test", c1), 0);
    jn_tls_cert_unref(c1); /* the gateway holds its own reference */
    usleep(20000);
    assert_true(client_open(&a, cctx, port, "shop.test"));
    assert_int_equal(peer_serial(&a), 1);
    assert_int_equal(client_get(&a, "shop.test"), 200);
    assert_false(client_open(&b, cctx, port, "other.test"));

    /* renewal: new handshakes get the new certificate, the open connection
     * keeps working on the old one */
    struct jn_tls_cert *c2 = cert_for("shop.test", 2);
    assert_int_equal(jn_gateway_set_cert(g, "shop.test", c2), 0);
    assert_int_equal(jn_gateway_set_cert(g, "bad host", c2), JN_EBADINPUT);
    jn_tls_cert_unref(c2);
    usleep(20000);
    assert_true(client_open(&b, cctx, port, "shop.test"));
    assert_int_equal(peer_serial(&b), 2);
    assert_int_equal(client_get(&b, "shop.test"), 200);
    assert_int_equal(client_get(&a, "shop.test"), 200);
    client_close(&b);

    /* a reload (HUP) keeps the certificates the control plane attached */
    struct jn_conf *conf2;
    assert_int_equal(
        jn_conf_load_string("certs.conf", text, strlen(text), &conf2, err, sizeof(err)), 0);
    assert_int_equal(jn_gateway_reload(g, conf2, err, sizeof(err)), 0);
    usleep(20000);
    assert_true(client_open(&b, cctx, port, "shop.test"));
    assert_int_equal(peer_serial(&b), 2);
    client_close(&b);

    assert_int_equal(jn_gateway_remove_cert(g, "shop.test"), 0);
    assert_int_equal(jn_gateway_remove_cert(g, "shop.test"), JN_ENOTFOUND);
    usleep(20000);
    assert_false(client_open(&b, cctx, port, "shop.test"));
    assert_int_equal(client_get(&a, "shop.test"), 200); /* still on its context */
    client_close(&a);

    SSL_CTX_free(cctx);
    jn_gateway_free(g);
    jn_loop_free(loop);
}

static void test_bad_pem_is_a_clear_error(void **state)
{
    (void)state;
    char *c1, *k1, *c2, *k2, err[256];
    size_t cl1, kl1, cl2, kl2;
    make_pem("a.test", 1, &c1, &cl1, &k1, &kl1);
    make_pem("b.test", 2, &c2, &cl2, &k2, &kl2);
    struct jn_tls_cert *cert = NULL;
    assert_int_equal(jn_tls_cert_from_pem(c1, cl1, k2, kl2, NULL, &cert, err, sizeof(err)),
                     JN_ECONFIG);
    assert_null(cert);
    assert_non_null(strstr(err, "the key does not match the certificate"));
    assert_int_equal(jn_tls_cert_from_pem("garbage", 7, k1, kl1, NULL, &cert, err, sizeof(err)),
                     JN_ECONFIG);
    assert_non_null(strstr(err, "invalid certificate PEM"));
    assert_int_equal(jn_tls_cert_from_pem(c1, cl1, "", 0, NULL, &cert, err, sizeof(err)),
                     JN_ECONFIG);
    assert_non_null(strstr(err, "invalid key PEM"));
    const char *none = "/nonexistent/cert.pem";
    assert_int_equal(jn_tls_cert_load(&none, &none, 1, NULL, &cert, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "cannot load certificate \"/nonexistent/cert.pem\""));
    free(c1);
    free(k1);
    free(c2);
    free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificates_by_host_name_swap_without_dropping),
        cmocka_unit_test(test_bad_pem_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
