/*
 * syscalls.c: what a system call costs on this machine, and what io_uring's
 * batched submission saves of it, for the gateway's own pattern: many
 * connections, one small message each per round (issue 22, section 2).
 *
 *   build/bench-syscalls [PAIRS [ROUNDS]]      (bench/syscalls.sh builds it)
 *
 * PAIRS connected loopback TCP pairs (default 50, as wrk -c50); in each round
 * every client end sends 64 bytes and every server end receives them:
 *
 *   syscalls   one send(2) and one recv(2) per message, as jern's epoll loop
 *   uring-send the round's sends as one io_uring submission, recv(2) as above
 *   uring-both the sends as one submission, then the receives as one
 *
 * All three do the same TCP work in the same task (io_uring issues a
 * non-blocking send or receive inline, in io_uring_enter); what differs is
 * the number of kernel entries. It also times getppid(2), the bare entry and
 * exit. Prints microseconds per message (one send plus one receive) for each
 * way, the median of five runs, and the saving per system call replaced.
 */
#include <liburing.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define RUNS 5

static int npairs, rounds;
static int *cl, *sv;
static char (*rbuf)[2 * MSG];
static struct io_uring ring;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-syscalls: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void make_pairs(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1024) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0)
        die("listen on 127.0.0.1");
    cl = calloc((size_t)npairs, sizeof(*cl));
    sv = calloc((size_t)npairs, sizeof(*sv));
    rbuf = calloc((size_t)npairs, sizeof(*rbuf));
    int one = 1;
    for (int i = 0; i < npairs; i++) {
        cl[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (cl[i] < 0 || connect(cl[i], (struct sockaddr *)&a, sizeof(a)) < 0)
            die("connect");
        if ((sv[i] = accept(l, NULL, NULL)) < 0)
            die("accept");
        setsockopt(cl[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(l);
}

/* Submits what is queued, waits for n completions, checks each moved MSG bytes. */
static void reap(int n, const char *op)
{
    if (io_uring_submit_and_wait(&ring, (unsigned)n) < 0)
        die("io_uring_submit_and_wait");
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe)
    {
        if (cqe->res != MSG) {
            fprintf(stderr, "bench-syscalls: io_uring %s returned %d\n", op, cqe->res);
            exit(1);
        }
        seen++;
    }
    io_uring_cq_advance(&ring, seen);
}

/* One way, timed over all rounds: microseconds per message. */
static double run(int way)
{
    static const char msg[MSG];
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        if (way == 0) {
            for (int i = 0; i < npairs; i++)
                if (send(cl[i], msg, MSG, MSG_DONTWAIT) != MSG)
                    die("send");
        } else {
            for (int i = 0; i < npairs; i++)
                io_uring_prep_send(io_uring_get_sqe(&ring), cl[i], msg, MSG, MSG_DONTWAIT);
            reap(npairs, "send");
        }
        if (way < 2) {
            for (int i = 0; i < npairs; i++)
                if (recv(sv[i], rbuf[i], sizeof(rbuf[i]), MSG_DONTWAIT) != MSG)
                    die("recv");
        } else {
            for (int i = 0; i < npairs; i++)
                io_uring_prep_recv(io_uring_get_sqe(&ring), sv[i], rbuf[i], sizeof(rbuf[i]),
                                   MSG_DONTWAIT);
            reap(npairs, "recv");
        }
    }
    return (now_s() - t0) / rounds / npairs * 1e6;
}

static double bare_syscall_us(void)
{
    int n = 200000;
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        syscall(SYS_getppid);
    return (now_s() - t0) / n * 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    npairs = argc > 1 ? atoi(argv[1]) : 50;
    rounds = argc > 2 ? atoi(argv[2]) : 4000;
    if (npairs < 1 || npairs > 1000 || rounds < 1) {
        fprintf(stderr, "usage: bench-syscalls [PAIRS 1-1000 [ROUNDS]]\n");
        return 2;
    }
    make_pairs();
    int rc = io_uring_queue_init((unsigned)(2 * npairs), &ring, 0);
    if (rc < 0) {
        fprintf(stderr, "bench-syscalls: io_uring_queue_init: %s (io_uring unavailable here)\n",
                strerror(-rc));
        return 1;
    }
    static const char *names[] = {"syscalls", "uring-send", "uring-both"};
    double t[3][RUNS], bare[RUNS];
    run(0); /* warm-up */
    for (int k = 0; k < RUNS; k++) {
        bare[k] = bare_syscall_us();
        for (int way = 0; way < 3; way++) /* interleaved: drift hits all three */
            t[way][k] = run(way);
    }
    qsort(bare, RUNS, sizeof(double), cmp);
    printf("%d loopback TCP pairs, %d rounds, median of %d runs (min-max)\n", npairs, rounds, RUNS);
    printf("  getppid(2), entry and exit alone: %.2f us\n", bare[RUNS / 2]);
    double med[3];
    for (int way = 0; way < 3; way++) {
        qsort(t[way], RUNS, sizeof(double), cmp);
        med[way] = t[way][RUNS / 2];
        printf("  %-10s %6.2f us per message, send + receive (%.2f-%.2f)\n", names[way], med[way],
               t[way][0], t[way][RUNS - 1]);
    }
    printf("  saved per system call replaced by a batched submission: %.2f us (sends), %.2f us "
           "(receives)\n",
           med[0] - med[1], med[1] - med[2]);
    io_uring_queue_exit(&ring);
    return 0;
}
