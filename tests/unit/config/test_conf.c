#include "jn_test.h"

#include "config/conf.h"
#include "config/cpus.h"
#include "config/load.h"
#include "config/value.h"
#include "core/log.h"

#include <sys/stat.h>
#include <unistd.h>

static char err[512];

static struct jn_conf *load(const char *text)
{
    struct jn_conf *c = NULL;
    int rc = jn_conf_load_string("t.conf", text, strlen(text), &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    return c;
}

static void expect_error(const char *text, const char *msg)
{
    struct jn_conf *c = (struct jn_conf *)1;
    assert_int_equal(jn_conf_load_string("t.conf", text, strlen(text), &c, err, sizeof(err)),
                     JN_ECONFIG);
    assert_null(c);
    assert_string_equal(err, msg);
}

/* ---- values ---- */

static void test_times_and_sizes(void **state)
{
    assert_int_equal(jn_conf_parse_time("30"), 30000);
    assert_int_equal(jn_conf_parse_time("30s"), 30000);
    assert_int_equal(jn_conf_parse_time("500ms"), 500);
    assert_int_equal(jn_conf_parse_time("5m"), 300000);
    assert_int_equal(jn_conf_parse_time("1h"), 3600000);
    assert_int_equal(jn_conf_parse_time("1d"), 86400000);
    assert_int_equal(jn_conf_parse_time("1m30s"), 90000);
    assert_int_equal(jn_conf_parse_time("0"), 0);
    assert_int_equal(jn_conf_parse_time(""), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_time("s"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_time("10x"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_time("30s1m"), JN_EBADINPUT); /* units must decrease */
    assert_int_equal(jn_conf_parse_time("-1"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_time("99999999999999999999"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_size("1024"), 1024);
    assert_int_equal(jn_conf_parse_size("1k"), 1024);
    assert_int_equal(jn_conf_parse_size("8K"), 8192);
    assert_int_equal(jn_conf_parse_size("8m"), 8 << 20);
    assert_int_equal(jn_conf_parse_size("1g"), 1 << 30);
    assert_int_equal(jn_conf_parse_size("1t"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_size("k"), JN_EBADINPUT);
    assert_int_equal(jn_conf_parse_size("9999999999g"), JN_EBADINPUT);
    assert_int_equal(jn_conf_edit_distance("least_con", "least_conn"), 1);
    assert_int_equal(jn_conf_edit_distance("abc", "abc"), 0);
    assert_int_equal(jn_conf_edit_distance("kitten", "sitting"), 3);
}

static void test_usable_cpus(void **state)
{
    int n = jn_conf_usable_cpus();
    assert_true(n > 0);
    assert_true(n <= sysconf(_SC_NPROCESSORS_CONF));
    assert_int_equal(jn_cpus_from_cpu_max("max 100000\n"), 0);
    assert_int_equal(jn_cpus_from_cpu_max("150000 100000\n"), 2);
    assert_int_equal(jn_cpus_from_cpu_max("100000 100000"), 1);
    assert_int_equal(jn_cpus_from_cpu_max("50000 100000"), 1);
    assert_int_equal(jn_cpus_from_cpu_max("garbage"), JN_EBADINPUT);
    assert_int_equal(jn_cpus_from_cfs(-1, 100000), 0);
    assert_int_equal(jn_cpus_from_cfs(300000, 100000), 3);
    assert_int_equal(jn_cpus_from_cfs(250000, 100000), 3);
}

/* ---- the seed config (issue 3, Pattern 1) ---- */

static void test_seed_config(void **state)
{
    struct jn_conf *c = NULL;
    /* unit tests run from the repository root (tests/run.sh cds there) */
    int rc = jn_conf_load("tests/data/seed.conf", &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_true(c->worker_processes_auto);
    assert_int_equal(c->worker_processes, jn_conf_usable_cpus());
    assert_int_equal(c->worker_connections, 4096);
    assert_true(c->has_http);
    assert_int_equal(c->nupstreams, 1);
    const struct jn_conf_upstream *u = &c->upstreams[0];
    assert_string_equal(u->name, "api_cluster");
    assert_int_equal(u->balance, JN_BALANCE_LEAST_CONN);
    assert_int_equal(u->nservers, 2);
    assert_string_equal(u->servers[0].text, "127.0.0.1:18080");
    assert_int_equal(u->servers[0].max_fails, 3);
    assert_int_equal(u->servers[0].fail_timeout_ms, 30000);
    assert_int_equal(u->servers[1].weight, 1);
    assert_int_equal(u->servers[1].line, 10);
    assert_int_equal(c->nservers, 1);
    const struct jn_conf_server *s = &c->servers[0];
    assert_int_equal(s->nlistens, 1);
    char buf[64];
    assert_string_equal(jn_addr_format(&s->listens[0].addr, buf, sizeof(buf)), "0.0.0.0:80");
    assert_int_equal(s->nserver_names, 1);
    assert_string_equal(s->server_names[0], "api.yourdomain.no");
    assert_int_equal(s->nlocations, 1);
    const struct jn_conf_location *l = &s->locations[0];
    assert_string_equal(l->prefix, "/");
    assert_false(l->exact);
    assert_ptr_equal(l->pass_upstream, u);
    assert_string_equal(l->pass_target, "api_cluster");
    assert_null(l->pass_uri);
    assert_int_equal(l->s.proxy_http_minor, 1);
    assert_int_equal(l->s.nset_headers, 3);
    assert_string_equal(l->s.set_headers[0].name, "Upgrade");
    assert_string_equal(l->s.set_headers[0].value, "$http_upgrade");
    assert_string_equal(l->s.set_headers[1].value, "upgrade");
    assert_string_equal(l->s.set_headers[2].value, "$host");
    assert_true(l->s.cache_bypass);
    assert_int_equal(l->s.proxy_read_timeout_ms, 300000);
    assert_int_equal(l->s.proxy_connect_timeout_ms, 300000);
    assert_int_equal(l->s.proxy_send_timeout_ms, 60000);
    jn_conf_free(c);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
    struct jn_conf *c = load("http { server { location / { return 204; } } }");
    assert_int_equal(c->worker_processes, 1);
    assert_false(c->worker_processes_auto);
    assert_int_equal(c->worker_connections, 1024);
    assert_int_equal(c->worker_rlimit_nofile, 0);
    assert_null(c->pid_path);
    assert_null(c->error_log_path);
    assert_int_equal(c->error_log_level, JN_LOG_NOTICE);
    const struct jn_conf_server *s = &c->servers[0];
    /* no listen: *:80, as nginx run as root */
    assert_int_equal(s->nlistens, 1);
    char buf[64];
    assert_string_equal(jn_addr_format(&s->listens[0].addr, buf, sizeof(buf)), "0.0.0.0:80");
    assert_false(s->listens[0].default_server);
    const struct jn_conf_settings *st = &s->locations[0].s;
    assert_int_equal(st->keepalive_timeout_ms, 75000);
    assert_int_equal(st->keepalive_requests, 1000);
    assert_int_equal(st->client_header_timeout_ms, 10000);
    assert_int_equal(st->client_body_timeout_ms, 60000);
    assert_int_equal(st->send_timeout_ms, 60000);
    assert_int_equal(st->client_max_body_size, 1 << 20);
    assert_int_equal(st->large_header_num, 4);
    assert_int_equal(st->large_header_size, 8192);
    assert_int_equal(st->proxy_http_minor, 1);
    assert_int_equal(st->nset_headers, 0);
    assert_int_equal(st->proxy_connect_timeout_ms, 60000);
    assert_int_equal(st->proxy_read_timeout_ms, 60000);
    assert_int_equal(st->proxy_send_timeout_ms, 60000);
    assert_int_equal(st->next_upstream, JN_NEXT_ERROR | JN_NEXT_TIMEOUT);
    assert_int_equal(st->next_upstream_tries, 0);
    assert_int_equal(st->next_upstream_timeout_ms, 0);
    assert_false(st->cache_bypass);
    assert_null(st->access_log_path);
    assert_string_equal(st->access_log_format, JN_LOG_FORMAT_COMBINED);
    assert_int_equal(s->locations[0].return_code, 204);
    assert_null(s->locations[0].return_text);
    jn_conf_free(c);

    c = load("# nothing\n");
    assert_false(c->has_http);
    assert_int_equal(c->nservers, 0);
    jn_conf_free(c);
}

/* ---- every directive ---- */

static void test_main_and_events(void **state)
{
    struct jn_conf *c =
        load("worker_processes 3;\nworker_rlimit_nofile 65535;\npid /run/jern.pid;\n"
             "error_log /var/log/jern.log warn;\n"
             "events { worker_connections 512; use epoll; multi_accept on; "
             "accept_mutex off; }\n");
    assert_int_equal(c->worker_processes, 3);
    assert_int_equal(c->worker_rlimit_nofile, 65535);
    assert_string_equal(c->pid_path, "/run/jern.pid");
    assert_string_equal(c->error_log_path, "/var/log/jern.log");
    assert_int_equal(c->error_log_level, JN_LOG_WARN);
    assert_int_equal(c->worker_connections, 512);
    jn_conf_free(c);

    c = load("error_log stderr;");
    assert_null(c->error_log_path);
    assert_int_equal(c->error_log_level, JN_LOG_ERROR);
    jn_conf_free(c);
    c = load("error_log x.log emerg;");
    assert_int_equal(c->error_log_level, JN_LOG_CRIT);
    jn_conf_free(c);
}

static void test_upstream_block(void **state)
{
    struct jn_conf *c = load("http {\n"
                             "  upstream u {\n"
                             "    server 127.0.0.1:8080 weight=5 max_fails=0 fail_timeout=1m "
                             "max_conns=100;\n"
                             "    server localhost:8081 backup;\n"
                             "    server [::1]:8082 down;\n"
                             "    server unix:/tmp/app.sock;\n"
                             "    server 10.1.2.3;\n"
                             "    keepalive 32;\n"
                             "    keepalive_timeout 30s;\n"
                             "    keepalive_requests 500;\n"
                             "  }\n"
                             "  upstream v { server 127.0.0.2:1; }\n"
                             "}\n");
    assert_int_equal(c->nupstreams, 2);
    const struct jn_conf_upstream *u = &c->upstreams[0];
    assert_int_equal(u->line, 2);
    assert_int_equal(u->balance, JN_BALANCE_RR);
    assert_int_equal(u->keepalive, 32);
    assert_int_equal(u->keepalive_timeout_ms, 30000);
    assert_int_equal(u->keepalive_requests, 500);
    assert_int_equal(u->nservers, 5);
    assert_int_equal(u->servers[0].weight, 5);
    assert_int_equal(u->servers[0].max_fails, 0);
    assert_int_equal(u->servers[0].fail_timeout_ms, 60000);
    assert_int_equal(u->servers[0].max_conns, 100);
    assert_false(u->servers[0].backup);
    char buf[128];
    assert_string_equal(jn_addr_format(&u->servers[1].addr, buf, sizeof(buf)), "127.0.0.1:8081");
    assert_true(u->servers[1].backup);
    assert_int_equal(u->servers[1].max_fails, 1);
    assert_int_equal(u->servers[1].fail_timeout_ms, 10000);
    assert_string_equal(jn_addr_format(&u->servers[2].addr, buf, sizeof(buf)), "[::1]:8082");
    assert_true(u->servers[2].down);
    assert_string_equal(jn_addr_format(&u->servers[3].addr, buf, sizeof(buf)),
                        "unix:/tmp/app.sock");
    assert_string_equal(jn_addr_format(&u->servers[4].addr, buf, sizeof(buf)), "10.1.2.3:80");
    assert_string_equal(c->upstreams[1].name, "v");
    assert_int_equal(c->upstreams[1].keepalive, 0);
    assert_int_equal(c->upstreams[1].keepalive_timeout_ms, 60000);
    assert_int_equal(c->upstreams[1].keepalive_requests, 1000);
    jn_conf_free(c);
}

static void test_server_and_locations(void **state)
{
    struct jn_conf *c = load("http {\n"
                             "  upstream app { server 127.0.0.1:9000; }\n"
                             "  server {\n"
                             "    listen 127.0.0.1:8080 default_server;\n"
                             "    listen [::1]:8080;\n"
                             "    listen unix:/tmp/jern.sock reuseport;\n"
                             "    server_name Example.COM *.example.com www.example.* \"\";\n"
                             "    location = /health { return 200 \"ok\\n\"; }\n"
                             "    location /api/ { proxy_pass http://app/v2/; }\n"
                             "    location ^~ /static/ { proxy_pass http://127.0.0.1:9001; }\n"
                             "    location /old { return 301 https://example.com/new; }\n"
                             "    location /go { return https://example.com/; }\n"
                             "    location /both { proxy_pass http://app; return 403; }\n"
                             "    location =/x { proxy_pass http://unix:/tmp/b.sock:/y; }\n"
                             "    location /u { proxy_pass http://localhost; }\n"
                             "  }\n"
                             "}\n");
    const struct jn_conf_server *s = &c->servers[0];
    assert_int_equal(s->line, 3);
    assert_int_equal(s->nlistens, 3);
    assert_true(s->listens[0].default_server);
    assert_string_equal(s->listens[0].text, "127.0.0.1:8080");
    assert_int_equal(s->listens[0].line, 4);
    assert_false(s->listens[1].default_server);
    assert_int_equal(s->nserver_names, 4);
    assert_string_equal(s->server_names[0], "example.com");
    assert_string_equal(s->server_names[1], "*.example.com");
    assert_string_equal(s->server_names[2], "www.example.*");
    assert_string_equal(s->server_names[3], "");
    assert_int_equal(s->nlocations, 8);
    const struct jn_conf_location *l = s->locations;
    assert_string_equal(l[0].prefix, "/health");
    assert_true(l[0].exact);
    assert_int_equal(l[0].return_code, 200);
    assert_string_equal(l[0].return_text, "ok\n");
    assert_null(l[0].pass_target);
    assert_ptr_equal(l[1].pass_upstream, &c->upstreams[0]);
    assert_string_equal(l[1].pass_uri, "/v2/");
    assert_false(l[2].exact);
    assert_null(l[2].pass_upstream);
    char buf[128];
    assert_string_equal(jn_addr_format(&l[2].pass_addr, buf, sizeof(buf)), "127.0.0.1:9001");
    assert_int_equal(l[3].return_code, 301);
    assert_string_equal(l[3].return_text, "https://example.com/new");
    assert_int_equal(l[4].return_code, 302);
    assert_string_equal(l[4].return_text, "https://example.com/");
    /* return and proxy_pass together: both kept, the gateway lets return win */
    assert_int_equal(l[5].return_code, 403);
    assert_non_null(l[5].pass_upstream);
    assert_true(l[6].exact);
    assert_string_equal(l[6].prefix, "/x");
    assert_string_equal(jn_addr_format(&l[6].pass_addr, buf, sizeof(buf)), "unix:/tmp/b.sock");
    assert_string_equal(l[6].pass_uri, "/y");
    assert_string_equal(jn_addr_format(&l[7].pass_addr, buf, sizeof(buf)), "127.0.0.1:80");
    jn_conf_free(c);
}

static void test_server_return(void **state)
{
    struct jn_conf *c = load("http {\n"
                             " server { listen 81; return 301 https://$host$request_uri; "
                             "location /a { return 200; } location = / { return 204; } }\n"
                             " server { listen 82; location / { return 200; } return 404; }\n"
                             "}");
    const struct jn_conf_server *s = &c->servers[0];
    /* a server-level return answers everything: every location, plus "/" */
    assert_int_equal(s->nlocations, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s->locations[i].return_code, 301);
        assert_string_equal(s->locations[i].return_text, "https://$host$request_uri");
    }
    assert_string_equal(s->locations[2].prefix, "/");
    assert_false(s->locations[2].exact);
    assert_int_equal(c->servers[1].nlocations, 1);
    assert_int_equal(c->servers[1].locations[0].return_code, 404);
    jn_conf_free(c);
}

static void test_rewrite_and_if(void **state)
{
    struct jn_conf *c = load(
        "http {\n"
        " server { listen 81;\n"
        "  if ($host = www.a.test) { return 301 http://a.test$request_uri; }\n"
        "  rewrite ^/old/(.*)$ /new/$1 permanent;\n"
        "  location /api/ { if ( $http_user_agent ~* bot ) { return 403; rewrite ^ /x redirect; }\n"
        "   rewrite ^/api/(.*) https://b.test/$1; return 200; rewrite ^/dead /d permanent; }\n"
        " }\n"
        " server { listen 82; return 404; rewrite ^/never /n permanent; location /x { rewrite ^ /y "
        "redirect; } }\n"
        "}");
    const struct jn_conf_server *s = &c->servers[0];
    /* the server's statements first in every location, "/" added for the rest */
    assert_int_equal(s->nlocations, 2);
    const struct jn_conf_location *api = &s->locations[0], *root = &s->locations[1];
    assert_string_equal(root->prefix, "/");
    assert_int_equal(root->nrewrites, 2);
    /* the if's return (the rewrite after it in the if never runs), the
     * absolute rewrite (302 without a flag); nothing after the return */
    assert_int_equal(api->nrewrites, 4);
    const struct jn_conf_rewrite *w = api->rewrites;
    assert_int_equal(w[0].op, JN_COND_EQ);
    assert_string_equal(w[0].cond_var, "$host");
    assert_string_equal(w[0].cond_arg, "www.a.test");
    assert_true(w[0].is_return);
    assert_int_equal(w[0].code, 301);
    assert_int_equal(w[1].op, JN_COND_NONE);
    assert_string_equal(w[1].regex, "^/old/(.*)$");
    assert_string_equal(w[1].text, "/new/$1");
    assert_int_equal(w[1].code, 301);
    assert_int_equal(w[2].op, JN_COND_RE);
    assert_true(w[2].cond_caseless);
    assert_string_equal(w[2].cond_arg, "bot");
    assert_int_equal(w[2].code, 403);
    assert_null(w[2].text);
    assert_int_equal(w[3].code, 302);
    assert_false(w[3].is_return);
    assert_int_equal(api->return_code, 200);
    /* a server-level return answers first: no statement runs */
    for (size_t i = 0; i < c->servers[1].nlocations; i++) {
        assert_int_equal(c->servers[1].locations[i].nrewrites, 0);
        assert_int_equal(c->servers[1].locations[i].return_code, 404);
    }
    jn_conf_free(c);

#define SRV(x) "http { server { listen 80; location / { " x " } } }"
    expect_error(SRV("rewrite ^/a /b;"),
                 "t.conf:1: \"rewrite ^/a /b\" changes the URI inside the server (an internal "
                 "rewrite), which jern does not do: add \"redirect\" or \"permanent\" to send "
                 "the client to \"/b\", or use a location with proxy_pass http://UPSTREAM/NEW/ to "
                 "change the path sent upstream");
    expect_error(SRV("rewrite ^/a /b last;"),
                 "t.conf:1: \"rewrite ^/a /b last\" changes the URI inside the server (an "
                 "internal rewrite), which jern does not do: add \"redirect\" or \"permanent\" "
                 "to send the client to \"/b\", or use a location with proxy_pass "
                 "http://UPSTREAM/NEW/ to change the path sent upstream");
    expect_error(SRV("rewrite ^/a /b sideways;"),
                 "t.conf:1: invalid rewrite flag \"sideways\": expected redirect or permanent "
                 "(last and break are internal rewrites, not done by jern)");
    expect_error(SRV("rewrite ^/(a /b permanent;"),
                 "t.conf:1: rewrite: invalid regular expression \"^/(a\": missing closing "
                 "parenthesis at offset 4");
    expect_error(SRV("if ($host) { proxy_pass http://127.0.0.1:1; }"),
                 "t.conf:1: \"proxy_pass\" directive is not allowed here (inside if, jern takes "
                 "return and rewrite)");
    expect_error(SRV("if (-f $uri) { return 404; }"),
                 "t.conf:1: if (-f ...): file tests (-f, -d, -e, -x) need static files, which jern "
                 "does not serve");
    expect_error(SRV("if ($host =~ x) { return 404; }"),
                 "t.conf:1: invalid operator \"=~\" in if: expected =, !=, ~, ~*, !~ or !~*");
    expect_error(SRV("if ($host = ) { return 404; }"),
                 "t.conf:1: invalid condition in if: \"$host =\" needs a value after it");
    expect_error(SRV("if $host { return 404; }"),
                 "t.conf:1: invalid condition in if: expected (\"$var\"), ($var = text), ($var != "
                 "text), ($var ~ regex) or ~*, !~, !~*");
    expect_error(SRV("if (host) { return 404; }"),
                 "t.conf:1: invalid condition in if: \"host\" is not a $variable");
    expect_error(SRV("if ($host) { }"), "t.conf:1: if without return or rewrite inside does nothing");
    expect_error(SRV("if ($host ~ \"(x\") { return 404; }"),
                 "t.conf:1: if: invalid regular expression \"(x\": missing closing parenthesis at "
                 "offset 2");
#undef SRV
}

static void test_static_files(void **state)
{
    struct jn_conf *c = load("http { root /srv/www/; index index.htm index.html;\n"
                             " types { text/html html htm; text/css css; }\n"
                             " server { listen 80; location / { try_files $uri $uri/ /index.html; }\n"
                             "  location /a/ { alias /srv/assets/; index a.html; }\n"
                             "  location /api/ { proxy_pass http://127.0.0.1:1; } } }");
    const struct jn_conf_server *s = &c->servers[0];
    const struct jn_conf_location *root = &s->locations[0], *a = &s->locations[1];
    assert_string_equal(root->s.root, "/srv/www"); /* without its trailing slash */
    assert_int_equal(root->s.nindex, 2);
    assert_string_equal(root->s.index[1], "index.html");
    assert_int_equal(root->s.ntypes, 3);
    assert_string_equal(root->s.types[1].name, "htm");
    assert_string_equal(root->s.types[1].value, "text/html");
    assert_int_equal(root->ntry_files, 3);
    assert_string_equal(root->try_files[2], "/index.html");
    assert_string_equal(a->alias, "/srv/assets");
    assert_int_equal(a->s.nindex, 1);
    jn_conf_free(c);

#define LOC(x) "http { server { listen 80; location / { " x " } } }"
    expect_error(LOC("root $dir;"),
                 "t.conf:1: variables in \"root\" are not supported: give a fixed directory");
    expect_error(LOC("alias /a; root /b;"),
                 "t.conf:1: \"root\" directive is duplicate, \"alias\" directive was specified "
                 "earlier");
    expect_error("http { server { listen 80; location ~ x { alias /a; } } }",
                 "t.conf:1: \"alias\" in a regular expression location needs its captures, which "
                 "jern does not do: use a prefix location, or root");
    expect_error(LOC("index a/b.html;"),
                 "t.conf:1: invalid index \"a/b.html\": a file name in the directory, without '/' "
                 "or $variables");
    expect_error(LOC("try_files $uri @app;"),
                 "t.conf:1: try_files's last argument \"@app\" names a named location, which jern "
                 "does not have: end with =404, or a URI of a file");
    expect_error(LOC("try_files $uri =99;"),
                 "t.conf:1: invalid try_files code \"=99\": expected =100 to =599");
    expect_error(LOC("try_files $uri /x/$uri;"),
                 "t.conf:1: variables in try_files's last URI \"/x/$uri\" are not supported: give "
                 "a fixed URI such as /index.html");
    expect_error("http { server { listen 80; try_files $uri =404; } }",
                 "t.conf:1: \"try_files\" at server level is not supported: put it in a location "
                 "(location / { try_files ...; })");
#undef LOC
}

static void test_settings_every_directive(void **state)
{
    struct jn_conf *c =
        load("http {\n"
             "  log_format main '$remote_addr \"$request\" '\n"
             "                  '$status $upstream_addr';\n"
             "  log_format esc escape=default '$status';\n"
             "  keepalive_timeout 10s; keepalive_requests 50;\n"
             "  client_header_timeout 5s; client_body_timeout 6s; send_timeout 7s;\n"
             "  client_max_body_size 8m; large_client_header_buffers 2 16k;\n"
             "  proxy_http_version 1.0;\n"
             "  proxy_connect_timeout 500ms; proxy_read_timeout 2m; proxy_send_timeout 1h;\n"
             "  proxy_next_upstream error timeout http_502 http_503 non_idempotent;\n"
             "  proxy_next_upstream_tries 3; proxy_next_upstream_timeout 15s;\n"
             "  access_log /var/log/a.log main;\n"
             "  sendfile on; tcp_nopush on; tcp_nodelay on; server_tokens off;\n"
             "  default_type application/octet-stream;\n"
             "  types { text/html html htm; application/json json; }\n"
             "  server { listen 80; location / { return 200; } }\n"
             "}\n");
    assert_int_equal(c->nlog_formats, 2);
    assert_string_equal(c->log_formats[0].name, "main");
    assert_string_equal(c->log_formats[0].format,
                        "$remote_addr \"$request\" $status $upstream_addr");
    assert_string_equal(c->log_formats[1].format, "$status");
    const struct jn_conf_settings *st = &c->servers[0].locations[0].s;
    assert_int_equal(st->keepalive_timeout_ms, 10000);
    assert_int_equal(st->keepalive_requests, 50);
    assert_int_equal(st->client_header_timeout_ms, 5000);
    assert_int_equal(st->client_body_timeout_ms, 6000);
    assert_int_equal(st->send_timeout_ms, 7000);
    assert_int_equal(st->client_max_body_size, 8 << 20);
    assert_int_equal(st->large_header_num, 2);
    assert_int_equal(st->large_header_size, 16384);
    assert_int_equal(st->proxy_http_minor, 0);
    assert_int_equal(st->proxy_connect_timeout_ms, 500);
    assert_int_equal(st->proxy_read_timeout_ms, 120000);
    assert_int_equal(st->proxy_send_timeout_ms, 3600000);
    assert_int_equal(st->next_upstream, JN_NEXT_ERROR | JN_NEXT_TIMEOUT | JN_NEXT_HTTP_502 |
                                            JN_NEXT_HTTP_503 | JN_NEXT_NON_IDEMPOTENT);
    assert_int_equal(st->next_upstream_tries, 3);
    assert_int_equal(st->next_upstream_timeout_ms, 15000);
    assert_string_equal(st->access_log_path, "/var/log/a.log");
    assert_string_equal(st->access_log_format, "$remote_addr \"$request\" $status $upstream_addr");
    jn_conf_free(c);

    c = load("http { proxy_next_upstream off; access_log a.log; client_max_body_size 0;"
             " server { location / { access_log off; proxy_next_upstream invalid_header http_500 "
             "http_504 http_403 http_404 http_429; } } }");
    st = &c->servers[0].locations[0].s;
    assert_int_equal(c->servers[0].s.next_upstream, 0);
    assert_int_equal(st->next_upstream, JN_NEXT_INVALID_HEADER | JN_NEXT_HTTP_500 |
                                            JN_NEXT_HTTP_504 | JN_NEXT_HTTP_403 | JN_NEXT_HTTP_404 |
                                            JN_NEXT_HTTP_429);
    assert_null(st->access_log_path);
    assert_string_equal(c->servers[0].s.access_log_path, "a.log");
    assert_string_equal(c->servers[0].s.access_log_format, JN_LOG_FORMAT_COMBINED);
    assert_int_equal(st->client_max_body_size, 0);
    jn_conf_free(c);
}

/* ---- inheritance ---- */

static void test_inheritance(void **state)
{
    struct jn_conf *c =
        load("http {\n"
             "  server {\n"
             "    listen 80;\n"
             "    location /a { return 200; }\n"
             "    location /b { proxy_read_timeout 5s; proxy_set_header X-Loc b; }\n"
             "    proxy_set_header X-Server s;\n"
             "    proxy_set_header Host $host;\n"
             "  }\n"
             "  server { listen 81; location / { return 200; } }\n"
             "  proxy_read_timeout 30s;\n" /* after the servers: still applies, as in nginx */
             "  proxy_set_header X-Http h;\n"
             "  keepalive_timeout 0;\n"
             "}\n");
    const struct jn_conf_server *s0 = &c->servers[0], *s1 = &c->servers[1];
    /* /a inherits everything from the server */
    const struct jn_conf_settings *a = &s0->locations[0].s;
    assert_int_equal(a->proxy_read_timeout_ms, 30000);
    assert_int_equal(a->keepalive_timeout_ms, 0);
    assert_int_equal(a->nset_headers, 2);
    assert_string_equal(a->set_headers[0].name, "X-Server");
    assert_string_equal(a->set_headers[1].name, "Host");
    /* /b defines its own headers: the server's are not inherited */
    const struct jn_conf_settings *bb = &s0->locations[1].s;
    assert_int_equal(bb->proxy_read_timeout_ms, 5000);
    assert_int_equal(bb->nset_headers, 1);
    assert_string_equal(bb->set_headers[0].name, "X-Loc");
    assert_string_equal(bb->set_headers[0].value, "b");
    /* the second server defines none: it gets http's */
    assert_int_equal(s1->s.nset_headers, 1);
    assert_string_equal(s1->locations[0].s.set_headers[0].name, "X-Http");
    assert_int_equal(s1->locations[0].s.proxy_read_timeout_ms, 30000);
    jn_conf_free(c);
}

static void test_definitions_apply_before_use(void **state)
{
    /* upstream and log_format written after the server that uses them, as nginx allows */
    struct jn_conf *c =
        load("http {\n"
             "  server { location / { proxy_pass http://late; access_log a.log f; } }\n"
             "  upstream late { server 127.0.0.1:7000; }\n"
             "  log_format f '$status';\n"
             "}\n");
    assert_ptr_equal(c->servers[0].locations[0].pass_upstream, &c->upstreams[0]);
    assert_string_equal(c->servers[0].locations[0].s.access_log_format, "$status");
    jn_conf_free(c);
    expect_error("http { server { location / { large_client_header_buffers 4 8k; } } }",
                 "t.conf:1: \"large_client_header_buffers\" directive is not allowed here");
}

/* ---- errors, with their exact messages and lines ---- */

static void test_balance_directive(void **state)
{
    (void)state;
    struct jn_conf *c = load("http { upstream a { balance p2c; server 127.0.0.1; } }");
    assert_int_equal(c->upstreams[0].balance, JN_BALANCE_P2C);
    assert_string_equal(jn_balance_name(c->upstreams[0].balance), "p2c");
    jn_conf_free(c);
    c = load("http { upstream a { balance least_conn; server 127.0.0.1; } }");
    assert_int_equal(c->upstreams[0].balance, JN_BALANCE_LEAST_CONN);
    jn_conf_free(c);
    expect_error("http {\n upstream a {\n  balance fastest;\n  server 127.0.0.1;\n }\n}",
                 "t.conf:3: invalid value \"fastest\" in \"balance\" directive: expected "
                 "round_robin, least_conn or p2c");
    expect_error("http {\n upstream a {\n  least_conn;\n  balance p2c;\n  server 127.0.0.1;\n "
                 "}\n}",
                 "t.conf:4: load balancing method redefined (first set on line 3)");
}

static void test_errors_directives(void **state)
{
    expect_error("http {\n  upstream a {\n    least_con;\n    server 127.0.0.1;\n  }\n}\n",
                 "t.conf:3: unknown directive \"least_con\" (did you mean \"least_conn\"?)");
    expect_error("worker_proceses 2;", "t.conf:1: unknown directive \"worker_proceses\" (did you "
                                       "mean \"worker_processes\"?)");
    expect_error("\n\nfrobnicate on;", "t.conf:3: unknown directive \"frobnicate\"");
    expect_error("http {\n server {\n  server { }\n }\n}",
                 "t.conf:3: \"server\" directive is not allowed here");
    expect_error("server { listen 80; }", "t.conf:1: \"server\" directive is not allowed here");
    expect_error("http { server { location / { location /x { } } } }",
                 "t.conf:1: \"location\" directive is not allowed here");
    expect_error("http { server { proxy_pass http://127.0.0.1; } }",
                 "t.conf:1: \"proxy_pass\" directive is not allowed here");
    expect_error("http;", "t.conf:1: directive \"http\" has no opening \"{\"");
    expect_error("pid x { }", "t.conf:1: directive \"pid\" is not terminated by \";\"");
    expect_error("worker_processes;",
                 "t.conf:1: invalid number of arguments in \"worker_processes\" directive");
    expect_error("worker_processes 1 2;",
                 "t.conf:1: invalid number of arguments in \"worker_processes\" directive");
    expect_error("events { }\nevents { }",
                 "t.conf:2: \"events\" directive is duplicate (first on line 1)");
    expect_error("http { keepalive_timeout 1s;\nkeepalive_timeout 2s; }",
                 "t.conf:2: \"keepalive_timeout\" directive is duplicate (first on line 1)");
}

static void test_errors_values(void **state)
{
    expect_error("worker_processes lots;",
                 "t.conf:1: invalid value \"lots\" in \"worker_processes\" directive: expected "
                 "\"auto\" or a number from 1 to 1024");
    expect_error("events { worker_connections -5; }",
                 "t.conf:1: invalid value \"-5\" in \"worker_connections\" directive: expected a "
                 "number from 2 to 1048576");
    expect_error("events { use kqueue; }",
                 "t.conf:1: invalid value \"kqueue\" in \"use\" directive: jern supports "
                 "\"epoll\" only");
    expect_error("events { multi_accept yes; }",
                 "t.conf:1: invalid value \"yes\" in \"multi_accept\" directive: expected \"on\" "
                 "or \"off\"");
    expect_error("error_log x.log loud;",
                 "t.conf:1: invalid value \"loud\" in \"error_log\" directive: expected a level: "
                 "debug, info, notice, warn, error, crit, alert or emerg");
    expect_error("http { proxy_read_timeout 5x; }",
                 "t.conf:1: invalid value \"5x\" in \"proxy_read_timeout\" directive: expected a "
                 "time such as 30s, 500ms, 5m or 1h");
    expect_error("http { client_max_body_size 1t; }",
                 "t.conf:1: invalid value \"1t\" in \"client_max_body_size\" directive: expected "
                 "a size such as 1m, 512k or 0 (unlimited)");
    expect_error("http { large_client_header_buffers 4 10; }",
                 "t.conf:1: invalid value \"10\" in \"large_client_header_buffers\" directive: "
                 "expected a buffer size from 256 to 1m, such as 8k");
    expect_error("http { proxy_http_version 2.0; }",
                 "t.conf:1: invalid value \"2.0\" in \"proxy_http_version\" directive: expected "
                 "1.0 or 1.1");
    expect_error("http { proxy_next_upstream error off; }",
                 "t.conf:1: \"off\" in \"proxy_next_upstream\" directive must be alone");
    expect_error("http { proxy_next_upstream http_418; }",
                 "t.conf:1: invalid value \"http_418\" in \"proxy_next_upstream\" directive: "
                 "expected error, timeout, invalid_header, http_500, http_502, http_503, "
                 "http_504, http_403, http_404, http_429, non_idempotent or off");
    expect_error("http { proxy_set_header \"Bad Name\" x; }",
                 "t.conf:1: invalid header name \"Bad Name\" in \"proxy_set_header\" directive: "
                 "only letters, digits and !#$%&'*+-.^_`|~ are allowed");
    expect_error("http { proxy_set_header X \"a\nb\"; }",
                 "t.conf:1: invalid value in \"proxy_set_header X\": a header value cannot "
                 "contain a line break");
    expect_error("http { access_log a.log nope; }",
                 "t.conf:1: unknown log format \"nope\" in \"access_log\" directive: define it "
                 "with log_format in the http block");
    expect_error("http { access_log off x; }",
                 "t.conf:1: invalid number of arguments in \"access_log\" directive");
    expect_error("http { log_format combined '$status'; }",
                 "t.conf:1: duplicate \"log_format\" name \"combined\": it is built in");
    expect_error("http { log_format a x;\n log_format a y; }",
                 "t.conf:2: duplicate \"log_format\" name \"a\"");
    expect_error("http { log_format a escape=json x; }",
                 "t.conf:1: \"escape=json\" in \"log_format\" directive is not supported: jern "
                 "only has escape=default");
    expect_error("http { types { text/html; } }",
                 "t.conf:1: invalid line in \"types\" block: expected \"TYPE EXTENSION...;\"");
}

static void test_errors_upstreams(void **state)
{
    expect_error("http {\n upstream a { server 127.0.0.1; }\n upstream a { server 127.0.0.1; }\n}",
                 "t.conf:3: duplicate upstream \"a\" (first defined on line 2)");
    expect_error("http { upstream a { } }", "t.conf:1: no servers are inside upstream \"a\"");
    expect_error("http {\n upstream api {\n  server backend.internal:8080;\n }\n}",
                 "t.conf:3: host name \"backend.internal:8080\" in upstream \"api\" is not "
                 "supported: jern never blocks on DNS; use an IP address, localhost or "
                 "unix:/path");
    expect_error("http { upstream a { server 1.2.3.4:99999; } }",
                 "t.conf:1: invalid address \"1.2.3.4:99999\" in upstream \"a\": expected "
                 "IP[:PORT], [IPv6]:PORT, localhost[:PORT] or unix:/path");
    expect_error("http { upstream a { server 127.0.0.1 weight=0; } }",
                 "t.conf:1: invalid value \"weight=0\" in upstream \"server\": weight must be a "
                 "number from 1 to 1000000");
    expect_error("http { upstream a { server 127.0.0.1 max_fails=x; } }",
                 "t.conf:1: invalid value \"max_fails=x\" in upstream \"server\": max_fails must "
                 "be a number, 0 or more");
    expect_error("http { upstream a { server 127.0.0.1 fail_timeout=soon; } }",
                 "t.conf:1: invalid value \"fail_timeout=soon\" in upstream \"server\": "
                 "fail_timeout must be a time such as 10s");
    expect_error("http { upstream a { server 127.0.0.1 max_conns=-1; } }",
                 "t.conf:1: invalid value \"max_conns=-1\" in upstream \"server\": max_conns must "
                 "be a number, 0 (unlimited) or more");
    expect_error("http { upstream a { server 127.0.0.1 slow_start=10s; } }",
                 "t.conf:1: invalid parameter \"slow_start=10s\" in upstream \"server\": expected "
                 "weight=N, max_fails=N, fail_timeout=TIME, max_conns=N, backup or down");
    expect_error("http { upstream a { server 127.0.0.1; keepalive lots; } }",
                 "t.conf:1: invalid value \"lots\" in \"keepalive\" directive: expected a number, "
                 "0 or more");
    expect_error("http { upstream a/b { server 127.0.0.1; } }",
                 "t.conf:1: invalid upstream name \"a/b\": use letters, digits, '_', '-' and '.'");
}

static void test_errors_servers(void **state)
{
    expect_error("http { server { location ~ \\.php$ { proxy_pass http://127.0.0.1:80/x; } } }",
                 "t.conf:1: \"proxy_pass\" cannot have a URI part in a location given by a "
                 "regular expression (nginx's rule): write proxy_pass http://127.0.0.1:80;");
    expect_error("http { server { location ~* \"\" { } } }",
                 "t.conf:1: empty regular expression in \"location\"");
    expect_error("http { server { location @fallback { } } }",
                 "t.conf:1: named locations (\"@fallback\") are not supported");
    expect_error("http { server { location api { } } }",
                 "t.conf:1: location \"api\" would never match: a location starts with \"/\"");
    expect_error("http { server { location == /x { } } }",
                 "t.conf:1: invalid location modifier \"==\": expected \"=\", \"^~\", \"~\" or "
                 "\"~*\"");
    expect_error("http { server {\n location /a { }\n location /a { } } }",
                 "t.conf:3: duplicate location \"/a\" (first on line 2)");
    expect_error("http { server { location / { proxy_pass https://127.0.0.1; } } }",
                 "t.conf:1: \"proxy_pass https://127.0.0.1\": https upstreams are not supported "
                 "yet; use http:// to a backend on a trusted network");
    expect_error("http { server { location / { proxy_pass 127.0.0.1:80; } } }",
                 "t.conf:1: invalid URL prefix in \"proxy_pass 127.0.0.1:80\": expected "
                 "http://UPSTREAM_OR_ADDRESS[/URI]");
    expect_error("http { server { location / { proxy_pass http://$backend/x; } } }",
                 "t.conf:1: \"proxy_pass http://$backend/x\": with variables, jern supports only "
                 "http://$name (the value naming an upstream block), no URI part");
    expect_error("http { server { location / { proxy_pass_request_body off; } } }",
                 "t.conf:1: \"proxy_pass_request_body off\" is not supported: jern streams the "
                 "request body to the upstream");
    expect_error("http { server { location / { proxy_pass http:///x; } } }",
                 "t.conf:1: no host in \"proxy_pass http:///x\"");
    expect_error("http {\n server {\n  location / {\n   proxy_pass http://api_clustr;\n  }\n }\n"
                 " upstream api_cluster { server 127.0.0.1; }\n}",
                 "t.conf:4: no upstream \"api_clustr\" for \"proxy_pass http://api_clustr\", and "
                 "jern never resolves host names: define upstream api_clustr { server IP:PORT; } "
                 "in the http block, or use an IP address");
    expect_error("http { server { listen example.com:80; } }",
                 "t.conf:1: host name in \"listen example.com:80\" is not supported: jern never "
                 "resolves DNS; use an IP address, localhost, * or just the port");
    expect_error("http { server { listen 80 quic; } }",
                 "t.conf:1: \"quic\" in \"listen\" directive is not supported: jern speaks "
                 "HTTP/1.1 and HTTP/2 (with or without TLS)");
    expect_error("http { server { listen 80 backlog=10; } }",
                 "t.conf:1: invalid parameter \"backlog=10\" in \"listen\" directive: expected "
                 "default_server, ssl, http2 or reuseport");
    expect_error("http { server { listen 80;\n listen 0.0.0.0:80; } }",
                 "t.conf:2: duplicate listen 0.0.0.0:80 in this server (first on line 1)");
    expect_error("http {\n server { listen 8080 default_server; }\n server { listen 8081 "
                 "default_server; }\n server {\n  listen *:8080 default_server;\n }\n}",
                 "t.conf:5: a duplicate default server for 0.0.0.0:8080 (the first is the server "
                 "on line 2)");
    expect_error("http { server { server_name ~; } }",
                 "t.conf:1: empty regular expression in \"server_name\"");
    expect_error("http { server { server_name a.*.com; } }",
                 "t.conf:1: invalid server name \"a.*.com\": a wildcard \"*\" may only be the "
                 "first or the last part, as in *.example.com or www.example.*");
    expect_error("http { server { location / { return 700; } } }",
                 "t.conf:1: invalid return code \"700\": expected a status from 100 to 599, or a "
                 "URL starting with http://, https:// or $scheme");
}

static void test_errors_syntax(void **state)
{
    expect_error("http {\n server {\n", "t.conf:3: unexpected end of file, expecting \"}\" (block "
                                        "opened on line 2)");
    expect_error("http { } }", "t.conf:1: unexpected \"}\"");
    expect_error("worker_processes 2",
                 "t.conf:1: unexpected end of file, expecting \";\" or \"}\"");
}

/* ---- includes ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_includes(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/jn_conf_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[256];
    snprintf(path, sizeof(path), "%s/conf.d", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/conf.d/skipme.conf", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file("main.conf", "events { include events.inc; }\n"
                            "http {\n"
                            "  include mime.types;\n"
                            "  include conf.d/*.conf;\n"
                            "  include nothing/*.conf;\n" /* a glob may match nothing */
                            "}\n");
    write_file("events.inc", "worker_connections 77;\n");
    write_file("mime.types", "types {\n text/html html;\n}\n");
    /* relative to the including file's directory, and sorted */
    write_file("conf.d/b.conf", "server { listen 8082; include ../loc.inc; }\n");
    write_file("conf.d/a.conf", "upstream up { server 127.0.0.1:1; }\nserver { listen 8081; }\n");
    write_file("conf.d/c.txt", "this is not a directive\n");
    write_file("loc.inc", "location / { proxy_pass http://up; }\n");
    snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
    struct jn_conf *c = NULL;
    int rc = jn_conf_load(path, &c, err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(c->worker_connections, 77);
    assert_int_equal(c->nservers, 2);
    assert_string_equal(c->servers[0].listens[0].text, "8081");
    assert_string_equal(c->servers[1].listens[0].text, "8082");
    assert_ptr_equal(c->servers[1].locations[0].pass_upstream, &c->upstreams[0]);
    jn_conf_free(c);

    /* an error inside an included file names that file and its line */
    write_file("conf.d/d.conf", "server {\n  listen 8083;\n  proxy_pas http://up;\n}\n");
    assert_int_equal(jn_conf_load(path, &c, err, sizeof(err)), JN_ECONFIG);
    char want[512];
    snprintf(want, sizeof(want),
             "%s/conf.d/d.conf:3: unknown directive \"proxy_pas\" (did you mean \"proxy_pass\"?)",
             tmpdir);
    assert_string_equal(err, want);

    /* a missing file without wildcards is an error at the include line */
    write_file("conf.d/d.conf", "\ninclude missing.conf;\n");
    assert_int_equal(jn_conf_load(path, &c, err, sizeof(err)), JN_ECONFIG);
    snprintf(want, sizeof(want),
             "%s/conf.d/d.conf:2: cannot read included file \"%s/conf.d/missing.conf\": No such "
             "file or directory",
             tmpdir, tmpdir);
    assert_string_equal(err, want);

    /* a file including itself stops at the nesting cap */
    write_file("conf.d/d.conf", "include d.conf;\n");
    assert_int_equal(jn_conf_load(path, &c, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "includes nested too deeply (more than 16 levels)"));

    /* included directives obey the context they land in */
    write_file("conf.d/d.conf", "worker_processes 2;\n");
    assert_int_equal(jn_conf_load(path, &c, err, sizeof(err)), JN_ECONFIG);
    snprintf(want, sizeof(want),
             "%s/conf.d/d.conf:1: \"worker_processes\" directive is not "
             "allowed here",
             tmpdir);
    assert_string_equal(err, want);

    /* the main file itself */
    snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
    assert_int_equal(jn_conf_load(path, &c, err, sizeof(err)), JN_ECONFIG);
    snprintf(want, sizeof(want), "%s: cannot read the configuration: No such file or directory",
             path);
    assert_string_equal(err, want);
    assert_int_equal(jn_conf_load(tmpdir, &c, err, sizeof(err)), JN_ECONFIG);
    assert_non_null(strstr(err, "Is a directory"));

    /* loading with includes disabled (the fuzzer's mode) */
    const char *t = "include x;";
    assert_int_equal(
        jn_conf_load_text("f", NULL, t, strlen(t), JN_CONF_NO_INCLUDE, &c, err, sizeof(err)),
        JN_ECONFIG);
    assert_string_equal(err, "f:1: \"include\" is not allowed when loading this text");

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* ssl_*: nginx's defaults, inheritance (a server's first ssl_certificate
 * replaces the http block's list), paths against the file's directory. */
static void test_ssl_directives(void **state)
{
    struct jn_conf *c = load("http { ssl_certificate /h.crt; ssl_certificate_key /h.key;\n"
                             " ssl_session_cache shared:SSL:10m; ssl_ciphers ECDHE+AESGCM;\n"
                             " server { listen 443 ssl default_server; }\n"
                             " server { listen 443 ssl; ssl_certificate rsa.crt;\n"
                             "  ssl_certificate_key rsa.key; ssl_certificate /ec.crt;\n"
                             "  ssl_certificate_key /ec.key; ssl_protocols TLSv1.3;\n"
                             "  ssl_session_tickets off; ssl_reject_handshake on;\n"
                             "  ssl_prefer_server_ciphers on; ssl_stapling on;\n"
                             "  ssl_session_timeout 1h; ssl_session_cache builtin:1000; } }");
    const struct jn_conf_settings *a = &c->servers[0].s, *b = &c->servers[1].s;
    assert_true(c->servers[0].listens[0].ssl);
    assert_true(c->servers[0].listens[0].default_server);
    assert_int_equal(a->nssl_certs, 1);
    assert_string_equal(a->ssl_certs[0], "/h.crt");
    assert_string_equal(a->ssl_keys[0], "/h.key");
    assert_int_equal(a->ssl_protocols, 0xc); /* TLSv1.2 TLSv1.3 */
    assert_true(a->ssl_session_cache);
    assert_int_equal(a->ssl_session_cache_size, 10 * 1024 * 1024 / 256);
    assert_int_equal(a->ssl_session_timeout_ms, 300000);
    assert_true(a->ssl_session_tickets);
    assert_false(a->ssl_reject_handshake);
    assert_string_equal(a->ssl_ciphers, "ECDHE+AESGCM");
    assert_int_equal(b->nssl_certs, 2);
    assert_string_equal(b->ssl_certs[0], "./rsa.crt"); /* load_string: the current directory */
    assert_string_equal(b->ssl_certs[1], "/ec.crt");
    assert_string_equal(b->ssl_keys[1], "/ec.key");
    assert_int_equal(b->ssl_protocols, 0x8);
    assert_false(b->ssl_session_tickets);
    assert_true(b->ssl_reject_handshake && b->ssl_prefer_server_ciphers && b->ssl_stapling);
    assert_int_equal(b->ssl_session_timeout_ms, 3600000);
    assert_int_equal(b->ssl_session_cache_size, 1000);
    jn_conf_free(c);

    expect_error("http { ssl_protocols SSLv3; }",
                 "t.conf:1: \"SSLv3\" in \"ssl_protocols\" is not supported: it is broken; use "
                 "TLSv1.2 TLSv1.3");
    expect_error("http { ssl_protocols TLSv1.4; }",
                 "t.conf:1: invalid value \"TLSv1.4\" in \"ssl_protocols\" directive: expected "
                 "TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
    expect_error("http { ssl_session_cache shared:SSL; }",
                 "t.conf:1: invalid value \"shared:SSL\" in \"ssl_session_cache\" directive: "
                 "expected off, none, builtin[:SIZE] or shared:NAME:SIZE");
    expect_error("http { ssl_session_tickets maybe; }",
                 "t.conf:1: invalid value \"maybe\" in \"ssl_session_tickets\" directive: "
                 "expected \"on\" or \"off\"");
    expect_error("http { ssl_certificate data:xyz; }",
                 "t.conf:1: \"data:xyz\" in \"ssl_certificate\" is not supported: give the path "
                 "of a PEM file");
    expect_error("http { server { ssl_certificate_key $k; } }",
                 "t.conf:1: \"$k\" in \"ssl_certificate_key\" is not supported: give the path "
                 "of a PEM file");
}

static void test_http2_directives(void **state)
{
    struct jn_conf *c = load("http { http2_max_concurrent_streams 64;\n"
                             " server { listen 443 ssl http2; }\n"
                             " server { listen 8443 ssl; http2 on; http2_body_preread_size 128k;\n"
                             "  http2_chunk_size 16k; } }");
    const struct jn_conf_settings *a = &c->servers[0].s, *b = &c->servers[1].s;
    assert_true(c->servers[0].listens[0].http2);
    assert_false(c->servers[1].listens[0].http2);
    assert_false(a->http2);
    assert_true(b->http2);
    assert_int_equal(a->http2_max_concurrent_streams, 64);
    assert_int_equal(b->http2_max_concurrent_streams, 64);
    assert_int_equal(a->http2_body_preread_size, 65536);
    assert_int_equal(b->http2_body_preread_size, 131072);
    assert_int_equal(a->http2_chunk_size, 8192);
    assert_int_equal(b->http2_chunk_size, 16384);
    jn_conf_free(c);

    expect_error("http { http2 yes; }",
                 "t.conf:1: invalid value \"yes\" in \"http2\" directive: expected \"on\" or "
                 "\"off\"");
    expect_error("http { http2_body_preread_size 16m; }",
                 "t.conf:1: invalid value \"16m\" in \"http2_body_preread_size\" directive: "
                 "expected a size from 1k to 16m-1 such as 64k");
}

static void test_tiny_error_buffer(void **state)
{
    struct jn_conf *c;
    char small[8];
    const char *t = "bogus;";
    assert_int_equal(jn_conf_load_string("t.conf", t, strlen(t), &c, small, sizeof(small)),
                     JN_ECONFIG);
    assert_string_equal(small, "t.conf:");
    assert_int_equal(jn_conf_load_string("t.conf", t, strlen(t), &c, NULL, 0), JN_ECONFIG);
    jn_conf_free(NULL);
}

static void test_jern_block_through_the_table(void **state)
{
    struct jn_conf *c;
    const char *t = "jern {\n listen 127.0.0.1:9001;\n listen 127.0.0.1:9002;\n"
                    " admin unix:/tmp/a.sock;\n drain_timeout 2s;\n}\n"
                    "http { server { listen 127.0.0.1:9003; } }\n";
    assert_int_equal(jn_conf_load_text("j.conf", NULL, t, strlen(t), JN_CONF_DAEMON, &c, err,
                                       sizeof(err)),
                     0);
    assert_int_equal(c->jern.nlisten, 2);
    assert_string_equal(c->jern.admin_unix, "/tmp/a.sock");
    assert_int_equal(c->jern.drain_timeout_ms, 2000);
    /* the file's server first, then one 404 server per jern listen address */
    assert_int_equal(c->nservers, 3);
    assert_string_equal(c->servers[1].listens[0].text, "127.0.0.1:9001");
    assert_int_equal(c->servers[2].locations[0].return_code, 404);
    jn_conf_free(c);

    /* no http block: apps answer on the default address */
    t = "jern { state_dir /tmp/x; }";
    assert_int_equal(jn_conf_load_text("j.conf", NULL, t, strlen(t), JN_CONF_DAEMON, &c, err,
                                       sizeof(err)),
                     0);
    assert_int_equal(c->nservers, 1);
    assert_string_equal(c->servers[0].listens[0].text, "127.0.0.1:8080");
    assert_false(c->has_http);
    jn_conf_free(c);

    t = "jern {\n stat_dir /tmp/x;\n}";
    assert_int_equal(jn_conf_load_text("j.conf", NULL, t, strlen(t), JN_CONF_DAEMON, &c, err,
                                       sizeof(err)),
                     JN_ECONFIG);
    assert_string_equal(err, "j.conf:2: unknown directive \"stat_dir\" in the jern block (did "
                             "you mean \"state_dir\"?)");
    /* jern gateway reads nginx's directives only */
    t = "jern { state_dir /tmp/x; }";
    assert_int_equal(jn_conf_load_text("j.conf", NULL, t, strlen(t), 0, &c, err, sizeof(err)),
                     JN_ECONFIG);
    assert_non_null(strstr(err, "read by jern serve"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jern_block_through_the_table),
        cmocka_unit_test(test_times_and_sizes),
        cmocka_unit_test(test_usable_cpus),
        cmocka_unit_test(test_seed_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_main_and_events),
        cmocka_unit_test(test_upstream_block),
        cmocka_unit_test(test_server_and_locations),
        cmocka_unit_test(test_server_return),
        cmocka_unit_test(test_rewrite_and_if),
        cmocka_unit_test(test_static_files),
        cmocka_unit_test(test_settings_every_directive),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_definitions_apply_before_use),
        cmocka_unit_test(test_errors_directives),
        cmocka_unit_test(test_balance_directive),
        cmocka_unit_test(test_errors_values),
        cmocka_unit_test(test_errors_upstreams),
        cmocka_unit_test(test_errors_servers),
        cmocka_unit_test(test_errors_syntax),
        cmocka_unit_test(test_includes),
        cmocka_unit_test(test_ssl_directives),
        cmocka_unit_test(test_http2_directives),
        cmocka_unit_test(test_tiny_error_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
