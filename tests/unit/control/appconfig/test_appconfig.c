#include "jn_test.h"

#include "control/appconfig/rules.h"
#include "control/appconfig/secret.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_secret_names(void **state)
{
    const char *secret[] = {"DB_PASSWORD", "API_TOKEN", "STRIPE_KEY", "DATABASE_URL",
                            "database_url", "PASSWORD", "aws_secret", "SESSION_SECRET"};
    const char *plain[] = {"PORT", "KEYBOARD", "TOKENS", "MY_PASSWORDS", "DATABASE_URLS",
                           "_KEYX", "KEY_ID", "PASSWORD_HINT", "X_DATABASE_URL"};
    for (size_t i = 0; i < JN_ARRAY_LEN(secret); i++)
        assert_true(jn_appconfig_secret_name(secret[i]));
    for (size_t i = 0; i < JN_ARRAY_LEN(plain); i++)
        assert_false(jn_appconfig_secret_name(plain[i]));
}

static void test_names_and_mask(void **state)
{
    assert_true(jn_appconfig_name_ok("A"));
    assert_true(jn_appconfig_name_ok("_x9"));
    assert_false(jn_appconfig_name_ok(""));
    assert_false(jn_appconfig_name_ok("9A"));
    assert_false(jn_appconfig_name_ok("A-B"));
    assert_false(jn_appconfig_name_ok("A=B"));
    char longname[JN_CONFIG_NAME_MAX + 2];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(jn_appconfig_name_ok(longname));
    longname[JN_CONFIG_NAME_MAX] = '\0';
    assert_true(jn_appconfig_name_ok(longname));
    assert_string_equal(jn_appconfig_shown("plain"), "plain");
    assert_string_equal(jn_appconfig_shown(JN_SECRET_PREFIX "QUJD"), JN_SECRET_MASK);
}

static void test_seal_open_round_trip(void **state)
{
    unsigned char key[JN_SECRET_KEY_LEN], other[JN_SECRET_KEY_LEN];
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    const char *values[] = {"", "x", "hunter2", "postgres://u:p@h/db?x=1&y=2",
                            "a much longer value that spans several AES blocks, 0123456789"};
    for (size_t i = 0; i < JN_ARRAY_LEN(values); i++) {
        char *s = jn_secret_seal(key, "DB_PASSWORD", values[i]);
        assert_non_null(s);
        assert_true(jn_secret_is_sealed(s));
        if (strlen(values[i]) > 4) /* a short one may be base64 by chance */
            assert_null(strstr(s, values[i]));
        char *back = NULL;
        assert_int_equal(jn_secret_open(key, "DB_PASSWORD", s, &back), 0);
        assert_string_equal(back, values[i]);
        free(back);
        /* Another key, another name, a flipped byte: refused. */
        assert_int_equal(jn_secret_open(other, "DB_PASSWORD", s, &back), JN_EBADINPUT);
        assert_int_equal(jn_secret_open(key, "API_TOKEN", s, &back), JN_EBADINPUT);
        size_t at = strlen(JN_SECRET_PREFIX) + 3;
        s[at] = s[at] == 'A' ? 'B' : 'A';
        assert_int_equal(jn_secret_open(key, "DB_PASSWORD", s, &back), JN_EBADINPUT);
        assert_null(back);
        free(s);
    }
    /* Two seals of one value differ (a fresh nonce each time). */
    char *a = jn_secret_seal(key, "K", "same"), *b = jn_secret_seal(key, "K", "same");
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    char *back = (char *)1;
    assert_int_equal(jn_secret_open(key, "K", "plain", &back), JN_EBADINPUT);
    assert_int_equal(jn_secret_open(key, "K", JN_SECRET_PREFIX "!!!!", &back), JN_EBADINPUT);
    assert_int_equal(jn_secret_open(key, "K", JN_SECRET_PREFIX, &back), JN_EBADINPUT);
}

static void test_key_file_and_env(void **state)
{
    char dir[] = "/tmp/jn-secret-XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned char k1[JN_SECRET_KEY_LEN], k2[JN_SECRET_KEY_LEN];
    char msg[512];
    assert_int_equal(jn_secret_key(dir, false, k1, msg, sizeof(msg)), JN_ENOTFOUND);
    assert_non_null(strstr(msg, "secret.key is missing"));
    assert_int_equal(jn_secret_key(dir, true, k1, msg, sizeof(msg)), 0);
    assert_int_equal(jn_secret_key(dir, true, k2, msg, sizeof(msg)), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    char path[128];
    snprintf(path, sizeof(path), "%s/secret.key", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, JN_SECRET_KEY_LEN);

    /* config, then --env over it; sealed values opened. */
    char *sealed = jn_secret_seal(k1, "API_TOKEN", "t0k");
    char cfg[512], env_json[] = "{\"A\":\"env\",\"C\":\"3\"}";
    snprintf(cfg, sizeof(cfg), "{\"A\":\"cfg\",\"B\":\"2\",\"API_TOKEN\":\"%s\"}", sealed);
    char **env = NULL;
    assert_int_equal(jn_appconfig_env(dir, cfg, env_json, &env, msg, sizeof(msg)), 0);
    const char *want[] = {"A=env", "B=2", "API_TOKEN=t0k", "C=3"};
    for (size_t i = 0; i < JN_ARRAY_LEN(want); i++)
        assert_string_equal(env[i], want[i]);
    assert_null(env[4]);
    jn_appconfig_env_free(env);
    assert_int_equal(jn_appconfig_env(dir, "", NULL, &env, msg, sizeof(msg)), 0);
    assert_null(env[0]);
    jn_appconfig_env_free(env);
    assert_int_equal(jn_appconfig_env(dir, "[1]", NULL, &env, msg, sizeof(msg)), JN_EBADINPUT);

    /* A damaged key file is named, not used. */
    FILE *f = fopen(path, "w");
    fputs("short", f);
    fclose(f);
    assert_true(jn_appconfig_env(dir, cfg, NULL, &env, msg, sizeof(msg)) < 0);
    assert_non_null(strstr(msg, "5 bytes instead of 32"));
    free(sealed);
    unlink(path);
    rmdir(dir);
}

/* A cluster's values move between keys: sealed again, plain ones left. */
static void test_reseal(void **state)
{
    unsigned char a[JN_SECRET_KEY_LEN], b[JN_SECRET_KEY_LEN];
    memset(a, 1, sizeof(a));
    memset(b, 2, sizeof(b));
    char *sealed = jn_secret_seal(a, "API_TOKEN", "s3cret");
    assert_non_null(sealed);
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddStringToObject(vars, "API_TOKEN", sealed);
    cJSON_AddStringToObject(vars, "GREETING", "hei");
    free(sealed);
    char msg[256], *plain;
    assert_int_equal(jn_secret_reseal(vars, a, b, msg, sizeof(msg)), 0);
    const char *v = cJSON_GetObjectItem(vars, "API_TOKEN")->valuestring;
    assert_int_equal(jn_secret_open(a, "API_TOKEN", v, &plain), JN_EBADINPUT);
    assert_int_equal(jn_secret_open(b, "API_TOKEN", v, &plain), 0);
    assert_string_equal(plain, "s3cret");
    free(plain);
    assert_string_equal(cJSON_GetObjectItem(vars, "GREETING")->valuestring, "hei");
    /* with the wrong key: refused, naming the variable */
    assert_int_equal(jn_secret_reseal(vars, a, b, msg, sizeof(msg)), JN_EBADINPUT);
    assert_non_null(strstr(msg, "API_TOKEN"));
    cJSON_Delete(vars);
}

static void test_mask_text(void **state)
{
    const char *secrets[] = {"hunter2", "hunter2-long", "abc", "x=1&y"};
    struct {
        const char *in, *out;
    } cases[] = {
        {"password is hunter2.", "password is *****."},
        {"hunter2-long then hunter2", "***** then *****"},
        {"abc is too short to mask", "abc is too short to mask"},
        {"url?x=1&y=2", "url?*****=2"},
        {"", ""},
        {"hunter", "hunter"},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        char *m = jn_appconfig_mask_text(cases[i].in, strlen(cases[i].in), secrets, 4);
        assert_string_equal(m, cases[i].out);
        free(m);
    }
    char *m = jn_appconfig_mask_text("hunter2", 7, NULL, 0);
    assert_string_equal(m, "hunter2");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_names),
        cmocka_unit_test(test_names_and_mask),
        cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_key_file_and_env),
        cmocka_unit_test(test_mask_text),
        cmocka_unit_test(test_reseal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
