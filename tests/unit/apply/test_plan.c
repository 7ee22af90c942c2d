/* test_plan.c: the plan of a file against a live model (apply/plan.h):
 * node labels and placement on a cluster, env into the app's config. */
#include "jn_test.h"

#include "apply/plan.h"

static const char *lookup(const char *name, void *arg)
{
    return strcmp(name, "TOKEN_VALUE") == 0 ? "t0ps3cret" : NULL;
}

static void parse(const char *text, struct jn_spec *s)
{
    char err[512];
    int r = jn_spec_parse(text, strlen(text), "jern.yaml", lookup, NULL, s, err, sizeof(err));
    if (r < 0)
        fail_msg("%s", err);
}

static char *printed(const struct jn_plan *p)
{
    struct jn_buf b;
    jn_buf_init(&b, 1 << 20);
    jn_plan_print(p, &b);
    jn_buf_cstr(&b);
    return b.data;
}

static const char CLUSTER_FILE[] = "nodes:\n"
                                   "  a:\n"
                                   "    labels: {tier: gold}\n"
                                   "  b:\n"
                                   "    ssh: ssh://root@10.0.0.2\n"
                                   "  c:\n"
                                   "    ssh: ssh://root@10.0.0.3\n"
                                   "    labels: {tier: std}\n"
                                   "apps:\n"
                                   "  web:\n"
                                   "    image: web:1\n"
                                   "    instances: 1\n"
                                   "    require: {tier: gold}\n";

/* A live cluster: node a (tier=std, disk=ssd), node b; web serving web:1
 * with prefer {disk: ssd}. */
static void live_cluster(struct jn_spec *live)
{
    memset(live, 0, sizeof(*live));
    live->clustered = true;
    struct jn_spec_node *a = jn_spec_node_add(live, "a");
    jn_spec_kvs_add(&a->labels, "tier", "std", false);
    jn_spec_kvs_add(&a->labels, "disk", "ssd", false);
    jn_spec_node_add(live, "b");
    struct jn_spec_app *w = jn_spec_app_add(live, "web");
    w->serving = true;
    w->image = jn_strdup("web:1");
    w->instances = 1;
    jn_spec_kvs_add(&w->prefer, "disk", "ssd", false);
}

static void test_nodes_and_placement_on_a_cluster(void **state)
{
    struct jn_spec want = {0}, live;
    parse(CLUSTER_FILE, &want);
    live_cluster(&live);
    struct jn_plan p;
    jn_plan_make(&want, &live, false, &p);
    char *out = printed(&p);
    /* node changes come first, so placements find their nodes */
    assert_string_equal(out, "~ node a (update)\n"
                             "    labels.tier: \"std\" -> \"gold\"\n"
                             "    labels.disk: removed\n"
                             "! node c (note)\n"
                             "    not a live node of the cluster: join it with jern node add "
                             "ssh://root@10.0.0.3 --cluster URL, then apply sets its labels\n"
                             "~ app web (update)\n"
                             "    require: (none) -> tier=gold\n"
                             "    prefer: disk=ssd -> (none)\n"
                             "Plan: 0 to create, 2 to update, 0 to delete.\n");
    assert_true(p.v[0].labels && p.v[0].node == &want.nodes[0]);
    assert_true(p.v[2].placement && !p.v[2].deploy && !p.v[2].scale);
    free(out);
    jn_plan_free(&p);
    jn_spec_free(&want);
    jn_spec_free(&live);
}

static void test_placement_on_a_single_node_is_only_shown(void **state)
{
    struct jn_spec want = {0}, live = {0};
    parse(CLUSTER_FILE, &want);
    struct jn_spec_app *w = jn_spec_app_add(&live, "web");
    w->serving = true;
    w->image = jn_strdup("web:1");
    w->instances = 1;
    struct jn_plan p;
    jn_plan_make(&want, &live, false, &p);
    char *out = printed(&p);
    assert_non_null(strstr(out, "! node a (note)\n    labels: the daemon is a single node"));
    assert_null(strstr(out, "app web")); /* nothing else changes: no update for it */
    assert_false(jn_plan_changes(&p));
    free(out);
    jn_plan_free(&p);
    jn_spec_free(&want);
    jn_spec_free(&live);
}

static void test_env_goes_into_the_config(void **state)
{
    static const char file[] = "apps:\n"
                               "  web:\n"
                               "    image: web:1\n"
                               "    env:\n"
                               "      GREETING: hello\n"
                               "      TOKEN: ${TOKEN_VALUE}\n";
    struct jn_spec want = {0}, live = {0};
    parse(file, &want);
    /* GREETING came with a deploy's --env; OLD is in the config; TOKEN is new */
    struct jn_spec_app *w = jn_spec_app_add(&live, "web");
    w->serving = true;
    w->image = jn_strdup("web:1");
    jn_spec_kvs_add(&w->env, "GREETING", NULL, true);
    jn_spec_kvs_add(&w->env, "OLD", NULL, true);
    jn_spec_list_add(&w->config_keys, "OLD");
    struct jn_plan p;
    jn_plan_make(&want, &live, false, &p);
    char *out = printed(&p);
    assert_string_equal(out, "~ app web (update)\n"
                             "    env.GREETING: into the app's config (a later jern deploy "
                             "keeps it)\n"
                             "    env.TOKEN: (secret)\n"
                             "    env.OLD: removed\n"
                             "Plan: 0 to create, 1 to update, 0 to delete.\n");
    assert_null(strstr(out, "t0ps3cret"));
    assert_true(p.v[0].config && p.v[0].deploy && !p.v[0].env_in_deploy);
    assert_int_equal(p.v[0].unset.n, 1);
    assert_string_equal(p.v[0].unset.v[0], "OLD");
    free(out);
    jn_plan_free(&p);

    /* the same value moved into the config alone: recorded, no redeploy */
    jn_spec_free(&live);
    memset(&live, 0, sizeof(live));
    w = jn_spec_app_add(&live, "web");
    w->serving = true;
    w->image = jn_strdup("web:1");
    jn_spec_kvs_add(&w->env, "GREETING", NULL, true);
    jn_spec_kvs_add(&w->env, "TOKEN", NULL, true);
    jn_spec_list_add(&w->config_keys, "TOKEN");
    jn_plan_make(&want, &live, false, &p);
    assert_int_equal(p.n, 1);
    assert_true(p.v[0].config && !p.v[0].deploy);
    jn_plan_free(&p);

    /* on a cluster the env travels with the cluster's release */
    live.clustered = true;
    jn_spec_list_add(&w->env_diff, "TOKEN");
    jn_plan_make(&want, &live, false, &p);
    assert_int_equal(p.n, 1);
    assert_true(!p.v[0].config && p.v[0].deploy && p.v[0].env_in_deploy);
    jn_plan_free(&p);
    jn_spec_free(&want);
    jn_spec_free(&live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_and_placement_on_a_cluster),
        cmocka_unit_test(test_placement_on_a_single_node_is_only_shown),
        cmocka_unit_test(test_env_goes_into_the_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
