/*
 * admin.c: libmariadb for the statements jern runs on a managed server.
 * Identifiers come from jn_db_sql_ident (a-z, 0-9, '_') and passwords from
 * jn_db_password (letters, digits), so nothing here needs escaping beyond
 * what mysql_real_escape_string gives as a second guard.
 */
/* <mysql.h> before common.h: its macros name strcpy, which common.h poisons.
 * Nothing here calls strcpy. */
#include <mysql.h>

#include "core/common.h"

#include "db/admin.h"
#include <sys/random.h>

struct jn_db_conn {
    MYSQL *m;
};

static bool ident_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

struct jn_db_conn *jn_db_connect(int port, const char *user, const char *pass, int timeout_s,
                                 char *err, size_t errlen)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    unsigned t = (unsigned)timeout_s;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (!mysql_real_connect(m, "127.0.0.1", user, pass, NULL, (unsigned)port, NULL, 0)) {
        snprintf(err, errlen, "%s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    struct jn_db_conn *c = jn_calloc(1, sizeof(*c));
    c->m = m;
    return c;
}

void jn_db_close(struct jn_db_conn *c)
{
    if (!c)
        return;
    mysql_close(c->m);
    free(c);
}

int jn_db_exec(struct jn_db_conn *c, const char *sql, char *err, size_t errlen)
{
    if (mysql_query(c->m, sql) != 0) {
        snprintf(err, errlen, "%s", mysql_error(c->m));
        return JN_EBASE;
    }
    MYSQL_RES *r = mysql_store_result(c->m);
    if (r)
        mysql_free_result(r);
    return 0;
}

int jn_db_grant(struct jn_db_conn *c, const char *dbname, const char *user, const char *pass,
                char *err, size_t errlen)
{
    if (!ident_ok(dbname) || !ident_ok(user) || strlen(pass) > 64) {
        snprintf(err, errlen, "invalid database or user name");
        return JN_EBADINPUT;
    }
    char esc[2 * 64 + 1];
    mysql_real_escape_string(c->m, esc, pass, strlen(pass));
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS `%s`", dbname);
    int r = jn_db_exec(c, sql, err, errlen);
    if (r == 0) {
        snprintf(sql, sizeof(sql), "CREATE OR REPLACE USER '%s'@'%%' IDENTIFIED BY '%s'", user,
                 esc);
        r = jn_db_exec(c, sql, err, errlen);
    }
    if (r == 0) {
        snprintf(sql, sizeof(sql), "GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%%'", dbname, user);
        r = jn_db_exec(c, sql, err, errlen);
    }
    explicit_bzero(sql, sizeof(sql));
    explicit_bzero(esc, sizeof(esc));
    return r;
}

int jn_db_revoke(struct jn_db_conn *c, const char *user, char *err, size_t errlen)
{
    if (!ident_ok(user)) {
        snprintf(err, errlen, "invalid user name");
        return JN_EBADINPUT;
    }
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP USER IF EXISTS '%s'@'%%'", user);
    return jn_db_exec(c, sql, err, errlen);
}

char **jn_db_user_databases(struct jn_db_conn *c)
{
    char **v = jn_calloc(1, sizeof(char *));
    if (mysql_query(c->m, "SHOW DATABASES") != 0)
        return v;
    MYSQL_RES *res = mysql_store_result(c->m);
    size_t n = 0;
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res))) {
        const char *s = row[0];
        if (!s || strcmp(s, "mysql") == 0 || strcmp(s, "sys") == 0 ||
            strcmp(s, "information_schema") == 0 || strcmp(s, "performance_schema") == 0)
            continue;
        v = jn_realloc(v, (n + 2) * sizeof(char *));
        v[n++] = jn_strdup(s);
        v[n] = NULL;
    }
    if (res)
        mysql_free_result(res);
    return v;
}

void jn_db_names_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void jn_db_version(struct jn_db_conn *c, char *out, size_t n)
{
    const char *v = mysql_get_server_info(c->m);
    snprintf(out, n, "%s", v ? v : "");
}

int jn_db_status_read(struct jn_db_conn *c, struct jn_db_status *out)
{
    memset(out, 0, sizeof(*out));
    if (mysql_query(c->m, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected',"
                          "'Queries','Innodb_buffer_pool_read_requests',"
                          "'Innodb_buffer_pool_reads')") != 0)
        return JN_EBASE;
    MYSQL_RES *res = mysql_store_result(c->m);
    if (!res)
        return JN_EBASE;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        int64_t v = strtoll(row[1], NULL, 10);
        if (strcasecmp(row[0], "Threads_connected") == 0)
            out->threads_connected = v;
        else if (strcasecmp(row[0], "Queries") == 0)
            out->queries = v;
        else if (strcasecmp(row[0], "Innodb_buffer_pool_read_requests") == 0)
            out->pool_read_requests = v;
        else if (strcasecmp(row[0], "Innodb_buffer_pool_reads") == 0)
            out->pool_reads = v;
    }
    mysql_free_result(res);
    return 0;
}

void jn_db_password(char out[JN_DB_PASS_LEN + 1])
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[JN_DB_PASS_LEN];
    size_t got = 0;
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* no entropy: never hand out a guessable password */
    }
    /* 62 letters: 248 = 4 * 62, so bytes below 248 map without bias. */
    for (size_t i = 0, k = 0; i < JN_DB_PASS_LEN; k++) {
        if (k == sizeof(rnd)) {
            while (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                ;
            k = 0;
        }
        if (rnd[k] < 248)
            out[i++] = set[rnd[k] % 62];
    }
    out[JN_DB_PASS_LEN] = '\0';
    explicit_bzero(rnd, sizeof(rnd));
}
