/* rank.c — see rank.h. */
#include "retrieval/rank.h"
#include "retrieval/rank_out.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>


#include "core/hash.h"
#include "core/hugealloc.h"
#include "core/vec.h"
#include "core/xalloc.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/scan8.h"

void rank_params_default(rank_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 10;
    p->metric = RANK_IP;
    p->check_duplicates = true;
    p->threads = 1;
    p->block = 4096;
}

/* ---- duplicate gallery ids --------------------------------------------------
 * engine.seen, an mm_hashset (core/hash.h) of the 64-bit hashes of every
 * gallery id: 8 bytes per slot at a load
 * factor of at most 1/2 (so 16-32 bytes per gallery record, about 1% of a
 * 512-d f32 vector). Two different ids with the same 64-bit hash would be
 * reported as a duplicate; with n ids that happens with probability about
 * n^2 / 2^65 (1e-7 for two million ids). Exact detection would need every id
 * in memory; this keeps memory small and independent of id lengths. */

/* ---- the pipeline ------------------------------------------------------------ */
typedef struct gallery_block {
    float *vec;          /* packed_blocks: the block's rows packed as the columns of
                          * a dim × block weight (gemm_pack_transposed), 16 rows
                          * to a panel; otherwise the rows as they are (block × dim),
                          * packed panel by panel by the workers */
    int8_t *vec8;        /* with use_q8: the same rows quantised (scan8_pack_panel) */
    scan8_vec *st8;      /* their scales and norms */
    scan8_limits lim8;   /* the block's largest norms */
    char *arena;         /* ids, NUL-terminated, back to back */
    size_t arena_len, arena_cap;
    size_t *id_off;
    const char **ids;
    uint64_t *id_hash;   /* for the duplicate check */
    size_t rows;
} gallery_block;

typedef struct engine engine;

typedef struct worker {
    engine *E;
    float *thr;   /* per query: the score that can still enter this worker's heap */
    float *panel; /* dim × group_rows: rows packed on the fly (blocks kept row-major) */
    float *work;  /* GEMM_SCAN_WORK_FLOATS for gemm_scan */
    topk_set top; /* this worker's heaps: the best of the units it ranked */
} worker;

struct engine {
    /* fixed for the run */
    bool normalize_queries;   /* --metric cos on queries not known to be unit vectors */
    bool dots;                /* at most GEMM_MR queries: plain dot products on rows as they are */
    float *queries;           /* the caller's matrix, packed in place by
                               * gemm_pack_rows, chunk by chunk (prepare_chunk) */
    uint8_t *queries8;        /* with use_q8: quantised (scan8_pack_rows), chunk by chunk */
    scan8_vec *queries8_st;
    bool use_q8;              /* the int8 pre-filter (scan8.h): the reader quantises blocks */
    bool packed_blocks;       /* the reader packs blocks (else workers pack on the fly) */
    const char *const *qids;
    size_t nq, dim, block, chunk_rows, nchunks;
    size_t group_rows;        /* gallery rows a worker packs at a time (about 512 KB) */
    const rank_params *p;
    mmf_reader *gallery;
    topk_set *top;
    mm_hashset seen;
    uint64_t dup_count;
    char *first_dup;
    uint64_t read_count;

    gallery_block buf[RANK_BUFFERS];
    float *staging;           /* the reader's GEMM_NR rows, before they are packed */
    size_t staging_ld;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t blocks_loaded;   /* block b lives in buf[b % RANK_BUFFERS] */
    uint64_t blocks_released; /* every chunk is past these blocks */
    int reader_state;         /* 0 running, 1 clean end, -1 failed */
    bool stop;
    bool failed;
    mm_error error;           /* the first failure */
    uint64_t *chunk_next;     /* next block of each chunk to hand out */
    unsigned *chunk_active;   /* units of each chunk being ranked */
    bool *chunk_final;        /* merged (and emitted), or being so */
    unsigned char *chunk_state; /* 0 as read, 1 being packed, 2 packed (prepare_chunk) */
    bool *chunk_q8;           /* the chunk's queries could be quantised */
    uint64_t *chunk_seen;     /* gallery rows ranked (or being ranked) for each chunk */
    uint32_t *shared_thr;     /* per query, float bits: the highest of the workers'
                               * thresholds (see raise_shared) */
    size_t block_done[RANK_BUFFERS]; /* chunks done with block b, at b % RANK_BUFFERS */
    worker *W;
    int threads;
    rank_result *res;
};

static void finish_chunk(engine *E, size_t c);

static int emit_chunk(engine *E, size_t c);
static void free_chunk_text(rank_result *res);

/* The queries [*q0, *q1) of chunk c. */
static void chunk_queries(const engine *E, size_t c, size_t *q0, size_t *q1)
{
    *q0 = c * E->chunk_rows;
    *q1 = E->nq - *q0 < E->chunk_rows ? E->nq : *q0 + E->chunk_rows;
}

static bool in_any_arena(const engine *E, const char *id)
{
    for (int i = 0; i < RANK_BUFFERS; i++) {
        const gallery_block *g = &E->buf[i];
        if (g->arena && id >= g->arena && id < g->arena + g->arena_cap) return true;
    }
    return false;
}

/* Records the first failure and makes every thread stop. Caller holds mu. */
static void fail_locked(engine *E, const mm_error *err)
{
    if (!E->failed) {
        E->failed = true;
        E->error = *err;
    }
    E->stop = true;
    pthread_cond_broadcast(&E->cv);
}

/* 1 if all dim values are finite, else 0 with the first bad index in *where
 * (the kernel: a branch-free scan of the exponent bits where it can). */
static int check_finite(const float *v, size_t dim, size_t *where)
{
    size_t i = cpu_kernels()->find_nonfinite(v, dim);
    if (i == dim) return 1;
    *where = i;
    return 0;
}

/* Packs the last `staged` rows of block g, which sit in the staging rows,
 * into their panel. */
static void pack_staged(engine *E, gallery_block *g, size_t staged)
{
    size_t panel = (g->rows - staged) / GEMM_NR;
    gemm_pack_transposed(g->vec + panel * E->dim * GEMM_NR, E->staging, E->staging_ld, (int)staged, (int)E->dim);
    if (E->use_q8)
        scan8_pack_panel(g->vec8, (int)panel, g->st8 + panel * GEMM_NR, &g->lim8, E->staging, E->staging_ld,
                         (int)staged, (int)E->dim);
}

/* Fills one block from the stream: 1 = block ended full (more may follow),
 * 0 = stream ended cleanly, -1 = error. Records are decoded GEMM_NR at a
 * time into the staging rows (which stay in L1), checked there, and packed
 * into the block's panel. */
static int fill_block(engine *E, gallery_block *g, mm_error *err)
{
    const rank_params *p = E->p;
    mmf_record rec;
    g->rows = 0;
    g->arena_len = 0;
    scan8_limits_init(&g->lim8);
    size_t staged = 0;
    int rc = 1;
    while (g->rows < E->block) {
        /* packed blocks go through the staging rows; row-major ones are
         * decoded in place */
        float *row = E->packed_blocks ? E->staging + staged * E->staging_ld : g->vec + g->rows * E->dim;
        rc = mmf_next_into(E->gallery, &rec, row, err);
        if (rc < 0) return -1;
        if (rc == 0) break;
        size_t bad;
        if (!p->allow_nonfinite && !check_finite(row, E->dim, &bad))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: record %" PRIu64 " (id '%s'): non-finite value %g in element %zu "
                           "(--allow-nonfinite ranks it anyway)",
                           mmf_name(E->gallery), rec.index + 1, rec.id, (double)row[bad], bad);
        if (p->metric == RANK_COS && !(mmf_header_of(E->gallery)->flags & MMF_FLAG_NORMALIZED))
            vec_l2_normalize(row, E->dim);
        if (g->arena_len + rec.id_len + 1 > g->arena_cap) {
            size_t cap = g->arena_cap ? g->arena_cap * 2 : 65536;
            while (cap < g->arena_len + rec.id_len + 1) cap *= 2;
            g->arena = xrealloc(g->arena, cap); /* ids of rows read: at most block * MMF_MAX_ID */
            g->arena_cap = cap;
        }
        memcpy(g->arena + g->arena_len, rec.id, rec.id_len + 1);
        g->id_off[g->rows] = g->arena_len;
        g->arena_len += rec.id_len + 1;
        if (p->check_duplicates) g->id_hash[g->rows] = mm_hash_bytes(rec.id, rec.id_len);
        E->read_count++;
        g->rows++;
        if (E->packed_blocks && ++staged == GEMM_NR) {
            pack_staged(E, g, staged);
            staged = 0;
        }
    }
    if (staged) pack_staged(E, g, staged); /* the last panel, zero-padded */
    return rc;
}

/* Adds a filled block's ids to the duplicate check. The table is much larger
 * than the caches, so the slots are prefetched a few ids ahead. */
static void check_duplicates(engine *E, const gallery_block *g)
{
    enum { AHEAD = 8 };
    for (size_t i = 0; i < g->rows; i++) {
        if (i + AHEAD < g->rows && E->seen.slot)
            __builtin_prefetch(&E->seen.slot[g->id_hash[i + AHEAD] & E->seen.mask]);
        bool fresh = mm_hashset_add(&E->seen, g->id_hash[i]);
        if (!fresh && E->dup_count++ == 0) E->first_dup = xstrdup(g->arena + g->id_off[i]);
    }
}

static void *reader_main(void *arg)
{
    engine *E = arg;
    for (uint64_t b = 0;; b++) {
        pthread_mutex_lock(&E->mu);
        while (!E->stop && b >= E->blocks_released + RANK_BUFFERS) pthread_cond_wait(&E->cv, &E->mu);
        bool stop = E->stop;
        pthread_mutex_unlock(&E->mu);
        if (stop) return NULL;

        gallery_block *g = &E->buf[b % RANK_BUFFERS];
        mm_error err = {0};
        int rc = fill_block(E, g, &err);
        if (rc >= 0 && g->rows > 0 && E->p->check_duplicates) check_duplicates(E, g);
        if (rc >= 0 && g->rows > 0)
            for (size_t i = 0; i < g->rows; i++) g->ids[i] = g->arena + g->id_off[i];
        pthread_mutex_lock(&E->mu);
        if (rc < 0) {
            E->reader_state = -1;
            fail_locked(E, &err);
        } else {
            if (g->rows > 0) E->blocks_loaded++;
            if (rc == 0) E->reader_state = 1;
            pthread_cond_broadcast(&E->cv);
        }
        pthread_mutex_unlock(&E->mu);
        if (rc >= 0 && g->rows > 0 && E->p->progress) E->p->progress(E->read_count, E->p->progress_ctx);
        if (rc <= 0) return NULL;
    }
}

/* What gemm_scan's hits need to reach a unit's heaps. */
typedef struct unit {
    engine *E;
    worker *W;
    const gallery_block *g;
    size_t q0;
    int col0; /* gallery row of column 0 (a panel packed on the fly) */
    mm_error *err;
} unit;

/* Every worker's k-th best score of a query is a lower bound of the k-th
 * best of all (the union of the workers' heaps is what is merged), so a
 * worker may skip anything below another worker's threshold too: each
 * publishes its thresholds here and takes the higher one. The workers'
 * thresholds then rise as fast as if one heap saw everything (which is what
 * decides how much the int8 pass saves). Reads and writes are relaxed
 * atomics: a stale value is only lower, never wrong. */
static void raise_shared(engine *E, size_t q, float *thr)
{
    uint32_t bits = __atomic_load_n(&E->shared_thr[q], __ATOMIC_RELAXED), mine;
    memcpy(&mine, thr, sizeof mine);
    for (;;) {
        float shared;
        memcpy(&shared, &bits, sizeof shared);
        if (!(*thr > shared)) {
            *thr = shared;
            return;
        }
        /* an atomic maximum: on failure bits is reloaded and compared again */
        if (__atomic_compare_exchange_n(&E->shared_thr[q], &bits, mine, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
    }
}

/* Offers a score that reached query q0 + row's threshold to the worker's
 * heap (gemm_hit_fn). */
static int offer_hit(void *ctx, int row, int col, float score, float *thr)
{
    unit *u = ctx;
    size_t q = u->q0 + (size_t)row;
    const char *id = u->g->ids[u->col0 + col];
    if (u->E->p->exclude_self && strcmp(id, u->E->qids[q]) == 0) return 0;
    const char *ev;
    int r = topk_offer(&u->W->top, q, score, id, &ev);
    if (ev && !(ev >= u->g->arena && ev < u->g->arena + u->g->arena_cap)) free((void *)ev);
    if (r) {
        *thr = (float)topk_threshold(&u->W->top, q); /* exact: kept scores are floats */
        raise_shared(u->E, q, thr);
    }
    return 0;
}

/* Makes chunk c's queries ready: normalised (cos), packed for gemm and, with
 * use_q8, quantised. Run by the first worker that takes one of the chunk's
 * units, so that this work (and the page faults of the packed copies) is
 * shared by the workers instead of delaying the start. */
static void prepare_chunk(engine *E, worker *W, size_t c)
{
    size_t q0, q1, dim = E->dim;
    chunk_queries(E, c, &q0, &q1);
    float *raw = E->queries + q0 * dim;
    if (E->normalize_queries)
        for (size_t q = q0; q < q1; q++) vec_l2_normalize(E->queries + q * dim, dim);
    if (E->use_q8)
        E->chunk_q8[c] = scan8_pack_rows(E->queries8 + q0 * scan8_row_stride((int)dim), E->queries8_st + q0, raw,
                                         dim, (int)(q1 - q0), (int)dim) == 0;
    /* Packed in place, tile by tile: a tile of GEMM_MR rows takes the same
     * floats packed as row-major (the matrix has room for a whole last
     * tile), so no second copy of the queries is needed (its page faults
     * cost more than the packing). */
    for (size_t t = q0; t < q1 && !E->dots; t += GEMM_MR) {
        size_t rows = q1 - t < GEMM_MR ? q1 - t : GEMM_MR;
        memcpy(W->panel, E->queries + t * dim, rows * dim * sizeof(float));
        gemm_pack_rows(E->queries + t * dim, W->panel, dim, (int)rows, (int)dim);
    }
}

/* Ranks block b for query chunk c: gemm_scan computes every score and hands
 * over only those that reach their query's threshold. */
static int process_unit(worker *W, size_t c, uint64_t b, uint64_t seen, mm_error *err)
{
    engine *E = W->E;
    const gallery_block *g = &E->buf[b % RANK_BUFFERS];
    size_t q0, q1;
    chunk_queries(E, c, &q0, &q1);
    size_t m = q1 - q0;
    unit u = {E, W, g, q0, 0, err};
    const float *Q = E->queries + q0 * E->dim; /* chunk_rows is a multiple of SCAN8_MR: a chunk starts a tile */
    int rc = 0;
    for (size_t i = 0; i < m; i++) raise_shared(E, q0 + i, &W->thr[q0 + i]);
    if (E->dots) {
        /* A handful of queries: reading the gallery is the work, and
         * packing it would cost more than the products. */
        rc = gemm_scan_dots(Q, E->dim, (int)m, g->vec, E->dim, (int)g->rows, (int)E->dim, W->thr + q0, offer_hit, &u);
    } else if (!E->packed_blocks) {
        /* The block's rows are packed group by group into the worker's
         * buffer (which stays in L2) just before they are scored: cheaper
         * than a packed copy of the block written by the reader and read
         * back (a single query against 1M rows is bound by the reader), and
         * the same arithmetic. */
        int dim = (int)E->dim;
        for (size_t r0 = 0; r0 < g->rows && !rc; r0 += E->group_rows) {
            int n = g->rows - r0 < E->group_rows ? (int)(g->rows - r0) : (int)E->group_rows;
            gemm_pack_transposed(W->panel, g->vec + r0 * E->dim, E->dim, n, dim);
            gemm_weight gw = {W->panel, dim, n, 0};
            u.col0 = (int)r0;
            rc = gemm_scan(Q, (int)m, &gw, W->thr + q0, offer_hit, &u, W->work);
        }
    } else {
        /* The int8 pass pays once the thresholds have settled: over the first
         * RANK_Q8_WARM_ROWS gallery rows of a chunk nearly every row would be
         * rescored. The block is cut there (at a panel boundary). */
        size_t split = 0;
        if (E->chunk_q8[c]) {
            split = seen >= RANK_Q8_WARM_ROWS ? 0 : RANK_Q8_WARM_ROWS - seen;
            split = (split + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
        }
        if (!E->chunk_q8[c] || split > g->rows) split = g->rows;
        if (split > 0) {
            gemm_weight gw = {g->vec, (int)E->dim, (int)split, 0};
            rc = gemm_scan(Q, (int)m, &gw, W->thr + q0, offer_hit, &u, W->work);
        }
        if (split < g->rows && !rc) {
            size_t p0 = split / GEMM_NR;
            gemm_weight gw = {g->vec + p0 * E->dim * GEMM_NR, (int)E->dim, (int)(g->rows - split), 0};
            u.col0 = (int)split;
            rc = scan8_scan(Q, E->queries8 + q0 * scan8_row_stride((int)E->dim), E->queries8_st + q0, (int)m, &gw,
                            g->vec8 + p0 * scan8_row_stride((int)E->dim) * GEMM_NR, g->st8 + split, &g->lim8,
                            W->thr + q0, offer_hit, &u, W->work);
        }
    }
    if (rc) return -1;
    /* Entries that still point into this block's arena get their own copy. */
    const char *arena_end = g->arena + g->arena_cap;
    for (size_t i = 0; i < m; i++) {
        topk_heap *h = &W->top.heaps[q0 + i];
        for (size_t e = 0; e < h->count; e++) {
            const char *id = h->e[e].id;
            if (id >= g->arena && id < arena_end) h->e[e].id = xstrdup(id);
        }
    }
    return 0;
}

/* Units (query chunk, gallery block) go to whichever worker is free: each
 * worker keeps its own heaps, so several workers can rank blocks of the same
 * chunk at once and no worker waits for another's chunk (a chunk per worker
 * stalled the faster one behind the slower, e.g. the one sharing its core
 * with the reader). When every block of a chunk is ranked, the workers'
 * heaps of its queries are merged into the result (finish_chunk): the top k
 * of a union under a total order does not depend on who ranked what. */
static void *worker_main(void *arg)
{
    worker *W = arg;
    engine *E = W->E;
    pthread_mutex_lock(&E->mu);
    for (;;) {
        if (E->stop) break;
        /* The chunk furthest behind goes first, so that buffers free up. */
        size_t pick = SIZE_MAX;
        uint64_t pick_block = UINT64_MAX;
        for (size_t c = 0; c < E->nchunks; c++)
            if (E->chunk_next[c] < E->blocks_loaded && E->chunk_next[c] < pick_block && E->chunk_state[c] != 1) {
                pick = c;
                pick_block = E->chunk_next[c];
            }
        if (pick != SIZE_MAX) {
            E->chunk_next[pick]++;
            E->chunk_active[pick]++;
            uint64_t seen = E->chunk_seen[pick];
            E->chunk_seen[pick] += E->buf[pick_block % RANK_BUFFERS].rows;
            if (E->chunk_state[pick] == 0) { /* first unit of the chunk: its queries are packed first */
                E->chunk_state[pick] = 1;
                pthread_mutex_unlock(&E->mu);
                prepare_chunk(E, W, pick);
                pthread_mutex_lock(&E->mu);
                E->chunk_state[pick] = 2;
                pthread_cond_broadcast(&E->cv);
            }
            pthread_mutex_unlock(&E->mu);
            mm_error err = {0};
            int rc = process_unit(W, pick, pick_block, seen, &err);
            pthread_mutex_lock(&E->mu);
            E->chunk_active[pick]--;
            if (rc < 0) fail_locked(E, &err);
            /* a block is free for the reader once every chunk has ranked it */
            if (++E->block_done[pick_block % RANK_BUFFERS] == E->nchunks) {
                while (E->blocks_released < E->blocks_loaded &&
                       E->block_done[E->blocks_released % RANK_BUFFERS] == E->nchunks) {
                    E->block_done[E->blocks_released % RANK_BUFFERS] = 0;
                    E->blocks_released++;
                }
            }
            pthread_cond_broadcast(&E->cv);
            continue;
        }
        if (E->reader_state == 1) {
            /* Nothing left to rank: finish a chunk all of whose units are done. */
            bool all_final = true;
            size_t fin = SIZE_MAX;
            for (size_t c = 0; c < E->nchunks; c++) {
                if (!E->chunk_final[c]) all_final = false;
                if (!E->chunk_final[c] && !E->chunk_active[c] && E->chunk_next[c] == E->blocks_loaded) {
                    fin = c;
                    break;
                }
            }
            if (all_final) break;
            if (fin != SIZE_MAX) {
                E->chunk_final[fin] = true;
                pthread_mutex_unlock(&E->mu);
                finish_chunk(E, fin);
                pthread_mutex_lock(&E->mu);
                pthread_cond_broadcast(&E->cv);
                continue;
            }
        }
        pthread_cond_wait(&E->cv, &E->mu);
    }
    pthread_cond_broadcast(&E->cv);
    pthread_mutex_unlock(&E->mu);
    return NULL;
}

static void free_owned_ids(engine *E, topk_set *T)
{
    for (size_t q = 0; q < T->queries; q++)
        for (size_t e = 0; e < T->heaps[q].count; e++)
            if (!in_any_arena(E, T->heaps[q].e[e].id)) free((void *)T->heaps[q].e[e].id);
}

/* Gallery blocks are megabytes: on huge pages (core/hugealloc.h), so that
 * packing and scoring them do not miss the TLB on every few rows. NULL when
 * out of memory: a block's size comes from -b and the gallery's dimension,
 * so that is the input's doing (MM_ERR_NOMEM); internal users call
 * aligned_floats_x, which dies as xmalloc does. */
static void *aligned_floats(size_t n)
{
    return mm_huge_alloc(n > 0 ? n * sizeof(float) : 64);
}

static void *aligned_floats_x(size_t n)
{
    void *p = aligned_floats(n);
    if (!p) xalloc_die(n * sizeof(float));
    return p;
}

/* Stops the reader thread and waits for it. */
/* Thread t of the pool runs worker t. */
static void worker_team(void *ctx, int thread, int begin, int end)
{
    (void)begin;
    (void)end;
    engine *E = ctx;
    worker_main(&E->W[thread]);
}

static void stop_reader(engine *E, pthread_t reader)
{
    pthread_mutex_lock(&E->mu);
    E->stop = true;
    pthread_cond_broadcast(&E->cv);
    pthread_mutex_unlock(&E->mu);
    pthread_join(reader, NULL);
}

/* Checks the loaded queries (as rank_run always has). */
static int check_queries(const mmf_matrix *queries, const char *queries_name, const rank_params *p,
                         mm_error *err)
{
    if (queries->rows == 0) return mm_fail(err, MM_ERR_MALFORMED, "%s: no query vectors", queries_name);
    size_t dim = queries->dim;
    for (size_t i = 0; i < queries->rows; i++) {
        size_t bad;
        if (!p->allow_nonfinite && !check_finite(queries->data + i * dim, dim, &bad))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: record %zu (id '%s'): non-finite value %g in element %zu "
                           "(--allow-nonfinite ranks it anyway)",
                           queries_name, i + 1, queries->ids[i], (double)queries->data[i * dim + bad], bad);
    }
    return 0;
}

int rank_run(mmf_matrix *queries, const char *queries_name, mmf_reader *gallery,
             const rank_params *p, rank_result *res, mm_error *err)
{
    return rank_run_loading(NULL, NULL, queries, queries_name, gallery, p, res, err);
}

/* The gallery blocks and the reader's staging rows: sized by --block and the
 * gallery's dimension, so running out is the input's to report (false). */
static bool engine_alloc_blocks(engine *E)
{
    size_t dim = E->dim, block = E->block;
    E->staging_ld = (dim + 15) / 16 * 16 + 16; /* rows 64 bytes off a multiple of 4 KiB: no L1 set aliasing */
    if (!(E->staging = aligned_floats(GEMM_NR * E->staging_ld))) return false;
    for (int i = 0; i < RANK_BUFFERS; i++) {
        gallery_block *g = &E->buf[i];
        if (!(g->vec = aligned_floats(gemm_packed_count((int)dim, (int)block)))) return false;
        if (scan8_available()) { /* used if the queries allow it (use_q8) */
            g->vec8 = aligned_floats(scan8_panels_bytes((int)block, (int)dim) / sizeof(float) + 1);
            g->st8 = malloc((size_t)gemm_panels((int)block) * GEMM_NR * sizeof *g->st8);
            if (!g->vec8 || !g->st8) return false;
        }
        g->id_off = malloc(block * sizeof *g->id_off);
        g->ids = malloc(block * sizeof *g->ids);
        g->id_hash = malloc(block * sizeof *g->id_hash);
        if (!g->id_off || !g->ids || !g->id_hash) return false;
    }
    return true;
}

/* How the queries are scored: the int8 pre-filter or not, dot products for a
 * handful of queries, who packs the blocks, the chunking. Packs nothing yet. */
static void engine_plan(engine *E, mmf_matrix *queries, const rank_params *p)
{
    size_t dim = E->dim;
    /* Room for a whole last tile: the queries are packed in place. */
    size_t tiles_rows = (queries->rows + SCAN8_MR - 1) / SCAN8_MR * SCAN8_MR;
    queries->data = xrealloc(queries->data, tiles_rows * dim * sizeof(float));
    /* The int8 pre-filter pays for quantising the gallery only with enough
     * queries (a chunk whose queries it cannot bound, non-finite or huge,
     * is scored without it). */
    /* ... and with enough gallery: a mapped gallery holds at most
     * size / (dim * element + 6) records; below RANK_Q8_MIN_GALLERY the
     * thresholds never settle enough for it to pay. */
    uint64_t gsize = mmf_mapped_size(E->gallery);
    size_t esize = mmf_dtype_size(mmf_header_of(E->gallery)->dtype);
    bool big_gallery = gsize == 0 || gsize / (dim * esize + 6) >= RANK_Q8_MIN_GALLERY;
    if (scan8_available() && E->buf[0].vec8 && queries->rows >= RANK_Q8_MIN_QUERIES && big_gallery) {
        E->queries8 = aligned_floats_x(scan8_rows_bytes((int)queries->rows, (int)dim) / sizeof(float) + 1);
        E->queries8_st = xmalloc(queries->rows * sizeof *E->queries8_st);
        E->use_q8 = true;
    }
    E->dots = !E->use_q8 && queries->rows <= GEMM_MR;
    /* The reader packs the blocks when the int8 pass needs them packed or
     * when several query chunks will read them (packed once, not once per
     * chunk); for one chunk the workers pack as they go, in parallel. */
    E->packed_blocks = E->use_q8 || (!E->dots && queries->rows > RANK_MAX_CHUNK);

    E->normalize_queries = p->metric == RANK_COS && !queries->all_normalized;
    E->queries = queries->data;
    E->qids = (const char *const *)queries->ids;
    E->nq = queries->rows;
    /* RANK_MAX_CHUNK rows to a chunk (the last one what is left), a
     * multiple of GEMM_MR so that every chunk starts a tile of the packed
     * queries. Workers share chunks, so fewer chunks than workers is no
     * loss. A score does not depend on the chunking (gemm_scan). */
    size_t cr = E->nq < RANK_MAX_CHUNK ? E->nq : RANK_MAX_CHUNK;
    E->chunk_rows = cr;
    E->nchunks = (E->nq + cr - 1) / cr;
    E->group_rows = ((size_t)(512 << 10) / (dim * sizeof(float)) / GEMM_NR) * GEMM_NR;
    if (E->group_rows < GEMM_NR) E->group_rows = GEMM_NR;
}

/* Per-chunk state, the shared thresholds and one worker per thread: sized by
 * the queries in memory and the thread count, so through xalloc. */
static void engine_alloc_workers(engine *E, int threads, rank_result *res)
{
    const rank_params *p = E->p;
    E->W = xcalloc((size_t)threads, sizeof *E->W);
    E->threads = threads;
    E->chunk_next = xcalloc(E->nchunks, sizeof *E->chunk_next);
    E->chunk_active = xcalloc(E->nchunks, sizeof *E->chunk_active);
    E->chunk_final = xcalloc(E->nchunks, sizeof *E->chunk_final);
    E->chunk_state = xcalloc(E->nchunks, sizeof *E->chunk_state);
    E->chunk_q8 = xcalloc(E->nchunks, sizeof *E->chunk_q8);
    E->chunk_seen = xcalloc(E->nchunks, sizeof *E->chunk_seen);
    E->shared_thr = xmalloc(E->nq * sizeof *E->shared_thr);
    const float minus_inf = -INFINITY;
    uint32_t minus_inf_bits;
    memcpy(&minus_inf_bits, &minus_inf, sizeof minus_inf_bits);
    for (size_t q = 0; q < E->nq; q++) E->shared_thr[q] = minus_inf_bits;
    res->chunks = E->nchunks;
    res->chunk_rows = E->chunk_rows;
    if (p->emit_tag) {
        res->chunk_text = xcalloc(E->nchunks, sizeof *res->chunk_text);
        res->chunk_len = xcalloc(E->nchunks, sizeof *res->chunk_len);
        res->emit_format = p->emit_format;
        res->emit_tag = p->emit_tag;
    }
    /* k >= 1 was checked first: topk_set_init cannot fail here */
    mm_error unused;
    for (int i = 0; i < threads; i++) {
        worker *w = &E->W[i];
        w->E = E;
        w->thr = xmalloc(E->nq * sizeof *w->thr);
        w->panel = aligned_floats_x(gemm_packed_count((int)E->dim, (int)E->group_rows));
        w->work = aligned_floats_x(SCAN8_WORK_FLOATS); /* enough for gemm_scan too (scan8.h) */
        topk_set_init(&w->top, E->nq, p->k, &unused);
        for (size_t q = 0; q < E->nq; q++) w->thr[q] = -INFINITY;
    }
    topk_set_init(&res->top, E->nq, p->k, &unused);
}

static void engine_free(engine *E)
{
    pthread_cond_destroy(&E->cv);
    pthread_mutex_destroy(&E->mu);
    for (int i = 0; i < RANK_BUFFERS; i++) {
        free(E->buf[i].vec);
        free(E->buf[i].vec8);
        free(E->buf[i].st8);
        free(E->buf[i].arena);
        free(E->buf[i].id_off);
        free(E->buf[i].ids);
        free(E->buf[i].id_hash);
    }
    for (int i = 0; E->W && i < E->threads; i++) {
        free(E->W[i].thr);
        free(E->W[i].panel);
        free(E->W[i].work);
        topk_set_free(&E->W[i].top);
    }
    free(E->W);
    free(E->chunk_next);
    free(E->chunk_active);
    free(E->chunk_final);
    free(E->chunk_state);
    free(E->chunk_q8);
    free(E->chunk_seen);
    free(E->shared_thr);
    mm_hashset_free(&E->seen);
    free(E->first_dup);
    free(E->staging);
    free(E->queries8);
    free(E->queries8_st);
}

/* The checks of the queries against the gallery, after both are open. */
static int engine_check(const engine *E, int hp, const mm_error *gerr, bool block_ok,
                        const mmf_matrix *queries, const char *queries_name, mm_error *err)
{
    const char *gname = mmf_name(E->gallery);
    /* query problems first, then the gallery's (the order they always had) */
    if (hp < 0) {
        *err = *gerr;
        return -1;
    }
    if (hp == 0) return mm_fail(err, MM_ERR_MALFORMED, "%s: empty gallery (no MMF header)", gname);
    if (queries->dim != E->dim)
        return mm_fail(err, MM_ERR_MISMATCH, "%s: dimension %zu does not match the queries' %" PRIu32 " (%s)",
                       gname, E->dim, queries->dim, queries_name);
    if (!block_ok)
        return mm_fail(err, MM_ERR_LIMIT,
                       "%s: a block of %zu rows of dimension %zu exceeds the limit of 1 GiB (at most %zu rows)",
                       gname, E->block, E->dim, ((size_t)1 << 28) / E->dim);
    if (queries->rows > (size_t)INT_MAX - SCAN8_MR)
        return mm_fail(err, MM_ERR_LIMIT, "%s: %zu queries are more than one run can hold", queries_name,
                       queries->rows);
    return 0;
}

int rank_run_loading(rank_query_loader load, void *load_ctx, mmf_matrix *queries, const char *queries_name,
                     mmf_reader *gallery, const rank_params *p, rank_result *res, mm_error *err)
{
    memset(res, 0, sizeof *res);
    if (load) memset(queries, 0, sizeof *queries);
    if (p->k == 0) return mm_fail(err, MM_ERR_LIMIT, "k must be at least 1");
    /* With a loader and a mapped gallery, the gallery's header is read and
     * its blocks allocated before the queries load, while mmf's helper maps
     * and checksums a large file ahead (a pipe is not read before the
     * queries are in: a failing query file must not wait on a producer).
     * The reader thread starts once the queries are in: how it stores
     * blocks depends on them (use_q8, packed_blocks). */
    bool early = load && mmf_is_mapped(gallery);
    if (load && !early && load(load_ctx, queries, err)) return -1;
    if (!early && check_queries(queries, queries_name, p, err)) return -1;

    mm_error gerr = {0};
    int hp = mmf_peek_header(gallery, &gerr);
    size_t gdim = hp > 0 ? mmf_header_of(gallery)->dim : 0;
    size_t block = p->block ? p->block : 4096;
    bool block_ok = hp > 0 && block <= ((size_t)1 << 28) / gdim; /* a block stays below 1 GiB */

    engine E;
    memset(&E, 0, sizeof E);
    E.dim = gdim;
    E.block = block;
    E.p = p;
    E.gallery = gallery;
    E.top = &res->top;
    E.res = res;
    pthread_mutex_init(&E.mu, NULL);
    pthread_cond_init(&E.cv, NULL);
    int rc = -1;
    mm_pool *own_pool = NULL;

    if (block_ok && !engine_alloc_blocks(&E)) {
        mm_fail(err, MM_ERR_NOMEM, "%s: out of memory for %d gallery blocks of %zu rows of dimension %zu (--block)",
                mmf_name(gallery), RANK_BUFFERS, block, gdim);
        goto out;
    }
    if (early && (load(load_ctx, queries, err) || check_queries(queries, queries_name, p, err))) goto out;
    if (engine_check(&E, hp, &gerr, block_ok, queries, queries_name, err)) goto out;
    engine_plan(&E, queries, p);

    /* The scoring workers are a team on the program's pool (each one the
     * loop in worker_main); the reader is a thread of its own, because it
     * blocks on input and the workers wait for its blocks. */
    mm_pool *pool = p->pool;
    if (!pool && p->threads > 1) pool = own_pool = mm_pool_create(p->threads);
    engine_alloc_workers(&E, mm_pool_threads(pool), res);

    /* The reader starts only now, when how it stores blocks is known. */
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, &E) == 0) {
        mm_pool_team(pool, worker_team, &E);
        stop_reader(&E, reader);
    } else {
        mm_fail(&E.error, MM_ERR_IO, "cannot start the reader thread");
        E.failed = true;
    }

    if (E.failed) {
        *err = E.error;
        free_owned_ids(&E, &res->top);
        for (int i = 0; i < E.threads; i++) free_owned_ids(&E, &E.W[i].top);
        topk_set_free(&res->top);
        goto out;
    }
    if (E.read_count == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: no gallery vectors", mmf_name(gallery));
        topk_set_free(&res->top);
        goto out;
    }
    topk_finish_all(&res->top);
    res->gallery_count = E.read_count;
    res->duplicate_count = E.dup_count;
    res->first_duplicate = E.first_dup;
    E.first_dup = NULL;
    rc = 0;
out:
    engine_free(&E);
    mm_pool_free(own_pool);
    if (rc) {
        free_chunk_text(res);
        memset(res, 0, sizeof *res);
    }
    return rc;
}

void rank_result_free(rank_result *res)
{
    free_chunk_text(res);
    topk_set *T = &res->top;
    if (T->heaps)
        for (size_t q = 0; q < T->queries; q++)
            for (size_t e = 0; e < T->heaps[q].count; e++) free((void *)T->heaps[q].e[e].id);
    topk_set_free(T);
    free(res->first_duplicate);
    memset(res, 0, sizeof *res);
}

/* Run by the worker that claimed chunk c once every block has been ranked
 * for it: sorts its queries' entries, writes their lines into memory and
 * frees the entries. On any failure (an id the format cannot carry, out of
 * memory) the chunk is left as it was, for rank_write to report. */
static int emit_chunk(engine *E, size_t c)
{
    rank_result *res = E->res;
    topk_set *T = &res->top;
    size_t q0, q1;
    chunk_queries(E, c, &q0, &q1);
    for (size_t q = q0; q < q1; q++) topk_finish(T, q);
    outbuf o;
    ob_init(&o, NULL, 64 * (q1 - q0) * (E->p->k < 64 ? E->p->k : 64) + 256);
    mm_error err;
    for (size_t q = q0; q < q1; q++)
        if (write_query(&o, E->qids[q], T->heaps[q].e, T->heaps[q].count, res->emit_format, res->emit_tag,
                        9, &err)) {
            free(o.p);
            return -1;
        }
    for (size_t q = q0; q < q1; q++) {
        for (size_t e = 0; e < T->heaps[q].count; e++) free((void *)T->heaps[q].e[e].id);
        T->heaps[q].count = 0;
    }
    res->chunk_text[c] = o.p;
    res->chunk_len[c] = o.len;
    return 0;
}

/* Merges the workers' heaps of chunk c's queries into the result (their
 * kept ids move over or are freed) and, if asked for, writes the chunk. */
static void finish_chunk(engine *E, size_t c)
{
    topk_set *T = &E->res->top;
    size_t q0, q1;
    chunk_queries(E, c, &q0, &q1);
    for (size_t q = q0; q < q1; q++)
        for (int w = 0; w < E->threads; w++) {
            topk_heap *h = &E->W[w].top.heaps[q];
            for (size_t e = 0; e < h->count; e++) {
                const char *ev = NULL;
                int r = topk_offer(T, q, h->e[e].score, h->e[e].id, &ev);
                if (r == 0) free((void *)h->e[e].id); /* not kept (also NaN: never ranked) */
                free((void *)ev);
            }
            h->count = 0;
        }
    if (E->res->chunk_text) emit_chunk(E, c);
}

static void free_chunk_text(rank_result *res)
{
    if (res->chunk_text)
        for (size_t c = 0; c < res->chunks; c++) free(res->chunk_text[c]);
    free(res->chunk_text);
    free(res->chunk_len);
    res->chunk_text = NULL;
    res->chunk_len = NULL;
}
