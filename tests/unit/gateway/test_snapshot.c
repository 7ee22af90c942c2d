#include "jn_test.h"

#include "gateway/snapshot.h"

static const char CONF[] =
    "events {} http {\n"
    " upstream api { server 127.0.0.1:9001; server 127.0.0.1:9002; }\n"
    " server { listen 127.0.0.1:8080; server_name exact.test *.wild.test www.*;\n"
    "   location / { proxy_pass http://api; }\n"
    "   location /api/ { proxy_pass http://api/v1/; }\n"
    "   location /api/long/ { proxy_pass http://127.0.0.1:9003; }\n"
    "   location = /api/ { return 204; }\n"
    " }\n"
    " server { listen 127.0.0.1:8080 default_server; server_name other.test;\n"
    "   location /x { return 200 \"x\"; } }\n"
    " server { listen 127.0.0.1:8081; location / { return 404; } }\n"
    "}\n";

static struct jn_gw_snapshot *build(void)
{
    struct jn_conf *conf;
    char err[256];
    assert_int_equal(jn_conf_load_string("t.conf", CONF, sizeof(CONF) - 1, &conf, err, sizeof(err)),
                     0);
    struct jn_gw_routes *r;
    assert_int_equal(jn_gw_routes_build(conf, &r, err, sizeof(err)), 0);
    struct jn_gw_snapshot *s = jn_gw_snapshot_build(r, NULL);
    jn_gw_routes_unref(r);
    return s;
}

static const struct jn_gw_location *route(const struct jn_gw_snapshot *s, size_t l,
                                          const char *host, const char *path)
{
    const struct jn_gw_app *app;
    return jn_gw_route(s, &s->routes->listens[l], host, host ? strlen(host) : 0, path, strlen(path),
                       &app);
}

static void test_locations_and_server_names(void **state)
{
    (void)state;
    struct jn_gw_snapshot *s = build();
    assert_int_equal(s->routes->nlistens, 2);
    assert_int_equal(s->nups, 2); /* api + the 127.0.0.1:9003 address target */
    const struct jn_gw_location *loc = route(s, 0, "exact.test", "/api/");
    assert_true(loc->exact); /* = beats the prefix of the same text */
    loc = route(s, 0, "EXACT.test:8080", "/api/long/x?q=1");
    assert_string_equal(loc->prefix, "/api/long/"); /* longest prefix */
    assert_string_equal(s->routes->up_names[loc->upstream], "127.0.0.1:9003");
    loc = route(s, 0, "exact.test", "/api/users");
    assert_string_equal(loc->pass_uri, "/v1/");
    assert_string_equal(loc->proxy_host, "api");
    assert_string_equal(route(s, 0, "a.wild.test", "/")->prefix, "/");
    assert_string_equal(route(s, 0, "www.example.org", "/")->prefix, "/");
    /* unknown host: the default_server, which has no "/" location */
    assert_null(route(s, 0, "nobody.test", "/"));
    assert_string_equal(route(s, 0, NULL, "/x")->prefix, "/x");
    assert_string_equal(route(s, 0, "exact.test.", "/nothing")->prefix, "/"); /* trailing dot */
    assert_int_equal(route(s, 1, "exact.test", "/")->cl->return_code, 404);
    jn_gw_snapshot_unref(s);
}

static void test_clone_shares_routes_and_takes_refs(void **state)
{
    (void)state;
    struct jn_gw_snapshot *s = build();
    struct jn_gw_snapshot *c = jn_gw_snapshot_clone(s);
    assert_ptr_equal(c->routes, s->routes);
    assert_ptr_equal(c->ups[0].u, s->ups[0].u);
    assert_true(c->generation > s->generation);
    jn_gw_snapshot_unref(s);
    /* c still works after the original is gone */
    assert_non_null(route(c, 0, "exact.test", "/"));
    /* a rebuild over the same conf reuses the peers (counts carry over) */
    jn_gw_routes_ref(c->routes);
    struct jn_gw_snapshot *n = jn_gw_snapshot_build(c->routes, c);
    jn_gw_routes_unref(c->routes);
    assert_ptr_equal(n->ups[0].u->peers[0], c->ups[0].u->peers[0]);
    jn_gw_snapshot_unref(c);
    jn_gw_snapshot_unref(n);
}

static void test_bad_upstream_reference_names_the_line(void **state)
{
    (void)state;
    static const char bad[] = "events {} http { server { listen 1.2.3.4:80;\n"
                              "location / { proxy_pass http://nowhere; } } }\n";
    struct jn_conf *conf;
    char err[256];
    int rc = jn_conf_load_string("b.conf", bad, sizeof(bad) - 1, &conf, err, sizeof(err));
    if (rc < 0) { /* the config loader may already refuse it */
        assert_non_null(strstr(err, "b.conf:2"));
        return;
    }
    struct jn_gw_routes *r;
    assert_int_equal(jn_gw_routes_build(conf, &r, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "b.conf:2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locations_and_server_names),
        cmocka_unit_test(test_clone_shares_routes_and_takes_refs),
        cmocka_unit_test(test_bad_upstream_reference_names_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
