/* rank.h — the exact top-k retrieval engine behind mm-rank.
 *
 * Owns: ranking a query matrix held in memory against a gallery streamed from
 * an mmf_reader (file or pipe), the run writers (TREC, TSV, JSON lines) and
 * the merge of partial runs computed against disjoint gallery shards.
 * Files: rank.c the engine (reader, workers, chunks), rank_write.c the run
 * writers, rank_merge.c the merge; rank_out.h (private) the output buffer
 * and line writer the three share.
 *
 * How it works (the shapes are what the memory bound comes from):
 *  - a reader thread pulls gallery records through mmf_next_into() into one
 *    of RANK_BUFFERS blocks of `block` rows (f16 is converted by the reader;
 *    --metric cos normalises each row unless its segment carries the
 *    normalised flag; non-finite values and duplicate ids are checked here).
 *    When the int8 pass is on, or several query chunks will read each block,
 *    it packs the rows 16 at a time (through a small staging area) as the
 *    columns of a dim × block weight (gemm.h's layout), and quantises them
 *    (scan8.h); otherwise blocks stay row-major and the workers pack ~512 KB
 *    of rows at a time just before scoring them;
 *  - the queries are cut into chunks of up to RANK_MAX_CHUNK rows, which the
 *    first worker to reach a chunk normalises, quantises and packs (in place:
 *    the caller's matrix becomes gemm's row tiles). A unit of work is (query
 *    chunk, gallery block): gemm_scan() computes every score of the chunk
 *    against the block and tests each 6 × 16 tile against its queries'
 *    thresholds while it is still in registers, so only scores that can
 *    enter a heap are ever stored or looked at; past the first
 *    RANK_Q8_WARM_ROWS rows of a chunk (once thresholds have settled),
 *    scan8_scan() first computes the tile in int8 and recomputes in float32
 *    only the query rows that could reach their threshold. At most
 *    GEMM_MR queries are scored by plain dot products (gemm_scan_dots) on
 *    the row-major blocks: there reading the gallery is the work.
 *    Any free worker takes the next unit (the chunk furthest behind first)
 *    and offers into its own heaps, so no locks are needed on the hot path
 *    and no worker waits for another's chunk; the workers share their
 *    thresholds (each one's k-th best is a lower bound of the final k-th
 *    best). When every block has been ranked for a chunk, the workers' heaps
 *    of its queries are merged (the top k of a union under a total order is
 *    what one heap would have kept) and, with emit_tag, its run lines are
 *    written. While workers rank block b the reader fills block b+1 and b+2,
 *    so I/O, CRC, f16 conversion, scoring and top-k selection overlap.
 * Memory: queries (nq × dim × 4, packed in place; with int8 another nq × dim)
 *         + RANK_BUFFERS × block × dim × 5 + (threads + 1) × nq × k × 16 (heaps)
 *         + (threads + 1) × nq × 4 (thresholds) + the kept ids
 *         + 16 bytes per gallery id for the duplicate check (see
 *         rank_params.check_duplicates).
 *
 * Ids of kept entries: while a block is being ranked, heap entries point into
 * the block's id arena; when a unit ends, the entries that still point there
 * get their own copy, so a block's buffer can be reused at once. Kept ids are
 * therefore bounded by nq × k, whatever the gallery size.
 *
 * Bit-identical scores across shards: every score is one chain of fused
 * multiply-adds in the order of the dimensions (gemm_scan; scan8_scan only
 * decides which of those are computed), whatever the chunk, the block, the
 * item's place in the stream or the thread count, so a (query, gallery item)
 * score has the same bits in a whole run and in sharded runs. With at most
 * GEMM_MR queries the dot-product kernel sums in another order (the same in
 * every shard of such a run). The portable build (no AVX2) rounds its own
 * way.
 */
#ifndef MM_RANK_H
#define MM_RANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/pool.h"
#include "io/mmf.h"
#include "retrieval/topk.h"

#define RANK_BUFFERS 3
#define RANK_MAX_CHUNK 1020 /* query rows per unit of work, a multiple of SCAN8_MR */
#define RANK_Q8_MIN_QUERIES 24 /* fewer queries: no int8 pre-filter (quantising the gallery would cost more) */
#define RANK_Q8_WARM_ROWS 2048 /* gallery rows of a chunk scored in float32 before the int8 pass */
#define RANK_Q8_MIN_GALLERY 4096 /* a smaller gallery (known from a mapped file's size): no int8 pass */

/* k for "every gallery vector" (mm-rank -k 0): more than any gallery holds;
 * the heaps grow on demand, so it costs only what is found. */
#define RANK_K_ALL ((size_t)1 << 40)

enum rank_metric { RANK_IP = 0, RANK_COS = 1 };
enum rank_format { RANK_TREC = 0, RANK_TSV = 1, RANK_JSONL = 2 };

typedef struct rank_params {
    size_t k;               /* 10: results per query (RANK_K_ALL: every one) */
    int metric;             /* RANK_IP: raw inner product; RANK_COS: L2-normalised */
    bool exclude_self;      /* false: drop gallery items whose id equals the query id */
    bool allow_nonfinite;   /* false: NaN/Inf in a vector is an error naming the id */
    bool check_duplicates;  /* true: detect repeated gallery ids (16 bytes per id) */
    mm_pool *pool;          /* NULL: the threads scoring and selecting (the
                             * program's -t pool: lib/core/pool.h); NULL = a
                             * pool of `threads` made for the call */
    int threads;            /* 1: used when pool is NULL */
    size_t block;           /* 4096: gallery rows per block */
    /* Called by the reader thread after each block with the rows read so far. */
    void (*progress)(uint64_t gallery_rows, void *ctx);
    void *progress_ctx;
    /* emit_tag non-NULL: the workers write each query chunk's run lines (in
     * emit_format, with that tag, as rank_write would) as soon as the chunk
     * is final, in parallel with the ranking of the others, and free its
     * entries; rank_write then only copies the text out. Default NULL. */
    int emit_format;
    const char *emit_tag;
} rank_params;

void rank_params_default(rank_params *p);

typedef struct rank_result {
    topk_set top;               /* per query, in rank order; ids are owned
                                 * (empty for the queries of emitted chunks) */
    size_t chunks, chunk_rows;  /* query chunks: rows [c*chunk_rows, ...) */
    char **chunk_text;          /* per chunk: its run lines (params.emit_tag), or
                                 * NULL where they could not be made (rank_write
                                 * then writes that chunk from top) */
    size_t *chunk_len;
    int emit_format;
    const char *emit_tag;
    uint64_t gallery_count;     /* gallery records read */
    uint64_t duplicate_count;   /* records whose id had been seen before */
    char *first_duplicate;      /* the first such id, or NULL */
} rank_result;

/* Ranks every query (rows of *queries) against the gallery stream. The
 * query matrix's data is used in place: normalised for RANK_COS (unless the
 * query file says it already is) and packed, so that only its ids and row
 * count mean anything afterwards (it may be reallocated: free it with
 * mmf_matrix_free as usual). queries_name and the reader's name appear in
 * messages. Returns 0 or -1 (err filled; *res is then empty). */
int rank_run(mmf_matrix *queries, const char *queries_name, mmf_reader *gallery,
             const rank_params *p, rank_result *res, mm_error *err);

/* The same, with the queries loaded by load(ctx, queries, err) (0 or -1)
 * from inside: when the gallery is a mapped file, its header is read
 * first, and a large one is mapped and checksummed ahead meanwhile (a
 * gallery pipe is only read once the queries are in). Errors keep their order: the loader's and the queries' first,
 * then the gallery's. *queries is the caller's (rank_write needs its ids):
 * zeroed first, so mmf_matrix_free() on it is right whatever happened. */
typedef int (*rank_query_loader)(void *ctx, mmf_matrix *queries, mm_error *err);
int rank_run_loading(rank_query_loader load, void *load_ctx, mmf_matrix *queries, const char *queries_name,
                     mmf_reader *gallery, const rank_params *p, rank_result *res, mm_error *err);
void rank_result_free(rank_result *res);

/* Checks that an id can be written in the format: TREC fields cannot hold
 * whitespace, TSV fields cannot hold TAB/CR/LF; JSON escapes everything.
 * `what` is "query id" or "gallery id" for the message. */
int rank_check_id(const char *id, int format, const char *what, mm_error *err);

/* Writes one query's ranking (entries in rank order). The score is printed
 * with %.9g, which round-trips a float32: distinct float scores print as
 * distinct numbers and equal ones identically, so trec_eval's atof order is
 * our order. score_digits 0 = 9; the merge uses the shortest precision that
 * round-trips the double it read. */
int rank_write_query(FILE *fp, const char *qid, const topk_entry *e, size_t n, int format,
                     const char *tag, int score_digits, mm_error *err);

/* Writes the whole result, queries in the order of the query file. Chunks
 * emitted by rank_run (same format and tag) are copied out as they are. */
int rank_write(FILE *fp, const mmf_matrix *queries, const rank_result *res, int format,
               const char *tag, mm_error *err);

/* Merges TREC runs made against disjoint gallery shards: per query the k best
 * (score, docid) pairs of all runs in trec_eval order, queries in order of
 * first appearance (run by run, line by line). tag NULL keeps the tag of the
 * first line read. The scores are re-printed with the shortest precision
 * (at least 9 digits) that reproduces the value read, so mm-rank scores come
 * out byte for byte as they went in. */
int rank_merge(const char *const *paths, size_t npaths, size_t k, FILE *out, int format,
               const char *tag, mm_error *err);

#endif
