/*
 * conf.h: the my.cnf jern generates for a managed MariaDB server, as a pure
 * function of the memory it may use and a few flags, each line with the
 * reason for it (docs/DATABASES.md). No I/O: unit-tested and fuzzed.
 */
#ifndef JN_DB_CONF_H
#define JN_DB_CONF_H

#include "core/common.h"
#include "core/buf.h"

#define JN_DB_MEMORY_MIN_MB 256         /* below: too small a pool to be worth a server */
#define JN_DB_SERVER_MB 96 /* mariadbd's own memory, besides pool, log buffer, connections */
#define JN_DB_CONN_MB 2    /* budget per connection: stack, network and sort buffers */
#define JN_DB_CONNS_MIN 32 /* max_connections never below */
#define JN_DB_MEMORY_MAX_MB (1024 * 1024) /* 1 TiB */
#define JN_DB_NAME_MAX 32
#define JN_DB_CONF_MAX_LINES 40

/* What the configuration depends on. Paths are absolute, borrowed. */
struct jn_db_conf_in {
    int64_t memory_mb; /* what the server may use in total */
    bool dedicated;    /* the node runs only this server: a bigger buffer pool */
    int port;          /* on 127.0.0.1 */
    const char *bind_also; /* a cluster node's advertised address, for instances on
                            * other nodes (docs/CLUSTER.md); NULL: loopback only */
    const char *datadir;
    const char *tmpdir; /* the server's own; NULL: none set (mariadbd's /tmp) */
    const char *socket;
    const char *pid_file;
    const char *log_error;
    bool as_root; /* mariadbd refuses root unless told user = root */
};

struct jn_db_conf_line {
    char key[48];
    char value[1024];
    char reason[160];
};

/* Fills out[0..max) with the [mariadbd] settings for in. Returns the number
 * of lines, or JN_EBADINPUT with a message in err naming the bad value and
 * the fix (memory below JN_DB_MEMORY_MIN_MB or above the maximum, a port
 * outside 1-65535, a missing path). Pure. */
int jn_db_conf_build(const struct jn_db_conf_in *in, struct jn_db_conf_line *out, size_t max,
                     char *err, size_t errlen);

/* Appends the my.cnf text of lines (a [mariadbd] group, each setting after a
 * "# reason" comment). Returns 0 or JN_ETOOBIG. */
int jn_db_conf_render(const struct jn_db_conf_line *lines, int n, struct jn_buf *out);

/* The value of key among lines, or NULL. */
const char *jn_db_conf_get(const struct jn_db_conf_line *lines, int n, const char *key);

/* Parses a memory size: "512M", "1G", "1.5G", "2048" (MiB), "256MiB".
 * Returns 0 with *mb set, or JN_EBADINPUT. Pure. */
int jn_db_memory_parse(const char *s, int64_t *mb);

/* A database name: 1-32 of a-z, 0-9 and '-', starting with a letter, not
 * ending with '-'. Pure. */
bool jn_db_name_ok(const char *name);

/* The SQL identifier for a jern name ('-' becomes '_'), into out (size n). */
void jn_db_sql_ident(const char *name, char *out, size_t n);

#endif
