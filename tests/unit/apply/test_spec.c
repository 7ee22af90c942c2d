/* test_spec.c: jern.yaml -> the plan model, its errors, export's round trip. */
#include "jn_test.h"

#include "apply/spec.h"

static const char *lookup(const char *name, void *arg)
{
    if (strcmp(name, "DB_PASSWORD") == 0)
        return "s3cret";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    return NULL;
}

static int parse(const char *text, struct jn_spec *s, char *err)
{
    return jn_spec_parse(text, strlen(text), "jern.yaml", lookup, NULL, s, err, 512);
}

static const char FULL[] = "version: 1\n"
                           "apps:\n"
                           "  web:\n"
                           "    image: localhost/web:1\n"
                           "    port: 8000\n"
                           "    env:\n"
                           "      GREETING: hello $$HOME\n"
                           "      DB_PASSWORD: ${DB_PASSWORD}\n"
                           "    instances: 2\n"
                           "    health: /health\n"
                           "    health_timeout: 20s\n"
                           "    memory: 256m\n"
                           "    domains: [Web.Example.com, www.example.com]\n"
                           "    https: redirect\n"
                           "    require: {region: eu}\n"
                           "    prefer: {disk: ssd}\n"
                           "  api:\n"
                           "    command: ./api --port $PORT\n"
                           "    workdir: /srv/api\n"
                           "    scale: {min: 0, max: 4, idle: 5m, concurrency: 20}\n"
                           "    https: off\n"
                           "databases:\n"
                           "  shop-db:\n"
                           "    memory: 1G\n"
                           "    port: 13306\n"
                           "    attach: [web]\n"
                           "  empty-db:\n"
                           "upstreams:\n"
                           "  legacy:\n"
                           "    servers:\n"
                           "      - 127.0.0.1:9001\n"
                           "      - {addr: 127.0.0.1:9002, weight: 3, state: drain}\n"
                           "nodes:\n"
                           "  edge-1:\n"
                           "    ssh: ssh://root@10.0.0.2:2222\n"
                           "    labels: {region: eu, disk: ssd}\n";

static void check_full(const struct jn_spec *s)
{
    assert_int_equal(s->napps, 2);
    const struct jn_spec_app *w = jn_spec_app_find(s, "web");
    assert_non_null(w);
    assert_string_equal(w->image, "localhost/web:1");
    assert_null(w->command);
    assert_int_equal(w->port, 8000);
    assert_int_equal(w->instances, 2);
    assert_int_equal(w->scale_min, -1);
    assert_string_equal(w->health, "/health");
    assert_int_equal(w->health_timeout, 20);
    assert_int_equal(w->memory, 256 * 1024 * 1024);
    assert_int_equal(w->env.n, 2);
    const struct jn_spec_kv *g = jn_spec_kvs_find(&w->env, "GREETING");
    assert_string_equal(g->value, "hello $HOME");
    assert_false(g->secret);
    const struct jn_spec_kv *p = jn_spec_kvs_find(&w->env, "DB_PASSWORD");
    assert_string_equal(p->value, "s3cret");
    assert_true(p->secret);
    assert_int_equal(w->domains.n, 2);
    assert_string_equal(w->domains.v[0], "web.example.com");
    assert_string_equal(w->https, "redirect");
    assert_string_equal(jn_spec_kvs_find(&w->require, "region")->value, "eu");
    assert_string_equal(jn_spec_kvs_find(&w->prefer, "disk")->value, "ssd");
    const struct jn_spec_app *a = jn_spec_app_find(s, "api");
    assert_string_equal(a->command, "./api --port $PORT");
    assert_string_equal(a->workdir, "/srv/api");
    assert_int_equal(a->scale_min, 0);
    assert_int_equal(a->scale_max, 4);
    assert_int_equal(a->idle_ms, 300000);
    assert_int_equal(a->concurrency, 20);
    assert_string_equal(a->https, "off");
    assert_int_equal(s->ndbs, 2);
    const struct jn_spec_db *d = jn_spec_db_find(s, "shop-db");
    assert_int_equal(d->memory_mb, 1024);
    assert_int_equal(d->port, 13306);
    assert_true(jn_spec_list_has(&d->attach, "web"));
    assert_non_null(jn_spec_db_find(s, "empty-db"));
    const struct jn_spec_upstream *u = jn_spec_upstream_find(s, "legacy");
    assert_int_equal(u->nservers, 2);
    assert_string_equal(u->servers[0].addr, "127.0.0.1:9001");
    assert_int_equal(u->servers[1].weight, 3);
    assert_string_equal(u->servers[1].state, "drain");
    assert_int_equal(s->nnodes, 1);
    assert_string_equal(s->nodes[0].ssh, "ssh://root@10.0.0.2:2222");
    assert_int_equal(s->nodes[0].labels.n, 2);
}

static void test_full_file(void **state)
{
    struct jn_spec s;
    char err[512];
    assert_int_equal(parse(FULL, &s, err), 0);
    check_full(&s);
    jn_spec_free(&s);
}

/* export writes what parse reads back; secrets come back as ${KEY}. */
static void test_round_trip(void **state)
{
    struct jn_spec s, t;
    char err[512];
    assert_int_equal(parse(FULL, &s, err), 0);
    struct jn_buf b;
    jn_buf_init(&b, 1 << 20);
    assert_int_equal(jn_spec_write(&s, &b), 0);
    const char *text = jn_buf_cstr(&b);
    assert_null(strstr(text, "s3cret"));
    assert_non_null(strstr(text, "${DB_PASSWORD}"));
    int r = parse(text, &t, err);
    if (r)
        fail_msg("%s\n%s", err, text);
    check_full(&t);
    jn_buf_free(&b);
    jn_spec_free(&s);
    jn_spec_free(&t);
}

static void test_errors_table(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"apps:\n  web:\n    imgae: x\n", "jern.yaml:3:5: unknown key \"imgae\" in app \"web\" "
                                          "(did you mean \"image\"?)"},
        {"aps:\n  web: {}\n", "jern.yaml:1:1: unknown key \"aps\" in the file (did you mean "
                              "\"apps\"?)"},
        {"apps:\n  web:\n    image: a\n  web:\n    image: b\n",
         "jern.yaml:4:3: duplicate app \"web\" (first at line 2)"},
        {"apps:\n  web:\n    image: a\n    instances: lots\n",
         "jern.yaml:4:16: instances must be a whole number from 1 to 32, not \"lots\""},
        {"apps:\n  web:\n    image: [a]\n", "jern.yaml:3:12: image must be a single value, not a "
                                            "list"},
        {"apps:\n  web:\n    port: 80\n", "needs exactly one of image"},
        {"apps:\n  web:\n    image: a\n    env:\n      K: ${NOPE}\n",
         "jern.yaml:5:10: env K: variable NOPE is not set"},
        {"apps:\n  Web:\n    image: a\n", "jern.yaml:2:3: app name \"Web\" is invalid"},
        {"apps:\n  web:\n    image: a\n    https: maybe\n", "https must be off, redirect or only"},
        {"apps:\n  web:\n    image: a\n    scale: {min: 3, max: 1}\n", "min 3 is above max 1"},
        {"apps:\n  web:\n    image: a\n    instances: 2\n    scale: {min: 0, max: 1}\n",
         "instances or scale, not both"},
        {"apps:\n  web:\n    image: a\n    image: b\n", "jern.yaml:4:5: \"image\" is given twice"},
        {"apps: [web]\n", "jern.yaml:1:7: \"apps\" must be a mapping"},
        {"apps:\n  web:\n    image: a\n   bad\n", "jern.yaml:"},
        {"upstreams:\n  u:\n    servers:\n      - {addr: a:1, wieght: 2}\n",
         "did you mean \"weight\"?"},
        {"nodes:\n  n1:\n    ssh: root@host\n", "ssh must be ssh://USER@HOST[:PORT]"},
        {"nodes:\n  n1:\n    labels: {zone: a/b}\n",
         "jern.yaml:3:20: label value \"a/b\" is invalid"},
        {"apps:\n  web:\n    image: a\n    require: {region: \"\"}\n",
         "label value \"\" is invalid"},
        {"databases:\n  db:\n    memory: 12q\n", "memory \"12q\""},
        {"version: 2\n", "version must be 1"},
        {"a: &x [1]\n---\nb: 2\n", "jern.yaml:1:1: unknown key \"a\""},
        {"apps: {}\n---\napps: {}\n", "more than one YAML document"},
    };
    for (size_t i = 0; i < JN_ARRAY_LEN(cases); i++) {
        struct jn_spec s;
        char err[512];
        int r = parse(cases[i].text, &s, err);
        if (r != JN_EBADINPUT || !strstr(err, cases[i].want))
            fail_msg("case %zu: r=%d err=\"%s\", want \"%s\"", i, r, err, cases[i].want);
        jn_spec_free(&s);
    }
}

/* Aliases that multiply one node are cut off by the visit budget. */
static void test_alias_bomb(void **state)
{
    struct jn_buf b;
    jn_buf_init(&b, 1 << 20);
    jn_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 12; i++)
        jn_buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
                      i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    jn_buf_puts(&b, "apps:\n  web:\n    image: x\n    domains: *a11\n");
    struct jn_spec s;
    char err[512];
    int r = jn_spec_parse(b.data, b.len, "bomb.yaml", lookup, NULL, &s, err, sizeof(err));
    assert_int_equal(r, JN_EBADINPUT);
    jn_spec_free(&s);
    jn_buf_free(&b);
}

static void test_empty_file(void **state)
{
    struct jn_spec s;
    char err[512];
    assert_int_equal(parse("", &s, err), 0);
    assert_int_equal(s.napps, 0);
    jn_spec_free(&s);
    assert_int_equal(parse("# nothing yet\napps:\n", &s, err), 0);
    jn_spec_free(&s);
}

static void test_envfile(void **state)
{
    static const char text[] = "# secrets\n\nexport A=1\nB=\"two words\"\r\nC='x=y'\nD=\n";
    struct jn_spec_kvs kv = {0};
    char err[256];
    assert_int_equal(jn_spec_envfile_parse(text, strlen(text), ".env", &kv, err, sizeof(err)), 0);
    assert_int_equal(kv.n, 4);
    assert_string_equal(jn_spec_kvs_find(&kv, "A")->value, "1");
    assert_string_equal(jn_spec_kvs_find(&kv, "B")->value, "two words");
    assert_string_equal(jn_spec_kvs_find(&kv, "C")->value, "x=y");
    assert_string_equal(jn_spec_kvs_find(&kv, "D")->value, "");
    jn_spec_kvs_free(&kv);
    static const char bad[] = "A=1\nnot a line\n";
    assert_int_equal(jn_spec_envfile_parse(bad, strlen(bad), ".env", &kv, err, sizeof(err)),
                     JN_EBADINPUT);
    assert_string_equal(err, ".env:2: expected NAME=VALUE (NAME: letters, digits and _)");
    jn_spec_kvs_free(&kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),    cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_errors_table), cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_empty_file),   cmocka_unit_test(test_envfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
