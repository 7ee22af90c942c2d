#include "ev/loop.h"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_SIGNAL 65
#define COALESCE_WINDOW_MS 10

struct post {
    struct post *next;
    jn_post_cb cb;
    void *arg;
};

struct sig_handler {
    jn_signal_cb cb;
    void *arg;
};

struct jn_loop {
    int epfd;
    int64_t now;    /* ms */
    int64_t now_ns; /* the same instant in ns */
    bool stopping;
    size_t nio;
    struct jn_timer_heap timers;
    /* the batch being dispatched, so jn_io_del can cancel pending events */
    struct epoll_event *batch;
    int batch_n, batch_i;
    /* wake-up coalescing (jn_loop_coalesce) */
    int nap_us;
    int64_t busy_events; /* events per window that make the loop busy */
    int64_t win_start;   /* ms */
    int64_t win_events;
    bool busy;
    uint64_t naps;
    /* end of batch (jn_loop_on_batch_end) */
    jn_batch_cb batch_cb;
    void *batch_arg;
    /* cross-thread wake-ups */
    struct jn_io wake_io;
    pthread_mutex_t post_lock;
    struct post *post_head, *post_tail;
    /* signals */
    struct jn_io sig_io;
    sigset_t sigmask;
    struct sig_handler sig[MAX_SIGNAL];
};

static void wake_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events);

/* Events between two calls of the end-of-batch hook within one batch. */
#define BATCH_GROUP 64

int jn_loop_new(struct jn_loop **out)
{
    struct jn_loop *loop = jn_calloc(1, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int err = -errno;
        free(loop);
        return err;
    }
    jn_timer_heap_init(&loop->timers);
    pthread_mutex_init(&loop->post_lock, NULL);
    sigemptyset(&loop->sigmask);
    loop->sig_io.fd = -1;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        int err = -errno;
        close(loop->epfd);
        free(loop);
        return err;
    }
    jn_io_add(loop, &loop->wake_io, efd, JN_EV_READ, true, wake_cb, NULL);
    loop->nio--; /* internal fds are not counted */
    jn_loop_update_time(loop);
    *out = loop;
    return 0;
}

void jn_loop_free(struct jn_loop *loop)
{
    if (!loop)
        return;
    close(loop->wake_io.fd);
    if (loop->sig_io.fd >= 0)
        close(loop->sig_io.fd);
    close(loop->epfd);
    for (struct post *p = loop->post_head, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    pthread_mutex_destroy(&loop->post_lock);
    jn_timer_heap_free(&loop->timers);
    free(loop);
}

static uint32_t to_epoll(uint32_t events, bool level)
{
    uint32_t e = EPOLLRDHUP;
    if (events & JN_EV_READ)
        e |= EPOLLIN;
    if (events & JN_EV_WRITE)
        e |= EPOLLOUT;
    if (!level)
        e |= EPOLLET;
    return e;
}

int jn_io_add(struct jn_loop *loop, struct jn_io *io, int fd, uint32_t events, bool level,
              jn_io_cb cb, void *data)
{
    io->fd = fd;
    io->cb = cb;
    io->data = data;
    struct epoll_event ev = {.events = to_epoll(events, level), .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    loop->nio++;
    return 0;
}

int jn_io_mod(struct jn_loop *loop, struct jn_io *io, uint32_t events, bool level)
{
    struct epoll_event ev = {.events = to_epoll(events, level), .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void jn_io_del(struct jn_loop *loop, struct jn_io *io)
{
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) == 0)
        loop->nio--;
    for (int i = loop->batch_i; i < loop->batch_n; i++)
        if (loop->batch[i].data.ptr == io)
            loop->batch[i].data.ptr = NULL;
}

void jn_loop_coalesce(struct jn_loop *loop, int nap_us, int min_rate)
{
    loop->nap_us = nap_us > 0 ? nap_us : 0;
    loop->busy_events = (int64_t)min_rate * COALESCE_WINDOW_MS / 1000;
    loop->busy = false;
}

uint64_t jn_loop_naps(const struct jn_loop *loop)
{
    return loop->naps;
}

/* epoll_wait, with a nap first when the loop is busy and nothing is ready. */
static int wait_events(struct jn_loop *loop, struct epoll_event *events, int timeout)
{
    if (loop->busy && timeout != 0) {
        int n = epoll_wait(loop->epfd, events, MAX_EVENTS, 0);
        if (n != 0)
            return n;
        struct timespec nap = {.tv_sec = 0, .tv_nsec = loop->nap_us * 1000L};
        nanosleep(&nap, NULL);
        loop->naps++;
    }
    return epoll_wait(loop->epfd, events, MAX_EVENTS, timeout);
}

/* Counts events per window; the loop is busy while the last full window
 * saw at least busy_events. */
static void count_events(struct jn_loop *loop, int n)
{
    if (!loop->nap_us)
        return;
    loop->win_events += n;
    if (loop->now - loop->win_start >= COALESCE_WINDOW_MS) {
        loop->busy = loop->win_events >= loop->busy_events &&
                     loop->now - loop->win_start < 2 * COALESCE_WINDOW_MS;
        loop->win_start = loop->now;
        loop->win_events = 0;
    }
}

void jn_loop_on_batch_end(struct jn_loop *loop, jn_batch_cb cb, void *arg)
{
    loop->batch_cb = cb;
    loop->batch_arg = arg;
}

bool jn_loop_in_batch(const struct jn_loop *loop)
{
    return loop->batch_n > 1;
}

int64_t jn_loop_now(const struct jn_loop *loop)
{
    return loop->now;
}

int64_t jn_loop_now_ns(const struct jn_loop *loop)
{
    return loop->now_ns;
}

int64_t jn_loop_update_time(struct jn_loop *loop)
{
    loop->now_ns = jn_now_ns();
    loop->now = loop->now_ns / 1000000;
    return loop->now;
}

void jn_timer_start(struct jn_loop *loop, struct jn_timer *t, int64_t delay_ms)
{
    jn_timer_heap_set(&loop->timers, t, loop->now + (delay_ms < 0 ? 0 : delay_ms));
}

void jn_timer_stop(struct jn_loop *loop, struct jn_timer *t)
{
    jn_timer_heap_remove(&loop->timers, t);
}

void jn_timer_park(struct jn_loop *loop, struct jn_timer *t)
{
    if (t->slot)
        jn_timer_heap_set(&loop->timers, t, JN_TIMER_NEVER);
}

static void sig_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)events;
    struct signalfd_siginfo si;
    while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int signo = (int)si.ssi_signo;
        if (signo > 0 && signo < MAX_SIGNAL && loop->sig[signo].cb)
            loop->sig[signo].cb(loop, signo, loop->sig[signo].arg);
    }
}

int jn_loop_signal(struct jn_loop *loop, int signo, jn_signal_cb cb, void *arg)
{
    if (signo <= 0 || signo >= MAX_SIGNAL)
        return -EINVAL;
    sigaddset(&loop->sigmask, signo);
    if (pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL) != 0)
        return -EINVAL;
    int fd = signalfd(loop->sig_io.fd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (loop->sig_io.fd < 0) {
        int rc = jn_io_add(loop, &loop->sig_io, fd, JN_EV_READ, true, sig_cb, NULL);
        if (rc < 0) {
            close(fd);
            return rc;
        }
        loop->nio--;
    }
    loop->sig[signo].cb = cb;
    loop->sig[signo].arg = arg;
    return 0;
}

static void wake(struct jn_loop *loop)
{
    uint64_t one = 1;
    ssize_t w = write(loop->wake_io.fd, &one, sizeof(one));
    (void)w; /* EAGAIN means a wake-up is already pending */
}

int jn_loop_post(struct jn_loop *loop, jn_post_cb cb, void *arg)
{
    struct post *p = jn_malloc(sizeof(*p));
    p->next = NULL;
    p->cb = cb;
    p->arg = arg;
    pthread_mutex_lock(&loop->post_lock);
    if (loop->post_tail)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    pthread_mutex_unlock(&loop->post_lock);
    wake(loop);
    return 0;
}

static void wake_cb(struct jn_loop *loop, struct jn_io *io, uint32_t events)
{
    (void)events;
    uint64_t v;
    ssize_t r = read(io->fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&loop->post_lock);
    struct post *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_lock);
    while (p) {
        struct post *next = p->next;
        p->cb(loop, p->arg);
        free(p);
        p = next;
    }
}

void jn_loop_stop(struct jn_loop *loop)
{
    __atomic_store_n(&loop->stopping, true, __ATOMIC_RELEASE);
    wake(loop);
}

size_t jn_loop_count(const struct jn_loop *loop)
{
    return loop->nio + loop->timers.n;
}

static void run_timers(struct jn_loop *loop)
{
    struct jn_timer *t;
    while ((t = jn_timer_heap_expired(&loop->timers, loop->now))) {
        jn_timer_heap_remove(&loop->timers, t);
        t->cb(loop, t);
    }
}

int jn_loop_run(struct jn_loop *loop)
{
    struct epoll_event events[MAX_EVENTS];
    while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
        int timeout = -1;
        struct jn_timer *t = jn_timer_heap_top(&loop->timers);
        if (t) {
            int64_t d = t->key - loop->now; /* at worst early: then it moves on */
            timeout = d <= 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        }
        int n = wait_events(loop, events, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        jn_loop_update_time(loop);
        count_events(loop, n);
        loop->batch = events;
        loop->batch_n = n;
        for (loop->batch_i = 0; loop->batch_i < loop->batch_n;) {
            struct epoll_event *ev = &events[loop->batch_i++];
            struct jn_io *io = ev->data.ptr;
            if (!io)
                continue;
            uint32_t e = 0;
            if (ev->events & EPOLLIN)
                e |= JN_EV_READ;
            if (ev->events & EPOLLOUT)
                e |= JN_EV_WRITE;
            if (ev->events & EPOLLERR)
                e |= JN_EV_ERROR | JN_EV_READ | JN_EV_WRITE;
            if (ev->events & EPOLLHUP)
                e |= JN_EV_HUP | JN_EV_READ;
            if (ev->events & EPOLLRDHUP)
                e |= JN_EV_RDHUP | JN_EV_READ;
            io->cb(loop, io, e);
            /* a long batch sends in groups: what waited does not wait for
             * hundreds of events (jn_loop_on_batch_end) */
            if (loop->batch_cb && loop->batch_i % BATCH_GROUP == 0 && loop->batch_i < loop->batch_n)
                loop->batch_cb(loop, loop->batch_arg);
        }
        loop->batch = NULL;
        loop->batch_n = loop->batch_i = 0;
        if (loop->batch_cb)
            loop->batch_cb(loop, loop->batch_arg);
        run_timers(loop);
    }
    __atomic_store_n(&loop->stopping, false, __ATOMIC_RELEASE);
    return 0;
}
