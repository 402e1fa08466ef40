/* pool.h — the one set of worker threads a program computes on.
 *
 * Owns: the threads behind `-t N` (N threads doing work: the caller, called
 * the owner, plus N-1 workers), fork-join jobs over an index range, and a
 * queue of background tasks. Every program makes one pool from its -t and
 * hands it to whatever computes: the CLIP engine (its GEMMs, attention,
 * layer norms), image decoding (lib/image/image_pool: one task per image)
 * and mm-rank's scoring workers. Decoding and the model therefore share the
 * same N threads instead of each starting N of their own.
 *
 * Work order. A worker takes, in this order: a part of the owner's current
 * fork-join job, then the oldest queued task, else it waits. The owner takes
 * parts of its own job until none are left, then waits for the parts others
 * took. So a worker busy decoding an image joins the model's next product
 * when it is done, and the owner does not wait for it meanwhile: it runs the
 * unclaimed parts itself.
 *
 * Reproducibility. A job over [0, n) is cut into mm_pool_threads() equal
 * contiguous parts, whoever runs them; the `thread` argument (0 = owner,
 * 1..N-1 = workers) only selects per-thread scratch. Code whose result does
 * not depend on how [0, n) is cut (the engine's, by construction) therefore
 * gives the same bits for any thread count and any interleaving.
 *
 * Waiting. A worker with nothing to do spins for a few tens of microseconds
 * (a forward pass hands out ~8 jobs per layer, each usually that close
 * behind the last; a futex wake-up would cost as much as a small job), then
 * sleeps on a condition variable. An idle pool uses no CPU.
 *
 * Threading rules: mm_pool_for, mm_pool_team, mm_pool_submit and
 * mm_pool_help are called by the owner only (the thread that created the
 * pool), never from inside a part or a task. A NULL pool is a pool of one
 * thread: everything runs on the caller.
 */
#ifndef MM_POOL_H
#define MM_POOL_H

typedef struct mm_pool mm_pool;

/* A part of a fork-join job: indices [begin, end) of [0, n). */
typedef void (*mm_pool_range_fn)(void *ctx, int thread, int begin, int end);
/* A background task. */
typedef void (*mm_pool_task_fn)(void *ctx, int thread);

/* A pool of `threads` threads in all (the caller included; < 1 means 1).
 * Threads the system refuses to start are done without (the pool is then
 * smaller: mm_pool_threads says how large). */
mm_pool *mm_pool_create(int threads);
/* Runs the tasks still queued, then stops and joins the workers. */
void mm_pool_free(mm_pool *pool);
/* Threads of the pool, the owner included (1 for NULL). */
int mm_pool_threads(const mm_pool *pool);

/* Runs fn over [0, n), cut into mm_pool_threads() parts, and returns when
 * every part is done. When `work` (in any unit) is below `min_work`, or
 * n < 2, fn runs once over [0, n) on the owner: starting threads would cost
 * more than it saves. */
void mm_pool_for(mm_pool *pool, mm_pool_range_fn fn, void *ctx, int n, double work, double min_work);

/* Runs fn(ctx, t, t, t + 1) once for every thread t of the pool, all at
 * once (for loops that hand work out among themselves, as mm-rank's scoring
 * workers do), and returns when all have returned. */
void mm_pool_team(mm_pool *pool, mm_pool_range_fn fn, void *ctx);

/* Queues fn(ctx, thread) for the next free thread. With a pool of one
 * thread it runs when the owner calls mm_pool_help (or mm_pool_free). */
void mm_pool_submit(mm_pool *pool, mm_pool_task_fn fn, void *ctx);
/* The owner runs the oldest queued task, if there is one: 1 if it ran one,
 * 0 if the queue was empty. For an owner that would otherwise wait for a
 * task's result (image_pool_next). */
int mm_pool_help(mm_pool *pool);

#endif
