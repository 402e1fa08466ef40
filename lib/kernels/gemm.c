/* gemm.c — see gemm.h.
 *
 * Blocking. The micro-kernel keeps an MR x NR tile of y in registers while
 * it walks KC values of k through a panel slice (KC x NR, 16 KB, which stays
 * in L1 while all the rows of a block use it). With few rows (a caption, an
 * image: x fits in L2) each panel is then read from start to end, so the
 * weights stream through memory in address order: at batch 1 the product
 * is bound by reading the weights; x is then read in place, one element of
 * a row broadcast at a time. With many rows, a block of MC rows times a k
 * slice is first repacked into the caller's scratch (each tile's MR values
 * of one k side by side) and stays in L2 while all the panels sweep past it
 * (measured: ViT-B/32 at batch 32, 10.5 -> 11.7 images/s against reading x
 * in place).
 *
 * The tile of y starts from zero, from y (accumulate), or from the bias, so
 * the bias add needs no pass of its own. F16 weights are widened to F32 as
 * the kernel loads them (F16C), which is exact.
 *
 * Files. This file holds what does not depend on the instruction set (the
 * weight layout, the dispatch); the blocking and the kernels are in
 * gemm_body.h, compiled once per level by lib/kernels/generic/ and
 * lib/kernels/x86_avx2/ with that level's flags, and reached through the
 * kernel table (kernels/cpu.h).
 */
#include "kernels/gemm.h"

#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"

int gemm_portable_forced;

void gemm_force_portable(int on) { gemm_portable_forced = on; }

void gemm_pack(void *dst, const void *src, int K, int N, size_t lds, int f16)
{
    size_t es = f16 ? sizeof(uint16_t) : sizeof(float);
    unsigned char *d = dst;
    const unsigned char *s = src;
    int panels = gemm_panels(N);
    for (int p = 0; p < panels; p++)
        for (int k = 0; k < K; k++) {
            unsigned char *row = d + ((size_t)p * K + k) * GEMM_NR * es;
            int n0 = p * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
            memcpy(row, s + ((size_t)k * lds + (size_t)n0) * es, (size_t)nv * es);
            memset(row + (size_t)nv * es, 0, (size_t)(GEMM_NR - nv) * es); /* zero in both types */
        }
}

void gemm_pack_clear_padding(void *dst, int K, int N, int f16)
{
    int used = N % GEMM_NR;
    if (used == 0) return;
    size_t es = f16 ? sizeof(uint16_t) : sizeof(float);
    unsigned char *panel = (unsigned char *)dst + (size_t)(gemm_panels(N) - 1) * K * GEMM_NR * es;
    for (int k = 0; k < K; k++) memset(panel + ((size_t)k * GEMM_NR + used) * es, 0, (size_t)(GEMM_NR - used) * es);
}

/* The products run on the active level's kernels (kernels/cpu.h). */
void gemm_run_bf16(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *W, const float *bias, int T,
                   int accumulate, int p0, int p1, float *work); /* gemm_bf16.c */

void gemm_run(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *W, const float *bias, int T,
              int accumulate, int p0, int p1, float *work)
{
    if (W->f16 == GEMM_BF16) {
        gemm_run_bf16(y, ldy, x, ldx, W, bias, T, accumulate, p0, p1, work);
        return;
    }
    cpu_kernels()->gemm_run(y, ldy, x, ldx, W, bias, T, accumulate, p0, p1, work);
}

void gemm_run_xt(float *y, size_t ldy, const float *xt, size_t ldxt, const gemm_weight *W, const float *bias, int T,
                 int accumulate, int p0, int p1, float *work)
{
    cpu_kernels()->gemm_run_xt(y, ldy, xt, ldxt, W, bias, T, accumulate, p0, p1, work);
}

void gemm_pack_cols(float *dst, const float *src, size_t lds, int K, int N, int n0, int n, int transposed)
{
    if (n0 >= N || n <= 0) return;
    if (n > N - n0) n = N - n0;
    float *d = dst + (size_t)(n0 / GEMM_NR) * (size_t)K * GEMM_NR;
    if (transposed)
        gemm_pack_transposed(d, src + (size_t)n0 * lds, lds, n, K);
    else
        gemm_pack(d, src + n0, K, n, lds, 0);
}

void gemm_pack_rows(float *dst, const float *x, size_t ldx, int T, int K)
{
    cpu_kernels()->gemm_pack_rows(dst, x, ldx, T, K);
}

void gemm_pack_transposed(float *dst, const float *src, size_t lds, int N, int K)
{
    cpu_kernels()->gemm_pack_transposed(dst, src, lds, N, K);
}

int gemm_scan(const float *xp, int T, const gemm_weight *W, float *thr, gemm_hit_fn hit, void *ctx, float *work)
{
    return cpu_kernels()->gemm_scan(xp, T, W, thr, hit, ctx, work);
}

int gemm_scan_tile(const float *xp, int i, int mr, const gemm_weight *W, int p, float *thr, gemm_hit_fn hit,
                   void *ctx, float *acc)
{
    return cpu_kernels()->gemm_scan_tile(xp, i, mr, W, p, thr, hit, ctx, acc);
}

int gemm_scan_rows(const float *xp, const int *rows, const int *panels, int n, const gemm_weight *W, float *thr,
                   gemm_hit_fn hit, void *ctx)
{
    return cpu_kernels()->gemm_scan_rows(xp, rows, panels, n, W, thr, hit, ctx);
}

int gemm_scan_dots(const float *x, size_t ldx, int T, const float *g, size_t ldg, int N, int K, float *thr,
                   gemm_hit_fn hit, void *ctx)
{
    return cpu_kernels()->gemm_scan_dots(x, ldx, T, g, ldg, N, K, thr, hit, ctx);
}
