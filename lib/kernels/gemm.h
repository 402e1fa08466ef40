/* gemm.h — y = x·W (+ b) for a weight matrix W packed once, at load.
 *
 * Owns the packed weight layout, the packing, and the blocked SGEMM kernel
 * the CLIP engine runs its linear layers on. A model's weights never change,
 * so rearranging them once into the order the kernel reads them saves the
 * per-call packing a general BLAS must do (a fifth of the time at batch 1).
 *
 * Layout: W is K x N (K inputs, N outputs). Its columns are cut into panels
 * of GEMM_NR; panel p holds, for k = 0..K-1, the GEMM_NR values
 * W[k][p*GEMM_NR .. p*GEMM_NR+GEMM_NR-1] one after the other; the last panel
 * is padded with zeros. So gemm_packed_count(K, N) = K * round_up(N, NR).
 *
 * x and y are row-major with leading dimensions ldx, ldy (in floats). The
 * work is split by panels: gemm_run(..., p0, p1) computes the output columns
 * of panels [p0, p1) only, so threads can share one product by taking
 * disjoint panel ranges (see gemm_panels).
 */
#ifndef MM_GEMM_H
#define MM_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define GEMM_NR 16
#define GEMM_MR 6 /* rows of x per register tile */

/* Number of panels of an N-column weight. */
static inline int gemm_panels(int N) { return (N + GEMM_NR - 1) / GEMM_NR; }

/* Values (floats or halves) a packed K x N weight takes. */
static inline size_t gemm_packed_count(int K, int N) { return (size_t)K * (size_t)gemm_panels(N) * GEMM_NR; }

/* Position of W[k][n] in the packed array of a weight with K rows. */
static inline size_t gemm_packed_index(int K, int k, int n)
{
    return ((size_t)(n / GEMM_NR) * (size_t)K + (size_t)k) * GEMM_NR + (size_t)(n % GEMM_NR);
}

/* A packed K x N weight. Its values are float32, or IEEE half (f16 != 0),
 * widened to float32 inside the kernel as they are loaded: exact, so the
 * results are the same bit for bit as with the weight widened beforehand,
 * and half the bytes to read, which is what bounds a small batch. data is
 * 32-byte aligned. */
typedef struct gemm_weight {
    const void *data;
    int K, N;
    int f16; /* 1: IEEE halves; GEMM_BF16: gemm_pack_bf16's layout (gemm_run only) */
} gemm_weight;

#define GEMM_BF16 2

/* bfloat16 weights: the opt-in reduced precision (mm-embed-* --precision
 * bf16) for CPUs with AVX512_BF16. Layout: panel p holds, for each pair of
 * rows k = 2j, 2j+1 (the last pair padded with a zero row), the GEMM_NR
 * columns' two values side by side (column c's W[2j][c], W[2j+1][c] at
 * 2c, 2c+1: 32 bf16 = one zmm, what vdpbf16ps multiplies against a pair of
 * x's values). gemm_run with such a weight rounds x to bf16 too (nearest
 * even) and accumulates the products in float32: about 3 significant
 * digits per product, sums in float32. Same bits for any thread count and
 * batch composition (each output's sum runs over k in one fixed order). */
int gemm_bf16_available(void); /* this CPU (and MM_ISA, which must allow avx512) */
size_t gemm_bf16_packed_count(int K, int N); /* uint16 values */
/* dst (gemm_bf16_packed_count values, 64-byte aligned) from the packed
 * F32 or F16 weight w, rounding to nearest even; the result describes dst. */
gemm_weight gemm_pack_bf16(uint16_t *dst, const gemm_weight *w);
/* Floats of the scratch gemm_run needs for a bf16 weight (work must then be
 * given). */
#define GEMM_BF16_WORK_FLOATS GEMM_WORK_FLOATS

/* Packs src, a K x N row-major matrix (leading dimension lds, in values) of
 * floats or (f16) halves, into dst (gemm_packed_count(K, N) values of the
 * same type), zero padding included. */
void gemm_pack(void *dst, const void *src, int K, int N, size_t lds, int f16);

/* Zeroes the padding columns of a packed weight filled element by element
 * through gemm_packed_index (as the model loader does). */
void gemm_pack_clear_padding(void *dst, int K, int N, int f16);

/* Floats of the scratch space gemm_run wants (one per concurrent caller). */
#define GEMM_WORK_FLOATS (252 * 256)

/* y[T, N] (columns of panels [p0, p1)) = x[T, K] · W + bias, or with
 * accumulate != 0: y += x · W + bias. bias (N floats) may be NULL. work is
 * GEMM_WORK_FLOATS of scratch, 32-byte aligned, for repacking blocks of a
 * large x (NULL: x is read in place, a few percent slower at large T). */
void gemm_run(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *w, const float *bias, int T,
              int accumulate, int p0, int p1, float *work);

/* gemm_run with x given transposed: xt is K x T row-major (leading
 * dimension ldxt >= T), and x = xt^T (training's weight gradient
 * dW += dout^T · inp, where dout is stored [rows, outputs]). work is
 * required (GEMM_WORK_FLOATS, 32-byte aligned). Each output takes the steps
 * gemm_run takes with x = xt^T given directly, so the two agree bit for bit,
 * and the result does not depend on how [p0, p1) is cut. */
void gemm_run_xt(float *y, size_t ldy, const float *xt, size_t ldxt, const gemm_weight *w, const float *bias, int T,
                 int accumulate, int p0, int p1, float *work);

/* Packs columns [n0, n0 + n) of the K x N row-major src (lds), or with
 * transposed != 0 of src^T (src then N x K, rows are columns of the weight),
 * into their panels of the packing of the whole K x N weight at dst (n0 a
 * multiple of GEMM_NR, n too unless n0 + n reaches N): disjoint column ranges can be packed by different
 * threads into one weight. Float32 only. */
void gemm_pack_cols(float *dst, const float *src, size_t lds, int K, int N, int n0, int n, int transposed);

/* ---- Scanning a product against thresholds (exact top-k retrieval) ----------
 * mm-rank wants, of every inner product of a query with a gallery vector,
 * only those that can enter the query's top k: gemm_scan computes the
 * products of x (T rows) with a packed W tile by tile and, instead of
 * storing them, tests each finished tile against its rows' thresholds in
 * registers; only a tile with a value at or above its row's threshold is
 * looked at value by value. Every value is one chain of fused multiply-adds
 * in k order, whatever T, N and the value's position, so a (row, column)
 * product has the same bits in every call (mm-rank's shard identity), and
 * gemm_run's bits on every level but openblas (whose gemm_run is OpenBLAS's
 * and whose scans are generic's). */

/* Floats gemm_pack_rows writes for T rows of K: whole tiles (it writes
 * nothing past the last one). */
static inline size_t gemm_rows_packed_count(int T, int K)
{
    return (size_t)((T + GEMM_MR - 1) / GEMM_MR) * GEMM_MR * (size_t)K;
}

/* Packs x (T rows of K floats, leading dimension ldx) into tiles of GEMM_MR
 * rows: tile t holds, for k = 0..K-1, its rows' values side by side (the
 * missing rows of the last tile are zero). Rows [GEMM_MR * t, ...) of the
 * packing are at dst + GEMM_MR * t * K, so a packing can be cut at tile
 * boundaries. */
void gemm_pack_rows(float *dst, const float *x, size_t ldx, int T, int K);

/* Packs N vectors of K floats (rows of src, leading dimension lds) as the
 * K x N float weight whose columns they are (W = src^T), zero padding
 * included: gemm_packed_count(K, N) floats. */
void gemm_pack_transposed(float *dst, const float *src, size_t lds, int N, int K);

/* hit(ctx, row, col, value, &thr[row]) is called for each value that is at
 * or above its row's threshold when its tile is done (NaN never is); it may
 * raise *threshold. A non-zero return stops the scan and is returned.
 * Each row's hits arrive in column order, with that row's threshold as the
 * earlier ones left it; how the rows' sequences interleave depends on the
 * kernel level's tile shape (avx512 scans up to 4 panels per tile). */
typedef int (*gemm_hit_fn)(void *ctx, int row, int col, float value, float *threshold);

/* Scratch floats gemm_scan wants (one per concurrent caller): partial sums
 * of 96 rows x GEMM_NR between k slices. */
#define GEMM_SCAN_WORK_FLOATS (96 * GEMM_NR)

/* Scans x · W, x packed by gemm_pack_rows (T rows), against thr[0..T). Each
 * block of rows stays in L2 while all of W's panels pass it, a panel's k
 * slice in L1 while the block's tiles pass it. Returns 0 or hit's first
 * non-zero result. */
int gemm_scan(const float *xp, int T, const gemm_weight *W, float *thr, gemm_hit_fn hit, void *ctx, float *work);

/* The part of gemm_scan for one tile: rows [i, i + mr) (i a multiple of
 * GEMM_MR, mr <= GEMM_MR) of x against panel p of W, the same values
 * reported the same way. acc: GEMM_MR * GEMM_NR floats of scratch. */
int gemm_scan_tile(const float *xp, int i, int mr, const gemm_weight *W, int p, float *thr, gemm_hit_fn hit,
                   void *ctx, float *acc);

/* Up to GEMM_MR single rows, each against its own panel: row rows[j] of x
 * (packed by gemm_pack_rows) times panel panels[j] of W (float32), the
 * values reported as gemm_scan reports them, with the same bits. For
 * rescoring scattered (row, panel) pairs at the cost of one tile. */
int gemm_scan_rows(const float *xp, const int *rows, const int *panels, int n, const gemm_weight *W, float *thr,
                   gemm_hit_fn hit, void *ctx);

/* For a handful of rows (T <= GEMM_MR), where packing the other side would
 * cost more than the products: every row of x (row-major, ldx) against
 * every row of g (N rows of K, row-major, ldg), as plain dot products (16
 * interleaved partial sums added in a fixed tree, then the K % 16 tail:
 * the same bits for a given pair whatever N or the pair's place, but not
 * gemm_scan's bits), reported to hit as gemm_scan does. */
int gemm_scan_dots(const float *x, size_t ldx, int T, const float *g, size_t ldg, int N, int K, float *thr,
                   gemm_hit_fn hit, void *ctx);

/* For tests: 1 forces the portable C kernel even where the AVX2 one is
 * compiled in; 0 restores the default. */
void gemm_force_portable(int on);

#endif
