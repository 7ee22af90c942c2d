#include "jn_test.h"

#include "gateway/upstream.h"

#include <pthread.h>

#define T0 1000000 /* an injected clock: ms */

/* A config block built in the test: up to 8 servers "127.0.0.1:8001".. */
struct conf {
    struct jn_conf_upstream cu;
    struct jn_conf_upstream_server s[8];
    char text[8][32];
};

static void conf_init(struct conf *c, enum jn_balance balance)
{
    memset(c, 0, sizeof(*c));
    c->cu.name = "backend";
    c->cu.balance = balance;
    c->cu.servers = c->s;
}

static struct jn_conf_upstream_server *conf_add(struct conf *c, int port, int weight)
{
    struct jn_conf_upstream_server *s = &c->s[c->cu.nservers];
    snprintf(c->text[c->cu.nservers], sizeof(c->text[0]), "127.0.0.1:%d", port);
    s->text = c->text[c->cu.nservers];
    assert_int_equal(jn_addr_parse(s->text, 0, &s->addr), 0);
    s->weight = weight;
    s->max_fails = 1;
    s->fail_timeout_ms = 10000;
    c->cu.nservers++;
    return s;
}

static struct jn_peer *pick(struct jn_upstream *u, int64_t now)
{
    struct jn_peer *p = NULL;
    int rc = jn_upstream_pick(u, now, NULL, 0, &p);
    return rc == 0 ? p : NULL;
}

/* Picks n times, finishing each attempt at once; returns the names' last
 * digits as letters (8001 -> 'a'). */
static void sequence(struct jn_upstream *u, int n, char *out)
{
    for (int i = 0; i < n; i++) {
        struct jn_peer *p = pick(u, T0);
        assert_non_null(p);
        size_t k = 0;
        while (k < u->npeers && u->peers[k] != p)
            k++;
        assert_true(k < u->npeers);
        out[i] = (char)('a' + k);
        jn_upstream_done(u, p, false, T0);
    }
    out[n] = '\0';
}

static void test_wrr_5_1_1(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 5);
    conf_add(&c, 8002, 1);
    conf_add(&c, 8003, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    assert_non_null(u);
    assert_int_equal(u->npeers, 3);
    char seq[32];
    sequence(u, 21, seq);
    assert_string_equal(seq, "aabacaaaabacaaaabacaa");
    for (size_t i = 0; i < u->npeers; i++)
        assert_int_equal(u->peers[i]->conns, 0);
    assert_int_equal(u->peers[0]->requests, 15);
    jn_upstream_unref(u);
}

static void test_wrr_equal_weights_alternate(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    char seq[16];
    sequence(u, 6, seq);
    assert_string_equal(seq, "ababab");
    jn_upstream_unref(u);
}

static void test_least_conn_prefers_least_loaded(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1);
    conf_add(&c, 8003, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *p1 = pick(u, T0), *p2 = pick(u, T0), *p3 = pick(u, T0);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    /* three requests in flight: one each */
    assert_true(p1 != p2 && p2 != p3 && p1 != p3);
    /* the one that finishes gets the next request, again and again */
    for (int i = 0; i < 5; i++) {
        jn_upstream_done(u, p2, false, T0);
        assert_ptr_equal(pick(u, T0), p2);
    }
    /* a slow server keeps its requests: load goes elsewhere */
    jn_upstream_done(u, p1, false, T0);
    jn_upstream_done(u, p3, false, T0);
    assert_int_equal(p1->conns + p3->conns, 0);
    struct jn_peer *q1 = pick(u, T0), *q2 = pick(u, T0);
    assert_true((q1 == p1 && q2 == p3) || (q1 == p3 && q2 == p1));
    jn_upstream_unref(u);
}

static void test_least_conn_weights(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 3);
    conf_add(&c, 8002, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    /* requests never finish: in-flight counts follow the weights 3:1 */
    for (int i = 0; i < 8; i++)
        assert_non_null(pick(u, T0));
    assert_int_equal(u->peers[0]->conns, 6);
    assert_int_equal(u->peers[1]->conns, 2);
    for (int i = 0; i < 8; i++)
        jn_upstream_done(u, u->peers[i < 6 ? 0 : 1], false, T0);
    jn_upstream_unref(u);
}

static void test_least_conn_ties_by_wrr(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 5);
    conf_add(&c, 8002, 1);
    conf_add(&c, 8003, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    /* every request finishes before the next: always a tie at 0 */
    char seq[16];
    sequence(u, 14, seq);
    assert_string_equal(seq, "aabacaaaabacaa");
    jn_upstream_unref(u);
}

/* Picks with the other peer excluded, to aim at one peer. */
static struct jn_peer *pick_excluding(struct jn_upstream *u, int64_t now, struct jn_peer *ex)
{
    struct jn_peer *p = NULL;
    return jn_upstream_pick(u, now, &ex, 1, &p) == 0 ? p : NULL;
}

static void fail_once(struct jn_upstream *u, struct jn_peer *a, struct jn_peer *b, int64_t now)
{
    struct jn_peer *p = pick_excluding(u, now, b);
    assert_ptr_equal(p, a);
    jn_upstream_done(u, p, true, now);
}

static void test_max_fails_window(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1)->max_fails = 3;
    conf_add(&c, 8002, 1)->max_fails = 3;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *a = u->peers[0], *b = u->peers[1];

    /* two failures: not yet down */
    fail_once(u, a, b, T0);
    fail_once(u, a, b, T0 + 100);
    assert_ptr_equal(pick_excluding(u, T0 + 200, b), a);
    jn_upstream_done(u, a, false, T0 + 200);
    /* a success inside the window does not wipe the count (nginx) */
    assert_int_equal(a->fails, 2);
    /* the third within the window marks it down */
    fail_once(u, a, b, T0 + 300);
    assert_int_equal(a->failures, 3);
    assert_null(pick_excluding(u, T0 + 301, b));
    for (int i = 0; i < 10; i++) {
        struct jn_peer *p = pick(u, T0 + 400 + i);
        assert_ptr_equal(p, b);
        jn_upstream_done(u, p, false, T0 + 400 + i);
    }
    /* still down at the end of the window */
    assert_null(pick_excluding(u, T0 + 300 + 10000, b));
    assert_true(jn_upstream_has_ready(u, T0 + 300 + 10000));

    /* after it: one probe, and only one */
    int64_t t = T0 + 300 + 10001;
    struct jn_peer *probe = pick_excluding(u, t, b);
    assert_ptr_equal(probe, a);
    assert_null(pick_excluding(u, t + 1, b));
    /* the probe fails: down for another window */
    jn_upstream_done(u, probe, true, t + 2);
    assert_null(pick_excluding(u, t + 5000, b));
    assert_null(pick_excluding(u, t + 2 + 10000, b));
    /* next probe succeeds: restored, count reset */
    t = t + 2 + 10001;
    probe = pick_excluding(u, t, b);
    assert_ptr_equal(probe, a);
    jn_upstream_done(u, probe, false, t + 1);
    assert_int_equal(a->fails, 0);
    for (int i = 0; i < 3; i++) {
        struct jn_peer *p = pick_excluding(u, t + 2, b);
        assert_ptr_equal(p, a);
        jn_upstream_done(u, p, false, t + 2);
    }
    assert_int_equal(a->conns, 0);
    assert_int_equal(b->conns, 0);
    jn_upstream_unref(u);
}

static void test_failures_outside_window_do_not_add_up(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1)->max_fails = 2;
    conf_add(&c, 8002, 1)->max_fails = 2;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *a = u->peers[0], *b = u->peers[1];
    /* one failure every 20 s with fail_timeout 10 s: never two in a window */
    for (int i = 0; i < 5; i++) {
        fail_once(u, a, b, T0 + i * 20000);
        assert_int_equal(a->fails, 1);
    }
    assert_ptr_equal(pick_excluding(u, T0 + 100000, b), a);
    jn_upstream_done(u, a, false, T0 + 100000);
    jn_upstream_unref(u);
}

static void test_max_fails_zero_disables(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1)->max_fails = 0;
    conf_add(&c, 8002, 1)->max_fails = 0;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    for (int i = 0; i < 20; i++)
        fail_once(u, u->peers[0], u->peers[1], T0 + i);
    assert_ptr_equal(pick_excluding(u, T0 + 21, u->peers[1]), u->peers[0]);
    jn_upstream_done(u, u->peers[0], false, T0 + 21);
    jn_upstream_unref(u);
}

static void test_single_server_never_down(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1)->max_fails = 1;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    for (int i = 0; i < 10; i++) {
        struct jn_peer *p = pick(u, T0 + i);
        assert_non_null(p);
        jn_upstream_done(u, p, true, T0 + i);
    }
    assert_non_null(pick(u, T0 + 20));
    assert_true(jn_upstream_has_ready(u, T0 + 20));
    jn_upstream_done(u, u->peers[0], false, T0 + 20);
    assert_int_equal(u->peers[0]->failures, 10);
    /* but "down" and the tried list still apply */
    struct jn_peer *only = u->peers[0];
    struct jn_peer *p;
    assert_int_equal(jn_upstream_pick(u, T0, &only, 1, &p), JN_ENOTFOUND);
    atomic_store(&only->state, JN_PEER_MAINT);
    assert_int_equal(jn_upstream_pick(u, T0, NULL, 0, &p), JN_ENOTFOUND);
    assert_false(jn_upstream_has_ready(u, T0));
    jn_upstream_unref(u);
}

static void test_backup_only_when_primaries_down(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8003, 1)->backup = true; /* listed first: still tried last */
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    assert_int_equal(u->nprimary, 2);
    struct jn_peer *a = u->peers[0], *b = u->peers[1], *bk = u->peers[2];
    assert_string_equal(bk->name, "127.0.0.1:8003");
    for (int i = 0; i < 50; i++) {
        struct jn_peer *p = pick(u, T0);
        assert_true(p == a || p == b);
        jn_upstream_done(u, p, false, T0);
    }
    /* a retry that already tried both primaries goes to the backup */
    struct jn_peer *tried[2] = {a, b}, *p;
    assert_int_equal(jn_upstream_pick(u, T0, tried, 2, &p), 0);
    assert_ptr_equal(p, bk);
    jn_upstream_done(u, p, false, T0);
    /* one primary failed: the other takes everything */
    fail_once(u, a, b, T0);
    for (int i = 0; i < 5; i++) {
        p = pick(u, T0 + 1);
        assert_ptr_equal(p, b);
        jn_upstream_done(u, p, false, T0 + 1);
    }
    /* both failed: the backup */
    fail_once(u, b, a, T0 + 2);
    for (int i = 0; i < 5; i++) {
        p = pick(u, T0 + 3);
        assert_ptr_equal(p, bk);
        jn_upstream_done(u, p, false, T0 + 3);
    }
    /* backup failed too (a backup is never "single"): nothing */
    p = pick(u, T0 + 4);
    assert_ptr_equal(p, bk);
    jn_upstream_done(u, p, true, T0 + 4);
    assert_int_equal(jn_upstream_pick(u, T0 + 5, NULL, 0, &p), JN_ENOTFOUND);
    assert_false(jn_upstream_has_ready(u, T0 + 5));
    assert_true(jn_upstream_has_ready(u, T0 + 20000));
    jn_upstream_unref(u);
}

static void test_single_primary_with_backup_can_fail_over(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1)->backup = true;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *p = pick(u, T0);
    assert_ptr_equal(p, u->peers[0]);
    jn_upstream_done(u, p, true, T0);
    p = pick(u, T0 + 1);
    assert_ptr_equal(p, u->peers[1]);
    jn_upstream_done(u, p, false, T0 + 1);
    jn_upstream_unref(u);
}

static void test_max_conns(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1)->max_conns = 2;
    conf_add(&c, 8002, 1)->max_conns = 1;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *got[3], *p;
    for (int i = 0; i < 3; i++) {
        got[i] = pick(u, T0);
        assert_non_null(got[i]);
    }
    assert_int_equal(u->peers[0]->conns, 2);
    assert_int_equal(u->peers[1]->conns, 1);
    assert_int_equal(jn_upstream_pick(u, T0, NULL, 0, &p), JN_ENOTFOUND);
    assert_false(jn_upstream_has_ready(u, T0));
    jn_upstream_done(u, u->peers[1], false, T0);
    assert_true(jn_upstream_has_ready(u, T0));
    assert_ptr_equal(pick(u, T0), u->peers[1]);
    assert_int_equal(jn_upstream_pick(u, T0, NULL, 0, &p), JN_ENOTFOUND);
    for (int i = 0; i < 3; i++)
        jn_upstream_done(u, got[i], false, T0);
    assert_int_equal(u->peers[0]->conns + u->peers[1]->conns, 0);
    jn_upstream_unref(u);
}

static void test_drain_and_maint_skipped(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1)->down = true;
    conf_add(&c, 8003, 1);
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *a = u->peers[0], *down = u->peers[1], *cc = u->peers[2];
    assert_int_equal(down->state, JN_PEER_MAINT);
    atomic_store(&a->state, JN_PEER_DRAIN);
    for (int i = 0; i < 10; i++) {
        struct jn_peer *p = pick(u, T0);
        assert_ptr_equal(p, cc);
        jn_upstream_done(u, p, false, T0);
    }
    atomic_store(&cc->state, JN_PEER_MAINT);
    struct jn_peer *p;
    assert_int_equal(jn_upstream_pick(u, T0, NULL, 0, &p), JN_ENOTFOUND);
    atomic_store(&a->state, JN_PEER_READY);
    assert_ptr_equal(pick(u, T0), a);
    jn_upstream_done(u, a, false, T0);
    jn_upstream_unref(u);
}

static void test_tried_skipped(void **state)
{
    for (int bal = 0; bal < 2; bal++) {
        struct conf c;
        conf_init(&c, bal ? JN_BALANCE_LEAST_CONN : JN_BALANCE_RR);
        conf_add(&c, 8001, 10);
        conf_add(&c, 8002, 1);
        conf_add(&c, 8003, 1);
        struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
        struct jn_peer *tried[3] = {u->peers[0], u->peers[2]}, *p;
        for (int i = 0; i < 10; i++) {
            assert_int_equal(jn_upstream_pick(u, T0, tried, 2, &p), 0);
            assert_ptr_equal(p, u->peers[1]);
            jn_upstream_done(u, p, false, T0);
        }
        tried[2] = u->peers[1];
        assert_int_equal(jn_upstream_pick(u, T0, tried, 3, &p), JN_ENOTFOUND);
        jn_upstream_unref(u);
    }
}

static void test_rebuild_keeps_peers(void **state)
{
    struct conf c1, c2;
    conf_init(&c1, JN_BALANCE_LEAST_CONN);
    conf_add(&c1, 8001, 1);
    conf_add(&c1, 8002, 1)->max_fails = 2;
    conf_add(&c1, 8003, 1);
    struct jn_upstream *u1 = jn_upstream_new(&c1.cu, NULL);
    struct jn_peer *a = u1->peers[0], *b = u1->peers[1];
    /* a has a request in flight; b has a failure on record */
    struct jn_peer *tried[2] = {b, u1->peers[2]};
    struct jn_peer *p;
    assert_int_equal(jn_upstream_pick(u1, T0, tried, 2, &p), 0);
    assert_ptr_equal(p, a);
    struct jn_peer *not_b[2] = {a, u1->peers[2]};
    assert_int_equal(jn_upstream_pick(u1, T0, not_b, 2, &p), 0);
    assert_ptr_equal(p, b);
    jn_upstream_done(u1, b, true, T0);
    assert_int_equal(b->fails, 1);

    /* new config: 8003 removed, 8004 added, b re-weighted, a twice */
    conf_init(&c2, JN_BALANCE_RR);
    conf_add(&c2, 8002, 4)->max_fails = 2;
    conf_add(&c2, 8001, 1);
    conf_add(&c2, 8004, 1);
    conf_add(&c2, 8001, 1);
    struct jn_upstream *u2 = jn_upstream_new(&c2.cu, u1);
    assert_non_null(u2);
    assert_int_equal(u2->npeers, 4);
    assert_ptr_equal(u2->peers[0], b);
    assert_ptr_equal(u2->peers[1], a);
    assert_ptr_equal(jn_upstream_find(u2, "127.0.0.1:8001"), a);
    assert_ptr_equal(jn_upstream_find(u2, "127.0.0.1:8002"), b);
    assert_null(jn_upstream_find(u2, "127.0.0.1:8003"));
    assert_non_null(jn_upstream_find(u2, "127.0.0.1:8004"));
    /* "server a; server a;" stays two peers: the second is new */
    assert_true(u2->peers[3] != a);
    assert_int_equal(u2->peers[3]->conns, 0);
    /* state carried over, parameters updated */
    assert_int_equal(a->conns, 1);
    assert_int_equal(b->fails, 1);
    assert_int_equal(b->weight, 4);
    assert_int_equal(atomic_load(&a->refs), 2);

    /* the old snapshot goes away while its request finishes */
    jn_upstream_unref(u1);
    assert_int_equal(atomic_load(&a->refs), 1);
    jn_upstream_done(u2, a, false, T0);
    assert_int_equal(a->conns, 0);
    /* the carried failure still counts within the window */
    fail_once(u2, b, a, T0 + 1);
    assert_int_equal(b->fails, 2);
    struct jn_peer *tr[3] = {a, u2->peers[2], u2->peers[3]};
    assert_int_equal(jn_upstream_pick(u2, T0 + 2, tr, 3, &p), JN_ENOTFOUND);

    /* a rebuild marking b down, then lifting it */
    struct jn_conf_upstream_server *sb = &c2.s[0];
    sb->down = true;
    struct jn_upstream *u3 = jn_upstream_new(&c2.cu, u2);
    assert_int_equal(b->state, JN_PEER_MAINT);
    sb->down = false;
    struct jn_upstream *u4 = jn_upstream_new(&c2.cu, u3);
    assert_int_equal(b->state, JN_PEER_READY);
    jn_upstream_unref(u2);
    jn_upstream_unref(u3);
    jn_upstream_unref(u4);
}

static void test_with_peers_and_bad_address(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1)->backup = true;
    struct jn_peer *a = jn_peer_new(&c.s[0]), *bk = jn_peer_new(&c.s[1]);
    struct jn_peer *list[2] = {bk, a};
    struct jn_upstream *u = jn_upstream_with_peers("app", JN_BALANCE_RR, list, 2, 8, 60000, 100);
    assert_int_equal(u->nprimary, 1);
    assert_ptr_equal(u->peers[0], a);
    assert_ptr_equal(u->peers[1], bk);
    assert_int_equal(u->keepalive, 8);
    jn_peer_unref(a);
    jn_peer_unref(bk);
    assert_ptr_equal(pick(u, T0), a);
    jn_upstream_done(u, a, false, T0);
    jn_upstream_unref(u);

    /* no servers at all: nothing to pick, nothing ready */
    struct jn_upstream *empty =
        jn_upstream_with_peers("none", JN_BALANCE_LEAST_CONN, NULL, 0, 0, 0, 0);
    struct jn_peer *p;
    assert_int_equal(jn_upstream_pick(empty, T0, NULL, 0, &p), JN_ENOTFOUND);
    assert_false(jn_upstream_has_ready(empty, T0));
    assert_null(jn_upstream_find(empty, "127.0.0.1:8001"));
    jn_upstream_unref(empty);

    /* find compares addresses, not spellings */
    struct jn_conf_upstream_server v6 = {.text = "[::1]:9000", .weight = 1};
    struct jn_peer *p6 = jn_peer_new(&v6);
    assert_non_null(p6);
    assert_string_equal(p6->name, "[::1]:9000");
    struct jn_upstream *u6 = jn_upstream_with_peers("v6", JN_BALANCE_RR, &p6, 1, 0, 0, 0);
    jn_peer_unref(p6);
    assert_ptr_equal(jn_upstream_find(u6, "[0:0::1]:9000"), p6);
    assert_null(jn_upstream_find(u6, "[::1]:9001"));
    assert_null(jn_upstream_find(u6, "garbage"));
    jn_upstream_unref(u6);

    struct jn_conf_upstream_server bad = {.text = "not an address", .weight = 1};
    assert_null(jn_peer_new(&bad));
    conf_init(&c, JN_BALANCE_RR);
    c.s[0] = bad;
    c.cu.nservers = 1;
    assert_null(jn_upstream_new(&c.cu, NULL));
}

static void test_effective_weight_recovers(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_RR);
    conf_add(&c, 8001, 4)->max_fails = 4;
    conf_add(&c, 8002, 1)->max_fails = 4;
    struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
    struct jn_peer *a = u->peers[0];
    fail_once(u, a, u->peers[1], T0);
    /* each failure cuts weight / max_fails */
    assert_int_equal(a->effective_weight, 3);
    /* each time it is considered it earns one back (the pick before this
     * failure did), so a second failure leaves it where it was */
    fail_once(u, a, u->peers[1], T0);
    assert_int_equal(a->effective_weight, 3);
    struct jn_peer *p = pick(u, T0);
    jn_upstream_done(u, p, false, T0);
    assert_int_equal(a->effective_weight, 4);
    p = pick(u, T0);
    jn_upstream_done(u, p, false, T0);
    assert_int_equal(a->effective_weight, 4);
    jn_upstream_unref(u);
}

/* 4 threads x 100k pick/done on one group under max_conns pressure */
struct stress {
    struct jn_upstream *u;
    _Atomic int over;    /* times a peer was seen above its max_conns */
    _Atomic long picked; /* successful picks */
    _Atomic long busy;   /* JN_ENOTFOUND answers */
};

static void *stress_thread(void *arg)
{
    struct stress *st = arg;
    for (int i = 0; i < 100000; i++) {
        struct jn_peer *p;
        if (jn_upstream_pick(st->u, T0 + i / 100, NULL, 0, &p) != 0) {
            atomic_fetch_add(&st->busy, 1);
            continue;
        }
        atomic_fetch_add(&st->picked, 1);
        if (p->max_conns && atomic_load(&p->conns) > p->max_conns)
            atomic_fetch_add(&st->over, 1);
        /* max_fails 0 on these peers: failures are counted but disable nothing */
        jn_upstream_done(st->u, p, i % 97 == 0, T0 + i / 100);
    }
    return NULL;
}

static void test_stress_threads(void **state)
{
    for (int bal = 0; bal < 2; bal++) {
        struct conf c;
        conf_init(&c, bal ? JN_BALANCE_LEAST_CONN : JN_BALANCE_RR);
        conf_add(&c, 8001, 3)->max_conns = 1;
        conf_add(&c, 8002, 1)->max_conns = 2;
        conf_add(&c, 8003, 1)->backup = true;
        c.s[2].max_conns = 0;
        for (int i = 0; i < 3; i++)
            c.s[i].max_fails = 0;
        struct jn_upstream *u = jn_upstream_new(&c.cu, NULL);
        struct stress st = {.u = u};
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&th[i], NULL, stress_thread, &st), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&st.over), 0);
        assert_int_equal(atomic_load(&st.picked) + atomic_load(&st.busy), 400000);
        uint64_t total = 0;
        for (size_t i = 0; i < u->npeers; i++) {
            assert_int_equal(atomic_load(&u->peers[i]->conns), 0);
            total += u->peers[i]->requests;
        }
        assert_int_equal(total, (uint64_t)atomic_load(&st.picked));
        jn_upstream_unref(u);
    }
}

/* A reload in progress: threads still on the old snapshot and threads on the
 * new one pick from the same peers under two different locks; max_conns must
 * hold anyway and the counts must return to 0. */
static void test_stress_overlapping_snapshots(void **state)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_LEAST_CONN);
    conf_add(&c, 8001, 1)->max_conns = 1;
    conf_add(&c, 8002, 2)->max_conns = 2;
    c.s[0].max_fails = c.s[1].max_fails = 0;
    struct jn_upstream *old = jn_upstream_new(&c.cu, NULL);
    c.cu.balance = JN_BALANCE_RR;
    struct jn_upstream *cur = jn_upstream_new(&c.cu, old);
    assert_ptr_equal(cur->peers[0], old->peers[0]);
    struct stress so = {.u = old}, sc = {.u = cur};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, stress_thread, i % 2 ? &so : &sc), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&so.over) + atomic_load(&sc.over), 0);
    assert_true(atomic_load(&so.picked) > 0 && atomic_load(&sc.picked) > 0);
    for (size_t i = 0; i < cur->npeers; i++)
        assert_int_equal(atomic_load(&cur->peers[i]->conns), 0);
    jn_upstream_unref(old);
    jn_upstream_unref(cur);
}

/* A p2c upstream of three peers, a, b and c, none measured yet. */
static struct jn_upstream *p2c_three(void)
{
    struct conf c;
    conf_init(&c, JN_BALANCE_P2C);
    conf_add(&c, 8001, 1);
    conf_add(&c, 8002, 1);
    conf_add(&c, 8003, 1);
    return jn_upstream_new(&c.cu, NULL);
}

/* Each peer's first answer: a and b in 1 ms, c in 50 ms. */
static void p2c_first_answers(struct jn_upstream *u, int64_t ms)
{
    for (size_t k = 0; k < 3; k++) {
        jn_peer_observe(u->peers[k], k == 2 ? 50000000 : 1000000, ms * 1000000);
        jn_upstream_done(u, u->peers[k], false, ms);
    }
}

/* p2c: each new peer gets a first request at once; a peer that answered
 * slowly is then avoided (two-of-three draws always hold a fast one), until
 * its estimate decays and a fast answer gives it its share back. */
static void test_p2c_avoids_the_slow_peer_and_takes_it_back(void **state)
{
    (void)state;
    struct jn_upstream *u = p2c_three();
    int64_t ms = T0;
    bool first[3] = {false};
    for (int i = 0; i < 3; i++) {
        struct jn_peer *p = pick(u, ms);
        assert_non_null(p);
        size_t k = p == u->peers[0] ? 0 : p == u->peers[1] ? 1 : 2;
        assert_false(first[k]); /* unmeasured and idle: each new peer once */
        first[k] = true;
    }
    p2c_first_answers(u, ms); /* a and b in 1 ms, c in 50 ms */
    int to_c = 0;
    for (int i = 0; i < 300; i++) {
        struct jn_peer *p = pick(u, ms);
        to_c += p == u->peers[2];
        jn_peer_observe(p, p == u->peers[2] ? 50000000 : 1000000, ms * 1000000);
        jn_upstream_done(u, p, false, ms);
    }
    assert_int_equal(to_c, 0);
    /* c recovers; seconds later its decayed estimate is below a and b's
     * (which keep answering in 1 ms) times their load, so it is drawn again */
    to_c = 0;
    for (int i = 0; i < 3000 && to_c < 20; i++) {
        ms += 5;
        struct jn_peer *p = pick(u, ms);
        to_c += p == u->peers[2];
        jn_peer_observe(p, 1000000, ms * 1000000);
        jn_upstream_done(u, p, false, ms);
    }
    assert_int_equal(to_c, 20);
    assert_true(ms - T0 < 10000);
    jn_upstream_unref(u);
}

/* p2c: the decay of a slow peer's estimate lets one request probe it; while
 * that probe is in flight, no other request follows it there (each would
 * wait as long), however many requests keep the fast peers busy. */
static void test_p2c_probes_a_slow_peer_one_request_at_a_time(void **state)
{
    (void)state;
    struct jn_upstream *u = p2c_three();
    int64_t ms = T0;
    for (int i = 0; i < 3; i++)
        assert_non_null(pick(u, ms));
    p2c_first_answers(u, ms);
    /* a and b keep 3 requests each in flight and answer in 1 ms; c waits */
    struct jn_peer *held[8];
    size_t nheld = 0;
    for (int i = 0; i < 6; i++)
        held[nheld++] = pick(u, ms);
    struct jn_peer *probe = NULL;
    int to_c = 0;
    for (int i = 0; i < 4000; i++) {
        ms += 2;
        struct jn_peer *p = pick(u, ms);
        if (p == u->peers[2]) {
            to_c++;
            probe = p; /* in flight from now on: it does not answer */
            continue;
        }
        jn_peer_observe(p, 1000000, ms * 1000000);
        jn_upstream_done(u, p, false, ms);
    }
    assert_non_null(probe); /* it was probed, seconds after its slow answer */
    assert_int_equal(to_c, 1);
    for (size_t i = 0; i < nheld; i++)
        jn_upstream_done(u, held[i], false, ms);
    jn_upstream_done(u, probe, false, ms);
    jn_upstream_unref(u);
}

static void test_which_failures_count(void **state)
{
    unsigned def = JN_NEXT_ERROR | JN_NEXT_TIMEOUT;
    assert_true(jn_upstream_failure_counts(def, JN_NEXT_ERROR));
    assert_true(jn_upstream_failure_counts(def, JN_NEXT_TIMEOUT));
    /* nginx counts these even when proxy_next_upstream is off */
    assert_true(jn_upstream_failure_counts(0, JN_NEXT_ERROR));
    assert_true(jn_upstream_failure_counts(0, JN_NEXT_INVALID_HEADER));
    /* a 502 from the upstream counts only when listed */
    assert_false(jn_upstream_failure_counts(def, jn_upstream_status_cause(502)));
    assert_true(jn_upstream_failure_counts(def | JN_NEXT_HTTP_502, jn_upstream_status_cause(502)));
    assert_false(jn_upstream_failure_counts(def | JN_NEXT_HTTP_502, jn_upstream_status_cause(503)));
    /* 403/404 move on to the next server but never count */
    assert_false(jn_upstream_failure_counts(~0u, jn_upstream_status_cause(404)));
    assert_false(jn_upstream_failure_counts(~0u, jn_upstream_status_cause(403)));
    assert_int_equal(jn_upstream_status_cause(200), 0);
    assert_false(jn_upstream_failure_counts(~0u, jn_upstream_status_cause(200)));
    assert_int_equal(jn_upstream_status_cause(429), JN_NEXT_HTTP_429);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrr_5_1_1),
        cmocka_unit_test(test_wrr_equal_weights_alternate),
        cmocka_unit_test(test_least_conn_prefers_least_loaded),
        cmocka_unit_test(test_least_conn_weights),
        cmocka_unit_test(test_least_conn_ties_by_wrr),
        cmocka_unit_test(test_max_fails_window),
        cmocka_unit_test(test_failures_outside_window_do_not_add_up),
        cmocka_unit_test(test_max_fails_zero_disables),
        cmocka_unit_test(test_single_server_never_down),
        cmocka_unit_test(test_backup_only_when_primaries_down),
        cmocka_unit_test(test_single_primary_with_backup_can_fail_over),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_drain_and_maint_skipped),
        cmocka_unit_test(test_tried_skipped),
        cmocka_unit_test(test_rebuild_keeps_peers),
        cmocka_unit_test(test_with_peers_and_bad_address),
        cmocka_unit_test(test_effective_weight_recovers),
        cmocka_unit_test(test_which_failures_count),
        cmocka_unit_test(test_p2c_avoids_the_slow_peer_and_takes_it_back),
        cmocka_unit_test(test_p2c_probes_a_slow_peer_one_request_at_a_time),
        cmocka_unit_test(test_stress_threads),
        cmocka_unit_test(test_stress_overlapping_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
