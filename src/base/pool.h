// pool.h — the process-wide thread pool (internal).
//
// One pool serves the whole process: workers are created once (on first use, or grown when a
// session asks for more threads) and then parked on a condition variable between jobs; no thread
// is created per operation. A job runs fn(ctx, ith, nth) once for each part ith = 0 .. nth-1 and
// returns when every part has finished. The caller runs parts too; parts are claimed from a
// counter, so a worker the OS has not scheduled yet never holds a job up (another thread runs its
// part), and two parts never run at once on one thread. Work is split by the callee from ith/nth
// (deterministically, e.g. by output rows) or through an atomic counter; per-part scratch may be
// indexed by ith.
//
//   wk_pool *p;
//   if ((rc = wk_pool_global(4, &p)) < 0) goto fail;
//   wk_pool_run(p, 4, matmul_part, &job);   // matmul_part(&job, ith, 4) on 4 threads
//
// Thread rule: any thread may call wk_pool_run(); concurrent jobs are serialized by a mutex (one
// job at a time owns the workers). fn must not call wk_pool_run() itself.
#ifndef WK_POOL_H
#define WK_POOL_H

#include "base/base.h"

#define WK_POOL_MAX_THREADS 256

typedef struct wk_pool wk_pool;
typedef void (*wk_pool_fn)(void *ctx, int ith, int nth);

// A pool able to run jobs on up to n_threads threads (the caller + n_threads - 1 workers).
wick_status wk_pool_create(int n_threads, wk_pool **out);
// Stops and joins the workers. NULL ok. Not for the global pool.
void wk_pool_destroy(wk_pool *p);

// The process-wide pool, created on first use and grown to at least n_threads (clamped to
// [1, WK_POOL_MAX_THREADS]). Never destroyed: its parked workers live until the process exits.
wick_status wk_pool_global(int n_threads, wk_pool **out);

// Threads the pool can run a job on (workers + the caller).
int wk_pool_size(const wk_pool *p);
// Adds workers so that the pool can run n_threads-wide jobs.
wick_status wk_pool_grow(wk_pool *p, int n_threads);

// Runs fn(ctx, ith, nth) for ith < nth (nth clamped to [1, wk_pool_size(p)]) on up to nth threads,
// the caller included. Returns when all parts are done. nth == 1 calls fn directly.
void wk_pool_run(wk_pool *p, int nth, wk_pool_fn fn, void *ctx);

// The number of CPUs this process may run on: its affinity mask (at least 1).
int wk_cpu_count(void);

#endif
