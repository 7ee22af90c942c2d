#include "jn_test.h"

#include "ev/loop.h"

#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

struct ctx {
    int order[4];
    int norder;
    int reads;
    struct jn_io io;
};

static struct ctx *g;
static void t1(struct jn_loop *l, struct jn_timer *t) { g->order[g->norder++] = 1; }
static void t2(struct jn_loop *l, struct jn_timer *t) { g->order[g->norder++] = 2; }
static void t3(struct jn_loop *l, struct jn_timer *t)
{
    g->order[g->norder++] = 3;
    jn_loop_stop(l);
}

static void test_timers_fire_in_order(void **state)
{
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    struct ctx c = {0};
    g = &c;
    struct jn_timer a, b, d;
    jn_timer_init(&a, t2, &c);
    jn_timer_init(&b, t1, &c);
    jn_timer_init(&d, t3, &c);
    jn_timer_start(loop, &a, 20);
    jn_timer_start(loop, &b, 5);
    jn_timer_start(loop, &d, 40);
    int64_t t0 = jn_now_ms();
    assert_int_equal(jn_loop_run(loop), 0);
    assert_true(jn_now_ms() - t0 >= 39);
    assert_int_equal(c.norder, 3);
    assert_int_equal(c.order[0], 1);
    assert_int_equal(c.order[1], 2);
    assert_int_equal(c.order[2], 3);
    jn_loop_free(loop);
}

static void on_read(struct jn_loop *loop, struct jn_io *io, uint32_t ev)
{
    struct ctx *c = io->data;
    char buf[64];
    while (read(io->fd, buf, sizeof(buf)) > 0)
        c->reads++;
    jn_loop_stop(loop);
}

static void test_io_edge_triggered(void **state)
{
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    struct ctx c = {0};
    assert_int_equal(jn_io_add(loop, &c.io, p[0], JN_EV_READ, false, on_read, &c), 0);
    assert_int_equal(jn_loop_count(loop), 1);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(jn_loop_run(loop), 0);
    assert_int_equal(c.reads, 1);
    jn_io_del(loop, &c.io);
    assert_int_equal(jn_loop_count(loop), 0);
    close(p[0]);
    close(p[1]);
    jn_loop_free(loop);
}

static int posted;
static void on_post(struct jn_loop *loop, void *arg)
{
    posted = *(int *)arg;
    jn_loop_stop(loop);
}

static void *poster(void *arg)
{
    static int v = 7;
    usleep(10000);
    jn_loop_post(arg, on_post, &v);
    return NULL;
}

static void test_post_from_thread(void **state)
{
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    pthread_t t;
    pthread_create(&t, NULL, poster, loop);
    assert_int_equal(jn_loop_run(loop), 0);
    pthread_join(t, NULL);
    assert_int_equal(posted, 7);
    jn_loop_free(loop);
}

static int got_signal;
static void on_signal(struct jn_loop *loop, int signo, void *arg)
{
    got_signal = signo;
    jn_loop_stop(loop);
}

static void test_signal_through_loop(void **state)
{
    struct jn_loop *loop;
    assert_int_equal(jn_loop_new(&loop), 0);
    assert_int_equal(jn_loop_signal(loop, SIGUSR1, on_signal, NULL), 0);
    kill(getpid(), SIGUSR1);
    assert_int_equal(jn_loop_run(loop), 0);
    assert_int_equal(got_signal, SIGUSR1);
    jn_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_order),
        cmocka_unit_test(test_io_edge_triggered),
        cmocka_unit_test(test_post_from_thread),
        cmocka_unit_test(test_signal_through_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
