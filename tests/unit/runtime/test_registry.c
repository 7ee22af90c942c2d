/* The runtime drivers by name (src/runtime/registry.c). */
#include "jn_test.h"

#include "runtime/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_kinds_by_name(void **state)
{
    size_t n, i = 99;
    const struct jn_driver_kind *all = jn_driver_kinds(&n);
    assert_int_equal(n, 2);
    const struct jn_driver_kind *k = jn_driver_kind("docker", &i);
    assert_non_null(k);
    assert_ptr_equal(k, &all[i]);
    assert_true(k->images);
    assert_ptr_equal(jn_driver_kind_for(true), k);
    k = jn_driver_kind("exec", NULL);
    assert_non_null(k);
    assert_false(k->images);
    assert_ptr_equal(jn_driver_kind_for(false), k);
    assert_null(jn_driver_kind("podman", NULL));
    assert_null(jn_driver_kind(NULL, NULL));
}

static void test_create_and_reach(void **state)
{
    char dir[] = "/tmp/jn-reg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/no.sock", dir);
    struct jn_driver_env env = {.state_dir = dir, .docker_socket = sock};
    char msg[256] = "";
    const struct jn_driver_kind *exec = jn_driver_kind("exec", NULL);
    struct jn_driver *d = exec->create(&env, msg, sizeof(msg));
    assert_non_null(d);
    assert_string_equal(jn_driver_name(d), "exec");
    assert_true(jn_driver_reachable(exec, &env, msg, sizeof(msg)));
    jn_driver_destroy(d);
    const struct jn_driver_kind *docker = jn_driver_kind("docker", NULL);
    assert_false(jn_driver_reachable(docker, &env, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "no container engine at"));
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_by_name),
        cmocka_unit_test(test_create_and_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
