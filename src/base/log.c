// log.c — levelled logging; silent unless the program asks for messages.
#include <stdio.h>

#include "base/base.h"

static wick_log_level min_level = WICK_LOG_NONE;
static wick_log_cb log_fn;
static void *log_ud;

void wick_log_set_level(wick_log_level level)
{
    min_level = level;
}

void wick_log_set_callback(wick_log_cb fn, void *ud)
{
    log_fn = fn;
    log_ud = ud;
}

bool wk_log_enabled(wick_log_level level)
{
    return level >= min_level && level < WICK_LOG_NONE;
}

void wk_log(wick_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    if (!wk_log_enabled(level)) { return; }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(level, msg, log_ud);
    } else {
        fprintf(stderr, "wick: %s: %s\n", names[level], msg);
    }
}
