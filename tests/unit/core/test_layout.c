#include "jn_test.h"

#include "core/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_sysroot_stands_in_for_root(void **state)
{
    char buf[256];
    unsetenv("JERN_SYSROOT");
    assert_string_equal(jn_layout_path(JN_LAYOUT_ADMIN, buf, sizeof(buf)), "/run/jern/admin.sock");
    setenv("JERN_SYSROOT", "/tmp/x/", 1);
    assert_string_equal(jn_layout_path(JN_LAYOUT_CONF, buf, sizeof(buf)),
                        "/tmp/x/etc/jern/jern.conf");
    assert_string_equal(jn_layout_path(JN_LAYOUT_STATE, buf, sizeof(buf)), "/tmp/x/var/lib/jern");
    char tiny[8];
    assert_string_equal(jn_layout_path(JN_LAYOUT_STATE, tiny, sizeof(tiny)), "");
    unsetenv("JERN_SYSROOT");
}

static void test_installed_when_the_config_exists(void **state)
{
    char root[] = "/tmp/jn-layout-XXXXXX";
    assert_non_null(mkdtemp(root));
    setenv("JERN_SYSROOT", root, 1);
    assert_false(jn_layout_installed()); /* and the test binary is not under /usr */
    char path[256];
    snprintf(path, sizeof(path), "%s/etc/jern", root);
    assert_int_equal(jn_mkdirs(path), 0);
    snprintf(path, sizeof(path), "%s/etc/jern/jern.conf", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_true(jn_layout_installed());
    unlink(path);
    snprintf(path, sizeof(path), "%s/etc/jern", root);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/etc", root);
    rmdir(path);
    rmdir(root);
    unsetenv("JERN_SYSROOT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysroot_stands_in_for_root),
        cmocka_unit_test(test_installed_when_the_config_exists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
