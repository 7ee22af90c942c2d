/*
 * certs.c: the certificate manager: which domains need a certificate, one
 * issuance job at a time, backoff, renewal. See certs.h.
 */
#include "core/common.h"

#include "acme/client.h"
#include "acme/jws.h"
#include "control/certs/certs_int.h"
#include "control/control.h"
#include "core/buf.h"
#include "core/log.h"
#include "ev/loop.h"
#include "gateway/challenge.h"
#include "gateway/gateway.h"
#include "gateway/snapshot.h"
#include "tls/tls.h"

#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#define TICK_MS 1000
#define BACKOFF_FIRST_MS 60000
#define BACKOFF_MAX_MS (12 * 3600 * 1000LL)

struct jn_certs_job {
    struct jn_certs_link *link;  /* one reference */
    struct jn_certs_share share; /* a cluster node's; chal_put NULL: none */
    char domain[JN_STORE_DOMAIN_MAX];
    char dir[4096];
    char account_key[4096];
    char *directory, *email, *ca_bundle;
    int rc;
    char err[512];
};

void jn_certs_path(const struct jn_certs *cm, const char *domain, const char *name, char *out,
                   size_t cap)
{
    snprintf(out, cap, "%s/certs/%s%s%s", cm->state_dir, domain, name ? "/" : "", name ? name : "");
}

bool jn_certs_eligible(const char *domain)
{
    size_t n = strlen(domain);
    if (n == 0 || strcmp(domain, "localhost") == 0 ||
        (n > 10 && strcmp(domain + n - 10, ".localhost") == 0) || !strchr(domain, '.'))
        return false;
    /* Names only: an IP address or a wildcard gets no certificate over HTTP-01. */
    bool letters = false;
    for (const char *p = domain; *p; p++) {
        if (*p == '*' || *p == ':' || *p == '/')
            return false;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-')
            letters = true;
    }
    return letters;
}

struct jn_cert_entry *jn_certs_find(struct jn_certs *cm, const char *domain)
{
    for (size_t i = 0; i < cm->n; i++)
        if (strcmp(cm->e[i].domain, domain) == 0)
            return &cm->e[i];
    return NULL;
}

void jn_certs_reload_entry(struct jn_certs *cm, struct jn_cert_entry *e)
{
    char cp[4096], kp[4096], err[256];
    jn_certs_path(cm, e->domain, "cert.pem", cp, sizeof(cp));
    jn_certs_path(cm, e->domain, "key.pem", kp, sizeof(kp));
    char *chain = NULL, *key = NULL;
    ssize_t cl = jn_cert_read_file(cp, &chain), kl = cl >= 0 ? jn_cert_read_file(kp, &key) : -1;
    e->have = cl >= 0 && kl >= 0 &&
              jn_cert_inspect(chain, (size_t)cl, key, (size_t)kl, e->domain, &e->info, err,
                              sizeof(err)) == 0;
    if (cl >= 0 && kl >= 0 && !e->have)
        jn_warn("certificate for %s in %s is unusable (%s); a new one will be obtained", e->domain,
                cp, err);
    free(chain);
    free(key);
}

struct jn_cert_entry *jn_certs_add(struct jn_certs *cm, const char *domain)
{
    cm->e = jn_realloc(cm->e, (cm->n + 1) * sizeof(*cm->e));
    struct jn_cert_entry *e = &cm->e[cm->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->domain, sizeof(e->domain), "%s", domain);
    char key[JN_STORE_DOMAIN_MAX + 16], v[8];
    snprintf(key, sizeof(key), "cert.user:%s", domain);
    bool set = jn_store_setting_get(jn_control_store(cm->ctl), key, v, sizeof(v)) > 0;
    e->user = set && (strcmp(v, "1") == 0 || strcmp(v, "cluster") == 0);
    e->shared = set && strcmp(v, "cluster") == 0;
    jn_certs_reload_entry(cm, e);
    return e;
}

/* The user's own certificate for domain: "1" (added here), "cluster" (from
 * the cluster's copy), "0" (none). */
static void set_user_flag(struct jn_certs *cm, const char *domain, const char *v)
{
    char key[JN_STORE_DOMAIN_MAX + 16];
    snprintf(key, sizeof(key), "cert.user:%s", domain);
    jn_store_setting_set(jn_control_store(cm->ctl), key, v);
}

/* domain's key and chain into STATE/certs/DOMAIN (key 0600). */
static int write_pair(struct jn_certs *cm, const char *domain, const char *chain, const char *key,
                      char *err, size_t errlen)
{
    char dir[4096], kp[4200], cp[4200];
    jn_certs_path(cm, domain, NULL, dir, sizeof(dir));
    snprintf(kp, sizeof(kp), "%s/key.pem", dir);
    snprintf(cp, sizeof(cp), "%s/cert.pem", dir);
    int r;
    if ((r = jn_mkdirs(dir)) < 0 || (r = jn_cert_write_file(kp, key, strlen(key))) < 0 ||
        (r = jn_cert_write_file(cp, chain, strlen(chain))) < 0)
        snprintf(err, errlen, "cannot write the certificate into %.300s: %s", dir, jn_strerror(r));
    return r;
}

int jn_certs_put_own(struct jn_certs *cm, const char *d, const char *chain, const char *key,
                     bool shared, char *err, size_t errlen)
{
    struct jn_cert_info info;
    struct jn_cert_entry *e = jn_certs_find(cm, d);
    if (e && e->busy) {
        snprintf(err, errlen,
                 "a certificate for %s is being issued right now; try again in a "
                 "minute",
                 d);
        return JN_EEXIST;
    }
    int r = jn_cert_inspect(chain, strlen(chain), key, strlen(key), d, &info, err, errlen);
    if (r < 0)
        return JN_EBADINPUT;
    if (info.not_after <= (int64_t)time(NULL)) {
        snprintf(err, errlen, "the certificate for %s has expired", d);
        return JN_EBADINPUT;
    }
    if ((r = write_pair(cm, d, chain, key, err, errlen)) < 0)
        return r;
    set_user_flag(cm, d, shared ? "cluster" : "1");
    if (!e)
        e = jn_certs_add(cm, d);
    e->user = true;
    e->shared = shared;
    e->failures = 0;
    e->last_error[0] = '\0';
    e->next_try_ms = 0;
    jn_certs_reload_entry(cm, e);
    jn_notice("certificate for %s installed %s (serial %s, by %s)", d,
              shared ? "from the cluster's copy of the user's own" : "by the user", e->info.serial,
              e->info.issuer);
    jn_certs_kick(cm); /* served at once */
    return 0;
}

int jn_certs_remove(struct jn_certs *cm, const char *d)
{
    struct jn_cert_entry *e = jn_certs_find(cm, d);
    if (!e)
        return JN_ENOTFOUND;
    if (e->busy)
        return JN_EEXIST;
    char p[4200];
    jn_certs_path(cm, d, "cert.pem", p, sizeof(p));
    unlink(p);
    jn_certs_path(cm, d, "key.pem", p, sizeof(p));
    unlink(p);
    jn_certs_path(cm, d, NULL, p, sizeof(p));
    rmdir(p);
    set_user_flag(cm, d, "0");
    e->user = e->shared = false;
    e->have = false;
    e->failures = 0;
    e->next_try_ms = 0;
    jn_notice("certificate for %s removed", d);
    jn_certs_kick(cm); /* an app domain gets an ACME certificate again */
    return 0;
}

static void entry_remove(struct jn_certs *cm, size_t i)
{
    if (cm->e[i].served[0] && cm->gw)
        jn_gateway_remove_cert(cm->gw, cm->e[i].domain);
    cm->e[i] = cm->e[--cm->n];
}

/* Hands e's certificate to the gateway when it is not serving that one yet
 * (or withdraws it when e has none). */
static void serve(struct jn_certs *cm, struct jn_cert_entry *e)
{
    if (!cm->gw)
        return;
    bool usable = e->have && e->info.not_after > (int64_t)time(NULL);
    if (!usable) {
        if (e->served[0])
            jn_gateway_remove_cert(cm->gw, e->domain);
        e->served[0] = '\0';
        return;
    }
    if (strcmp(e->served, e->info.serial) == 0)
        return;
    char cp[4096], kp[4096], err[512];
    jn_certs_path(cm, e->domain, "cert.pem", cp, sizeof(cp));
    jn_certs_path(cm, e->domain, "key.pem", kp, sizeof(kp));
    char *chain = NULL, *key = NULL;
    ssize_t cl = jn_cert_read_file(cp, &chain), kl = cl >= 0 ? jn_cert_read_file(kp, &key) : -1;
    struct jn_tls_cert *c = NULL;
    int r = cl < 0 || kl < 0 ? JN_ENOTFOUND
                             : jn_tls_cert_from_pem(chain, (size_t)cl, key, (size_t)kl, NULL, &c,
                                                    err, sizeof(err));
    if (key)
        explicit_bzero(key, (size_t)kl);
    free(chain);
    free(key);
    if (r == 0)
        r = jn_gateway_set_cert(cm->gw, e->domain, c);
    jn_tls_cert_unref(c);
    if (r < 0) {
        jn_error("certificate for %s cannot be served: %s", e->domain,
                 r == JN_ENOTFOUND ? "its files are gone" : err);
        /* tried once per serial: a broken pair is not reloaded every second */
    } else {
        jn_notice("certificate for %s served (serial %s)", e->domain, e->info.serial);
    }
    snprintf(e->served, sizeof(e->served), "%s", e->info.serial);
}

/* Applies each app's https mode to its domains that have a usable
 * certificate (all others: off), where the gateway differs. */
static void apply_https(struct jn_certs *cm, const struct jn_store_domain *d, int n)
{
    if (!cm->gw)
        return;
    for (int i = 0; i < n; i++) {
        const struct jn_cert_entry *e = jn_certs_find(cm, d[i].domain);
        int want = JN_GW_HTTPS_OFF;
        if (cm->https_port && e && e->served[0] && e->have &&
            e->info.not_after > (int64_t)time(NULL)) {
            const char *m = jn_certs_https_mode(cm, d[i].app);
            want = strcmp(m, "redirect") == 0 ? JN_GW_HTTPS_REDIRECT
                   : strcmp(m, "only") == 0   ? JN_GW_HTTPS_ONLY
                                              : JN_GW_HTTPS_OFF;
        }
        int port = 0;
        int now = jn_gateway_app_https(cm->gw, d[i].domain, &port);
        if (now >= 0 && (now != want || (want && port != cm->https_port))) {
            jn_gateway_set_app_https(cm->gw, d[i].domain, want, cm->https_port);
            jn_notice("%s: plain HTTP %s", d[i].domain,
                      want == JN_GW_HTTPS_REDIRECT ? "redirects to HTTPS"
                      : want == JN_GW_HTTPS_ONLY   ? "refused (HTTPS only)"
                                                   : "served");
        }
    }
}

/* ---- the job thread ---- */

static void link_unref(struct jn_certs_link *l)
{
    pthread_mutex_lock(&l->mu);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (last) {
        pthread_cond_destroy(&l->idle);
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

static bool job_cancelled(void *arg)
{
    struct jn_certs_job *j = arg;
    pthread_mutex_lock(&j->link->mu);
    bool gone = j->link->cm == NULL;
    pthread_mutex_unlock(&j->link->mu);
    return gone;
}

static void job_free(struct jn_certs_job *j)
{
    link_unref(j->link);
    free(j->directory);
    free(j->email);
    free(j->ca_bundle);
    free(j);
}

/* Before the CA asks: this node's gateway answers the challenge, and on a
 * cluster node every node's does (the CA may ask any of them). */
static int chal_publish(void *arg, const char *keyauth)
{
    struct jn_certs_job *j = arg;
    int r = jn_challenge_put(keyauth);
    if (r == 0 && j->share.chal_put &&
        (r = j->share.chal_put(j->share.arg, keyauth, job_cancelled, j, j->err, sizeof(j->err))) <
            0)
        jn_challenge_remove(keyauth);
    return r;
}

static void chal_withdraw(void *arg, const char *token)
{
    struct jn_certs_job *j = arg;
    jn_challenge_remove(token);
    if (j->share.chal_del)
        j->share.chal_del(j->share.arg, token);
}

/* The account key: made once, kept in STATE/acme/account.key (0600). */
static int account_key(struct jn_certs_job *j, EVP_PKEY **out)
{
    int r = jn_jws_key_load(j->account_key, out);
    if (r != -ENOENT) {
        if (r < 0)
            snprintf(j->err, sizeof(j->err),
                     "the ACME account key %.300s is unreadable or not ECDSA P-256 (%s); move it "
                     "away and jern makes a new one",
                     j->account_key, jn_strerror(r));
        return r;
    }
    if (jn_jws_key_new(out) < 0) {
        snprintf(j->err, sizeof(j->err), "cannot make an ECDSA P-256 key (OpenSSL)");
        return JN_EBASE;
    }
    char *pem = jn_jws_key_pem(*out);
    r = pem ? jn_cert_write_file(j->account_key, pem, strlen(pem)) : JN_EBASE;
    if (pem)
        explicit_bzero(pem, strlen(pem));
    free(pem);
    if (r < 0)
        snprintf(j->err, sizeof(j->err), "cannot write the ACME account key %.300s: %s",
                 j->account_key, jn_strerror(r));
    return r;
}

static int issue(struct jn_certs_job *j)
{
    int r;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", j->account_key);
    *strrchr(dir, '/') = '\0';
    const char *failed = dir;
    if ((r = jn_mkdirs(dir)) < 0 || (failed = j->dir, r = jn_mkdirs(j->dir)) < 0) {
        snprintf(j->err, sizeof(j->err), "cannot create %.300s: %s", failed, jn_strerror(r));
        return r;
    }
    EVP_PKEY *acct = NULL, *key = NULL;
    char *chain = NULL, *pem = NULL;
    if ((r = account_key(j, &acct)) < 0)
        goto out;
    if ((r = jn_jws_key_new(&key)) < 0) {
        snprintf(j->err, sizeof(j->err), "cannot make an ECDSA P-256 key (OpenSSL)");
        goto out;
    }
    struct jn_acme_opts o = {
        .directory = j->directory,
        .ca_bundle = j->ca_bundle,
        .email = j->email,
        .account_key = acct,
        .publish = chal_publish,
        .withdraw = chal_withdraw,
        .cancelled = job_cancelled,
        .arg = j,
    };
    if ((r = jn_acme_issue(&o, j->domain, key, &chain, j->err, sizeof(j->err))) < 0)
        goto out;
    pem = jn_jws_key_pem(key);
    struct jn_cert_info info;
    char e[256];
    if (!pem || jn_cert_inspect(chain, strlen(chain), pem, strlen(pem), j->domain, &info, e,
                                sizeof(e)) < 0) {
        snprintf(j->err, sizeof(j->err), "the CA's certificate is unusable: %s",
                 pem ? e : "no key");
        r = JN_EUPSTREAM;
        goto out;
    }
    char kp[4200], cp[4200];
    snprintf(kp, sizeof(kp), "%s/key.pem", j->dir);
    snprintf(cp, sizeof(cp), "%s/cert.pem", j->dir);
    if ((r = jn_cert_write_file(kp, pem, strlen(pem))) < 0 ||
        (r = jn_cert_write_file(cp, chain, strlen(chain))) < 0)
        snprintf(j->err, sizeof(j->err), "cannot write the certificate into %.300s: %s", j->dir,
                 jn_strerror(r));
out:
    if (pem)
        explicit_bzero(pem, strlen(pem));
    free(pem);
    free(chain);
    EVP_PKEY_free(key);
    EVP_PKEY_free(acct);
    return r;
}

static void job_done(struct jn_loop *loop, void *arg);

static void *job_main(void *arg)
{
    struct jn_certs_job *j = arg;
    j->rc = issue(j);
    if (j->rc == JN_ECLOSED)
        jn_notice("certificate for %s: issuance stopped, the daemon is stopping", j->domain);
    pthread_mutex_lock(&j->link->mu);
    struct jn_certs *cm = j->link->cm;
    bool posted = cm && jn_loop_post(cm->loop, job_done, j) == 0;
    struct jn_certs_link *l = j->link;
    l->refs++; /* keep the link for the signal below even if job_free runs now */
    pthread_mutex_unlock(&l->mu);
    if (!posted)
        job_free(j);
    pthread_mutex_lock(&l->mu);
    l->running = false;
    pthread_cond_broadcast(&l->idle);
    pthread_mutex_unlock(&l->mu);
    link_unref(l);
    return NULL;
}

static void fmt_duration(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms / 1000;
    if (s < 120)
        snprintf(out, cap, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(out, cap, "%lldm", (long long)(s / 60));
    else
        snprintf(out, cap, "%lldh", (long long)(s / 3600));
}

static void job_done(struct jn_loop *loop, void *arg)
{
    struct jn_certs_job *j = arg;
    struct jn_certs *cm = j->link->cm;
    cm->job_running = false;
    if (cm->share.issued)
        cm->share.issued(cm->share.arg, j->domain, j->rc == 0);
    struct jn_cert_entry *e = jn_certs_find(cm, j->domain);
    if (e) {
        e->busy = false;
        if (j->rc == 0) {
            e->failures = 0;
            e->force = false;
            e->next_try_ms = 0;
            e->last_error[0] = '\0';
            e->last_error_at = 0;
            jn_certs_reload_entry(cm, e);
            char until[32];
            time_t na = (time_t)e->info.not_after;
            struct tm tm;
            strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", gmtime_r(&na, &tm));
            jn_notice("certificate for %s issued (serial %s, by %s, valid until %s)", e->domain,
                      e->info.serial, e->info.issuer, until);
        } else {
            e->failures++;
            int64_t backoff = BACKOFF_FIRST_MS;
            for (int i = 1; i < e->failures && backoff < BACKOFF_MAX_MS; i++)
                backoff *= 2;
            backoff = JN_MIN(backoff, BACKOFF_MAX_MS);
            e->next_try_ms = jn_now_ms() + backoff;
            e->force = false;
            snprintf(e->last_error, sizeof(e->last_error), "%s", j->err);
            e->last_error_at = (int64_t)time(NULL);
            char in[32];
            fmt_duration(backoff, in, sizeof(in));
            jn_error("certificate for %s: %s; attempt %d failed, next in %s%s", e->domain, j->err,
                     e->failures, in,
                     e->have ? " (the current certificate keeps being served)" : "");
        }
    }
    job_free(j);
    jn_certs_kick(cm);
}

static bool due(const struct jn_cert_entry *e, int64_t now_ms)
{
    if (e->user || e->busy || (e->next_try_ms && now_ms < e->next_try_ms))
        return false;
    if (e->force || !e->have)
        return true;
    return (int64_t)time(NULL) >= e->info.not_after - JN_CERTS_RENEW_BEFORE_S;
}

static void start_job(struct jn_certs *cm, struct jn_cert_entry *e)
{
    struct jn_certs_job *j = jn_calloc(1, sizeof(*j));
    pthread_mutex_lock(&cm->link->mu);
    cm->link->refs++;
    cm->link->running = true;
    pthread_mutex_unlock(&cm->link->mu);
    j->link = cm->link;
    j->share = cm->share;
    snprintf(j->domain, sizeof(j->domain), "%s", e->domain);
    jn_certs_path(cm, e->domain, NULL, j->dir, sizeof(j->dir));
    snprintf(j->account_key, sizeof(j->account_key), "%s/acme/account.key", cm->state_dir);
    j->directory = jn_strdup(cm->directory);
    j->email = cm->email ? jn_strdup(cm->email) : NULL;
    j->ca_bundle = cm->ca_bundle ? jn_strdup(cm->ca_bundle) : NULL;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&th, &attr, job_main, j);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        jn_error("certificate for %s: cannot start a job thread: %s", e->domain, strerror(r));
        pthread_mutex_lock(&cm->link->mu);
        cm->link->running = false;
        pthread_mutex_unlock(&cm->link->mu);
        job_free(j);
        e->next_try_ms = jn_now_ms() + BACKOFF_FIRST_MS;
        return;
    }
    e->busy = true;
    e->attempts++;
    cm->job_running = true;
    jn_notice("certificate for %s: %s from %s", e->domain,
              e->have ? (e->force ? "renewing (forced)" : "renewing") : "requesting",
              cm->directory);
}

/* Every host an app answers at that may get a certificate: its domains,
 * and APP.BASE_DOMAIN when the base domain is a public name (not
 * localhost). Returns the count (*out to free) or a negative JN_E*. */
static int cert_hosts(struct jn_certs *cm, struct jn_store_domain **out)
{
    struct jn_store *st = jn_control_store(cm->ctl);
    const char *base = jn_control_base_domain(cm->ctl);
    struct jn_store_app *apps = NULL;
    struct jn_store_domain *d = NULL;
    int nd = jn_store_domain_list(st, NULL, &d);
    if (nd < 0)
        return nd;
    int na = jn_certs_eligible(base) ? jn_store_app_list(st, &apps) : 0;
    if (na < 0) {
        free(d);
        return na;
    }
    d = jn_realloc(d, ((size_t)nd + (size_t)na + 1) * sizeof(*d));
    int n = nd;
    for (int i = 0; i < na; i++) {
        struct jn_store_domain *h = &d[n];
        int len = snprintf(h->domain, sizeof(h->domain), "%s.%s", apps[i].name, base);
        if (len <= 0 || (size_t)len >= sizeof(h->domain))
            continue;
        bool dup = false;
        for (int k = 0; k < nd && !dup; k++)
            dup = strcmp(d[k].domain, h->domain) == 0;
        if (dup)
            continue;
        snprintf(h->app, sizeof(h->app), "%s", apps[i].name);
        n++;
    }
    free(apps);
    *out = d;
    return n;
}

/* Entries follow the apps' hosts (user certificates stay). */
static void sync_domains(struct jn_certs *cm)
{
    struct jn_store_domain *d = NULL;
    int n = cert_hosts(cm, &d);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++)
        if (jn_certs_eligible(d[i].domain) && !jn_certs_find(cm, d[i].domain))
            jn_certs_add(cm, d[i].domain);
    for (size_t k = cm->n; k-- > 0;) {
        const struct jn_cert_entry *e = &cm->e[k];
        bool in = false;
        for (int i = 0; i < n && !in; i++)
            in = strcmp(d[i].domain, e->domain) == 0;
        if (!in && !e->user && !e->busy)
            entry_remove(cm, k);
    }
    for (size_t k = 0; k < cm->n; k++)
        serve(cm, &cm->e[k]);
    apply_https(cm, d, n);
    free(d);
}

void jn_certs_kick(struct jn_certs *cm)
{
    sync_domains(cm);
    if (cm->job_running || !cm->directory)
        return;
    int64_t now = jn_now_ms();
    for (size_t i = 0; i < cm->n; i++) {
        /* a cluster node orders only what it holds the lock of */
        if (due(&cm->e[i], now) &&
            (!cm->share.may_issue ||
             cm->share.may_issue(cm->share.arg, cm->e[i].domain, cm->e[i].force))) {
            start_job(cm, &cm->e[i]);
            return;
        }
    }
}

void jn_certs_set_share(struct jn_certs *cm, const struct jn_certs_share *s)
{
    cm->share = *s;
}

int jn_certs_install(struct jn_certs *cm, const char *domain, const char *chain, const char *key,
                     char *err, size_t errlen)
{
    struct jn_cert_entry *e = jn_certs_find(cm, domain);
    if (e && (e->user || e->busy)) {
        snprintf(err, errlen, "%s",
                 e->user ? "a certificate of the user's own is installed here"
                         : "an issuance for it runs here");
        return JN_EEXIST;
    }
    struct jn_cert_info info;
    int r = jn_cert_inspect(chain, strlen(chain), key, strlen(key), domain, &info, err, errlen);
    if (r < 0)
        return r;
    if ((r = write_pair(cm, domain, chain, key, err, errlen)) < 0)
        return r;
    if (!e)
        e = jn_certs_add(cm, domain);
    jn_certs_reload_entry(cm, e);
    e->failures = 0;
    e->next_try_ms = 0;
    e->last_error[0] = '\0';
    jn_notice("certificate for %s installed from the cluster (serial %s)", domain, e->info.serial);
    serve(cm, e);
    return 0;
}

bool jn_certs_own_serial(struct jn_certs *cm, const char *domain, char *serial, size_t n,
                         bool *shared)
{
    const struct jn_cert_entry *e = jn_certs_find(cm, domain);
    if (!e || !e->user || !e->have)
        return false;
    snprintf(serial, n, "%s", e->info.serial);
    *shared = e->shared;
    return true;
}

void jn_certs_own_shared(struct jn_certs *cm, const char *domain)
{
    struct jn_cert_entry *e = jn_certs_find(cm, domain);
    if (e && e->user && !e->shared) {
        set_user_flag(cm, domain, "cluster");
        e->shared = true;
    }
}

void jn_certs_each_own(struct jn_certs *cm,
                       void (*fn)(void *arg, const char *domain, const char *serial, bool shared),
                       void *arg)
{
    for (size_t i = 0; i < cm->n; i++)
        if (cm->e[i].user)
            fn(arg, cm->e[i].domain, cm->e[i].have ? cm->e[i].info.serial : "", cm->e[i].shared);
}

bool jn_certs_wants(struct jn_certs *cm, const char *domain)
{
    const struct jn_cert_entry *e = jn_certs_find(cm, domain);
    return e && !e->user;
}

bool jn_certs_held(struct jn_certs *cm, const char *domain, char *serial, size_t n,
                   int64_t *not_after)
{
    const struct jn_cert_entry *e = jn_certs_find(cm, domain);
    if (!e || !e->have || e->user)
        return false;
    snprintf(serial, n, "%s", e->info.serial);
    *not_after = e->info.not_after;
    return true;
}

static void on_tick(struct jn_loop *loop, struct jn_timer *t)
{
    struct jn_certs *cm = t->data;
    jn_certs_kick(cm);
    jn_timer_start(loop, &cm->tick, TICK_MS);
}

/* Certificates installed earlier (their domain may belong to no app yet). */
static void load_dir(struct jn_certs *cm)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/certs", cm->state_dir);
    DIR *dir = opendir(path);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        if (de->d_name[0] != '.' && strlen(de->d_name) < JN_STORE_DOMAIN_MAX &&
            !jn_certs_find(cm, de->d_name))
            jn_certs_add(cm, de->d_name);
    }
    if (dir)
        closedir(dir);
}

struct jn_certs *jn_certs_new(struct jn_loop *loop, struct jn_control *ctl,
                              const struct jn_certs_opts *o)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct jn_certs *cm = jn_calloc(1, sizeof(*cm));
    cm->loop = loop;
    cm->ctl = ctl;
    cm->gw = o->gw;
    cm->https_port = o->https_port;
    cm->state_dir = jn_strdup(o->state_dir);
    if (o->directory && *o->directory && strcmp(o->directory, "off") != 0)
        cm->directory = jn_strdup(o->directory);
    cm->email = o->email && *o->email ? jn_strdup(o->email) : NULL;
    cm->ca_bundle = o->ca_bundle && *o->ca_bundle ? jn_strdup(o->ca_bundle) : NULL;
    cm->link = jn_calloc(1, sizeof(*cm->link));
    pthread_mutex_init(&cm->link->mu, NULL);
    pthread_cond_init(&cm->link->idle, NULL);
    cm->link->refs = 1;
    cm->link->cm = cm;
    load_dir(cm);
    jn_timer_init(&cm->tick, on_tick, cm);
    jn_timer_start(loop, &cm->tick, 0);
    return cm;
}

void jn_certs_free(struct jn_certs *cm)
{
    if (!cm)
        return;
    jn_timer_stop(cm->loop, &cm->tick);
    /* Cancel a job in flight and wait for its thread (its transfers and waits
     * poll the flag), bounded: libcurl, OpenSSL and the process's exit must
     * not race with it. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&cm->link->mu);
    cm->link->cm = NULL;
    while (cm->link->running)
        if (pthread_cond_timedwait(&cm->link->idle, &cm->link->mu, &until) == ETIMEDOUT)
            break;
    if (cm->link->running)
        jn_warn("an issuance job did not stop within 5 s; exiting without it");
    pthread_mutex_unlock(&cm->link->mu);
    link_unref(cm->link);
    free(cm->e);
    free(cm->state_dir);
    free(cm->directory);
    free(cm->email);
    free(cm->ca_bundle);
    free(cm);
}

static const char *const https_modes[] = {"off", "redirect", "only", NULL};

const char *jn_certs_https_mode_parse(const char *s)
{
    for (const char *const *m = https_modes; *m; m++)
        if (strcmp(s, *m) == 0)
            return *m;
    return NULL;
}

const char *jn_certs_https_mode(struct jn_certs *cm, const char *app)
{
    char key[JN_STORE_NAME_MAX + 16], v[16];
    snprintf(key, sizeof(key), "https:%s", app);
    if (jn_store_setting_get(jn_control_store(cm->ctl), key, v, sizeof(v)) < 0)
        return "off";
    const char *m = jn_certs_https_mode_parse(v);
    return m ? m : "off";
}

void jn_certs_metrics(struct jn_certs *cm, struct jn_buf *out)
{
    if (!cm || cm->n == 0)
        return;
    /* domains are checked DNS names: no character needs escaping */
    jn_buf_puts(out, "# HELP jern_cert_expiry_timestamp_seconds When the served certificate "
                     "expires (Unix time).\n"
                     "# TYPE jern_cert_expiry_timestamp_seconds gauge\n");
    for (size_t i = 0; i < cm->n; i++)
        if (cm->e[i].have)
            jn_buf_printf(out,
                          "jern_cert_expiry_timestamp_seconds{domain=\"%s\",source=\"%s\"} %lld\n",
                          cm->e[i].domain, cm->e[i].user ? "user" : "acme",
                          (long long)cm->e[i].info.not_after);
    jn_buf_puts(out, "# HELP jern_cert_valid 1 when a certificate that has not expired is "
                     "served for the domain.\n"
                     "# TYPE jern_cert_valid gauge\n");
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < cm->n; i++) {
        const struct jn_cert_entry *e = &cm->e[i];
        jn_buf_printf(out, "jern_cert_valid{domain=\"%s\"} %d\n", e->domain,
                      e->have && e->served[0] && e->info.not_after > now);
    }
    jn_buf_puts(out, "# HELP jern_cert_issuance_attempts_total ACME issuance attempts since "
                     "the daemon started.\n"
                     "# TYPE jern_cert_issuance_attempts_total counter\n");
    for (size_t i = 0; i < cm->n; i++)
        jn_buf_printf(out, "jern_cert_issuance_attempts_total{domain=\"%s\"} %lld\n",
                      cm->e[i].domain, (long long)cm->e[i].attempts);
    jn_buf_puts(out, "# HELP jern_cert_failures Failed issuance attempts in a row (0: the last "
                     "one succeeded or none was made).\n"
                     "# TYPE jern_cert_failures gauge\n");
    for (size_t i = 0; i < cm->n; i++)
        jn_buf_printf(out, "jern_cert_failures{domain=\"%s\"} %d\n", cm->e[i].domain,
                      cm->e[i].failures);
}
