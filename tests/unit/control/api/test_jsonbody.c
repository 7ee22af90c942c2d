#include "jn_test.h"

#include "control/api/jsonbody.h"

#include <cjson/cJSON.h>

/* Parses body (len bytes) and checks it: returns true when clean, with the
 * offending field's path in field otherwise. The body must parse. */
static bool check(const char *body, size_t len, char *field, size_t fieldlen)
{
    size_t end = 0;
    cJSON *o = jn_jsonbody_parse(body, len, &end);
    assert_non_null(o);
    bool ok = jn_jsonbody_check(o, field, fieldlen);
    cJSON_Delete(o);
    return ok;
}

#define CHECK(lit, field, n) check(lit, sizeof(lit) - 1, field, n)

static void test_nul_no_longer_cuts_a_string(void **st)
{
    char f[64];
    assert_false(CHECK("{\"domains\":[\"evil.com\\u0000.shop.com\"]}", f, sizeof(f)));
    assert_string_equal(f, "domains[0]");
    assert_false(CHECK("{\"name\":\"a\0b\"}", f, sizeof(f)));
    assert_string_equal(f, "name");
    /* an escaped backslash before u0000 is text */
    assert_true(CHECK("{\"name\":\"a\\\\u0000\"}", f, sizeof(f)));
    /* what cJSON alone would have done */
    cJSON *o = cJSON_Parse("{\"d\":\"evil.com\\u0000.shop.com\"}");
    assert_string_equal(cJSON_GetObjectItem(o, "d")->valuestring, "evil.com");
    cJSON_Delete(o);
}

static void test_control_characters_name_their_field(void **st)
{
    char f[64];
    assert_false(CHECK("{\"command\":\"x\\ny\"}", f, sizeof(f)));
    assert_string_equal(f, "command");
    assert_false(CHECK("{\"a\":{\"b\":[1,\"ok\",\"\\u007f\"]}}", f, sizeof(f)));
    assert_string_equal(f, "a.b[2]");
    assert_false(CHECK("{\"env\":{\"K\\t\":\"v\"}}", f, sizeof(f)));
    assert_string_equal(f, "env.(a field name)");
    assert_false(CHECK("{\"image\":\"x\x1b\"}", f, sizeof(f)));
    assert_string_equal(f, "image");
    /* env values are free text: tab, CR, LF; nothing else */
    assert_true(CHECK("{\"env\":{\"PEM\":\"a\\nb\\r\\n\\tc\"},\"x\":\"\\u00e9\"}", f, sizeof(f)));
    assert_false(CHECK("{\"env\":{\"K\":\"a\\u0000b\"}}", f, sizeof(f)));
    assert_string_equal(f, "env.K");
    assert_false(CHECK("{\"x\":{\"env\":{\"K\":\"a\\nb\"}}}", f, sizeof(f)));
    assert_string_equal(f, "x.env.K");
    /* a path longer than the buffer is cut, never overrun */
    char small[4];
    assert_false(CHECK("{\"abcdefgh\":\"\\u0001\"}", small, sizeof(small)));
    assert_string_equal(small, "abc");
}

static void test_invalid_json_is_still_invalid(void **st)
{
    size_t end = 0;
    assert_null(jn_jsonbody_parse("{\"a\":\0}", 7, &end));
    assert_null(jn_jsonbody_parse("{\"a\":\"x", 7, &end));
    assert_null(jn_jsonbody_parse("", 0, &end));
    /* cJSON alone skips any byte up to 0x20 between tokens */
    assert_null(jn_jsonbody_parse("\0\0\"x\"", 5, &end));
    assert_int_equal(end, 0);
    assert_null(jn_jsonbody_parse("{\"a\":\x01 1}", 9, &end));
    assert_int_equal(end, 5);
    /* cJSON alone reads a malformed \\u escape as U+0000 */
    assert_null(jn_jsonbody_parse("{\"a\":\"x\\u0il.y\"}", 16, &end));
    assert_int_equal(end, 7);
    static const char ws[] = " {\t\"a\"\r\n:1}";
    cJSON *o = jn_jsonbody_parse(ws, sizeof(ws) - 1, &end);
    assert_non_null(o);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_no_longer_cuts_a_string),
        cmocka_unit_test(test_control_characters_name_their_field),
        cmocka_unit_test(test_invalid_json_is_still_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
