/* test_conf.c: the generated MariaDB configuration, as a table of cases. */
#include "jn_test.h"

#include "db/backup.h"
#include "db/conf.h"
#include "db/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int build(int64_t mem, bool dedicated, struct jn_db_conf_line *lines, char *err)
{
    struct jn_db_conf_in in = {
        .memory_mb = mem,
        .dedicated = dedicated,
        .port = 3306,
        .datadir = "/s/db/x/data",
        .socket = "/s/db/x/sock",
        .pid_file = "/s/db/x/pid",
        .log_error = "/s/db/x/err",
        .tmpdir = "/s/db/x/tmp",
    };
    return jn_db_conf_build(&in, lines, JN_DB_CONF_MAX_LINES, err, 256);
}

static void test_sizes_table(void **state)
{
    static const struct {
        int64_t mem;
        bool dedicated;
        const char *pool, *redo, *conns;
    } cases[] = {
        /* at small budgets the server's own ~112M and 32 connections come
         * first: the pool is what is left (75%/50% would not fit) */
        {256, false, "64M", "64M", "40"},         /* the minimum, shared */
        {256, true, "64M", "64M", "40"},          /* dedicated: the same room */
        {640, true, "448M", "224M", "40"},        /* 75% would leave room for 24 connections */
        {1024, false, "512M", "256M", "200"},     /* shared: 50% */
        {1024, true, "768M", "384M", "72"},       /* dedicated: 75% */
        {4096, true, "3072M", "1536M", "432"},    /* log buffer 64M */
        {65536, true, "49152M", "4096M", "2000"}, /* redo and connections capped */
        {1000, false, "480M", "240M", "204"},     /* the pool rounds down to 32M */
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        struct jn_db_conf_line l[JN_DB_CONF_MAX_LINES];
        char err[256];
        int n = build(cases[i].mem, cases[i].dedicated, l, err);
        assert_true(n > 0);
        assert_string_equal(jn_db_conf_get(l, n, "innodb_buffer_pool_size"), cases[i].pool);
        assert_string_equal(jn_db_conf_get(l, n, "innodb_log_file_size"), cases[i].redo);
        assert_string_equal(jn_db_conf_get(l, n, "max_connections"), cases[i].conns);
    }
}

/* The promise behind the sizes: the pool, the server's own memory and
 * max_connections busy connections fit in the memory the server's cgroup is
 * limited to. A config that does not is an OOM kill under load (a 640M
 * dedicated server with 80 sysbench connections was, before this rule). */
static void test_every_budget_fits_its_limit(void **state)
{
    for (int64_t mem = JN_DB_MEMORY_MIN_MB; mem <= 256 * 1024; mem = mem * 9 / 8) {
        for (int d = 0; d < 2; d++) {
            struct jn_db_conf_line l[JN_DB_CONF_MAX_LINES];
            char err[256];
            int n = build(mem, d, l, err);
            assert_true(n > 0);
            int64_t pool = atoll(jn_db_conf_get(l, n, "innodb_buffer_pool_size"));
            int64_t logbuf = atoll(jn_db_conf_get(l, n, "innodb_log_buffer_size"));
            int64_t conns = atoll(jn_db_conf_get(l, n, "max_connections"));
            if (conns == 2000)
                continue; /* capped: what is left stays unused */
            assert_true(pool >= 64);
            assert_true(pool + JN_DB_SERVER_MB + logbuf + conns * JN_DB_CONN_MB <= mem);
            assert_true(pool <= (d ? mem * 3 / 4 : mem / 2));
        }
    }
}

static void test_rules_present(void **state)
{
    struct jn_db_conf_line l[JN_DB_CONF_MAX_LINES];
    char err[256];
    int n = build(1024, false, l, err);
    assert_string_equal(jn_db_conf_get(l, n, "innodb_flush_method"), "O_DIRECT");
    assert_string_equal(jn_db_conf_get(l, n, "innodb_file_per_table"), "1");
    assert_string_equal(jn_db_conf_get(l, n, "default_storage_engine"), "InnoDB");
    assert_string_equal(jn_db_conf_get(l, n, "skip_name_resolve"), "1");
    assert_string_equal(jn_db_conf_get(l, n, "character_set_server"), "utf8mb4");
    assert_string_equal(jn_db_conf_get(l, n, "bind_address"), "127.0.0.1");
    assert_string_equal(jn_db_conf_get(l, n, "log_bin"), "/s/db/x/data/binlog");
    assert_string_equal(jn_db_conf_get(l, n, "sync_binlog"), "1");
    /* its own tmpdir: /tmp is shared with every other server and tool */
    assert_string_equal(jn_db_conf_get(l, n, "tmpdir"), "/s/db/x/tmp");
    assert_null(jn_db_conf_get(l, n, "user"));
    for (int i = 0; i < n; i++)
        assert_true(strlen(l[i].reason) > 10); /* every line says why */
    struct jn_buf b;
    jn_buf_init(&b, 1 << 16);
    assert_int_equal(jn_db_conf_render(l, n, &b), 0);
    const char *t = jn_buf_cstr(&b);
    assert_non_null(strstr(t, "[mariadbd]\n"));
    assert_non_null(strstr(t, "# the buffer pool caches pages; no second copy in the OS cache\n"
                              "innodb_flush_method = O_DIRECT\n"));
    jn_buf_free(&b);
}

static void test_bad_input(void **state)
{
    struct jn_db_conf_line l[JN_DB_CONF_MAX_LINES];
    char err[256];
    assert_int_equal(build(255, false, l, err), JN_EBADINPUT);
    assert_non_null(strstr(err, "workable minimum"));
    assert_int_equal(build(0, true, l, err), JN_EBADINPUT);
    assert_int_equal(build((int64_t)2 << 20, true, l, err), JN_EBADINPUT);
    struct jn_db_conf_in in = {.memory_mb = 512, .port = 3306, .datadir = "/a\nb",
                               .socket = "/s", .pid_file = "/p", .log_error = "/e"};
    assert_int_equal(jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256), JN_EBADINPUT);
    in.datadir = "/d";
    in.tmpdir = "/t'mp";
    assert_int_equal(jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256), JN_EBADINPUT);
    in.tmpdir = NULL;
    in.port = 70000;
    assert_int_equal(jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256), JN_EBADINPUT);
    in.port = 3306;
    in.bind_also = "10.0.0.1\nskip_grant_tables=1"; /* no line of its own */
    assert_int_equal(jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256), JN_EBADINPUT);
    assert_non_null(strstr(err, "--advertise"));
}

/* A cluster node's database listens on its advertised address too. */
static void test_bind_also(void **state)
{
    struct jn_db_conf_line l[JN_DB_CONF_MAX_LINES];
    char err[256];
    struct jn_db_conf_in in = {.memory_mb = 512, .port = 3306, .datadir = "/d", .socket = "/s",
                               .pid_file = "/p", .log_error = "/e", .bind_also = "10.0.0.11"};
    int n = jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256);
    assert_true(n > 0);
    assert_string_equal(jn_db_conf_get(l, n, "bind_address"), "127.0.0.1,10.0.0.11");
    in.bind_also = "db-1.oslo.example";
    n = jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256);
    assert_string_equal(jn_db_conf_get(l, n, "bind_address"), "127.0.0.1,db-1.oslo.example");
    in.bind_also = "";
    n = jn_db_conf_build(&in, l, JN_DB_CONF_MAX_LINES, err, 256);
    assert_string_equal(jn_db_conf_get(l, n, "bind_address"), "127.0.0.1");
}

static void test_memory_parse(void **state)
{
    static const struct {
        const char *s;
        int64_t mb; /* -1: invalid */
    } cases[] = {
        {"512M", 512}, {"512", 512},   {"1G", 1024},   {"1.5G", 1536}, {"2gib", 2048},
        {"1T", 1048576}, {"256MB", 256}, {"", -1},     {"G", -1},      {"-1G", -1},
        {"1.G", -1},   {"1X", -1},     {"1 G", -1},    {"99999999999999999999G", -1},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        int64_t mb = -7;
        int r = jn_db_memory_parse(cases[i].s, &mb);
        if (cases[i].mb < 0) {
            assert_int_equal(r, JN_EBADINPUT);
        } else {
            assert_int_equal(r, 0);
            assert_int_equal(mb, cases[i].mb);
        }
    }
}

static void test_names(void **state)
{
    assert_true(jn_db_name_ok("shop"));
    assert_true(jn_db_name_ok("shop-db2"));
    assert_false(jn_db_name_ok(""));
    assert_false(jn_db_name_ok("Shop"));
    assert_false(jn_db_name_ok("2shop"));
    assert_false(jn_db_name_ok("shop-"));
    assert_false(jn_db_name_ok("a/b"));
    assert_false(jn_db_name_ok("abcdefghijklmnopqrstuvwxyzabcdefg")); /* 33 */
    char id[16];
    jn_db_sql_ident("my-app", id, sizeof(id));
    assert_string_equal(id, "my_app");
    assert_true(jn_db_backup_id_ok("20261204T161502Z-manual"));
    assert_false(jn_db_backup_id_ok("../../etc/passwd"));
    assert_false(jn_db_backup_id_ok("20261204T161502Z/x"));
}

static void test_env_merge(void **state)
{
    char dir[] = "/tmp/jn-test-env-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(jn_db_env_write(dir, "web", 3307, "/st/db/main/run", "web", "pw", "web"), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/db/env/web", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    const char *env[] = {"A=1", "MYSQL_HOST=db.example", NULL};
    char **m = jn_db_env_merge(dir, "web", env, false);
    int url = 0, host = 0, n = 0;
    for (; m[n]; n++) {
        url += strcmp(m[n], "DATABASE_URL=mysql://web:pw@127.0.0.1:3307/web") == 0;
        host += strncmp(m[n], "MYSQL_HOST=", 11) == 0;
    }
    assert_int_equal(url, 1);
    assert_int_equal(host, 1); /* the release's own value wins */
    assert_int_equal(n, 7);
    jn_db_env_free(m);
    /* A container: the socket mounted at /run/jern-db, localhost */
    m = jn_db_env_merge(dir, "web", NULL, true);
    int sock = 0;
    for (n = 0; m[n]; n++) {
        sock += strcmp(m[n], "DATABASE_URL=mysql://web:pw@localhost/web?socket=/run/jern-db/"
                             "mariadbd.sock") == 0;
        sock += strcmp(m[n], "MYSQL_UNIX_PORT=/run/jern-db/mariadbd.sock") == 0;
        sock += strcmp(m[n], "MYSQL_HOST=localhost") == 0;
        assert_null(strstr(m[n], "127.0.0.1"));
        assert_null(strchr(m[n], ':') < strchr(m[n], '=') ? strchr(m[n], ':') : NULL);
    }
    assert_int_equal(sock, 3);
    assert_int_equal(n, 7);
    jn_db_env_free(m);
    char sd[256];
    assert_int_equal(jn_db_env_socket_dir(dir, "web", sd, sizeof(sd)), 0);
    assert_string_equal(sd, "/st/db/main/run");
    jn_db_env_remove(dir, "web");
    assert_int_equal(jn_db_env_socket_dir(dir, "web", sd, sizeof(sd)), JN_ENOTFOUND);
    m = jn_db_env_merge(dir, "web", env, false);
    assert_string_equal(m[0], "A=1");
    assert_null(m[2]);
    jn_db_env_free(m);
    /* a database on another cluster node: TCP to it for both sets, and the
     * node named for jern alone */
    assert_int_equal(jn_db_env_write_remote(dir, "api", "n1", "10.0.0.11", 3308, "api", "pw2",
                                            "api"),
                     0);
    for (int container = 0; container < 2; container++) {
        m = jn_db_env_merge(dir, "api", NULL, container);
        for (n = 0; m[n]; n++)
            assert_null(strchr(m[n], '#'));
        assert_int_equal(n, 6);
        assert_string_equal(m[0], "DATABASE_URL=mysql://api:pw2@10.0.0.11:3308/api");
        assert_string_equal(m[1], "MYSQL_HOST=10.0.0.11");
        jn_db_env_free(m);
    }
    assert_int_equal(jn_db_env_node(dir, "api", sd, sizeof(sd)), 0);
    assert_string_equal(sd, "n1");
    assert_int_equal(jn_db_env_socket_dir(dir, "api", sd, sizeof(sd)), JN_ENOTFOUND);
    assert_int_equal(jn_db_env_get(dir, "api", "MYSQL_PORT", sd, sizeof(sd)), 0);
    assert_string_equal(sd, "3308");
    jn_db_env_remove(dir, "api");
    snprintf(path, sizeof(path), "%s/db/env", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/db", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_table),   cmocka_unit_test(test_every_budget_fits_its_limit),
        cmocka_unit_test(test_rules_present), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_memory_parse),  cmocka_unit_test(test_names),
        cmocka_unit_test(test_env_merge),     cmocka_unit_test(test_bind_also),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
