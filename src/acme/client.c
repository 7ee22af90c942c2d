/*
 * client.c: the ACME protocol (RFC 8555 section 7): directory, nonce,
 * account, order, authorizations with HTTP-01, finalize, download.
 * Every request after the directory is a JWS POST signed with the account
 * key (POST-as-GET for reads); each answer carries the next nonce.
 */
#include "core/common.h"

#include "acme/client.h"
#include "acme/jws.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define BODY_MAX (1u << 20)
#define POLL_MS 500

struct resp {
    long status;
    char *body;
    size_t len;
    bool toobig;
    char nonce[256];
    char location[2048];
    int retry_after; /* seconds, 0: none */
};

struct acme {
    const struct jn_acme_opts *o;
    CURL *curl;
    char jwk[256];
    char thumb[JN_B64URL_32];
    char nonce[256];
    char kid[2048];
    char *new_nonce, *new_account, *new_order;
    int64_t deadline;
    char *err;
    size_t errlen;
};

static int fail(struct acme *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct acme *a, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, a->errlen, fmt, ap);
    va_end(ap);
    return code;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n;
    if (r->len + len > BODY_MAX) {
        r->toobig = true;
        return 0;
    }
    r->body = jn_realloc(r->body, r->len + len + 1);
    memcpy(r->body + r->len, p, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* Copies the value of header "name:" in line p into out (trimmed). */
static bool header_value(const char *p, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
        return false;
    p += nl + 1, len -= nl + 1;
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    if (len >= cap)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n;
    char ra[32];
    header_value(p, len, "Replay-Nonce", r->nonce, sizeof(r->nonce));
    header_value(p, len, "Location", r->location, sizeof(r->location));
    if (header_value(p, len, "Retry-After", ra, sizeof(ra)))
        r->retry_after = atoi(ra);
    return len;
}

static bool cancelled(const struct acme *a)
{
    return a->o->cancelled && a->o->cancelled(a->o->arg);
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    return cancelled(arg) ? 1 : 0; /* non-zero aborts the transfer */
}

static void resp_free(struct resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* One HTTP exchange: GET (body NULL, head false), HEAD, or POST of a JWS. */
static int http(struct acme *a, const char *url, const char *body, bool head, const char *accept,
                struct resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = a->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jern-acme/0.1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    if (a->o->ca_bundle && *a->o->ca_bundle)
        curl_easy_setopt(c, CURLOPT_CAINFO, a->o->ca_bundle);
    struct curl_slist *hs = NULL;
    if (body) {
        hs = curl_slist_append(hs, "Content-Type: application/jose+json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else if (head) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (accept) {
        char h[128];
        snprintf(h, sizeof(h), "Accept: %s", accept);
        hs = curl_slist_append(hs, h);
    }
    if (hs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hs);
    if (r->toobig)
        return fail(a, JN_ETOOBIG, "%s: the CA's answer is larger than 1 MiB", url);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        resp_free(r);
        return fail(a, JN_ECLOSED, "stopped: the daemon is shutting down");
    }
    if (cc != CURLE_OK) {
        resp_free(r);
        return fail(a, JN_EUPSTREAM, "cannot reach the ACME server at %s: %s", url,
                    curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->nonce[0])
        snprintf(a->nonce, sizeof(a->nonce), "%s", r->nonce);
    return 0;
}

/* The problem document's "detail (type)", or the status. */
static void problem(const struct resp *r, char *out, size_t cap)
{
    cJSON *p = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "detail");
    if (cJSON_IsString(d))
        snprintf(out, cap, "%.300s (%s)", d->valuestring,
                 cJSON_IsString(t) ? t->valuestring : "no type");
    else
        snprintf(out, cap, "HTTP %ld", r->status);
    cJSON_Delete(p);
}

static bool is_bad_nonce(const struct resp *r)
{
    return r->status == 400 && r->body &&
           strstr(r->body, "urn:ietf:params:acme:error:badNonce") != NULL;
}

static int get_nonce(struct acme *a)
{
    struct resp r;
    int rc = http(a, a->new_nonce, NULL, true, NULL, &r);
    resp_free(&r);
    if (rc == 0 && !a->nonce[0])
        rc = fail(a, JN_EUPSTREAM, "the ACME server gave no Replay-Nonce at %s", a->new_nonce);
    return rc;
}

/* A signed POST of payload (NULL: POST-as-GET) to url; by jwk before the
 * account exists, by kid after. A badNonce answer is retried with the nonce
 * it carries (RFC 8555 6.5). */
static int post(struct acme *a, const char *url, const char *payload, const char *accept,
                struct resp *r)
{
    for (int attempt = 0;; attempt++) {
        if (!a->nonce[0] && get_nonce(a) < 0)
            return JN_EUPSTREAM;
        cJSON *prot = cJSON_CreateObject();
        cJSON_AddStringToObject(prot, "alg", "ES256");
        if (a->kid[0])
            cJSON_AddStringToObject(prot, "kid", a->kid);
        else
            cJSON_AddItemToObject(prot, "jwk", cJSON_Parse(a->jwk));
        cJSON_AddStringToObject(prot, "nonce", a->nonce);
        cJSON_AddStringToObject(prot, "url", url);
        char *ps = cJSON_PrintUnformatted(prot);
        cJSON_Delete(prot);
        a->nonce[0] = '\0'; /* each nonce is good for one request */
        char *jws = jn_jws_sign(a->o->account_key, ps, payload ? payload : "",
                                payload ? strlen(payload) : 0);
        free(ps);
        if (!jws)
            return fail(a, JN_EBASE, "cannot sign the ACME request (OpenSSL)");
        int rc = http(a, url, jws, false, accept, r);
        free(jws);
        if (rc < 0)
            return rc;
        if (!is_bad_nonce(r) || attempt == 2)
            return 0;
        resp_free(r);
    }
}

/* POSTs and parses a JSON answer with one of the expected statuses. */
static cJSON *post_json(struct acme *a, const char *url, const char *payload, const char *what,
                        struct resp *r)
{
    if (post(a, url, payload, NULL, r) < 0)
        return NULL;
    if (r->status < 200 || r->status > 299) {
        char p[512];
        problem(r, p, sizeof(p));
        fail(a, JN_EUPSTREAM, "the CA refused %s: %s", what, p);
        return NULL;
    }
    cJSON *o = r->body ? cJSON_Parse(r->body) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        fail(a, JN_EUPSTREAM, "the CA's answer to %s is not a JSON object", what);
        return NULL;
    }
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int directory(struct acme *a)
{
    struct resp r;
    int rc = http(a, a->o->directory, NULL, false, NULL, &r);
    if (rc < 0)
        return rc;
    cJSON *d = r.status == 200 && r.body ? cJSON_Parse(r.body) : NULL;
    const char *nn = str(d, "newNonce"), *na = str(d, "newAccount"), *no = str(d, "newOrder");
    if (nn && na && no) {
        a->new_nonce = jn_strdup(nn);
        a->new_account = jn_strdup(na);
        a->new_order = jn_strdup(no);
    } else {
        rc = fail(a, JN_EUPSTREAM, "%s is not an ACME directory (HTTP %ld; check acme_directory)",
                  a->o->directory, r.status);
    }
    cJSON_Delete(d);
    resp_free(&r);
    return rc;
}

static int account(struct acme *a)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddTrueToObject(p, "termsOfServiceAgreed");
    if (a->o->email && *a->o->email) {
        char mail[512];
        snprintf(mail, sizeof(mail), "mailto:%s", a->o->email);
        cJSON *c = cJSON_AddArrayToObject(p, "contact");
        cJSON_AddItemToArray(c, cJSON_CreateString(mail));
    }
    char *ps = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    struct resp r;
    cJSON *o = post_json(a, a->new_account, ps, "the account", &r);
    free(ps);
    int rc = JN_EUPSTREAM;
    if (o && r.location[0]) {
        snprintf(a->kid, sizeof(a->kid), "%s", r.location);
        rc = 0;
    } else if (o) {
        fail(a, JN_EUPSTREAM, "the CA created an account but gave no Location for it");
    }
    cJSON_Delete(o);
    resp_free(&r);
    return rc;
}

static bool past_deadline(struct acme *a)
{
    return jn_now_ms() >= a->deadline;
}

static void pause_ms(struct acme *a, const struct resp *r)
{
    int64_t ms = r->retry_after > 0 ? (int64_t)r->retry_after * 1000 : POLL_MS;
    ms = JN_MIN(ms, (int64_t)2000);
    int64_t until = jn_now_ms() + JN_MIN(ms, JN_MAX(a->deadline - jn_now_ms(), (int64_t)0));
    while (!cancelled(a) && jn_now_ms() < until)
        usleep(20000);
}

/* Polls url (POST-as-GET) until its status leaves pending/processing. */
static cJSON *poll_status(struct acme *a, const char *url, const char *what)
{
    for (;;) {
        struct resp r;
        cJSON *o = post_json(a, url, NULL, what, &r);
        if (!o) {
            resp_free(&r);
            return NULL;
        }
        const char *st = str(o, "status");
        if (!st || (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0)) {
            resp_free(&r);
            return o;
        }
        cJSON_Delete(o);
        if (cancelled(a)) {
            resp_free(&r);
            fail(a, JN_ECLOSED, "stopped: the daemon is shutting down");
            return NULL;
        }
        if (past_deadline(a)) {
            resp_free(&r);
            fail(a, JN_ETIMEDOUT, "%s is still %s when the deadline passed", what, st);
            return NULL;
        }
        pause_ms(a, &r);
        resp_free(&r);
    }
}

/* The error of the first invalid challenge in an authorization, if any. */
static void challenge_error(const cJSON *authz, char *out, size_t cap)
{
    const cJSON *c;
    snprintf(out, cap, "no detail from the CA");
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(authz, "challenges"))
    {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "error");
        const char *d = str(e, "detail"), *t = str(e, "type");
        if (d) {
            snprintf(out, cap, "%.300s (%s)", d, t ? t : "no type");
            return;
        }
    }
}

static int authorize(struct acme *a, const char *url, const char *domain)
{
    struct resp r;
    cJSON *z = post_json(a, url, NULL, "the authorization", &r);
    resp_free(&r);
    if (!z)
        return JN_EUPSTREAM;
    int rc = 0;
    const char *st = str(z, "status");
    if (st && strcmp(st, "valid") == 0)
        goto out;
    const cJSON *c, *http01 = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(z, "challenges"))
    {
        const char *t = str(c, "type");
        if (t && strcmp(t, "http-01") == 0)
            http01 = c;
    }
    const char *token = str(http01, "token"), *curl = str(http01, "url");
    if (!token || !curl) {
        rc = fail(a, JN_EUNSUPPORTED, "the CA offers no http-01 challenge for %s", domain);
        goto out;
    }
    char keyauth[512];
    snprintf(keyauth, sizeof(keyauth), "%s.%s", token, a->thumb);
    if ((rc = a->o->publish(a->o->arg, keyauth)) < 0) {
        fail(a, rc, "cannot publish the http-01 answer for %s: %s", domain, jn_strerror(rc));
        goto out;
    }
    cJSON *ans = post_json(a, curl, "{}", "the challenge", &r);
    resp_free(&r);
    cJSON_Delete(ans);
    cJSON *done = ans ? poll_status(a, url, "the authorization") : NULL;
    a->o->withdraw(a->o->arg, token);
    if (!done) {
        rc = JN_EUPSTREAM;
        goto out;
    }
    st = str(done, "status");
    if (!st || strcmp(st, "valid") != 0) {
        char e[512];
        challenge_error(done, e, sizeof(e));
        rc = fail(a, JN_EUPSTREAM, "validation of %s failed (%s): %s", domain, st ? st : "?", e);
    }
    cJSON_Delete(done);
out:
    cJSON_Delete(z);
    return rc;
}

static int order(struct acme *a, const char *domain, EVP_PKEY *cert_key, char **chain)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *ids = cJSON_AddArrayToObject(p, "identifiers");
    cJSON *id = cJSON_CreateObject();
    cJSON_AddStringToObject(id, "type", "dns");
    cJSON_AddStringToObject(id, "value", domain);
    cJSON_AddItemToArray(ids, id);
    char *ps = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    struct resp r;
    cJSON *o = post_json(a, a->new_order, ps, "the order", &r);
    free(ps);
    char order_url[2048];
    snprintf(order_url, sizeof(order_url), "%s", r.location);
    resp_free(&r);
    if (!o)
        return JN_EUPSTREAM;
    int rc = 0;
    const char *fin = str(o, "finalize");
    const cJSON *z;
    if (!fin || !order_url[0]) {
        rc = fail(a, JN_EUPSTREAM, "the CA's order has no finalize URL or Location");
        goto out;
    }
    cJSON_ArrayForEach(z, cJSON_GetObjectItemCaseSensitive(o, "authorizations"))
    {
        if (!cJSON_IsString(z) || (rc = authorize(a, z->valuestring, domain)) < 0)
            goto out;
    }
    unsigned char *der = NULL;
    int dlen = jn_jws_csr(cert_key, domain, &der);
    if (dlen < 0) {
        rc = fail(a, JN_EBASE, "cannot make the certificate request (OpenSSL)");
        goto out;
    }
    size_t cap = (size_t)dlen / 3 * 4 + 8;
    char *b64 = jn_malloc(cap), *fp = jn_malloc(cap + 16);
    jn_b64url(der, (size_t)dlen, b64, cap);
    OPENSSL_free(der);
    snprintf(fp, cap + 16, "{\"csr\":\"%s\"}", b64);
    free(b64);
    cJSON *f = post_json(a, fin, fp, "the finalization", &r);
    free(fp);
    resp_free(&r);
    if (!f) {
        rc = JN_EUPSTREAM;
        goto out;
    }
    cJSON_Delete(f);
    cJSON *done = poll_status(a, order_url, "the order");
    if (!done) {
        rc = JN_EUPSTREAM;
        goto out;
    }
    const char *st = str(done, "status"), *cert = str(done, "certificate");
    if (!st || strcmp(st, "valid") != 0 || !cert) {
        rc = fail(a, JN_EUPSTREAM, "the order ended %s without a certificate", st ? st : "?");
    } else if ((rc = post(a, cert, NULL, "application/pem-certificate-chain", &r)) == 0) {
        if (r.status != 200 || !r.body || !strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
            char e[512];
            problem(&r, e, sizeof(e));
            rc = fail(a, JN_EUPSTREAM, "cannot download the certificate: %s", e);
        } else {
            *chain = r.body;
            r.body = NULL;
        }
        resp_free(&r);
    }
    cJSON_Delete(done);
out:
    cJSON_Delete(o);
    return rc;
}

int jn_acme_issue(const struct jn_acme_opts *o, const char *domain, EVP_PKEY *cert_key,
                  char **chain_pem, char *err, size_t errlen)
{
    struct acme a = {
        .o = o,
        .err = err,
        .errlen = errlen,
        .deadline = jn_now_ms() + (o->deadline_ms > 0 ? o->deadline_ms : 120000),
    };
    *chain_pem = NULL;
    err[0] = '\0';
    if (jn_jws_jwk(o->account_key, a.jwk, sizeof(a.jwk)) < 0 ||
        jn_jws_thumbprint(a.jwk, a.thumb) < 0)
        return fail(&a, JN_EBADINPUT, "the ACME account key is not an ECDSA P-256 key");
    if (!(a.curl = curl_easy_init()))
        return fail(&a, JN_EBASE, "cannot start libcurl");
    int rc = directory(&a);
    if (rc == 0)
        rc = account(&a);
    if (rc == 0)
        rc = order(&a, domain, cert_key, chain_pem);
    curl_easy_cleanup(a.curl);
    free(a.new_nonce);
    free(a.new_account);
    free(a.new_order);
    return rc;
}
