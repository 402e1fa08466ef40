/* scan8.h — an int8 pre-filter in front of gemm_scan, for exact top-k.
 *
 * Owns: quantising vectors to int8 with one scale per vector, the packed
 * int8 layouts, the bound on how far a quantised inner product can lie from
 * the float32 score gemm computes, and the kernel (AVX-512 VNNI, chosen at
 * run time) that uses the bound to skip work.
 *
 * Why: exact retrieval must compute every score, but almost every score is
 * far below the k-th best of its query. An int8 product costs half of a
 * float32 one on a VNNI core (vpdpbusd: 32 multiply-adds per instruction,
 * one per cycle, against two 8-wide FMAs). So each (12 queries × 16 gallery
 * vectors) tile is first computed in int8; only if some quantised value
 * comes within the bound of its query's threshold is that query's row
 * against the 16 vectors computed again by gemm (gemm_scan_rows, six such
 * rows at a time), whose float32 values are the only ones ever offered. The result is therefore exactly gemm_scan's:
 * the filter drops only tiles that provably hold no value at or above a
 * threshold.
 *
 * The bound. A vector x is stored as integers x~ (|x~| <= 127) and a scale
 * s, X = s * x~, e = x - X. For a query q and gallery vector g, with r the
 * exact real product q.g and v the float32 FMA chain gemm computes:
 *   |q.g - Q.G| <= |Q.e_g| + |e_q.g| <= |Q| |e_g| + |e_q| |g|,
 *   |v - r|     <= gamma_K sum |q_k g_k| <= gamma_K |q| |g|  (gamma_K = K u / (1 - K u)),
 *   |a - Q.G|   <= 3 u |Q| |G|  for a = float(q~.g~) * s_g * s_q in float,
 * plus absolute terms for underflow. So v >= t implies a >= t - B with
 * B = |Q| |e_g| + |e_q| |g| + 3u |Q| |G| + gamma_K |q| |g| + eta, taken
 * with every gallery norm at its block maximum (one B per query and block),
 * inflated by 1% and by the rounding of t - B itself. Norms are computed in
 * double and stored rounded up. A vector that cannot be bounded (NaN, Inf,
 * or so large that |q| |g| could overflow) switches the filter off for its
 * block or run.
 */
#ifndef MM_SCAN8_H
#define MM_SCAN8_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm.h"

#define SCAN8_MR 12 /* query rows of an int8 tile: two of gemm's 6-row tiles */
_Static_assert(SCAN8_MR == 2 * GEMM_MR, "scan8.h: an int8 tile is two gemm tiles");

/* What the bound needs of one vector (norms rounded up). */
typedef struct scan8_vec {
    float scale;   /* s: x ~ s * x~ */
    float norm;    /* |x| */
    float qnorm;   /* |X| = s |x~| */
    float enorm;   /* |x - X| */
    int32_t sum;   /* sum of x~ (the kernel's unsigned-offset correction) */
} scan8_vec;

/* The largest norms of a block of gallery vectors. */
typedef struct scan8_limits {
    float norm, qnorm, enorm;
    int ok; /* every vector could be bounded */
} scan8_limits;

/* 1 if this CPU runs the int8 kernel (and scan8_force_off is not set). */
int scan8_available(void);
/* For tests: 1 switches the int8 kernel off (scan8_available() says 0). */
void scan8_force_off(int on);

/* Bytes per query row in the packed int8 rows: row i of a tile start (i a
 * multiple of SCAN8_MR) is at dst + i * scan8_row_stride(K). */
static inline size_t scan8_row_stride(int K) { return (size_t)(K + 3) / 4 * 4; }

/* Bytes of T query rows of K packed into int8 tiles: whole tiles. */
size_t scan8_rows_bytes(int T, int K);
/* Bytes of N gallery vectors of K packed into int8 panels of GEMM_NR. */
size_t scan8_panels_bytes(int N, int K);

/* Quantises and packs T query rows (x, leading dimension ldx) into tiles of
 * SCAN8_MR rows (st: T entries). Returns 0, or -1 if some row cannot be
 * bounded (then the int8 path must not be used for these queries). */
int scan8_pack_rows(uint8_t *dst, scan8_vec *st, const float *x, size_t ldx, int T, int K);

/* Quantises and packs n <= GEMM_NR gallery vectors (rows of src, leading
 * dimension lds) as panel `panel` of dst (st: n entries for the panel's
 * columns), and folds them into *lim (start from scan8_limits_init). dst
 * must be 32-byte aligned (the kernel loads panels aligned); so must the
 * packed query rows. */
void scan8_pack_panel(int8_t *dst, int panel, scan8_vec *st, scan8_limits *lim, const float *src, size_t lds,
                      int n, int K);
void scan8_limits_init(scan8_limits *lim);

/* Floats of scratch scan8_scan wants (one per concurrent caller; enough
 * for gemm_scan too, which it falls back on). */
#define SCAN8_WORK_FLOATS (GEMM_SCAN_WORK_FLOATS + 3 * 192)

/* Exactly gemm_scan(xp, T, W, thr, hit, ctx, work) (same hits, same
 * values), with the int8 copies of x (x8, xst: packed by scan8_pack_rows,
 * T rows) and of W's columns (w8, wst, wlim: scan8_pack_panel) used to skip
 * the tiles that cannot hold a hit. Only call when scan8_available() and
 * wlim->ok and the queries' pack succeeded. */
int scan8_scan(const float *xp, const uint8_t *x8, const scan8_vec *xst, int T, const gemm_weight *W,
               const int8_t *w8, const scan8_vec *wst, const scan8_limits *wlim, float *thr, gemm_hit_fn hit,
               void *ctx, float *work);

#endif
