// loop.h — one pollable fd for an event loop (internal): an epoll set holding the sockets a
// driver watches, an eventfd for wakeups from any thread and a timerfd for the next deadline.
// The epoll fd is readable whenever one of them is, so a caller's own loop can wait on it
// (wick_hub_fd) and a loop of ours can block in wk_loop_wait.
//
//   wk_loop l;
//   if ((rc = wk_loop_init(&l, "hub")) < 0) goto fail;
//   wk_loop_watch(&l, sock, true, false);        // as the transfer library asks
//   wk_loop_arm(&l, wk_now() + 0.5);             // the next deadline (< 0: none)
//   wk_loop_wait(&l, -1);                        // any thread: wk_loop_wakeup(&l)
//   wk_loop_clear(&l);                           // consume wakeups and timer ticks
//   n = wk_loop_ready(&l, ev, 64, &more);        // the watched fds that are ready
//
// Thread rule: wk_loop_wakeup from any thread; the rest from the thread that drives the loop.
#ifndef WK_LOOP_H
#define WK_LOOP_H

#include "base/base.h"

enum { WK_LOOP_IN = 1, WK_LOOP_OUT = 2, WK_LOOP_ERR = 4 };

typedef struct wk_loop {
    int epfd, evfd, tfd; // -1 when not open
} wk_loop;

typedef struct wk_loop_event {
    int fd;
    int what; // WK_LOOP_IN | WK_LOOP_OUT | WK_LOOP_ERR
} wk_loop_event;

// Opens the three fds. Errors: IO (the message names `who`). On failure l is left closed (safe
// to wk_loop_free).
wick_status wk_loop_init(wk_loop *l, const char *who);
void wk_loop_free(wk_loop *l); // closes what is open; a zeroed or failed loop is fine
int wk_loop_fd(const wk_loop *l);
// Watches fd for reading and/or writing (both false: stops watching it). Never fails loudly:
// an fd the kernel refuses is simply not reported.
void wk_loop_watch(wk_loop *l, int fd, bool in, bool out);
void wk_loop_unwatch(wk_loop *l, int fd);
void wk_loop_wakeup(wk_loop *l);           // makes the loop fd readable; any thread
void wk_loop_arm(wk_loop *l, double deadline); // wk_now() seconds; < 0 disarms
void wk_loop_clear(wk_loop *l);            // consumes pending wakeups and timer expiries
// Up to max (<= 64) watched fds that are ready now (never blocks); wakeups and the timer are not
// listed. *more: the kernel had a full batch, so more may be ready (call again).
int wk_loop_ready(wk_loop *l, wk_loop_event *ev, int max, bool *more);
// Blocks until something is ready (a watched fd, a wakeup, the timer) or timeout_ms passes
// (-1: no limit). Returns at once when something already is.
void wk_loop_wait(wk_loop *l, int timeout_ms);
// Milliseconds until deadline (wk_now() seconds) rounded up, 0 when past, -1 when deadline < 0.
int wk_loop_ms_until(double deadline);

#endif
