/*
 * conf.c: memory + flags -> my.cnf lines, each with its reason. The rules
 * start from the seed's four lines (InnoDB only, buffer pool 70-80% of a
 * dedicated node, a large redo log, O_DIRECT, file per table) and add what a
 * careful DBA adds; docs/DATABASES.md gives the measured effect of each.
 */
#include "core/common.h"

#include "db/conf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#define MIB (1024 * 1024)

struct builder {
    struct jn_db_conf_line *out;
    size_t max, n;
};

static void add(struct builder *b, const char *key, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct builder *b, const char *key, const char *reason, const char *fmt, ...)
{
    if (b->n >= b->max)
        return;
    struct jn_db_conf_line *l = &b->out[b->n++];
    snprintf(l->key, sizeof(l->key), "%s", key);
    snprintf(l->reason, sizeof(l->reason), "%s", reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->value, sizeof(l->value), fmt, ap);
    va_end(ap);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* A path goes into my.cnf as one value: no newline, no quote games. */
static bool path_ok(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) >= 1000)
        return false;
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\'' || *p == '#' || *p == '\\')
            return false;
    return true;
}

int jn_db_conf_build(const struct jn_db_conf_in *in, struct jn_db_conf_line *out, size_t max,
                     char *err, size_t errlen)
{
    if (in->memory_mb < JN_DB_MEMORY_MIN_MB || in->memory_mb > JN_DB_MEMORY_MAX_MB) {
        snprintf(err, errlen,
                 "memory %lldM is %s: a managed MariaDB needs %dM to %dG (example: --memory 1G)",
                 (long long)in->memory_mb,
                 in->memory_mb < JN_DB_MEMORY_MIN_MB ? "below the workable minimum" : "too large",
                 JN_DB_MEMORY_MIN_MB, JN_DB_MEMORY_MAX_MB / 1024);
        return JN_EBADINPUT;
    }
    for (const char *c = in->bind_also; c && *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr(".-:", *c)) {
            snprintf(err, errlen,
                     "the node's advertised address '%s' is not an address a database can bind "
                     "(use an IP address or a host name with --advertise)",
                     in->bind_also);
            return JN_EBADINPUT;
        }
    }
    if (in->port < 1 || in->port > 65535) {
        snprintf(err, errlen, "port %d is out of range (1-65535)", in->port);
        return JN_EBADINPUT;
    }
    if (!path_ok(in->datadir) || !path_ok(in->socket) || !path_ok(in->pid_file) ||
        !path_ok(in->log_error) || (in->tmpdir && !path_ok(in->tmpdir))) {
        snprintf(err, errlen,
                 "the state directory's path cannot go into my.cnf (absolute, no quotes, "
                 "'#' or control characters)");
        return JN_EBADINPUT;
    }
    struct builder b = {.out = out, .max = max};
    int64_t mem = in->memory_mb;

    /* What mariadbd needs besides the pool and its connections: the redo log
     * buffer, the dictionary and caches, its own threads (measured on 10.11:
     * ~100 MiB of resident memory above the pool at a 640M budget). Counted
     * first, so that the pool and max_connections fit in the memory given:
     * the server runs in a memory cgroup of exactly that size, and what does
     * not fit is an OOM kill under load, not a slower query. */
    int64_t logbuf = clamp(mem / 64, 16, 64);
    int64_t reserve = JN_DB_SERVER_MB + logbuf;

    /* The pool is most of what makes a database fast: every page it holds is
     * a read that never reaches the disk. At small budgets the server's own
     * memory and room for JN_DB_CONNS_MIN connections come first. */
    int64_t share = in->dedicated ? mem * 3 / 4 : mem / 2;
    int64_t room = mem - reserve - JN_DB_CONNS_MIN * JN_DB_CONN_MB;
    int64_t pool = (share < room ? share : room) / 32 * 32; /* >= 64M from the 256M minimum */
    const char *why =
        share > room    ? "what is left after the server's own memory and 32 connections (a small "
                          "budget: 75%/50% would not fit)"
        : in->dedicated ? "75% of the memory: the node is dedicated to this server (seed: 70-80%)"
                        : "50% of the memory: the node is shared with apps (75% when --dedicated)";
    add(&b, "innodb_buffer_pool_size", why, "%lldM", (long long)pool);
    add(&b, "innodb_buffer_pool_chunk_size",
        "32M chunks, so small pools are not rounded up to 128M multiples", "32M");
    /* A redo log about half the pool lets the page cleaner batch writes of
     * hot pages instead of flushing them early at every checkpoint. */
    int64_t redo = clamp(pool / 2, 64, 4096);
    add(&b, "innodb_log_file_size",
        "half the buffer pool (64M-4G): fewer forced checkpoints under write load", "%lldM",
        (long long)redo);
    add(&b, "innodb_log_buffer_size",
        "1/64 of the memory (16M-64M): commits of large transactions stay in memory until "
        "fsync",
        "%lldM", (long long)logbuf);
    add(&b, "innodb_flush_method", "the buffer pool caches pages; no second copy in the OS cache",
        "O_DIRECT");
    add(&b, "innodb_file_per_table", "a dropped or truncated table gives its space back", "1");
    add(&b, "innodb_flush_neighbors", "SSD/NVMe: flushing neighbour pages saves no seek", "0");
    add(&b, "innodb_io_capacity", "background flushing sized for an SSD, not a 200-IOPS disk",
        "1000");
    add(&b, "default_storage_engine", "InnoDB only: transactions and crash recovery", "InnoDB");

    /* What is left after the pool and the server's own memory pays for
     * connections: ~2 MiB each (thread stack, network and sort buffers). */
    int64_t conns = clamp((mem - pool - reserve) / JN_DB_CONN_MB, JN_DB_CONNS_MIN, 2000);
    add(&b, "max_connections",
        "(memory - pool - the server's own) / 2M per connection (32-2000): more would be "
        "killed by the memory limit, not refused",
        "%lld", (long long)conns);
    int64_t tmp = clamp(mem / 32, 16, 256);
    add(&b, "tmp_table_size", "in-memory temporary tables: 1/32 of the memory (16M-256M)",
        "%lldM", (long long)tmp);
    add(&b, "max_heap_table_size", "the same cap as tmp_table_size (the lower one wins)", "%lldM",
        (long long)tmp);
    add(&b, "thread_cache_size", "reuse threads: apps connect and disconnect often", "%lld",
        (long long)clamp(conns / 4, 8, 256));

    add(&b, "skip_name_resolve", "no DNS look-up on connect (accounts are by address)", "1");
    add(&b, "character_set_server", "full Unicode (utf8mb4), emoji included", "utf8mb4");
    add(&b, "collation_server", "utf8mb4's Unicode collation", "utf8mb4_unicode_ci");

    add(&b, "log_bin", "binary log on, for point-in-time recovery after a restore", "%s/binlog",
        in->datadir);
    add(&b, "binlog_format", "row events: replays exactly what changed", "ROW");
    /* With the binary log on, InnoDB no longer syncs its own commit record:
     * crash recovery commits what the binary log holds and rolls back the
     * rest, so an unsynced binary log loses acknowledged commits when the
     * machine (not only mariadbd) goes down. Group commit shares the sync. */
    add(&b, "sync_binlog",
        "binary log synced at every (group) commit: with it on, it decides which commits "
        "survive a power loss",
        "1");
    add(&b, "server_id", "required with the binary log", "1");
    add(&b, "expire_logs_days", "binary logs kept a week (backups every few hours cover more)",
        "7");

    if (in->bind_also && in->bind_also[0])
        add(&b, "bind_address",
            "loopback, and the node's advertised address: attached apps' instances on other "
            "cluster nodes reach it there",
            "127.0.0.1,%s", in->bind_also);
    else
        add(&b, "bind_address", "loopback only: apps on this node reach it, nothing else does",
            "127.0.0.1");
    add(&b, "port", "chosen at create (--port)", "%d", in->port);
    add(&b, "datadir", "under jern's state directory", "%s", in->datadir);
    if (in->tmpdir)
        add(&b, "tmpdir",
            "the server's own: its temporary tables and files share no directory with other "
            "programs",
            "%s", in->tmpdir);
    add(&b, "socket", "the local socket (jern db shell)", "%s", in->socket);
    add(&b, "pid_file", "jern adopts a running server by it", "%s", in->pid_file);
    add(&b, "log_error", "the server's own log (jern db logs)", "%s", in->log_error);
    if (in->as_root)
        add(&b, "user", "jern runs as root; mariadbd refuses root unless told", "root");
    return (int)b.n;
}

int jn_db_conf_render(const struct jn_db_conf_line *lines, int n, struct jn_buf *out)
{
    int r = jn_buf_puts(out, "# generated by jern (jern db config NAME shows the reasons)\n"
                             "[mariadbd]\n");
    for (int i = 0; i < n && r >= 0; i++)
        r = jn_buf_printf(out, "# %s\n%s = %s\n", lines[i].reason, lines[i].key, lines[i].value);
    return r < 0 ? JN_ETOOBIG : 0;
}

const char *jn_db_conf_get(const struct jn_db_conf_line *lines, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(lines[i].key, key) == 0)
            return lines[i].value;
    return NULL;
}

int jn_db_memory_parse(const char *s, int64_t *mb)
{
    if (!s || !isdigit((unsigned char)s[0]) || strlen(s) > 32)
        return JN_EBADINPUT;
    /* Whole and fractional part by hand: no locale, no float surprises. */
    int64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > (int64_t)1 << 40)
            return JN_EBADINPUT;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return JN_EBADINPUT;
        for (; isdigit((unsigned char)*p); p++) {
            if (scale < 1000000) {
                frac = frac * 10 + (*p - '0');
                scale *= 10;
            }
        }
    }
    int64_t unit;
    if (strcasecmp(p, "") == 0 || strcasecmp(p, "m") == 0 || strcasecmp(p, "mb") == 0 ||
        strcasecmp(p, "mib") == 0)
        unit = 1;
    else if (strcasecmp(p, "g") == 0 || strcasecmp(p, "gb") == 0 || strcasecmp(p, "gib") == 0)
        unit = 1024;
    else if (strcasecmp(p, "t") == 0 || strcasecmp(p, "tb") == 0 || strcasecmp(p, "tib") == 0)
        unit = 1024 * 1024;
    else
        return JN_EBADINPUT;
    if (whole > ((int64_t)1 << 40) / unit)
        return JN_EBADINPUT;
    *mb = whole * unit + frac * unit / scale;
    return 0;
}

bool jn_db_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > JN_DB_NAME_MAX || name[0] < 'a' || name[0] > 'z' || name[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

void jn_db_sql_ident(const char *name, char *out, size_t n)
{
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++)
        out[i] = name[i] == '-' ? '_' : name[i];
    if (n)
        out[i] = '\0';
}
