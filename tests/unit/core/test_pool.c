/* test_pool.c — the program's thread pool (lib/core/pool.c): fork-join jobs
 * cover their range once, in the documented parts, whoever runs them; team
 * jobs run every thread at once; tasks all run, also interleaved with jobs
 * and on a one-thread pool through mm_pool_help; an idle pool sleeps. */
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "test.h"

typedef struct cover_job {
    atomic_int *hits;   /* [n] */
    atomic_int calls;
    atomic_int bad_thread;
    int threads, n;
    int begins[64], ends[64]; /* the parts seen, by begin order */
} cover_job;

static void cover(void *ctx, int thread, int begin, int end)
{
    cover_job *j = ctx;
    if (thread < 0 || thread >= j->threads) atomic_fetch_add(&j->bad_thread, 1);
    for (int i = begin; i < end; i++) atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_add(&j->calls, 1);
}

static void test_for_covers_once(void)
{
    static const int sizes[] = {0, 1, 2, 3, 7, 100, 1001};
    for (int threads = 1; threads <= 4; threads++) {
        mm_pool *p = mm_pool_create(threads);
        CHECK_EQ_INT(mm_pool_threads(p), threads);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int n = sizes[s];
            for (int rep = 0; rep < 50; rep++) {
                cover_job j = {.threads = threads, .n = n};
                j.hits = calloc((size_t)n + 1, sizeof *j.hits);
                mm_pool_for(p, cover, &j, n, 1e9, 0);
                int bad = 0;
                for (int i = 0; i < n; i++) bad += atomic_load(&j.hits[i]) != 1;
                CHECK_MSG(bad == 0, "%d threads, n %d: %d indices not run exactly once", threads, n, bad);
                CHECK_EQ_INT(atomic_load(&j.bad_thread), 0);
                /* one call per non-empty part; one in all for small n */
                int parts = n < 2 || threads == 1 ? (n > 0) : 0;
                if (n >= 2 && threads > 1)
                    for (int t = 0; t < threads; t++) parts += (long long)n * (t + 1) / threads > (long long)n * t / threads;
                CHECK_EQ_INT(atomic_load(&j.calls), parts);
                free(j.hits);
            }
        }
        /* below min_work: one call on the owner */
        cover_job j = {.threads = threads, .n = 10};
        j.hits = calloc(10, sizeof *j.hits);
        mm_pool_for(p, cover, &j, 10, 5, 10);
        CHECK_EQ_INT(atomic_load(&j.calls), 1);
        free(j.hits);
        mm_pool_free(p);
    }
    /* a NULL pool is one thread */
    cover_job j = {.threads = 1, .n = 5};
    j.hits = calloc(5, sizeof *j.hits);
    mm_pool_for(NULL, cover, &j, 5, 1e9, 0);
    CHECK_EQ_INT(atomic_load(&j.calls), 1);
    CHECK_EQ_INT(mm_pool_threads(NULL), 1);
    free(j.hits);
}

/* Every member of a team waits for all the others: this returns only if
 * the whole team runs at once, each thread index exactly once. */
typedef struct team_job {
    atomic_int arrived;
    atomic_int seen[16];
    int threads;
} team_job;

static void team_member(void *ctx, int thread, int begin, int end)
{
    team_job *j = ctx;
    if (begin != thread || end != thread + 1) atomic_fetch_add(&j->seen[15], 100);
    atomic_fetch_add(&j->seen[thread], 1);
    atomic_fetch_add(&j->arrived, 1);
    while (atomic_load(&j->arrived) < j->threads) sched_yield();
}

static void test_team_runs_together(void)
{
    for (int threads = 1; threads <= 4; threads++) {
        mm_pool *p = mm_pool_create(threads);
        for (int rep = 0; rep < 20; rep++) {
            team_job j = {.threads = threads};
            mm_pool_team(p, team_member, &j);
            int bad = 0;
            for (int t = 0; t < threads; t++) bad += atomic_load(&j.seen[t]) != 1;
            CHECK_MSG(bad == 0 && atomic_load(&j.seen[15]) == 0, "%d threads: team members ran wrongly", threads);
        }
        mm_pool_free(p);
    }
}

typedef struct task_count {
    atomic_int done;
    atomic_int bad_thread;
    int threads;
} task_count;

static void count_task(void *ctx, int thread)
{
    task_count *c = ctx;
    if (thread < 0 || thread >= c->threads) atomic_fetch_add(&c->bad_thread, 1);
    atomic_fetch_add(&c->done, 1);
}

static void test_tasks(void)
{
    for (int threads = 1; threads <= 3; threads++) {
        mm_pool *p = mm_pool_create(threads);
        task_count c = {.threads = threads};
        for (int i = 0; i < 1000; i++) {
            mm_pool_submit(p, count_task, &c);
            if (i % 100 == 0) { /* jobs in between take precedence and still finish */
                cover_job j = {.threads = threads, .n = 64};
                j.hits = calloc(64, sizeof *j.hits);
                mm_pool_for(p, cover, &j, 64, 1e9, 0);
                int bad = 0;
                for (int k = 0; k < 64; k++) bad += atomic_load(&j.hits[k]) != 1;
                CHECK_EQ_INT(bad, 0);
                free(j.hits);
            }
        }
        if (threads == 1) {
            /* no workers: nothing runs until the owner helps */
            CHECK_EQ_INT(atomic_load(&c.done), 0);
            CHECK_EQ_INT(mm_pool_help(p), 1);
            CHECK_EQ_INT(atomic_load(&c.done), 1);
        }
        while (mm_pool_help(p)) {
        }
        mm_pool_free(p); /* waits for tasks under way */
        CHECK_EQ_INT(atomic_load(&c.done), 1000);
        CHECK_EQ_INT(atomic_load(&c.bad_thread), 0);
    }
    task_count c = {.threads = 1};
    mm_pool_submit(NULL, count_task, &c); /* NULL pool: runs at once */
    CHECK_EQ_INT(atomic_load(&c.done), 1);
    CHECK_EQ_INT(mm_pool_help(NULL), 0);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Idle workers sleep: 0.2 s of an idle 4-thread pool costs (far) less
 * than 0.2 s of CPU. */
static void test_idle_sleeps(void)
{
    mm_pool *p = mm_pool_create(4);
    task_count c = {.threads = 4};
    mm_pool_submit(p, count_task, &c);
    usleep(20000);
    double t0 = cpu_seconds();
    usleep(200000);
    double used = cpu_seconds() - t0;
    CHECK_MSG(used < 0.05, "an idle pool used %.3f s of CPU in 0.2 s", used);
    mm_pool_free(p);
    CHECK_EQ_INT(atomic_load(&c.done), 1);
}

int main(void)
{
    RUN(test_for_covers_once);
    RUN(test_team_runs_together);
    RUN(test_tasks);
    RUN(test_idle_sleeps);
    return test_summary();
}
