// pool.c — the process-wide thread pool: parked workers, one job at a time (see pool.h).
//
// Protocol. A job has nth parts. The caller publishes it (p->job, a new generation in p->ticket,
// a broadcast on work_cv) and then runs parts itself; every thread that has joined takes the
// next part from an atomic counter until none is left. Workers spin a little on the ticket, then
// park. A worker joins by incrementing the ticket's active count while the job is still open;
// when the caller finds no part left it closes the job and waits only for the workers that
// joined. So a worker the OS has not scheduled (a busy shared machine) never delays a job: the
// caller does its parts. Which thread runs a part does not change the results: parts are fixed
// by (ith, nth), and callers split work by them.
//
// ticket (64 bits): generation << 32 | closed << 16 | active (workers inside the current job).
#define _GNU_SOURCE // sched_getaffinity, CPU_COUNT
#include "base/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

// Polling before parking: ~20-100 µs (decode ops follow each other faster; longer spins only
// burn shared cores).
#define SPIN_ITERS 4000
#define T_ACTIVE UINT64_C(0xffff)
#define T_CLOSED (UINT64_C(1) << 16)
#define T_GEN(t) ((t) >> 32)

typedef struct pool_job {
    wk_pool_fn fn;
    void *ctx;
    int nth;
    atomic_int next_part;
} pool_job;

typedef struct pool_worker {
    wk_pool *pool;
    uint64_t seen; // the last generation this worker looked at
    pthread_t thread;
} pool_worker;

struct wk_pool {
    pthread_mutex_t run_mu; // one job at a time; also guards growing
    pthread_mutex_t mu; // with work_cv / done_cv: parking
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    _Atomic uint64_t ticket;
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

// Runs parts of the current job until none is left.
static void run_parts(pool_job *job)
{
    for (;;) {
        int i = atomic_fetch_add_explicit(&job->next_part, 1, memory_order_relaxed);
        if (i >= job->nth) { return; }
        job->fn(job->ctx, i, job->nth);
    }
}

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    wk_pool *p = w->pool;
    for (;;) {
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        for (int i = 0; i < SPIN_ITERS && T_GEN(t) == w->seen; i++) {
            cpu_relax();
            t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        }
        if (T_GEN(t) == w->seen) {
            pthread_mutex_lock(&p->mu);
            while (T_GEN(t = atomic_load_explicit(&p->ticket, memory_order_acquire)) == w->seen &&
                   !atomic_load(&p->stop)) {
                pthread_cond_wait(&p->work_cv, &p->mu);
            }
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) { return NULL; }
        w->seen = T_GEN(t);
        // join while the job is open and still this generation
        bool joined = false;
        while (T_GEN(t) == w->seen && !(t & T_CLOSED)) {
            if (atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                joined = true;
                break;
            }
        }
        if (!joined) { continue; }
        run_parts(&p->job);
        uint64_t after = atomic_fetch_sub_explicit(&p->ticket, 1, memory_order_acq_rel) - 1;
        if ((after & T_ACTIVE) == 0 && (after & T_CLOSED)) {
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
        w->seen = T_GEN(atomic_load(&p->ticket));
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            return wk_fail(WICK_E_NOMEM, "thread pool: cannot start thread %d", p->n_workers + 1);
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
    atomic_init(&p->ticket, T_CLOSED);
    atomic_init(&p->stop, false);
    atomic_init(&p->job.next_part, 0);
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

int wk_pool_size(const wk_pool *p)
{
    return p->n_workers + 1;
}

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
    // the previous job is closed with no active worker: p->job is ours to rewrite
    p->job.fn = fn;
    p->job.ctx = ctx;
    p->job.nth = nth;
    atomic_store_explicit(&p->job.next_part, 0, memory_order_relaxed);
    uint64_t gen = T_GEN(atomic_load(&p->ticket)) + 1;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->ticket, gen << 32, memory_order_release); // open, none active
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    run_parts(&p->job);

    // close; then wait for the workers that joined
    uint64_t t = atomic_fetch_or_explicit(&p->ticket, T_CLOSED, memory_order_acq_rel) | T_CLOSED;
    for (int i = 0; i < SPIN_ITERS && (t & T_ACTIVE); i++) {
        cpu_relax();
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
    if (t & T_ACTIVE) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->ticket, memory_order_acquire) & T_ACTIVE) {
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
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
        return CPU_COUNT(&set); // the CPUs this process may use (containers, taskset)
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
