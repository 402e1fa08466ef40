/* kernels_openblas.c — the kernel table's openblas level: gemm_run on
 * OpenBLAS's SGEMM, for the architectures that have no level of ours but
 * generic (arm64 today). Built only where the Makefile finds OpenBLAS for a
 * target that is not x86-64 (MM_OPENBLAS); on x86-64 our AVX2/AVX-512 tiles
 * are at least as fast for every shape the engine runs (README, "Kernels and
 * OpenBLAS"), so the level is not built there.
 *
 * Only the products replace generic's: the packed weight is already what
 * SGEMM reads, panel by panel (panel p is a K x GEMM_NR row-major matrix),
 * so each panel is a cblas_sgemm call per k slice writing its GEMM_NR
 * columns of y. F16 weights are widened one slice at a time. One panel per
 * call costs speed (OpenBLAS repacks x for every call: on x86 half the
 * GFLOP/s of one whole-matrix call), but it keeps the engine's bits
 * independent of the batch and the thread count: copying neighbouring
 * panels side by side into one call was tried, and OpenBLAS's value for a
 * column then depends on where it falls among the call's columns, so
 * test_clip's thread and batch checks failed. The
 * scans (mm-rank), the element-wise ops and the conversions stay generic's:
 * a scan tile is too small a product for a BLAS call to pay.
 *
 * Results. OpenBLAS uses fused multiply-adds in its own k order, so this
 * level rounds differently from generic (tests/unit/kernels/test_gemm.c
 * checks it against the same double-precision references, within the same
 * tolerance). It runs single-threaded inside each of our pool's threads
 * (openblas_set_num_threads(1)): -t stays the one thread count.
 */
#ifdef MM_OPENBLAS

#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/half.h"

extern int gemm_portable_forced; /* gemm.c: gemm_force_portable */

/* generic's gemm_run: the portable path, under gemm_force_portable. */
static void (*gemm_run_below)(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *w,
                              const float *bias, int T, int accumulate, int p0, int p1, float *work);

/* k slices of one call: an F16 slice is widened into a 16 KB buffer on the
 * stack, and F32 weights take the same slices, so that both give the same
 * bits (as on every level). */
#define BLAS_KC 256

static void gemm_run_openblas(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *W,
                              const float *bias, int T, int accumulate, int p0, int p1, float *work)
{
    int K = W->K, N = W->N, panels = gemm_panels(N);
    if (p0 < 0) p0 = 0;
    if (p1 > panels) p1 = panels;
    if (T <= 0 || p0 >= p1) return;
    if (gemm_portable_forced) {
        gemm_run_below(y, ldy, x, ldx, W, bias, T, accumulate, p0, p1, work);
        return;
    }
    float wide[BLAS_KC * GEMM_NR];
    for (int p = p0; p < p1; p++) {
        int n0 = p * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
        float *yp = y + n0;
        /* y = bias, or y += bias, before y += x.W; without a bias the first
         * slice overwrites y (beta 0) unless accumulating */
        float beta = accumulate ? 1.0f : 0.0f;
        if (bias) {
            for (int t = 0; t < T; t++) {
                float *row = yp + (size_t)t * ldy;
                for (int j = 0; j < nv; j++) row[j] = accumulate ? row[j] + bias[n0 + j] : bias[n0 + j];
            }
            beta = 1.0f;
        }
        if (K == 0 && beta == 0.0f)
            for (int t = 0; t < T; t++) memset(yp + (size_t)t * ldy, 0, (size_t)nv * sizeof(float));
        for (int k0 = 0; k0 < K; k0 += BLAS_KC) {
            int kc = K - k0 < BLAS_KC ? K - k0 : BLAS_KC;
            size_t off = ((size_t)p * K + (size_t)k0) * GEMM_NR;
            const float *slice = (const float *)W->data + off;
            if (W->f16) {
                mm_f16_to_f32_n((const uint16_t *)W->data + off, wide, (size_t)kc * GEMM_NR);
                slice = wide;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, nv, kc, 1.0f, x + k0, (int)ldx, slice,
                        GEMM_NR, beta, yp, (int)ldy);
            beta = 1.0f;
        }
    }
}

void kernels_fill_openblas(kernel_table *t)
{
    openblas_set_num_threads(1);
    gemm_run_below = t->gemm_run;
    t->gemm_run = gemm_run_openblas;
}

#endif
