#include "jn_test.h"

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[96];
};

static int setup(void **state)
{
    struct fixture *f = jn_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/jn-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct jn_store *open_store(struct fixture *f)
{
    struct jn_store *st = NULL;
    char err[256] = "";
    int r = jn_store_open(f->path, &st, err, sizeof(err));
    if (r != 0)
        fail_msg("open: %s", err);
    return st;
}

static void test_migrates_from_empty(void **state)
{
    struct jn_store *st = open_store(*state);
    assert_true(jn_store_migrations_count() >= 1);
    assert_int_equal(jn_store_schema_version(st), jn_store_migrations_count());
    jn_store_close(st);
    /* Reopening applies nothing and keeps the version. */
    st = open_store(*state);
    assert_int_equal(jn_store_schema_version(st), jn_store_migrations_count());
    jn_store_close(st);
}

static void test_app_round_trip_and_duplicate(void **state)
{
    struct jn_store *st = open_store(*state);
    struct jn_store_app a;
    assert_int_equal(jn_store_app_create(st, "shop", &a), 0);
    assert_string_equal(a.name, "shop");
    assert_true(a.id > 0);
    assert_true(a.created_at > 0);
    assert_int_equal(jn_store_app_create(st, "shop", NULL), JN_EEXIST);
    assert_int_equal(jn_store_app_create(st, "blog", NULL), 0);

    struct jn_store_app *v;
    assert_int_equal(jn_store_app_list(st, &v), 2);
    assert_string_equal(v[0].name, "blog"); /* sorted by name */
    assert_string_equal(v[1].name, "shop");
    free(v);

    assert_int_equal(jn_store_app_get(st, "nope", &a), JN_ENOTFOUND);
    assert_int_equal(jn_store_app_delete(st, "nope"), JN_ENOTFOUND);
    assert_int_equal(jn_store_app_delete(st, "blog"), 0);
    assert_int_equal(jn_store_app_get(st, "blog", &a), JN_ENOTFOUND);
    assert_int_equal(jn_store_app_list(st, &v), 1);
    free(v);
    jn_store_close(st);
}

static void test_domains(void **state)
{
    struct jn_store *st = open_store(*state);
    assert_int_equal(jn_store_app_create(st, "shop", NULL), 0);
    assert_int_equal(jn_store_app_create(st, "blog", NULL), 0);
    assert_int_equal(jn_store_domain_add(st, "shop", "shop.example.com"), 0);
    assert_int_equal(jn_store_domain_add(st, "shop", "www.shop.example.com"), 0);
    /* a domain belongs to one app only */
    assert_int_equal(jn_store_domain_add(st, "blog", "shop.example.com"), JN_EEXIST);
    assert_int_equal(jn_store_domain_add(st, "ghost", "x.example.com"), JN_ENOTFOUND);

    struct jn_store_domain *d;
    assert_int_equal(jn_store_domain_list(st, "shop", &d), 2);
    assert_string_equal(d[0].domain, "shop.example.com");
    assert_string_equal(d[0].app, "shop");
    free(d);
    assert_int_equal(jn_store_domain_list(st, "blog", &d), 0);
    assert_null(d);

    assert_int_equal(jn_store_domain_remove(st, "blog", "shop.example.com"), JN_ENOTFOUND);
    assert_int_equal(jn_store_domain_remove(st, "shop", "shop.example.com"), 0);
    assert_int_equal(jn_store_domain_list(st, NULL, &d), 1);
    assert_string_equal(d[0].domain, "www.shop.example.com");
    free(d);

    /* deleting the app deletes its domains */
    assert_int_equal(jn_store_app_delete(st, "shop"), 0);
    assert_int_equal(jn_store_domain_list(st, NULL, &d), 0);
    /* and the name is free again for a new app */
    assert_int_equal(jn_store_app_create(st, "blog2", NULL), 0);
    assert_int_equal(jn_store_domain_add(st, "blog2", "www.shop.example.com"), 0);
    jn_store_close(st);
}

static void test_servers(void **state)
{
    struct jn_store *st = open_store(*state);
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9001", 1, NULL), 0);
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9002", 5, "drain"), 0);
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9001", 1, NULL), JN_EEXIST);
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9003", 0, NULL), JN_EBADINPUT);
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9003", 1, "bogus"), JN_EBADINPUT);
    /* only config servers can be hidden with "removed" */
    assert_int_equal(jn_store_server_add(st, "api", "127.0.0.1:9003", 1, "removed"), JN_EBADINPUT);

    struct jn_store_server *v;
    assert_int_equal(jn_store_server_list(st, "api", &v), 2);
    assert_string_equal(v[0].addr, "127.0.0.1:9001");
    assert_string_equal(v[0].state, "ready");
    assert_string_equal(v[0].origin, "api");
    assert_int_equal(v[1].weight, 5);
    assert_string_equal(v[1].state, "drain");
    free(v);

    assert_int_equal(jn_store_server_set(st, "api", "127.0.0.1:9002", 0, "maint"), 0);
    assert_int_equal(jn_store_server_set(st, "api", "127.0.0.1:9002", 7, NULL), 0);
    struct jn_store_server one;
    assert_int_equal(jn_store_server_get(st, "api", "127.0.0.1:9002", &one), 0);
    assert_int_equal(one.weight, 7);
    assert_string_equal(one.state, "maint");
    assert_int_equal(jn_store_server_set(st, "api", "127.0.0.1:9999", 2, NULL), JN_ENOTFOUND);
    assert_int_equal(jn_store_server_set(st, "api", "127.0.0.1:9002", 5000, NULL), JN_EBADINPUT);

    assert_int_equal(jn_store_server_override(st, "static", "10.0.0.1:80", 1, "removed"), 0);
    assert_int_equal(jn_store_server_override(st, "static", "10.0.0.1:80", 3, "drain"), 0);
    assert_int_equal(jn_store_server_get(st, "static", "10.0.0.1:80", &one), 0);
    assert_string_equal(one.origin, "config");
    assert_int_equal(one.weight, 3);

    assert_int_equal(jn_store_server_remove(st, "api", "127.0.0.1:9001"), 0);
    assert_int_equal(jn_store_server_remove(st, "api", "127.0.0.1:9001"), JN_ENOTFOUND);
    assert_int_equal(jn_store_server_list(st, NULL, &v), 2);
    free(v);

    /* an app's servers go with the app */
    assert_int_equal(jn_store_app_create(st, "shop", NULL), 0);
    assert_int_equal(jn_store_server_add(st, "shop", "127.0.0.1:7000", 1, NULL), 0);
    assert_int_equal(jn_store_app_delete(st, "shop"), 0);
    assert_int_equal(jn_store_server_list(st, "shop", &v), 0);
    jn_store_close(st);
}

static void test_transaction_rollback(void **state)
{
    struct jn_store *st = open_store(*state);
    assert_int_equal(jn_store_begin(st), 0);
    assert_int_equal(jn_store_app_create(st, "tmp", NULL), 0);
    assert_int_equal(jn_store_domain_add(st, "tmp", "tmp.example.com"), 0);
    jn_store_rollback(st);
    assert_int_equal(jn_store_app_get(st, "tmp", NULL), JN_ENOTFOUND);

    assert_int_equal(jn_store_begin(st), 0);
    assert_int_equal(jn_store_app_create(st, "kept", NULL), 0);
    /* a failing savepoint-protected call inside the transaction leaves it usable */
    assert_int_equal(jn_store_app_delete(st, "ghost"), JN_ENOTFOUND);
    assert_int_equal(jn_store_commit(st), 0);
    assert_int_equal(jn_store_app_get(st, "kept", NULL), 0);
    jn_store_close(st);
}

static void test_reopen_keeps_data(void **state)
{
    struct jn_store *st = open_store(*state);
    assert_int_equal(jn_store_app_create(st, "shop", NULL), 0);
    assert_int_equal(jn_store_domain_add(st, "shop", "shop.example.com"), 0);
    assert_int_equal(jn_store_server_add(st, "shop", "127.0.0.1:9001", 3, "drain"), 0);
    assert_int_equal(jn_store_setting_set(st, "base_domain", "localhost"), 0);
    assert_int_equal(jn_store_setting_set(st, "base_domain", "example.net"), 0);
    jn_store_close(st);

    st = open_store(*state);
    struct jn_store_app a;
    assert_int_equal(jn_store_app_get(st, "shop", &a), 0);
    struct jn_store_domain *d;
    assert_int_equal(jn_store_domain_list(st, "shop", &d), 1);
    assert_string_equal(d[0].domain, "shop.example.com");
    free(d);
    struct jn_store_server sv;
    assert_int_equal(jn_store_server_get(st, "shop", "127.0.0.1:9001", &sv), 0);
    assert_int_equal(sv.weight, 3);
    assert_string_equal(sv.state, "drain");
    char buf[32];
    assert_int_equal(jn_store_setting_get(st, "base_domain", buf, sizeof(buf)), 11);
    assert_string_equal(buf, "example.net");
    assert_int_equal(jn_store_setting_get(st, "nope", buf, sizeof(buf)), JN_ENOTFOUND);
    jn_store_close(st);
}

static void test_open_errors_are_explained(void **state)
{
    struct jn_store *st = NULL;
    char err[256] = "";
    assert_true(jn_store_open("/nonexistent-dir/x/state.db", &st, err, sizeof(err)) < 0);
    assert_null(st);
    assert_non_null(strstr(err, "/nonexistent-dir/x/state.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrates_from_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_round_trip_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_servers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors_are_explained, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
