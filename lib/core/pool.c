/* pool.c — see pool.h.
 *
 * One mutex guards the job, the task queue and the stop flag; `seq` is
 * bumped (under the mutex) whenever work arrives, so that a spinning worker
 * can watch it without the lock and a sleeping one cannot miss a wake-up
 * (it reads seq and waits under the same mutex the producer bumps it under).
 */
#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define POOL_SPINS 4000 /* pause instructions, roughly 20-50 us */

typedef struct pool_task {
    mm_pool_task_fn fn;
    void *ctx;
} pool_task;

typedef struct pool_worker {
    struct mm_pool *pool;
    int index;
} pool_worker;

struct mm_pool {
    int nthreads;
    pthread_t *threads;
    pool_worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* workers: work arrived or stop */
    pthread_cond_t job_done;  /* owner: the last part of its job finished */
    atomic_uint seq;
    int stop;

    /* the current fork-join job (job_fn != NULL while it runs) */
    mm_pool_range_fn job_fn;
    void *job_ctx;
    int job_n;
    int next_part;            /* parts handed out (for, not team) */
    atomic_int parts_left;    /* parts not finished */
    int team;                 /* team job: part t belongs to thread t */
    unsigned char *team_taken; /* [nthreads] */

    /* background tasks: a ring buffer */
    pool_task *queue;
    size_t queue_cap, queue_head, queue_len;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_part(mm_pool *p, int part, int thread)
{
    if (p->team) {
        p->job_fn(p->job_ctx, thread, part, part + 1);
        return;
    }
    int b = (int)((long long)p->job_n * part / p->nthreads);
    int e = (int)((long long)p->job_n * (part + 1) / p->nthreads);
    if (b < e) p->job_fn(p->job_ctx, thread, b, e);
}

/* With the mutex held: a part of the current job for `thread`, or -1. */
static int claim_part(mm_pool *p, int thread)
{
    if (!p->job_fn) return -1;
    if (p->team) {
        if (p->team_taken[thread]) return -1;
        p->team_taken[thread] = 1;
        return thread;
    }
    return p->next_part < p->nthreads ? p->next_part++ : -1;
}

/* With the mutex held: pops the oldest task into *t. */
static int pop_task(mm_pool *p, pool_task *t)
{
    if (p->queue_len == 0) return 0;
    *t = p->queue[p->queue_head];
    p->queue_head = (p->queue_head + 1) % p->queue_cap;
    p->queue_len--;
    return 1;
}

/* With the mutex held; runs one part and drops the lock meanwhile. */
static void do_part(mm_pool *p, int part, int thread)
{
    pthread_mutex_unlock(&p->mu);
    run_part(p, part, thread);
    pthread_mutex_lock(&p->mu);
    if (atomic_fetch_sub(&p->parts_left, 1) == 1) pthread_cond_signal(&p->job_done);
}

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    mm_pool *p = w->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        int part = claim_part(p, w->index);
        if (part >= 0) {
            do_part(p, part, w->index);
            continue;
        }
        pool_task t;
        if (pop_task(p, &t)) {
            pthread_mutex_unlock(&p->mu);
            t.fn(t.ctx, w->index);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->stop) break;
        unsigned seen = atomic_load(&p->seq);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < POOL_SPINS && atomic_load_explicit(&p->seq, memory_order_relaxed) == seen; i++)
            cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->seq) == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* With the mutex held: work has arrived. */
static void announce(mm_pool *p)
{
    atomic_fetch_add(&p->seq, 1);
    pthread_cond_broadcast(&p->wake);
}

mm_pool *mm_pool_create(int threads)
{
    mm_pool *p = xcalloc(1, sizeof *p);
    if (threads < 1) threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->job_done, NULL);
    p->threads = xcalloc((size_t)threads, sizeof *p->threads);
    p->workers = xcalloc((size_t)threads, sizeof *p->workers);
    p->team_taken = xcalloc((size_t)threads, 1);
    p->nthreads = 1;
    for (int i = 1; i < threads; i++) {
        p->workers[i] = (pool_worker){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) break;
        p->nthreads = i + 1;
    }
    return p;
}

void mm_pool_free(mm_pool *p)
{
    if (!p) return;
    while (mm_pool_help(p)) {
    }
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    announce(p);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->job_done);
    free(p->threads);
    free(p->workers);
    free(p->team_taken);
    free(p->queue);
    free(p);
}

int mm_pool_threads(const mm_pool *p) { return p ? p->nthreads : 1; }

/* The owner's side of a job: publish, take parts, wait for the rest. */
static void run_job(mm_pool *p, mm_pool_range_fn fn, void *ctx, int n, int team)
{
    pthread_mutex_lock(&p->mu);
    p->job_fn = fn;
    p->job_ctx = ctx;
    p->job_n = n;
    p->team = team;
    p->next_part = 0;
    if (team) memset(p->team_taken, 0, (size_t)p->nthreads);
    atomic_store(&p->parts_left, p->nthreads);
    announce(p);
    for (int part; (part = claim_part(p, 0)) >= 0;) do_part(p, part, 0);
    if (atomic_load(&p->parts_left) > 0) {
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < POOL_SPINS && atomic_load_explicit(&p->parts_left, memory_order_acquire) > 0; i++)
            cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->parts_left) > 0) pthread_cond_wait(&p->job_done, &p->mu);
    }
    p->job_fn = NULL;
    pthread_mutex_unlock(&p->mu);
}

void mm_pool_for(mm_pool *p, mm_pool_range_fn fn, void *ctx, int n, double work, double min_work)
{
    if (n <= 0) return;
    if (!p || p->nthreads <= 1 || n < 2 || work < min_work) {
        fn(ctx, 0, 0, n);
        return;
    }
    run_job(p, fn, ctx, n, 0);
}

void mm_pool_team(mm_pool *p, mm_pool_range_fn fn, void *ctx)
{
    if (!p || p->nthreads <= 1) {
        fn(ctx, 0, 0, 1);
        return;
    }
    run_job(p, fn, ctx, p->nthreads, 1);
}

void mm_pool_submit(mm_pool *p, mm_pool_task_fn fn, void *ctx)
{
    if (!p) {
        fn(ctx, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->queue_len == p->queue_cap) {
        size_t cap = p->queue_cap ? 2 * p->queue_cap : 16;
        pool_task *q = xcalloc(cap, sizeof *q);
        for (size_t i = 0; i < p->queue_len; i++) q[i] = p->queue[(p->queue_head + i) % p->queue_cap];
        free(p->queue);
        p->queue = q;
        p->queue_cap = cap;
        p->queue_head = 0;
    }
    p->queue[(p->queue_head + p->queue_len) % p->queue_cap] = (pool_task){fn, ctx};
    p->queue_len++;
    announce(p);
    pthread_mutex_unlock(&p->mu);
}

int mm_pool_help(mm_pool *p)
{
    if (!p) return 0;
    pool_task t;
    pthread_mutex_lock(&p->mu);
    int got = pop_task(p, &t);
    pthread_mutex_unlock(&p->mu);
    if (got) t.fn(t.ctx, 0);
    return got;
}
