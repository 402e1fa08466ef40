/* gemm_bf16.c — gemm_run for bfloat16 weights (gemm.h), on AVX512_BF16.
 *
 * Like scan8.c this file is built with the baseline flags and its kernel
 * carries its own target attribute; it runs only where gemm_bf16_available()
 * (the CPU has AVX512_BF16 and MM_ISA allows avx512), which the engine
 * checks before it packs a weight this way.
 *
 * Blocking: x is converted to bf16 pairs (two consecutive k of a row in one
 * 32-bit word) MC rows at a time into the scratch, all of K; then for each
 * group of up to 4 panels in [p0, p1), tiles of 6 rows x 64 columns keep 24
 * accumulators in zmm registers over all of K: per pair of k, 4 panel loads,
 * 6 broadcasts and 24 vdpbf16ps (each 32 multiplies). Every output is one
 * float32 sum over k in pair order, started from 0, then bias and (with
 * accumulate) y are added, so the split between threads and the batch do
 * not change a value.
 */
#include "kernels/gemm.h"

#include "kernels/cpu.h"
#include "kernels/half.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BF16_X86 1
#define BF16_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512bf16")))
#endif

#define BF16_MR 6
#define BF16_PANELS 4

int gemm_bf16_available(void)
{
#ifdef BF16_X86
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
    }
    return have && cpu_isa_active() >= CPU_ISA_AVX512 && cpu_isa_active() != CPU_ISA_OPENBLAS;
#else
    return 0;
#endif
}

size_t gemm_bf16_packed_count(int K, int N) { return (size_t)(K + 1) / 2 * 2 * (size_t)gemm_panels(N) * GEMM_NR; }

gemm_weight gemm_pack_bf16(uint16_t *dst, const gemm_weight *w)
{
    int K = w->K, N = w->N, panels = gemm_panels(N), pairs = (K + 1) / 2;
    for (int p = 0; p < panels; p++)
        for (int j = 0; j < pairs; j++) {
            uint16_t *d = dst + ((size_t)p * pairs + j) * 2 * GEMM_NR;
            for (int h = 0; h < 2; h++) {
                int k = 2 * j + h;
                for (int c = 0; c < GEMM_NR; c++) {
                    float v = 0;
                    if (k < K) {
                        size_t at = ((size_t)p * K + k) * GEMM_NR + c;
                        v = w->f16 ? mm_f16_to_f32(((const uint16_t *)w->data)[at]) : ((const float *)w->data)[at];
                    }
                    d[2 * c + h] = mm_f32_to_bf16(v);
                }
            }
        }
    return (gemm_weight){dst, K, N, GEMM_BF16};
}

#ifdef BF16_X86
/* rows [0, MR) of xb (ldb words apart) times NP panels from panel p over all
 * pairs, into registers; MR and NP are constants at each call, so the
 * accumulators stay in registers (24 zmm for the full 6 x 4 tile). */
/* gcc -O2 does not unroll these fixed-count loops by itself; without it
 * the accumulators live in memory */
#define UNROLL _Pragma("GCC unroll 8")
#define TILE_BODY(MR, NP)                                                                               \
    __m512 acc[MR][NP];                                                                                 \
    UNROLL for (int r = 0; r < MR; r++)                                                                        \
        UNROLL for (int j = 0; j < NP; j++) acc[r][j] = _mm512_setzero_ps();                                   \
    const size_t pstride = (size_t)pairs * 2 * GEMM_NR;                                                 \
    const uint16_t *b = wp + (size_t)p * pstride;                                                       \
    for (int k = 0; k < pairs; k++) {                                                                   \
        __m512bh w[NP];                                                                                 \
        UNROLL for (int j = 0; j < NP; j++)                                                                    \
            w[j] = (__m512bh)_mm512_loadu_si512((const void *)(b + j * pstride + (size_t)k * 2 * GEMM_NR)); \
        UNROLL for (int r = 0; r < MR; r++) {                                                                  \
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)xb[(size_t)r * ldb + k]);                     \
            UNROLL for (int j = 0; j < NP; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], a, w[j]);              \
        }                                                                                               \
    }                                                                                                   \
    UNROLL for (int j = 0; j < NP; j++) {                                                                      \
        int n0 = (p + j) * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;                           \
        __mmask16 m = (__mmask16)((1u << nv) - 1);                                                      \
        __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + n0) : _mm512_setzero_ps();                   \
        UNROLL for (int r = 0; r < MR; r++) {                                                                  \
            float *yr = y + (size_t)r * ldy + n0;                                                       \
            __m512 v = _mm512_add_ps(acc[r][j], bv);                                                    \
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yr));                         \
            _mm512_mask_storeu_ps(yr, m, v);                                                            \
        }                                                                                               \
    }

#define TILE_ARGS                                                                                        \
    float *y, size_t ldy, const uint32_t *xb, int ldb, const uint16_t *wp, int pairs, int p, int N,       \
        const float *bias, int accumulate
#define TILE_FN(MR, NP)                                                                                  \
    BF16_TARGET static void tile_##MR##x##NP(TILE_ARGS) { TILE_BODY(MR, NP) }

TILE_FN(6, 4) TILE_FN(5, 4) TILE_FN(4, 4) TILE_FN(3, 4) TILE_FN(2, 4) TILE_FN(1, 4)
TILE_FN(6, 1) TILE_FN(5, 1) TILE_FN(4, 1) TILE_FN(3, 1) TILE_FN(2, 1) TILE_FN(1, 1)

typedef void (*tile_fn)(TILE_ARGS);
static const tile_fn tiles4[BF16_MR + 1] = {NULL, tile_1x4, tile_2x4, tile_3x4, tile_4x4, tile_5x4, tile_6x4};
static const tile_fn tiles1[BF16_MR + 1] = {NULL, tile_1x1, tile_2x1, tile_3x1, tile_4x1, tile_5x1, tile_6x1};

/* x rows [0, T) -> bf16 pairs, ldb words per row (odd K: the last pair's
 * second half 0). */
BF16_TARGET static void convert_rows(uint32_t *xb, int ldb, const float *x, size_t ldx, int T, int K)
{
    int pairs = (K + 1) / 2;
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * ldx;
        uint32_t *d = xb + (size_t)t * ldb;
        int j = 0;
        for (; 2 * j + 32 <= K; j += 16) { /* 32 floats -> 16 pairs */
            __m512 lo = _mm512_loadu_ps(xr + 2 * j), hi = _mm512_loadu_ps(xr + 2 * j + 16);
            /* cvtne2ps puts its second operand's 16 values in the low half */
            __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            _mm512_storeu_si512((void *)(d + j), h);
        }
        for (; j < pairs; j++) {
            float a = xr[2 * j], c = 2 * j + 1 < K ? xr[2 * j + 1] : 0.0f;
            d[j] = (uint32_t)mm_f32_to_bf16(a) | (uint32_t)mm_f32_to_bf16(c) << 16;
        }
    }
}
#endif

void gemm_run_bf16(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *W, const float *bias, int T,
                   int accumulate, int p0, int p1, float *work)
{
    int K = W->K, N = W->N, panels = gemm_panels(N), pairs = (K + 1) / 2;
    if (p0 < 0) p0 = 0;
    if (p1 > panels) p1 = panels;
    if (T <= 0 || p0 >= p1) return;
#ifdef BF16_X86
    uint32_t *xb = (uint32_t *)work;
    int ldb = pairs;
    int mc = GEMM_BF16_WORK_FLOATS / (ldb > 0 ? ldb : 1) / BF16_MR * BF16_MR;
    if (mc < BF16_MR) mc = BF16_MR; /* K <= 2 * GEMM_WORK_FLOATS / 6: always */
    for (int t0 = 0; t0 < T; t0 += mc) {
        int rows = T - t0 < mc ? T - t0 : mc;
        convert_rows(xb, ldb, x + (size_t)t0 * ldx, ldx, rows, K);
        /* groups of 4 panels, then single panels: a value's sum is the same
         * in either (one accumulator over k in pair order) */
        for (int p = p0; p < p1;) {
            int np = p1 - p >= BF16_PANELS ? BF16_PANELS : 1;
            const tile_fn *fn = np == BF16_PANELS ? tiles4 : tiles1;
            for (int r = 0; r < rows; r += BF16_MR) {
                int mr = rows - r < BF16_MR ? rows - r : BF16_MR;
                fn[mr](y + (size_t)(t0 + r) * ldy, ldy, xb + (size_t)r * ldb, ldb, (const uint16_t *)W->data,
                       pairs, p, N, bias, accumulate);
            }
            p += np;
        }
    }
#else
    (void)y, (void)ldy, (void)x, (void)ldx, (void)bias, (void)accumulate, (void)work, (void)pairs;
#endif
}
