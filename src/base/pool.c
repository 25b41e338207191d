// pool.c — the process-wide thread pool: parked workers, one job at a time (see pool.h).
//
// Protocol. A job is published by writing p->job, setting p->pending to the number of workers and
// bumping the generation counter p->gen (under p->mu, with a broadcast). Each worker spins a
// little on p->gen, then parks on p->work_cv; on a new generation it runs its part (if its index
// is below the job's nth) and decrements p->pending. The last one signals p->done_cv. Every worker
// acknowledges every job, so p->job is never rewritten while a worker may still read it.
#include "base/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define SPIN_ITERS 4000 // ~20-100 µs of polling before parking (decode ops follow each other
                        // faster; longer spins only burn shared cores)

typedef struct pool_job {
    wk_pool_fn fn;
    void *ctx;
    int nth;
} pool_job;

typedef struct pool_worker {
    wk_pool *pool;
    int ith; // 1 .. n_workers
    uint64_t seen;
    pthread_t thread;
} pool_worker;

struct wk_pool {
    pthread_mutex_t run_mu; // one job at a time; also guards growing
    pthread_mutex_t mu;     // with work_cv / done_cv: parking
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    atomic_uint_fast64_t gen;
    atomic_int pending;
    atomic_bool stop;
    pool_job job;
    int n_workers;
    pool_worker workers[WK_POOL_MAX_THREADS];
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    wk_pool *p = w->pool;
    for (;;) {
        uint64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; i < SPIN_ITERS && g == w->seen; i++) {
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == w->seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == w->seen) {
                pthread_cond_wait(&p->work_cv, &p->mu);
            }
            pthread_mutex_unlock(&p->mu);
        }
        w->seen = g;
        if (atomic_load(&p->stop)) { return NULL; }
        pool_job job = p->job;
        if (w->ith < job.nth) { job.fn(job.ctx, w->ith, job.nth); }
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static wick_status add_workers(wk_pool *p, int n_threads)
{
    if (n_threads > WK_POOL_MAX_THREADS) { n_threads = WK_POOL_MAX_THREADS; }
    while (p->n_workers + 1 < n_threads) {
        pool_worker *w = &p->workers[p->n_workers];
        w->pool = p;
        w->ith = p->n_workers + 1;
        w->seen = atomic_load(&p->gen);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            return wk_fail(WICK_E_NOMEM, "thread pool: cannot start thread %d", w->ith);
        }
        p->n_workers++;
    }
    return WICK_OK;
}

wick_status wk_pool_create(int n_threads, wk_pool **out)
{
    *out = NULL;
    wk_pool *p = wk_calloc(1, sizeof *p);
    if (!p) { return wk_fail_nomem("thread pool"); }
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, false);
    wick_status rc = add_workers(p, n_threads < 1 ? 1 : n_threads);
    if (rc < 0) {
        wk_pool_destroy(p);
        return rc;
    }
    *out = p;
    return WICK_OK;
}

void wk_pool_destroy(wk_pool *p)
{
    if (!p) { return; }
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) { pthread_join(p->workers[i].thread, NULL); }
    pthread_mutex_unlock(&p->run_mu);
    pthread_mutex_destroy(&p->run_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    wk_free(p);
}

int wk_pool_size(const wk_pool *p) { return p->n_workers + 1; }

wick_status wk_pool_grow(wk_pool *p, int n_threads)
{
    pthread_mutex_lock(&p->run_mu);
    wick_status rc = add_workers(p, n_threads);
    pthread_mutex_unlock(&p->run_mu);
    return rc;
}

void wk_pool_run(wk_pool *p, int nth, wk_pool_fn fn, void *ctx)
{
    if (nth > p->n_workers + 1) { nth = p->n_workers + 1; }
    if (nth <= 1 || p->n_workers == 0) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    p->job.fn = fn;
    p->job.ctx = ctx;
    p->job.nth = nth;
    atomic_store(&p->pending, p->n_workers);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, nth);

    for (int i = 0; i < SPIN_ITERS && atomic_load_explicit(&p->pending, memory_order_acquire); i++) {
        cpu_relax();
    }
    if (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
            pthread_cond_wait(&p->done_cv, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->run_mu);
}

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static wk_pool *global_pool;

wick_status wk_pool_global(int n_threads, wk_pool **out)
{
    if (n_threads < 1) { n_threads = 1; }
    if (n_threads > WK_POOL_MAX_THREADS) { n_threads = WK_POOL_MAX_THREADS; }
    wick_status rc = WICK_OK;
    pthread_mutex_lock(&global_mu);
    if (!global_pool) {
        rc = wk_pool_create(n_threads, &global_pool);
    } else if (wk_pool_size(global_pool) < n_threads) {
        rc = wk_pool_grow(global_pool, n_threads);
    }
    *out = global_pool;
    pthread_mutex_unlock(&global_mu);
    return rc < 0 && !*out ? rc : WICK_OK;
}

int wk_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
