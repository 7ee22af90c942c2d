/*
 * fuzz_dbconf.c: the database configuration rules. The input is a memory
 * size as a user types it ("1.5G"), a NUL, then flag bytes. Invariants: a
 * parse either fails or gives a size; a config either fails with a message
 * or keeps the buffer pool within 50-75% of the memory, the redo log within
 * 64M-4G, connections within 32-2000, every value on one line.
 */
#include "fuzz/check.h"

#include "db/conf.h"

static int64_t mib(const char *v)
{
    FUZZ_CHECK(v != NULL);
    char *end;
    long long n = strtoll(v, &end, 10);
    FUZZ_CHECK(end != v && (*end == 'M' || *end == '\0'));
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t sl = 0;
    while (sl < len && data[sl])
        sl++;
    char *s = fuzz_copy(data, sl);
    char *z = malloc(sl + 1);
    memcpy(z, s, sl);
    z[sl] = '\0';
    uint8_t flags = sl + 1 < len ? data[sl + 1] : 0;
    int64_t mem = 0;
    int r = jn_db_memory_parse(z, &mem);
    FUZZ_CHECK(r == 0 || r == JN_EBADINPUT);
    if (r == 0)
        FUZZ_CHECK(mem >= 0 && mem <= ((int64_t)1 << 40));
    struct jn_db_conf_in in = {
        .memory_mb = r == 0 ? mem : (int64_t)(flags) * 37,
        .dedicated = flags & 1,
        .port = (flags & 2) ? 0 : 3306,
        .datadir = (flags & 4) ? z : "/var/lib/jern/db/x/data",
        .socket = "/tmp/s.sock",
        .pid_file = "/tmp/p.pid",
        .log_error = "/tmp/e.log",
        .as_root = flags & 8,
    };
    struct jn_db_conf_line lines[JN_DB_CONF_MAX_LINES];
    char err[256] = "";
    int n = jn_db_conf_build(&in, lines, JN_DB_CONF_MAX_LINES, err, sizeof(err));
    if (n < 0) {
        FUZZ_CHECK(n == JN_EBADINPUT && err[0] != '\0');
    } else {
        int64_t pool = mib(jn_db_conf_get(lines, n, "innodb_buffer_pool_size"));
        FUZZ_CHECK(pool * 4 <= in.memory_mb * 3 && pool >= 64);
        int64_t redo = mib(jn_db_conf_get(lines, n, "innodb_log_file_size"));
        FUZZ_CHECK(redo >= 64 && redo <= 4096);
        int64_t conns = mib(jn_db_conf_get(lines, n, "max_connections"));
        FUZZ_CHECK(conns >= 32 && conns <= 2000);
        /* the pool, the server's own memory and every connection fit the limit */
        int64_t logbuf = mib(jn_db_conf_get(lines, n, "innodb_log_buffer_size"));
        FUZZ_CHECK(conns == 2000 ||
                   pool + JN_DB_SERVER_MB + logbuf + conns * JN_DB_CONN_MB <= in.memory_mb);
        for (int i = 0; i < n; i++)
            FUZZ_CHECK(!strchr(lines[i].value, '\n') && !strchr(lines[i].reason, '\n'));
        struct jn_buf b;
        jn_buf_init(&b, 1 << 20);
        FUZZ_CHECK(jn_db_conf_render(lines, n, &b) == 0);
        jn_buf_free(&b);
    }
    free(z);
    free(s);
    return 0;
}
