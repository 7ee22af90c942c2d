#include "jn_test.h"

#include "store/release.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64], path[96];

static struct jn_store *open_store(void)
{
    snprintf(dir, sizeof(dir), "/tmp/jn-release-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    struct jn_store *st = NULL;
    char err[256] = "";
    if (jn_store_open(path, &st, err, sizeof(err)) != 0)
        fail_msg("open: %s", err);
    return st;
}

static void close_store(struct jn_store *st)
{
    jn_store_close(st);
    char p[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void test_releases_are_numbered_per_app(void **state)
{
    struct jn_store *st = open_store();
    assert_int_equal(jn_store_app_create(st, "web", NULL), 0);
    assert_int_equal(jn_store_app_create(st, "api", NULL), 0);
    struct jn_store_release r = {0};
    assert_int_equal(jn_store_release_create(st, "web", "img:v1", NULL, NULL, "{\"K\":\"v\"}",
                                             "{\"port\":80}", &r),
                     0);
    assert_int_equal(r.version, 1);
    assert_string_equal(r.status, "pending");
    assert_string_equal(r.image, "img:v1");
    assert_string_equal(r.command, "");
    assert_string_equal(r.env, "{\"K\":\"v\"}");
    int64_t first = r.id;
    jn_store_release_clear(&r);
    assert_int_equal(jn_store_release_create(st, "web", NULL, "./run", NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.version, 2);
    assert_string_equal(r.command, "./run");
    assert_string_equal(r.spec, "{}");
    jn_store_release_clear(&r);
    assert_int_equal(jn_store_release_create(st, "api", "x", NULL, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.version, 1);
    jn_store_release_clear(&r);
    assert_int_equal(jn_store_release_create(st, "nope", "x", NULL, NULL, NULL, NULL, &r),
                     JN_ENOTFOUND);

    assert_int_equal(jn_store_release_set_status(st, first, "active"), 0);
    assert_int_equal(jn_store_release_set_image_id(st, first, "sha256:abc"), 0);
    assert_int_equal(jn_store_release_get(st, "web", 1, 0, &r), 0);
    assert_string_equal(r.status, "active");
    assert_string_equal(r.image_id, "sha256:abc");
    jn_store_release_clear(&r);
    assert_int_equal(jn_store_release_get(st, "web", 0, first, &r), 0);
    assert_int_equal(r.version, 1);
    jn_store_release_clear(&r);
    assert_int_equal(jn_store_release_get(st, "api", 0, first, &r), JN_ENOTFOUND);

    struct jn_store_release *v;
    int n = jn_store_release_list(st, "web", &v);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].version, 2); /* newest first */
    jn_store_release_list_free(v, n);

    /* versions keep counting after a delete: never reused */
    assert_int_equal(jn_store_release_delete(st, first), 0);
    assert_int_equal(jn_store_release_create(st, "web", "img", NULL, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.version, 3);
    jn_store_release_clear(&r);
    close_store(st);
}

static void test_serving_and_instances(void **state)
{
    struct jn_store *st = open_store();
    assert_int_equal(jn_store_app_create(st, "web", NULL), 0);
    int64_t rel = -1;
    int scale = -1;
    assert_int_equal(jn_store_app_serving(st, "web", &rel, &scale), 0);
    assert_int_equal(rel, 0);
    assert_int_equal(scale, 1);
    struct jn_store_release r = {0};
    assert_int_equal(jn_store_release_create(st, "web", "img", NULL, NULL, NULL, NULL, &r), 0);
    assert_int_equal(jn_store_app_set_serving(st, "web", r.id, 3), 0);
    assert_int_equal(jn_store_app_serving(st, "web", &rel, &scale), 0);
    assert_true(rel == r.id && scale == 3);
    assert_int_equal(jn_store_app_set_serving(st, "nope", r.id, 3), JN_ENOTFOUND);

    struct jn_store_instance in = {.release_id = r.id, .host_port = 20001};
    snprintf(in.app, sizeof(in.app), "web");
    snprintf(in.driver, sizeof(in.driver), "exec");
    in.state = JN_INST_STARTING;
    assert_int_equal(jn_store_instance_create(st, &in), 0);
    assert_true(in.id > 0);
    snprintf(in.name, sizeof(in.name), "web-v1-1-abcd");
    in.state = JN_INST_RUNNING;
    in.health = JN_HEALTH_HEALTHY;
    in.restarts = 2;
    assert_int_equal(jn_store_instance_update(st, &in), 0);
    struct jn_store_instance *v;
    int n = jn_store_instance_list(st, "web", &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "web-v1-1-abcd");
    assert_int_equal(v[0].state, JN_INST_RUNNING);
    assert_int_equal(v[0].health, JN_HEALTH_HEALTHY);
    assert_string_equal(jn_inst_state_name(v[0].state), "running");
    assert_int_equal(jn_inst_state_parse("paused"), JN_INST_PAUSED);
    assert_int_equal(jn_inst_state_parse("sleeping"), -1);
    assert_int_equal(jn_inst_health_parse(jn_inst_health_name(JN_HEALTH_UNHEALTHY)),
                     JN_HEALTH_UNHEALTHY);
    assert_int_equal(v[0].version, 1);
    assert_int_equal(v[0].host_port, 20001);
    assert_int_equal(v[0].restarts, 2);
    free(v);
    assert_int_equal(jn_store_instance_list(st, "other", &v), 0);
    free(v);
    assert_int_equal(jn_store_instance_delete(st, in.id), 0);
    assert_int_equal(jn_store_instance_delete(st, in.id), JN_ENOTFOUND);
    /* deleting the app takes its releases and instances along */
    assert_int_equal(jn_store_instance_create(st, &in), 0);
    assert_int_equal(jn_store_app_delete(st, "web"), 0);
    assert_int_equal(jn_store_instance_list(st, NULL, &v), 0);
    free(v);
    jn_store_release_clear(&r);
    close_store(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_releases_are_numbered_per_app),
        cmocka_unit_test(test_serving_and_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
