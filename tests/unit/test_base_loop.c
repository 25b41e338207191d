// test_base_loop.c — the event loop fd: a wakeup, the timer and a watched pipe each make it
// readable; clearing and unwatching make it quiet again.
#include <poll.h>
#include <unistd.h>

#include "base/loop.h"
#include "harness.h"

static bool readable(wk_loop *l)
{
    struct pollfd p = {wk_loop_fd(l), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

int main(void)
{
    wk_loop l;
    CHECK_OK(wk_loop_init(&l, "test"));
    CHECK(wk_loop_fd(&l) >= 0);
    CHECK(!readable(&l));
    CHECK(wk_loop_ms_until(-1) == -1);
    CHECK(wk_loop_ms_until(wk_now() - 1) == 0);
    CHECK(wk_loop_ms_until(wk_now() + 1e9) == 3600000);

    wk_loop_wakeup(&l); // twice: the counter saturates, one clear consumes both
    wk_loop_wakeup(&l);
    CHECK(readable(&l));
    wk_loop_event ev[4];
    bool more = true;
    CHECK(wk_loop_ready(&l, ev, 4, &more) == 0); // wakeups are not listed
    CHECK(!more);
    wk_loop_clear(&l);
    CHECK(!readable(&l));

    double t0 = wk_now();
    wk_loop_arm(&l, t0 + 0.02);
    CHECK(!readable(&l));
    wk_loop_wait(&l, 2000);
    double took = wk_now() - t0;
    CHECKF(readable(&l) && took >= 0.015 && took < 1.5, "timer fired after %.3f s", took);
    wk_loop_clear(&l);
    wk_loop_arm(&l, wk_now() + 0.01);
    wk_loop_arm(&l, -1); // disarmed: nothing fires
    wk_loop_wait(&l, 50);
    CHECK(!readable(&l));

    int p[2];
    CHECK(pipe(p) == 0);
    wk_loop_watch(&l, p[0], true, false);
    wk_loop_watch(&l, p[1], false, true); // a pipe with room is writable at once
    int n = wk_loop_ready(&l, ev, 4, &more);
    CHECKF(n == 1 && ev[0].fd == p[1] && ev[0].what == WK_LOOP_OUT, "n=%d", n);
    CHECK(write(p[1], "x", 1) == 1);
    wk_loop_watch(&l, p[1], false, false); // neither: no longer watched
    n = wk_loop_ready(&l, ev, 4, &more);
    CHECKF(n == 1 && ev[0].fd == p[0] && ev[0].what == WK_LOOP_IN, "n=%d", n);
    wk_loop_unwatch(&l, p[0]);
    CHECK(!readable(&l));
    close(p[0]);
    close(p[1]);

    wk_loop_free(&l);
    CHECK(l.epfd == -1 && l.evfd == -1 && l.tfd == -1);
    wk_loop_free(&l); // twice is fine
    return test_summary("base_loop");
}
