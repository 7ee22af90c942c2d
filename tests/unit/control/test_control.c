#include "jn_test.h"

#include "config/conf.h"
#include "control/api/api.h"
#include "control/control.h"
#include "control/names.h"
#include "gateway/upstream.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <unistd.h>

static void test_app_names(void **state)
{
    char err[256];
    assert_int_equal(jn_name_app_check("shop", err, sizeof(err)), 0);
    assert_int_equal(jn_name_app_check("shop-api2", err, sizeof(err)), 0);
    assert_int_equal(jn_name_app_check("", err, sizeof(err)), JN_EBADINPUT);
    assert_int_equal(jn_name_app_check("2shop", err, sizeof(err)), JN_EBADINPUT);
    assert_int_equal(jn_name_app_check("shop-", err, sizeof(err)), JN_EBADINPUT);
    assert_int_equal(jn_name_app_check("Shop", err, sizeof(err)), JN_EBADINPUT);
    assert_non_null(strstr(err, "invalid app name 'Shop'"));
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    assert_int_equal(jn_name_app_check(longname, err, sizeof(err)), JN_EBADINPUT);
}

static void test_domains_and_addresses(void **state)
{
    char out[256], err[512];
    assert_int_equal(jn_name_domain_norm("Shop.Example.COM.", out, sizeof(out), err, sizeof(err)),
                     0);
    assert_string_equal(out, "shop.example.com");
    assert_int_equal(jn_name_domain_norm("localhost", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);
    assert_int_equal(jn_name_domain_norm("a..b", out, sizeof(out), err, sizeof(err)), JN_EBADINPUT);
    assert_int_equal(jn_name_domain_norm("x.com:80", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);
    assert_non_null(strstr(err, "no port"));
    assert_int_equal(jn_name_domain_norm("*.x.com", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);

    assert_int_equal(jn_name_addr_norm("localhost:9000", out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "127.0.0.1:9000");
    assert_int_equal(jn_name_addr_norm("[::1]:9000", out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "[::1]:9000");
    assert_int_equal(jn_name_addr_norm("9000", out, sizeof(out), err, sizeof(err)), JN_EBADINPUT);
    assert_int_equal(jn_name_addr_norm("127.0.0.1:0", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);
    assert_int_equal(jn_name_addr_norm("unix:/tmp/x", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);
    assert_int_equal(jn_name_addr_norm("example.com:80", out, sizeof(out), err, sizeof(err)),
                     JN_EBADINPUT);

    assert_int_equal(jn_name_state_parse("drain"), JN_PEER_DRAIN);
    assert_int_equal(jn_name_state_parse("up"), -1);
    assert_string_equal(jn_name_state(JN_PEER_MAINT), "maint");
}

struct fx {
    char dir[64], db[96];
    struct jn_conf *conf;
    struct jn_control *ctl;
    struct jn_api api;
};

static int setup(void **state)
{
    struct fx *f = jn_calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/jn-ctl-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof(f->db), "%s/jern.db", f->dir);
    static const char text[] = "http { upstream back { server 127.0.0.1:7001; server "
                               "127.0.0.1:7002 weight=2; } server { listen 127.0.0.1:1; "
                               "location / { proxy_pass http://back; } } }";
    char err[512];
    if (jn_conf_load_string("t.conf", text, strlen(text), &f->conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    struct jn_store *st;
    if (jn_store_open(f->db, &st, err, sizeof(err)) < 0)
        return -1;
    f->ctl = jn_control_new(st, f->conf, "localhost");
    f->api = (struct jn_api){.ctl = f->ctl,
                             .version = "t",
                             .state_dir = f->dir,
                             .admin_desc = "test",
                             .started_ms = jn_now_ms()};
    *state = f;
    return jn_control_publish_all(f->ctl, err, sizeof(err));
}

static int teardown(void **state)
{
    struct fx *f = *state;
    jn_control_free(f->ctl);
    jn_conf_free(f->conf);
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->db, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs one request through the API; returns the status and the parsed body. */
static int call(struct fx *f, enum jn_http_method m, const char *path, const char *body,
                cJSON **out)
{
    struct jn_api_req req = {.method = m,
                             .method_name = "X",
                             .method_len = 1,
                             .path = path,
                             .path_len = strlen(path),
                             .body = body,
                             .body_len = body ? strlen(body) : 0};
    struct jn_api_resp resp = {.status = 500, .content_type = "application/json"};
    jn_buf_init(&resp.body, 1 << 20);
    jn_api_handle(&f->api, &req, &resp);
    if (out)
        *out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
    jn_buf_free(&resp.body);
    return resp.status;
}

static const char *server_field(cJSON *u, int i, const char *k)
{
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(u, "servers"), i);
    cJSON *v = cJSON_GetObjectItem(s, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_config_servers_take_overrides(void **state)
{
    struct fx *f = *state;
    cJSON *o;
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/upstreams/back", NULL, &o), 200);
    assert_string_equal(server_field(o, 1, "addr"), "127.0.0.1:7002");
    assert_string_equal(server_field(o, 1, "origin"), "config");
    cJSON_Delete(o);

    assert_int_equal(call(f, JN_HTTP_PATCH, "/v1/upstreams/back/servers/127.0.0.1:7001",
                          "{\"state\":\"drain\"}", &o),
                     200);
    assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "drain");
    cJSON_Delete(o);
    assert_int_equal(
        call(f, JN_HTTP_DELETE, "/v1/upstreams/back/servers/127.0.0.1:7002", NULL, NULL), 200);
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/upstreams/back/servers",
                          "{\"addr\":\"127.0.0.1:7003\",\"weight\":4}", NULL),
                     201);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/upstreams/back", NULL, &o), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "servers")), 2);
    assert_string_equal(server_field(o, 0, "state"), "drain");
    assert_string_equal(server_field(o, 1, "addr"), "127.0.0.1:7003");
    assert_string_equal(server_field(o, 1, "origin"), "api");
    cJSON_Delete(o);

    /* re-adding the removed config server brings it back */
    assert_int_equal(
        call(f, JN_HTTP_POST, "/v1/upstreams/back/servers", "{\"addr\":\"127.0.0.1:7002\"}", NULL),
        201);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/upstreams/back", NULL, &o), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "servers")), 3);
    cJSON_Delete(o);
    /* the name belongs to the config */
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/apps", "{\"name\":\"back\"}", NULL), 409);
}

static void test_paths_and_methods(void **state)
{
    struct fx *f = *state;
    cJSON *o;
    assert_int_equal(call(f, JN_HTTP_GET, "/health", NULL, NULL), 200);
    assert_int_equal(call(f, JN_HTTP_HEAD, "/v1/status", NULL, NULL), 200);
    assert_int_equal(call(f, JN_HTTP_DELETE, "/v1/status", NULL, NULL), 405);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/apps/%zz", NULL, &o), 400);
    assert_non_null(strstr(cJSON_GetObjectItem(o, "error")->valuestring, "malformed path"));
    cJSON_Delete(o);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/apps/a/b/c/d/e/f/g/h/i", NULL, NULL), 400);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/nothing", NULL, NULL), 404);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/upstreams/ghost", NULL, NULL), 404);
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/apps", "{\"name\":\"a\\u0000b\"}", NULL), 400);
}

/* The route table's matcher: 405 names the methods of every row whose
 * pattern matched; rows needing a deployer are absent without one;
 * parameters arrive percent-decoded. */
static void test_route_table(void **state)
{
    struct fx *f = *state;
    struct jn_api_req req = {.method = JN_HTTP_PUT, .method_name = "PUT", .method_len = 3};
    struct jn_api_resp resp = {.status = 500, .content_type = "application/json"};
    jn_buf_init(&resp.body, 1 << 16);
    req.path = "/v1/apps";
    req.path_len = strlen(req.path);
    jn_api_handle(&f->api, &req, &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET, POST");
    req.path = "/v1/upstreams/back/servers/127.0.0.1%3A7001";
    req.path_len = strlen(req.path);
    jn_api_handle(&f->api, &req, &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET, PATCH, DELETE");
    jn_buf_free(&resp.body);

    cJSON *o;
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/upstreams/back/servers/127.0.0.1%3A7001", NULL, &o),
                     200);
    assert_string_equal(cJSON_GetObjectItem(o, "addr")->valuestring, "127.0.0.1:7001");
    cJSON_Delete(o);
    /* no deployer in this fixture: the deploy rows do not exist */
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/apps", "{\"name\":\"shop\"}", NULL), 201);
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/apps/shop/deploy", "{}", NULL), 404);
    assert_int_equal(call(f, JN_HTTP_GET, "/v1/apps/shop/domains", NULL, NULL), 200);
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/apps/shop/domains", "{\"domain\": 1}", &o), 400);
    cJSON_Delete(o);
    assert_int_equal(call(f, JN_HTTP_POST, "/v1/upstreams/back/servers",
                          "{\"addr\":\"127.0.0.1:7009\",\"weight\":\"2\"}", &o),
                     400);
    assert_non_null(strstr(cJSON_GetObjectItem(o, "error")->valuestring, "integer"));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_names),
        cmocka_unit_test(test_domains_and_addresses),
        cmocka_unit_test_setup_teardown(test_config_servers_take_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
