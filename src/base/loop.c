// loop.c — epoll + eventfd + timerfd behind one fd (see loop.h).
#include "base/loop.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

wick_status wk_loop_init(wk_loop *l, const char *who)
{
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->epfd < 0 || l->evfd < 0 || l->tfd < 0) {
        int e = errno;
        wk_loop_free(l);
        return wk_fail(WICK_E_IO, "%s: epoll/eventfd/timerfd: %s", who, strerror(e));
    }
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = l->evfd;
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev);
    ev.data.fd = l->tfd;
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev);
    return WICK_OK;
}

void wk_loop_free(wk_loop *l)
{
    if (l->epfd >= 0) { close(l->epfd); }
    if (l->evfd >= 0) { close(l->evfd); }
    if (l->tfd >= 0) { close(l->tfd); }
    l->epfd = l->evfd = l->tfd = -1;
}

int wk_loop_fd(const wk_loop *l)
{
    return l->epfd;
}

void wk_loop_watch(wk_loop *l, int fd, bool in, bool out)
{
    if (!in && !out) {
        wk_loop_unwatch(l, fd);
        return;
    }
    struct epoll_event ev = {0};
    ev.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

void wk_loop_unwatch(wk_loop *l, int fd)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void wk_loop_wakeup(wk_loop *l)
{
    if (l->evfd < 0) { return; }
    uint64_t one = 1;
    ssize_t r = write(l->evfd, &one, sizeof one);
    (void)r; // EAGAIN: the counter is already non-zero, which is all we need
}

void wk_loop_arm(wk_loop *l, double deadline)
{
    struct itimerspec its = {0};
    if (deadline >= 0) {
        double d = deadline - wk_now();
        if (d < 1e-6) { d = 1e-6; } // 0 would disarm
        its.it_value.tv_sec = (time_t)d;
        its.it_value.tv_nsec = (long)((d - (double)(time_t)d) * 1e9);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) { its.it_value.tv_nsec = 1000; }
    }
    timerfd_settime(l->tfd, 0, &its, NULL);
}

void wk_loop_clear(wk_loop *l)
{
    uint64_t junk;
    while (read(l->evfd, &junk, sizeof junk) > 0) {}
    while (read(l->tfd, &junk, sizeof junk) > 0) {}
}

int wk_loop_ready(wk_loop *l, wk_loop_event *out, int max, bool *more)
{
    struct epoll_event evs[64];
    if (max > 64) { max = 64; }
    int n = epoll_wait(l->epfd, evs, max, 0), k = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == l->evfd || fd == l->tfd) { continue; }
        uint32_t e = evs[i].events;
        out[k].fd = fd;
        out[k].what = (e & EPOLLIN ? WK_LOOP_IN : 0) | (e & EPOLLOUT ? WK_LOOP_OUT : 0) |
                      (e & (EPOLLERR | EPOLLHUP) ? WK_LOOP_ERR : 0);
        k++;
    }
    *more = n == max;
    return k;
}

void wk_loop_wait(wk_loop *l, int timeout_ms)
{
    struct pollfd pfd = {l->epfd, POLLIN, 0};
    poll(&pfd, 1, timeout_ms);
}

int wk_loop_ms_until(double deadline)
{
    if (deadline < 0) { return -1; }
    double ms = (deadline - wk_now()) * 1000.0;
    if (ms <= 0) { return 0; }
    return ms > 3.6e6 ? 3600000 : (int)ms + 1;
}
