#include "jn_test.h"

#include "gateway/accesslog.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/jn-accesslog-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reads a whole file into a malloc'd NUL-terminated string (or "" if missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return jn_strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = jn_malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void compile(struct jn_template *t, const char *fmt)
{
    char err[128];
    assert_int_equal(jn_template_compile(fmt, t, err, sizeof(err)), 0);
}

static void test_lines_after_flush(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    struct jn_accesslog *l;
    assert_int_equal(jn_accesslog_open(path, 0, &l), 0);
    assert_int_equal(l->cap, JN_ACCESSLOG_BUF_DEFAULT);
    struct jn_template t;
    compile(&t, "$remote_addr $status \"$http_referer\" #$connection_requests");
    struct jn_var_ctx c = {.remote_addr = "127.0.0.1", .status = 200};
    for (int i = 1; i <= 3; i++) {
        c.connection_requests = (uint64_t)i;
        assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    }
    /* buffered: nothing on disk yet */
    assert_int_equal(file_size(path), 0);
    assert_int_equal(jn_accesslog_flush(l), 0);
    char *s = slurp(path);
    assert_string_equal(s, "127.0.0.1 200 \"-\" #1\n127.0.0.1 200 \"-\" #2\n"
                           "127.0.0.1 200 \"-\" #3\n");
    free(s);
    /* an empty flush writes nothing */
    assert_int_equal(jn_accesslog_flush(l), 0);
    assert_int_equal(file_size(path), 63);
    assert_int_equal(l->lines, 3);
    jn_accesslog_close(l);
    jn_template_free(&t);
}

static void test_full_buffer_flushes_whole_lines(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/full.log", dir);
    struct jn_accesslog *l;
    assert_int_equal(jn_accesslog_open(path, 256, &l), 0);
    struct jn_template t;
    compile(&t, "line $connection_requests .........................................");
    struct jn_var_ctx c = {0};
    off_t last = 0;
    int flushes = 0;
    for (int i = 10; i < 50; i++) { /* two-digit numbers: every line is 50 bytes */
        c.connection_requests = (uint64_t)i;
        assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
        off_t sz = file_size(path);
        assert_int_equal(sz % 50, 0); /* only whole lines reach the file */
        assert_true(l->len <= l->cap);
        flushes += sz != last;
        last = sz;
    }
    assert_int_equal(flushes, 40 / 5 - 1); /* 5 lines fit in 256 bytes */
    jn_accesslog_close(l);                 /* close flushes */
    assert_int_equal(file_size(path), 40 * 50);
    char *s = slurp(path);
    assert_memory_equal(s, "line 10 ....", 12);
    assert_memory_equal(s + 39 * 50, "line 49 ....", 12);
    free(s);
    jn_template_free(&t);
}

static void test_oversized_line_is_cut(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/cut.log", dir);
    struct jn_accesslog *l;
    assert_int_equal(jn_accesslog_open(path, 10, &l), 0);
    assert_int_equal(l->cap, 256); /* the floor */
    struct jn_template t;
    compile(&t, "$http_user_agent");
    char ua[1000];
    memset(ua, 'u', sizeof(ua) - 1);
    ua[sizeof(ua) - 1] = '\0';
    struct jn_http_request r;
    memset(&r, 0, sizeof(r));
    r.nheaders = 1;
    r.headers[0] = (struct jn_http_header){"User-Agent", 10, ua, strlen(ua)};
    struct jn_var_ctx c = {.req = &r};
    struct jn_var_ctx small = {0};
    struct jn_template t2;
    compile(&t2, "before");
    assert_int_equal(jn_accesslog_write(l, &t2, &small), 0);
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    assert_int_equal(jn_accesslog_write(l, &t2, &small), 0);
    jn_accesslog_close(l);
    char *s = slurp(path);
    assert_int_equal(strlen(s), 7 + 256 + 7);
    assert_memory_equal(s, "before\nuuu", 10);
    assert_memory_equal(s + 7 + 254, "u\nbefore\n", 9);
    free(s);
    jn_template_free(&t);
    jn_template_free(&t2);
}

static void test_reopen_after_rename(void **state)
{
    char path[300], rotated[300];
    snprintf(path, sizeof(path), "%s/rot.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/rot.log.1", dir);
    struct jn_accesslog *l;
    assert_int_equal(jn_accesslog_open(path, 0, &l), 0);
    struct jn_template t;
    compile(&t, "$request_method");
    struct jn_http_request r;
    memset(&r, 0, sizeof(r));
    struct jn_var_ctx c = {.req = &r};
    r.method = "A";
    r.method_len = 1;
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    assert_int_equal(jn_accesslog_flush(l), 0);
    assert_int_equal(rename(path, rotated), 0);
    /* buffered before the signal: belongs to the old file */
    r.method = "B";
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    assert_int_equal(jn_accesslog_reopen(l), 0);
    r.method = "C";
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    assert_int_equal(jn_accesslog_flush(l), 0);
    char *old = slurp(rotated), *cur = slurp(path);
    assert_string_equal(old, "A\nB\n");
    assert_string_equal(cur, "C\n");
    free(old);
    free(cur);
    jn_accesslog_close(l);
    jn_template_free(&t);
}

static void test_open_and_reopen_errors(void **state)
{
    char sub[300], path[350], moved[300], moved_path[350];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(path, sizeof(path), "%s/sub/x.log", dir);
    snprintf(moved, sizeof(moved), "%s/moved", dir);
    snprintf(moved_path, sizeof(moved_path), "%s/moved/x.log", dir);
    struct jn_accesslog *l = NULL;
    assert_int_equal(jn_accesslog_open(path, 0, &l), -ENOENT);
    assert_null(l);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(jn_accesslog_open(path, 0, &l), 0);
    /* the directory goes away: reopen fails and the old file keeps the lines */
    assert_int_equal(rename(sub, moved), 0);
    struct jn_template t;
    compile(&t, "kept");
    struct jn_var_ctx c = {0};
    assert_int_equal(jn_accesslog_reopen(l), -ENOENT);
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    jn_accesslog_close(l);
    char *s = slurp(moved_path);
    assert_string_equal(s, "kept\n");
    free(s);
    jn_template_free(&t);
}

static void test_write_error_drops_and_reports(void **state)
{
    if (access("/dev/full", W_OK) != 0)
        skip(); /* a container without /dev/full */
    struct jn_accesslog *l;
    assert_int_equal(jn_accesslog_open("/dev/full", 0, &l), 0);
    struct jn_template t;
    compile(&t, "x");
    struct jn_var_ctx c = {0};
    assert_int_equal(jn_accesslog_write(l, &t, &c), 0);
    assert_int_equal(jn_accesslog_flush(l), -ENOSPC);
    assert_int_equal(l->dropped_bytes, 2);
    assert_int_equal(l->len, 0);
    jn_accesslog_close(l);
    jn_template_free(&t);
}

/* Four workers, four writers, one file: every line arrives whole. */
struct worker {
    const char *path;
    const struct jn_template *t;
    int id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct jn_accesslog *l;
    if (jn_accesslog_open(w->path, 4096, &l) != 0)
        return (void *)1;
    struct jn_var_ctx c = {.connection = (uint64_t)w->id};
    for (int i = 0; i < 20000; i++) {
        c.connection_requests = (uint64_t)i;
        jn_accesslog_write(l, w->t, &c);
        if (i % 1000 == 0)
            jn_accesslog_flush(l);
    }
    jn_accesslog_close(l);
    return NULL;
}

static void test_shared_file_whole_lines(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/shared.log", dir);
    struct jn_template t;
    compile(&t, "<w$connection n$connection_requests ------------------------------>");
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){path, &t, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    char *s = slurp(path);
    int count[4] = {0}, next[4] = {0};
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        int wid, n;
        char tail[64];
        assert_int_equal(sscanf(line, "<w%d n%d %63s", &wid, &n, tail), 3);
        assert_string_equal(tail, "------------------------------>");
        assert_true(wid >= 0 && wid < 4);
        /* each worker's lines stay in its order */
        assert_int_equal(n, next[wid]);
        next[wid]++;
        count[wid]++;
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(count[i], 20000);
    free(s);
    jn_template_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_after_flush),
        cmocka_unit_test(test_full_buffer_flushes_whole_lines),
        cmocka_unit_test(test_oversized_line_is_cut),
        cmocka_unit_test(test_reopen_after_rename),
        cmocka_unit_test(test_open_and_reopen_errors),
        cmocka_unit_test(test_write_error_drops_and_reports),
        cmocka_unit_test(test_shared_file_whole_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
