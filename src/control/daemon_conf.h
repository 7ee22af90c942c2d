/*
 * daemon_conf.h: the daemon's own settings, from the `jern { ... }` block of
 * its nginx-syntax config file (read by config/jern_block.c through the
 * directive table), or the embedded defaults:
 *
 *   jern {
 *       listen 127.0.0.1:8080;          # where apps answer (repeatable)
 *       state_dir /var/lib/jern;        # the store and the admin socket
 *       admin unix:/run/jern.sock;      # admin API on a unix socket (mode 0600)
 *       admin 127.0.0.1:8081 token=S;   # and/or on TCP, bearer token required
 *       base_domain localhost;          # apps answer at APP.BASE
 *       drain_timeout 30s;              # requests left on a drained/removed server
 *                                       # are ended after this (0: never)
 *       instance_log_size 10m;          # an instance's log rotates past this size
 *       instance_log_files 3;           # rotated files kept per instance (0-9)
 *       log_retention 24h;              # kept logs of destroyed apps and failed
 *                                       # releases go after this
 *       listen 127.0.0.1:8443 ssl;      # HTTPS for app domains with a certificate
 *       acme_directory URL;             # where certificates for app domains come
 *                                       # from (default Let's Encrypt; off: none)
 *       acme_email ops@example.com;     # the ACME account's contact
 *       acme_ca_bundle FILE;            # trust FILE for the ACME server's HTTPS
 *       cluster http://10.0.0.1:2379;   # a cluster node (docs/CLUSTER.md); also
 *       node oslo-1; advertise 10.0.0.11;   # label k=v; node_memory 8g;
 *   }
 *
 * Control thread; blocking file I/O.
 */
#ifndef JN_CONTROL_DAEMON_CONF_H
#define JN_CONTROL_DAEMON_CONF_H

#include "core/common.h"
#include "config/conf.h"

#define JN_DAEMON_MAX_LISTEN 16
#define JN_ACME_DEFAULT_DIRECTORY "https://acme-v02.api.letsencrypt.org/directory"

struct jn_daemon_conf {
    char *listen[JN_DAEMON_MAX_LISTEN]; /* gateway addresses for apps */
    size_t nlisten;
    char *state_dir;
    char *admin_unix;  /* path of the admin socket */
    const char *admin_group; /* may use the socket too (0660), or NULL (0600) */
    char *admin_tcp;   /* NULL: no TCP admin listener */
    char *admin_token; /* with admin_tcp */
    char *base_domain;
    int64_t drain_timeout_ms; /* drain_timeout: default 30 s; 0 waits forever */
    int64_t instance_log_size; /* bytes: default 10 MiB */
    int instance_log_files;    /* default 3 */
    int64_t log_retention_ms;  /* default 24 h */
    char *acme_directory;      /* default JN_ACME_DEFAULT_DIRECTORY; "off": no ACME */
    char *acme_email;          /* NULL: no contact */
    char *acme_ca_bundle;      /* NULL: the system's trust store */
    /* the cluster (docs/CLUSTER.md); cluster NULL: a single node */
    char *cluster;   /* etcd endpoints */
    char *node;      /* NULL: the host name */
    char *advertise; /* NULL: the first listen address's host */
    char *labels[JN_CONF_JERN_MAX_LABELS];
    size_t nlabels;
    int64_t node_memory; /* 0: the machine's */
};

/* What `jern serve`'s flags set over the file (NULL/0: the file's). */
struct jn_daemon_flags {
    const char *cluster, *node, *advertise;
    const char *labels[JN_CONF_JERN_MAX_LABELS];
    size_t nlabels;
};

/* Applies flags over dc (labels given as flags replace the file's). */
void jn_daemon_conf_flags(struct jn_daemon_conf *dc, const struct jn_daemon_flags *f);

/* Loads path (NULL: the embedded defaults): the jern block into *dc and the
 * rest (http, upstream, server blocks) into *conf (always set on success).
 * Apps answer on jern's listen addresses: each gets a server block (404 for
 * hosts no app has) spliced into the http block. Without a listen directive
 * apps answer on the http block's own addresses, or on 127.0.0.1:8080 when
 * the file has no http block. Other defaults: state_dir $JERN_STATE, else
 * /var/lib/jern when installed (core/layout.h), else ./jern-state; admin
 * unix:/run/jern/admin.sock for group jern when installed without
 * $JERN_STATE, else unix:STATE_DIR/admin.sock; base_domain localhost,
 * acme_directory $JERN_ACME_DIRECTORY or Let's Encrypt's production directory.
 * Returns 0, or JN_ECONFIG with "FILE:LINE: what" in err.
 * Free with jn_daemon_conf_free and jn_conf_free. */
int jn_daemon_conf_load(const char *path, struct jn_daemon_conf *dc, struct jn_conf **conf,
                        char *err, size_t errlen);

void jn_daemon_conf_free(struct jn_daemon_conf *dc);

#endif
