#include "jn_test.h"

#include "control/cluster/model.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#define G (1024.0 * 1024 * 1024)

static cJSON *nodes3(void)
{
    return cJSON_Parse("{\"n1\":{\"labels\":{\"jurisdiction\":\"NO\",\"site\":\"oslo-1\"},"
                       "\"memory\":4294967296},"
                       "\"n2\":{\"labels\":{\"jurisdiction\":\"NO\",\"site\":\"bergen-1\"},"
                       "\"memory\":4294967296},"
                       "\"n3\":{\"labels\":{\"jurisdiction\":\"SE\"},\"memory\":4294967296}}");
}

static int count(const cJSON *plan, const char *app, const char *node)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plan, app), "nodes"),
        node);
    return cJSON_IsNumber(n) ? n->valueint : 0;
}

static const char *error(const cJSON *plan, const char *app)
{
    const cJSON *e =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plan, app), "error");
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static void test_labels(void **state)
{
    assert_true(jn_cluster_label_ok("jurisdiction=NO"));
    assert_true(jn_cluster_label_ok("site=oslo-1"));
    assert_false(jn_cluster_label_ok("jurisdiction"));
    assert_false(jn_cluster_label_ok("=NO"));
    assert_false(jn_cluster_label_ok("a=b c"));
    assert_false(jn_cluster_label_ok("a="));
    cJSON *l = cJSON_CreateObject();
    assert_int_equal(jn_cluster_label_add(l, "a=1"), 0);
    assert_int_equal(jn_cluster_label_add(l, "a=2"), 0); /* replaces */
    assert_int_equal(jn_cluster_label_add(l, "bad"), JN_EBADINPUT);
    cJSON *want = cJSON_Parse("{\"a\":\"2\"}");
    assert_true(jn_cluster_labels_match(l, want));
    assert_true(jn_cluster_labels_match(l, NULL));
    cJSON_Delete(want);
    want = cJSON_Parse("{\"a\":\"2\",\"b\":\"x\"}");
    assert_false(jn_cluster_labels_match(l, want));
    cJSON_Delete(want);
    cJSON_Delete(l);
}

static void test_required_labels_keep_instances_inside_and_spread(void **state)
{
    cJSON *nodes = nodes3();
    cJSON *apps = cJSON_Parse("{\"web\":{\"version\":1,\"instances\":2,"
                              "\"require\":{\"jurisdiction\":\"NO\"}}}");
    cJSON *plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(count(plan, "web", "n1"), 1);
    assert_int_equal(count(plan, "web", "n2"), 1);
    assert_int_equal(count(plan, "web", "n3"), 0);
    assert_null(error(plan, "web"));
    cJSON_Delete(plan);
    /* more instances than NO nodes: doubled up inside, never outside */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(apps, "web"), "instances",
                              cJSON_CreateNumber(5));
    plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(count(plan, "web", "n1") + count(plan, "web", "n2"), 5);
    assert_int_equal(count(plan, "web", "n3"), 0);
    cJSON_Delete(plan);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

static void test_a_requirement_no_node_meets_is_an_error_not_a_placement(void **state)
{
    cJSON *nodes = nodes3();
    cJSON *apps = cJSON_Parse("{\"dk\":{\"version\":1,\"instances\":1,"
                              "\"require\":{\"jurisdiction\":\"DK\"}}}");
    cJSON *plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(cJSON_GetArraySize(
                         cJSON_GetObjectItem(cJSON_GetObjectItem(plan, "dk"), "nodes")),
                     0);
    assert_non_null(strstr(error(plan, "dk"), "no live node has the labels"));
    cJSON_Delete(plan);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

static void test_prefer_drain_and_stickiness(void **state)
{
    cJSON *nodes = nodes3();
    cJSON *apps = cJSON_Parse("{\"web\":{\"version\":1,\"instances\":1,"
                              "\"require\":{\"jurisdiction\":\"NO\"},"
                              "\"prefer\":{\"site\":\"bergen-1\"}}}");
    cJSON *plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(count(plan, "web", "n2"), 1);
    cJSON_Delete(plan);
    /* drained: the preferred node takes nothing */
    cJSON_AddTrueToObject(cJSON_GetObjectItem(nodes, "n2"), "draining");
    plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(count(plan, "web", "n1"), 1);
    assert_int_equal(count(plan, "web", "n2"), 0);
    /* once there, it stays when nothing better appears (no needless moves) */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(apps, "web"), "prefer");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(nodes, "n2"), "draining");
    cJSON *again = jn_cluster_schedule(nodes, apps, plan);
    assert_int_equal(count(again, "web", "n1"), 1);
    cJSON_Delete(again);
    cJSON_Delete(plan);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

static void test_memory_capacity_is_respected(void **state)
{
    cJSON *nodes = nodes3();
    /* 3 GiB each: one per 4 GiB node */
    cJSON *apps = cJSON_CreateObject();
    cJSON *a = cJSON_AddObjectToObject(apps, "big");
    cJSON_AddNumberToObject(a, "version", 1);
    cJSON_AddNumberToObject(a, "instances", 4);
    cJSON_AddNumberToObject(a, "memory", 3 * G);
    cJSON *plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_int_equal(count(plan, "big", "n1") + count(plan, "big", "n2") +
                         count(plan, "big", "n3"),
                     3);
    assert_non_null(strstr(error(plan, "big"), "only 3 of 4"));
    cJSON_Delete(plan);
    /* an app with no release yet is not placed */
    cJSON_ReplaceItemInObject(a, "version", cJSON_CreateNumber(0));
    plan = jn_cluster_schedule(nodes, apps, NULL);
    assert_null(cJSON_GetObjectItem(plan, "big"));
    cJSON_Delete(plan);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

static const char *move_to(const cJSON *moves, const char *db)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(moves, db), "to"));
}

/* The scheduler moves a database whose node lacks a label an attached app
 * requires, to a node that has every label its apps require. */
static void test_data_outside_its_labels_moves_to_a_node_that_fits(void **state)
{
    (void)state;
    cJSON *nodes = nodes3();
    cJSON *apps = cJSON_Parse("{\"shop\":{\"require\":{\"jurisdiction\":\"NO\"}},"
                              "\"blog\":{},"
                              "\"oslo\":{\"require\":{\"site\":\"oslo-1\"}}}");
    /* db1 (shop, NO) on the SE node: to n1 or n2, the one with fewer
     * databases (n2); db2 (blog, no labels) stays; db3 (shop and oslo) on n2
     * must go to n1; db4 on loopback only cannot be copied; db5 is moving */
    cJSON *data = cJSON_Parse(
        "{\"n3\":{\"databases\":{\"db1\":{\"apps\":[\"shop\"],\"remote\":true},"
        "\"db2\":{\"apps\":[\"blog\"],\"remote\":true},"
        "\"db4\":{\"apps\":[\"shop\"],\"remote\":false},"
        "\"db5\":{\"apps\":[\"shop\"],\"remote\":true}}},"
        "\"n1\":{\"databases\":{\"x\":{\"apps\":[],\"remote\":true},"
        "\"y\":{\"apps\":[],\"remote\":true}}},"
        "\"n2\":{\"databases\":{\"db3\":{\"apps\":[\"shop\",\"oslo\"],\"remote\":true}}}}");
    cJSON *moving = cJSON_Parse("{\"db5\":{\"from\":\"n3\",\"to\":\"n1\"}}");
    cJSON *m = jn_cluster_db_moves(nodes, apps, data, moving, NULL);
    assert_string_equal(move_to(m, "db1"), "n2");
    assert_string_equal(move_to(m, "db3"), "n1");
    assert_null(cJSON_GetObjectItem(m, "db2"));
    assert_null(cJSON_GetObjectItem(m, "db4"));
    assert_null(cJSON_GetObjectItem(m, "db5"));
    assert_int_equal(cJSON_GetArraySize(m), 2);
    cJSON_Delete(m);
    /* nowhere fits (n1 drained, n2 lacks site=oslo-1): db3 stays, flagged */
    cJSON_AddTrueToObject(cJSON_GetObjectItem(nodes, "n1"), "draining");
    m = jn_cluster_db_moves(nodes, apps, data, moving, NULL);
    assert_null(cJSON_GetObjectItem(m, "db3"));
    cJSON_Delete(m);
    /* listed on two nodes (a move's end not all written yet): left alone */
    cJSON_AddItemToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(data, "n1"), "databases"),
                          "db1", cJSON_Parse("{\"apps\":[\"shop\"],\"remote\":true}"));
    m = jn_cluster_db_moves(nodes, apps, data, moving, NULL);
    assert_null(cJSON_GetObjectItem(m, "db1"));
    cJSON_Delete(m);
    cJSON_Delete(moving);
    cJSON_Delete(data);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

/* A drained node's databases move too (their backups stay: they are inside
 * the labels), to a node with the memory for them. */
static void test_a_drained_nodes_databases_move_where_memory_allows(void **state)
{
    (void)state;
    cJSON *nodes = nodes3();
    cJSON_AddTrueToObject(cJSON_GetObjectItem(nodes, "n1"), "draining");
    cJSON *apps = cJSON_Parse("{\"shop\":{\"require\":{\"jurisdiction\":\"NO\"},"
                              "\"memory\":3221225472}}");
    cJSON *data = cJSON_Parse("{\"n1\":{\"databases\":{\"db\":{\"apps\":[\"shop\"],"
                              "\"remote\":true,\"memory_mb\":2048}}},\"n2\":{},\"n3\":{}}");
    cJSON *moves = jn_cluster_db_moves(nodes, apps, data, NULL, NULL);
    assert_string_equal(move_to(moves, "db"), "n2");
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(moves, "db"), "purge"));
    cJSON_Delete(moves);
    /* n2 runs a 3 GiB instance of shop (of its 4): 2 GiB more do not fit */
    cJSON *plan = cJSON_Parse("{\"shop\":{\"nodes\":{\"n2\":1}}}");
    assert_false(jn_cluster_db_fits(nodes, "n2", apps, plan, data, 2048.0 * 1024 * 1024));
    assert_true(jn_cluster_db_fits(nodes, "n2", apps, plan, data, 512.0 * 1024 * 1024));
    moves = jn_cluster_db_moves(nodes, apps, data, NULL, plan);
    assert_null(cJSON_GetObjectItem(moves, "db"));
    cJSON_Delete(moves);
    /* and the instances' scheduler counts a node's databases */
    cJSON_AddNumberToObject(cJSON_GetObjectItem(nodes, "n2"), "db_memory", 2.0 * G);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(nodes, "n3"), "db_memory", 2.0 * G);
    cJSON *a = cJSON_Parse("{\"big\":{\"version\":1,\"instances\":2,\"memory\":3221225472}}");
    cJSON *p = jn_cluster_schedule(nodes, a, NULL);
    assert_non_null(strstr(error(p, "big"), "only 0 of 2"));
    cJSON_Delete(p);
    cJSON_Delete(a);
    cJSON_Delete(plan);
    cJSON_Delete(data);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

/* A new database's node: inside its app's required labels, its preferred
 * ones first, then the node with the fewest databases; none when nothing
 * fits (labels, memory, drained). */
static void test_a_new_database_goes_inside_its_apps_labels(void **state)
{
    (void)state;
    cJSON *nodes = nodes3();
    cJSON *apps = cJSON_Parse("{\"shop\":{\"require\":{\"jurisdiction\":\"NO\"},"
                              "\"prefer\":{\"site\":\"oslo-1\"}},"
                              "\"blog\":{},\"se\":{\"require\":{\"jurisdiction\":\"DK\"}}}");
    cJSON *data = cJSON_Parse("{\"n1\":{\"databases\":{\"a\":{\"memory_mb\":512},"
                              "\"b\":{\"memory_mb\":512}}},\"n2\":{},\"n3\":{}}");
    cJSON *shop = cJSON_Parse("[\"shop\"]"), *blog = cJSON_Parse("[\"blog\"]");
    cJSON *none = cJSON_CreateArray(), *se = cJSON_Parse("[\"se\"]");
    const double M = 1024.0 * 1024;
    /* shop prefers oslo-1 (n1), though n1 has more databases */
    assert_string_equal(jn_cluster_db_target(nodes, apps, data, NULL, shop, NULL, 512 * M),
                        "n1");
    /* no preference: the fewest databases, then the name */
    assert_string_equal(jn_cluster_db_target(nodes, apps, data, NULL, blog, NULL, 512 * M),
                        "n2");
    assert_string_equal(jn_cluster_db_target(nodes, apps, data, NULL, none, NULL, 512 * M),
                        "n2");
    /* n1 without the memory (4 GiB, 1 GiB of databases): n2, inside NO */
    assert_string_equal(jn_cluster_db_target(nodes, apps, data, NULL, shop, NULL, 3500 * M),
                        "n2");
    /* drained, skipped or lacking labels: never */
    cJSON_AddTrueToObject(cJSON_GetObjectItem(nodes, "n2"), "draining");
    assert_null(jn_cluster_db_target(nodes, apps, data, NULL, shop, "n1", 512 * M));
    assert_null(jn_cluster_db_target(nodes, apps, data, NULL, se, NULL, 512 * M));
    assert_string_equal(jn_cluster_db_target(nodes, apps, data, NULL, blog, "n1", 512 * M),
                        "n3");
    cJSON_Delete(se);
    cJSON_Delete(none);
    cJSON_Delete(blog);
    cJSON_Delete(shop);
    cJSON_Delete(data);
    cJSON_Delete(apps);
    cJSON_Delete(nodes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_required_labels_keep_instances_inside_and_spread),
        cmocka_unit_test(test_a_requirement_no_node_meets_is_an_error_not_a_placement),
        cmocka_unit_test(test_prefer_drain_and_stickiness),
        cmocka_unit_test(test_memory_capacity_is_respected),
        cmocka_unit_test(test_data_outside_its_labels_moves_to_a_node_that_fits),
        cmocka_unit_test(test_a_drained_nodes_databases_move_where_memory_allows),
        cmocka_unit_test(test_a_new_database_goes_inside_its_apps_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
