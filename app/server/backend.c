// backend.c — placeholder until the completion streams API is in wick.h: every job ends with an
// error chunk saying so.
#include <stdlib.h>

#include "backend.h"
#include "server.h"

struct be_engine {
    int unused;
};
struct be_job {
    int step;
};

wick_status be_engine_create(const be_engine_opts *o, be_engine **out)
{
    (void)o;
    *out = calloc(1, sizeof **out);
    return *out ? WICK_OK : WICK_E_NOMEM;
}
void be_engine_destroy(be_engine *e) { free(e); }
void be_engine_preload(be_engine *e, const char *spec) { (void)e, (void)spec; }
void be_models_list(be_engine *e, void *arr) { (void)e, (void)arr; }

wick_status be_job_start(be_engine *e, const srv_request *r, be_notify_fn notify, void *ud,
                         be_job **out)
{
    (void)e, (void)r, (void)notify, (void)ud;
    *out = calloc(1, sizeof **out);
    return *out ? WICK_OK : WICK_E_NOMEM;
}
bool be_job_next(be_job *j, be_chunk *out)
{
    static const be_chunk err = {.kind = BE_ERROR, .code = WICK_E_UNSUPPORTED,
                                 .message = "this build has no completion streams yet"};
    static const be_chunk done = {.kind = BE_DONE, .finish = "error"};
    if (j->step >= 2) { return false; }
    *out = j->step++ ? done : err;
    return true;
}
void be_job_cancel(be_job *j) { (void)j; }
void be_job_free(be_job *j) { free(j); }
