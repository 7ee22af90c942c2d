/* certs_int.h: what certs.c (the manager) and api/certs.c (its routes) share. */
#ifndef JN_CONTROL_CERTS_INT_H
#define JN_CONTROL_CERTS_INT_H

#include "acme/certfile.h"
#include "control/certs/certs.h"
#include "ev/timer.h"
#include "store/store.h"

#include <pthread.h>

#define JN_CERTS_RENEW_BEFORE_S (30 * 86400)

struct jn_cert_entry {
    char domain[JN_STORE_DOMAIN_MAX];
    bool user;   /* installed with jern cert add: never renewed by ACME */
    bool shared; /* user: installed here from the cluster's copy (added on another node) */
    bool have;   /* a certificate on disk that parses */
    struct jn_cert_info info;
    char last_error[512];
    int64_t last_error_at; /* Unix seconds, 0: none */
    int failures;          /* in a row */
    int64_t next_try_ms;   /* jn_now_ms clock; 0: as soon as it is due */
    bool force;            /* renew now, whatever the expiry */
    bool busy;             /* a job is issuing it */
    int64_t attempts;      /* issuance attempts since start */
    char served[80];       /* serial attached to the gateway; "": none */
};

struct jn_certs_job;

/* Shared between the manager and a job thread that may outlive it. */
struct jn_certs_link {
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when a job thread ends */
    int refs;
    bool running;        /* a job thread is alive */
    struct jn_certs *cm; /* NULL once the manager is gone: the job stops */
};

struct jn_certs {
    struct jn_gateway *gw;
    int https_port;
    struct jn_loop *loop;
    struct jn_control *ctl;
    char *state_dir;
    char *directory; /* NULL: ACME off */
    char *email;
    char *ca_bundle;
    struct jn_cert_entry *e;
    size_t n;
    struct jn_timer tick;
    struct jn_certs_link *link;
    bool job_running;
    struct jn_certs_share share; /* .may_issue NULL: a single node */
};

/* The entry of domain, or NULL. */
struct jn_cert_entry *jn_certs_find(struct jn_certs *cm, const char *domain);

/* Adds an entry for domain (loading what STATE/certs/DOMAIN holds). */
struct jn_cert_entry *jn_certs_add(struct jn_certs *cm, const char *domain);

/* Re-reads the certificate of e from disk into e->info / e->have. */
void jn_certs_reload_entry(struct jn_certs *cm, struct jn_cert_entry *e);

/* STATE/certs/DOMAIN/NAME into out. */
void jn_certs_path(const struct jn_certs *cm, const char *domain, const char *name, char *out,
                   size_t cap);

/* Whether jern obtains certificates for domain (not localhost, not an IP). */
bool jn_certs_eligible(const char *domain);

/* Runs one round of the tick at once (after a change made through the API). */
void jn_certs_kick(struct jn_certs *cm);

#endif
