/* gemm_body.h — the blocking and kernels of lib/kernels/gemm.c, compiled
 * once per instruction-set level (included only by the files of
 * lib/kernels/generic/ and lib/kernels/x86_avx2/, each with its level's
 * flags; that file #defines the public names to its level's, e.g. gemm_run
 * to gemm_run_avx2, before including this). What the compiler may use
 * decides which tile is built: the AVX2/FMA/F16C one where the file's flags
 * allow it, the portable one always (gemm_force_portable selects it, for
 * tests). See gemm.c for the blocking. */
#include <stdint.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/half.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define GEMM_AVX2 1
#endif
/* lib/kernels/x86_avx512/: a panel row (GEMM_NR = 16 floats) is one zmm, so
 * the tile keeps one accumulator per row instead of two, and each k costs
 * half the FMAs and loads. Every output still takes the same steps as in
 * the AVX2 tile (the same start, one FMA per k in k order, the same k
 * slices), and FMA rounds per lane, so both levels give the same bits. */
#if defined(GEMM_AVX2) && defined(__AVX512F__)
#define GEMM_AVX512 1
#endif

#define MR GEMM_MR /* rows of the register tile: 6 x 2 accumulators + 2 + 1 of 16 ymm */
#define KC 256  /* k slice: a panel slice is KC * NR * 4 = 16 KB */
#define MC 252  /* rows of a block when x is large, a multiple of MR: MC * KC * 4 = 252 KB */
#define SCAN_MC (GEMM_SCAN_WORK_FLOATS / GEMM_NR) /* gemm_scan: rows kept in L2 while the panels pass */
#define X_WHOLE (640 << 10) /* bytes of x (all rows, all of K) still kept whole in L2 (1 MB) */
_Static_assert(SCAN_MC % MR == 0, "gemm.h: GEMM_SCAN_WORK_FLOATS must hold whole tiles");
_Static_assert(MC % MR == 0 && MC * KC <= GEMM_WORK_FLOATS, "gemm.h: GEMM_WORK_FLOATS too small");

extern int gemm_portable_forced; /* gemm.c: gemm_force_portable */

/* The micro-kernel's contract, both versions: for r < mr rows,
 *   y[r][0..NR) = (load_y ? y[r] : 0) + (bias16 ? bias16 : 0) + sum_k x[r][k] w[k][.]
 * over k < kc; w is a panel slice (NR floats, or with f16 NR halves, per k,
 * 32-byte aligned); x is row-major (ldx) or, with px, packed by pack_x. */

static inline __attribute__((always_inline)) void tile_portable(int mr, int kc, const float *x, size_t ldx,
                                                                const void *w, float *y, size_t ldy,
                                                                const float *bias16, int load_y, int px, int f16,
                                                                const float *thr, int *hit)
{
    float c[MR][GEMM_NR];
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++)
        for (int j = 0; j < GEMM_NR; j++)
            c[r][j] = (load_y ? y[(size_t)r * ldy + j] : 0.0f) + (bias16 ? bias16[j] : 0.0f);
    for (int k = 0; k < kc; k++) {
        float wk[GEMM_NR];
        for (int j = 0; j < GEMM_NR; j++)
            wk[j] = f16 ? mm_f16_to_f32(((const uint16_t *)w)[(size_t)k * GEMM_NR + j])
                        : ((const float *)w)[(size_t)k * GEMM_NR + j];
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
            float a = px ? x[(size_t)k * MR + r] : x[(size_t)r * ldx + k];
            for (int j = 0; j < GEMM_NR; j++) c[r][j] += a * wk[j];
        }
    }
    if (thr) { /* scan: the tile is stored only if some value reaches its row's threshold */
        int any = 0;
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < GEMM_NR; j++) any |= c[r][j] >= thr[r];
        *hit = any;
        if (!any) return;
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) memcpy(y + (size_t)r * ldy, c[r], sizeof c[r]);
}

#ifdef GEMM_AVX2
static inline __attribute__((always_inline)) void tile_avx2(int mr, int kc, const float *x, size_t ldx,
                                                            const void *w, float *y, size_t ldy,
                                                            const float *bias16, int load_y, int px, int f16,
                                                            const float *thr, int *hit)
{
    __m256 c0[MR], c1[MR];
    __m256 b0 = bias16 ? _mm256_loadu_ps(bias16) : _mm256_setzero_ps();
    __m256 b1 = bias16 ? _mm256_loadu_ps(bias16 + 8) : _mm256_setzero_ps();
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
        c0[r] = load_y ? _mm256_add_ps(_mm256_loadu_ps(y + (size_t)r * ldy), b0) : b0;
        c1[r] = load_y ? _mm256_add_ps(_mm256_loadu_ps(y + (size_t)r * ldy + 8), b1) : b1;
    }
    const float *xr[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) xr[r] = x + (size_t)r * ldx;
    for (int k = 0; k < kc; k++) {
        __m256 w0, w1;
        if (f16) {
            const uint16_t *wh = (const uint16_t *)w + (size_t)k * GEMM_NR;
            w0 = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)wh));
            w1 = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(wh + 8)));
        } else {
            w0 = _mm256_load_ps((const float *)w + (size_t)k * GEMM_NR);
            w1 = _mm256_load_ps((const float *)w + (size_t)k * GEMM_NR + 8);
        }
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
            __m256 a = _mm256_broadcast_ss(px ? x + (size_t)k * MR + r : xr[r] + k);
            c0[r] = _mm256_fmadd_ps(a, w0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, w1, c1[r]);
        }
    }
    if (thr) { /* scan: the tile is stored only if some value reaches its row's threshold */
        __m256 any = _mm256_setzero_ps();
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
            __m256 t = _mm256_broadcast_ss(thr + r);
            any = _mm256_or_ps(any, _mm256_or_ps(_mm256_cmp_ps(c0[r], t, _CMP_GE_OQ),
                                                 _mm256_cmp_ps(c1[r], t, _CMP_GE_OQ)));
        }
        *hit = !_mm256_testz_ps(any, any);
        if (!*hit) return;
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(y + (size_t)r * ldy, c0[r]);
        _mm256_storeu_ps(y + (size_t)r * ldy + 8, c1[r]);
    }
}
#endif

#ifdef GEMM_AVX512
static inline __attribute__((always_inline)) void tile_avx512(int mr, int kc, const float *x, size_t ldx,
                                                              const void *w, float *y, size_t ldy,
                                                              const float *bias16, int load_y, int px, int f16,
                                                              const float *thr, int *hit)
{
    __m512 c[MR];
    __m512 b = bias16 ? _mm512_loadu_ps(bias16) : _mm512_setzero_ps();
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++)
        c[r] = load_y ? _mm512_add_ps(_mm512_loadu_ps(y + (size_t)r * ldy), b) : b;
    const float *xr[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) xr[r] = x + (size_t)r * ldx;
    for (int k = 0; k < kc; k++) {
        __m512 wk = f16 ? _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)((const uint16_t *)w + (size_t)k * GEMM_NR)))
                        : _mm512_load_ps((const float *)w + (size_t)k * GEMM_NR);
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++)
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(px ? x[(size_t)k * MR + r] : xr[r][k]), wk, c[r]);
    }
    if (thr) { /* scan: the tile is stored only if some value reaches its row's threshold */
        __mmask16 any = 0;
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++)
            any |= _mm512_cmp_ps_mask(c[r], _mm512_set1_ps(thr[r]), _CMP_GE_OQ);
        *hit = any != 0;
        if (!*hit) return;
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) _mm512_storeu_ps(y + (size_t)r * ldy, c[r]);
}

/* NP neighbouring panels at once (2 or 4; ws is the distance between their
 * slices, in elements): a 6 x 16NP tile, 6 NP accumulators, each broadcast
 * of x feeding NP FMAs, so that a k step loads 6 + NP values for 6 NP FMAs
 * (6 x 64: 10 loads for 24 FMAs, within what the load ports sustain beside
 * two FMAs a cycle). Each output's steps are tile_avx512's, so its bits
 * too. Stores only (no scan). */
static inline __attribute__((always_inline)) void tilen_avx512(int np, int mr, int kc, const float *x, size_t ldx,
                                                               const void *w, size_t ws, float *y, size_t ldy,
                                                               const float *bias, int load_y, int px, int f16)
{
    __m512 c[4][MR];
    _Pragma("GCC unroll 4") for (int q = 0; q < np; q++) {
        __m512 b = bias ? _mm512_loadu_ps(bias + q * GEMM_NR) : _mm512_setzero_ps();
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++)
            c[q][r] = load_y ? _mm512_add_ps(_mm512_loadu_ps(y + (size_t)r * ldy + q * GEMM_NR), b) : b;
    }
    const float *xr[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) xr[r] = x + (size_t)r * ldx;
    for (int k = 0; k < kc; k++) {
        __m512 wk[4];
        _Pragma("GCC unroll 4") for (int q = 0; q < np; q++)
            wk[q] = f16 ? _mm512_cvtph_ps(_mm256_load_si256(
                              (const __m256i *)((const uint16_t *)w + q * ws + (size_t)k * GEMM_NR)))
                        : _mm512_load_ps((const float *)w + q * ws + (size_t)k * GEMM_NR);
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
            __m512 a = _mm512_set1_ps(px ? x[(size_t)k * MR + r] : xr[r][k]);
            _Pragma("GCC unroll 4") for (int q = 0; q < np; q++) c[q][r] = _mm512_fmadd_ps(a, wk[q], c[q][r]);
        }
    }
    _Pragma("GCC unroll 4") for (int q = 0; q < np; q++)
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) _mm512_storeu_ps(y + (size_t)r * ldy + q * GEMM_NR, c[q][r]);
}
#endif

/* One tile with compile-time row count, x layout and weight type, so that
 * the accumulators unroll into registers and no test is left in the loop. */
#if defined(GEMM_AVX512)
#define TILE(m, px, h) (gemm_portable_forced ? tile_portable(m, kc, x, ldx, w, y, ldy, bias16, load_y, px, h, thr, hit) \
                                       : tile_avx512(m, kc, x, ldx, w, y, ldy, bias16, load_y, px, h, thr, hit))
#elif defined(GEMM_AVX2)
#define TILE(m, px, h) (gemm_portable_forced ? tile_portable(m, kc, x, ldx, w, y, ldy, bias16, load_y, px, h, thr, hit) \
                                       : tile_avx2(m, kc, x, ldx, w, y, ldy, bias16, load_y, px, h, thr, hit))
#else
#define TILE(m, px, h) tile_portable(m, kc, x, ldx, w, y, ldy, bias16, load_y, px, h, thr, hit)
#endif
#define TILE_ROWS(px, h)                  \
    switch (mr) {                         \
    case 6: TILE(6, px, h); break;        \
    case 5: TILE(5, px, h); break;        \
    case 4: TILE(4, px, h); break;        \
    case 3: TILE(3, px, h); break;        \
    case 2: TILE(2, px, h); break;        \
    default: TILE(1, px, h); break;       \
    }

static void tile(int mr, int kc, const float *x, size_t ldx, const void *w, float *y, size_t ldy,
                 const float *bias16, int load_y, int px, int f16)
{
    const float *thr = NULL; /* a store, not a scan: the threshold test compiles away */
    int *hit = NULL;
    if (px && f16) {
        TILE_ROWS(1, 1)
    } else if (px) {
        TILE_ROWS(1, 0)
    } else if (f16) {
        TILE_ROWS(0, 1)
    } else {
        TILE_ROWS(0, 0)
    }
}

/* A tile of the last, partial panel (nv < NR valid columns) goes through a
 * full-width buffer so that the kernel never touches y beyond column N. */
static void tile_partial(int mr, int kc, const float *x, size_t ldx, const void *w, float *y, size_t ldy,
                         const float *bias, int nv, int load_y, int px, int f16)
{
    float buf[MR * GEMM_NR], b16[GEMM_NR];
    memset(buf, 0, sizeof buf);
    memset(b16, 0, sizeof b16);
    if (bias) memcpy(b16, bias, (size_t)nv * sizeof(float));
    if (load_y)
        for (int r = 0; r < mr; r++) memcpy(buf + r * GEMM_NR, y + (size_t)r * ldy, (size_t)nv * sizeof(float));
    tile(mr, kc, x, ldx, w, buf, GEMM_NR, bias ? b16 : NULL, 1, px, f16);
    for (int r = 0; r < mr; r++) memcpy(y + (size_t)r * ldy, buf + r * GEMM_NR, (size_t)nv * sizeof(float));
}

/* The tiles of rows [i0, i1) x panel p x k slice [k0, k0 + kc). x is either
 * the caller's (xp == NULL) or that block packed by pack_x into xp. */
static void panel_slice(float *y, size_t ldy, const float *x, size_t ldx, const float *xp, const gemm_weight *W,
                        const float *bias, int accumulate, int p, int k0, int kc, int i0, int i1)
{
    int N = W->N, K = W->K, f16 = W->f16;
    int n0 = p * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
    int first = k0 == 0;
    int load_y = !first || accumulate;
    const void *w = (const unsigned char *)W->data +
                    ((size_t)p * K + k0) * GEMM_NR * (f16 ? sizeof(uint16_t) : sizeof(float));
    const float *b = first && bias ? bias + n0 : NULL;
    for (int i = i0; i < i1; i += MR) {
        int mr = i1 - i < MR ? i1 - i : MR;
        const float *xi = xp ? xp + (size_t)(i - i0) * kc : x + (size_t)i * ldx + k0;
        float *yi = y + (size_t)i * ldy + n0;
        if (nv == GEMM_NR)
            tile(mr, kc, xi, ldx, w, yi, ldy, b, load_y, xp != NULL, f16);
        else
            tile_partial(mr, kc, xi, ldx, w, yi, ldy, b, nv, load_y, xp != NULL, f16);
    }
}

/* Neighbouring full panels run as one wider tile (AVX-512: 4 panels, 6 x 64,
 * or 2, 6 x 32): how many start at panel p, of [p, p1). */
#ifdef GEMM_AVX512
#define TILEN(n, m, px, h) tilen_avx512(n, m, kc, x, ldx, w, ws, y, ldy, bias, load_y, px, h)
#define TILEN_ROWS(n, px, h)                \
    switch (mr) {                           \
    case 6: TILEN(n, 6, px, h); break;      \
    case 5: TILEN(n, 5, px, h); break;      \
    case 4: TILEN(n, 4, px, h); break;      \
    case 3: TILEN(n, 3, px, h); break;      \
    case 2: TILEN(n, 2, px, h); break;      \
    default: TILEN(n, 1, px, h); break;     \
    }
#define TILEN_KINDS(n)       \
    if (px && f16) {         \
        TILEN_ROWS(n, 1, 1)  \
    } else if (px) {         \
        TILEN_ROWS(n, 1, 0)  \
    } else if (f16) {        \
        TILEN_ROWS(n, 0, 1)  \
    } else {                 \
        TILEN_ROWS(n, 0, 0)  \
    }
static void tilen(int np, int mr, int kc, const float *x, size_t ldx, const void *w, size_t ws, float *y,
                  size_t ldy, const float *bias, int load_y, int px, int f16)
{
    if (np == 4) {
        TILEN_KINDS(4)
    } else {
        TILEN_KINDS(2)
    }
}
#undef TILEN_KINDS
#undef TILEN_ROWS
#undef TILEN

static int panels_at_once(const gemm_weight *W, int p, int p1)
{
    if (gemm_portable_forced) return 1;
    for (int n = 4; n > 1; n /= 2)
        if (p + n <= p1 && (p + n) * GEMM_NR <= W->N) return n;
    return 1;
}

/* panel_slice for the np full panels p .. p + np - 1 together. */
static void panel_slicen(int np, float *y, size_t ldy, const float *x, size_t ldx, const float *xp,
                         const gemm_weight *W, const float *bias, int accumulate, int p, int k0, int kc, int i0,
                         int i1)
{
    if (np == 1) {
        panel_slice(y, ldy, x, ldx, xp, W, bias, accumulate, p, k0, kc, i0, i1);
        return;
    }
    int K = W->K, f16 = W->f16, n0 = p * GEMM_NR;
    int first = k0 == 0;
    int load_y = !first || accumulate;
    size_t es = f16 ? sizeof(uint16_t) : sizeof(float);
    const void *w = (const unsigned char *)W->data + ((size_t)p * K + k0) * GEMM_NR * es;
    const float *b = first && bias ? bias + n0 : NULL;
    for (int i = i0; i < i1; i += MR) {
        int mr = i1 - i < MR ? i1 - i : MR;
        const float *xi = xp ? xp + (size_t)(i - i0) * kc : x + (size_t)i * ldx + k0;
        /* The next tile's y rows (read at its start when load_y; large y
         * no longer sits in L2 between k slices) are fetched while this one
         * runs: one line per 16 floats of each row. */
        if (load_y && i + MR < i1)
            for (int r = 0; r < MR && i + MR + r < i1; r++)
                for (int q = 0; q < np; q++)
                    _mm_prefetch((const char *)(y + (size_t)(i + MR + r) * ldy + n0 + q * GEMM_NR), _MM_HINT_T0);
        tilen(np, mr, kc, xi, ldx, w, (size_t)K * GEMM_NR, y + (size_t)i * ldy + n0, ldy, b, load_y, xp != NULL, f16);
    }
}
#else
static int panels_at_once(const gemm_weight *W, int p, int p1)
{
    (void)W, (void)p, (void)p1;
    return 1;
}
static void panel_slicen(int np, float *y, size_t ldy, const float *x, size_t ldx, const float *xp,
                         const gemm_weight *W, const float *bias, int accumulate, int p, int k0, int kc, int i0,
                         int i1)
{
    (void)np;
    panel_slice(y, ldy, x, ldx, xp, W, bias, accumulate, p, k0, kc, i0, i1);
}
#endif

/* Copies x[i0..i1) x [k0, k0 + kc) into xp tile by tile: tile t holds, for
 * each k, its MR rows' values side by side (missing rows of the last tile
 * are zero), so the kernel's broadcasts read one short contiguous run.
 * With AVX2, full tiles go 8 values of k at a time through an 8 x 8
 * transpose (rows 6 and 7 zero) whose columns are stored 6 floats apart;
 * each store's 2 spare floats are overwritten by the next one. The last k
 * of a tile is always copied one by one, so that no store reaches past the
 * tile: threads may pack neighbouring tiles at once (mm-rank's chunks). */
#ifdef GEMM_AVX2
static inline void transpose8(__m256 v[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}
#endif

static void pack_x(float *xp, const float *x, size_t ldx, int i0, int i1, int k0, int kc)
{
    for (int t = i0; t < i1; t += MR) {
        float *dst = xp + (size_t)(t - i0) * kc;
        const float *src[MR];
        int rows = i1 - t < MR ? i1 - t : MR;
        for (int r = 0; r < MR; r++) src[r] = x + (size_t)(t + (r < rows ? r : 0)) * ldx + k0;
        int k = 0;
#ifdef GEMM_AVX2
        if (rows == MR && !gemm_portable_forced)
            for (; k + 8 < kc; k += 8) {
                __m256 v[8];
                for (int r = 0; r < MR; r++) v[r] = _mm256_loadu_ps(src[r] + k);
                v[6] = v[7] = _mm256_setzero_ps();
                transpose8(v);
                for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (size_t)(k + j) * MR, v[j]);
            }
#endif
        for (; k < kc; k++)
            for (int r = 0; r < MR; r++) dst[(size_t)k * MR + r] = r < rows ? src[r][k] : 0.0f;
    }
}

void gemm_run(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *W, const float *bias, int T,
              int accumulate, int p0, int p1, float *work)
{
    int K = W->K, panels = gemm_panels(W->N);
    if (p0 < 0) p0 = 0;
    if (p1 > panels) p1 = panels;
    if (T <= 0 || p0 >= p1) return;
    /* K == 0 still runs one (empty) k block: y = bias, or y += bias. */
    int kend = K > 0 ? K : 1;
    if ((size_t)T * (size_t)K * sizeof(float) <= X_WHOLE || !work) {
        /* All of x stays in L2: each panel is read once, in address order. */
        for (int p = p0; p < p1; p++) {
            int np = panels_at_once(W, p, p1);
            for (int k0 = 0; k0 < kend; k0 += KC)
                panel_slicen(np, y, ldy, x, ldx, NULL, W, bias, accumulate, p, k0, K - k0 < KC ? K - k0 : KC, 0, T);
            p += np - 1;
        }
        return;
    }
    /* Otherwise a k slice of a block of MC rows, packed, stays in L2 while
     * the panels sweep past it; the weights are read once per row block. */
    for (int k0 = 0; k0 < kend; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        for (int i0 = 0; i0 < T; i0 += MC) {
            int i1 = T - i0 < MC ? T : i0 + MC;
            pack_x(work, x, ldx, i0, i1, k0, kc);
            for (int p = p0; p < p1; p++) {
                int np = panels_at_once(W, p, p1);
                panel_slicen(np, y, ldy, x, ldx, work, W, bias, accumulate, p, k0, kc, i0, i1);
                p += np - 1;
            }
        }
    }
}

/* x given transposed: xt is K x T row-major (ldxt), x = xt^T. A tile's MR
 * values of one k are then side by side in xt already, so packing is a
 * short copy per k; the missing rows of the last tile are zero. */
static void pack_xt(float *xp, const float *xt, size_t ldxt, int i0, int i1, int k0, int kc)
{
    for (int t = i0; t < i1; t += MR) {
        float *dst = xp + (size_t)(t - i0) * kc;
        int rows = i1 - t < MR ? i1 - t : MR;
        for (int k = 0; k < kc; k++) {
            const float *src = xt + (size_t)(k0 + k) * ldxt + t;
            float *d = dst + (size_t)k * MR;
            for (int r = 0; r < MR; r++) d[r] = r < rows ? src[r] : 0.0f;
        }
    }
}

/* gemm_run's packed path with x = xt^T: every block of x is packed (from
 * xt) into work, so each output takes the steps gemm_run takes for the same
 * x given directly, and gets its bits. */
void gemm_run_xt(float *y, size_t ldy, const float *xt, size_t ldxt, const gemm_weight *W, const float *bias, int T,
                 int accumulate, int p0, int p1, float *work)
{
    int K = W->K, panels = gemm_panels(W->N);
    if (p0 < 0) p0 = 0;
    if (p1 > panels) p1 = panels;
    if (T <= 0 || p0 >= p1) return;
    int kend = K > 0 ? K : 1;
    for (int k0 = 0; k0 < kend; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        for (int i0 = 0; i0 < T; i0 += MC) {
            int i1 = T - i0 < MC ? T : i0 + MC;
            pack_xt(work, xt, ldxt, i0, i1, k0, kc);
            for (int p = p0; p < p1; p++) {
                int np = panels_at_once(W, p, p1);
                panel_slicen(np, y, ldy, NULL, 0, work, W, bias, accumulate, p, k0, kc, i0, i1);
                p += np - 1;
            }
        }
    }
}

/* ---- packing rows, and scanning products against thresholds ------------------- */

void gemm_pack_rows(float *dst, const float *x, size_t ldx, int T, int K)
{
    if (T > 0) pack_x(dst, x, ldx, 0, T, 0, K);
}

void gemm_pack_transposed(float *dst, const float *src, size_t lds, int N, int K)
{
    int panels = gemm_panels(N);
    for (int p = 0; p < panels; p++) {
        float *d = dst + (size_t)p * K * GEMM_NR;
        int n0 = p * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
        int k = 0;
#ifdef GEMM_AVX2
        /* a full panel: 8 rows x 8 values of k at a time, transposed in registers */
        if (nv == GEMM_NR && !gemm_portable_forced)
            for (; k + 8 <= K; k += 8)
                for (int h = 0; h < GEMM_NR; h += 8) {
                    __m256 v[8];
                    for (int r = 0; r < 8; r++) v[r] = _mm256_loadu_ps(src + (size_t)(n0 + h + r) * lds + k);
                    transpose8(v);
                    for (int j = 0; j < 8; j++) _mm256_storeu_ps(d + (size_t)(k + j) * GEMM_NR + h, v[j]);
                }
#endif
        for (; k < K; k++)
            for (int j = 0; j < GEMM_NR; j++) d[(size_t)k * GEMM_NR + j] = j < nv ? src[(size_t)(n0 + j) * lds + k] : 0.0f;
    }
}

/* The last k slice of a tile, tested against the rows' thresholds: 1 (and
 * the tile stored in y) if some value reaches its row's threshold, else 0
 * (y untouched). Earlier slices go through tile(), which stores. */
static int tile_scan(int mr, int kc, const float *x, const void *w, float *y, int load_y, const float *thr, int f16)
{
    const size_t ldx = 0, ldy = GEMM_NR;
    const float *bias16 = NULL;
    int flag = 0, *hit = &flag;
    if (f16) {
        TILE_ROWS(1, 1)
    } else {
        TILE_ROWS(1, 0)
    }
    return flag;
}

/* Hands the values of a finished tile (rows i.., acc as tile_scan stored
 * it) that reach their row's threshold to hit. */
static int scan_hits(const float *acc, int lda, int i, int mr, int n0, int nv, float *thr, gemm_hit_fn hit,
                     void *ctx)
{
    for (int r = 0; r < mr; r++) {
        const float *row = acc + r * lda;
        unsigned cand = nv >= GEMM_NR ? 0xffffu : (1u << nv) - 1;
#ifdef GEMM_AVX2
        if (!gemm_portable_forced) { /* the columns worth a look, 16 compares at once */
            __m256 t = _mm256_broadcast_ss(thr + i + r);
            cand &= (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row), t, _CMP_GE_OQ)) |
                    (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + 8), t, _CMP_GE_OQ)) << 8;
        }
#endif
        while (cand) {
            int j = __builtin_ctz(cand);
            cand &= cand - 1;
            if (row[j] >= thr[i + r]) { /* thr[i + r] may have risen meanwhile */
                int rc = hit(ctx, i + r, n0 + j, row[j], &thr[i + r]);
                if (rc) return rc;
            }
        }
    }
    return 0;
}

/* One k slice [k0, k0 + KC) of the tile of rows [i, i + mr) against panel
 * p: an earlier slice leaves its partial sums in acc, the last one is tested
 * against the rows' thresholds and its hits are reported. gemm_scan and
 * gemm_scan_tile both take these steps, so they give the same bits. */
static int scan_slice(const float *xp, int i, int mr, const gemm_weight *W, int p, int k0, float *thr,
                      gemm_hit_fn hit, void *ctx, float *acc)
{
    int K = W->K, N = W->N, kc = K - k0 < KC ? K - k0 : KC;
    size_t es = W->f16 ? sizeof(uint16_t) : sizeof(float);
    const void *w = (const unsigned char *)W->data + ((size_t)p * K + (size_t)k0) * GEMM_NR * es;
    const float *x = xp + (size_t)i * K + (size_t)k0 * MR; /* tile i / MR, slice k0 */
    if (k0 + kc < K) {
        tile(mr, kc, x, 0, w, acc, GEMM_NR, NULL, k0 > 0, 1, W->f16);
        return 0;
    }
    if (!tile_scan(mr, kc, x, w, acc, k0 > 0, thr + i, W->f16)) return 0;
    int n0 = p * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
    return scan_hits(acc, GEMM_NR, i, mr, n0, nv, thr, hit, ctx);
}

#ifdef GEMM_AVX512
/* gemm_scan's wide tile: np (2 or 4) full panels over all of K in registers
 * (6 np accumulators: the 6 of a one-panel tile cannot cover the FMA
 * latency), then tested against the rows' thresholds; stored into acc (mr
 * rows of 16 np) only if some value reaches its row's. Each output is one
 * FMA chain over k = 0 .. K-1 from 0, the steps scan_slice's k slices take
 * (a slice's partial sum is stored and reloaded exactly), so its bits. */
static inline __attribute__((always_inline)) int tilen_scan_avx512(int np, int mr, int K, const float *x,
                                                                   const void *w, size_t ws, const float *thr,
                                                                   float *acc, int f16)
{
    __m512 c[4][MR];
    _Pragma("GCC unroll 4") for (int q = 0; q < np; q++)
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) c[q][r] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 wk[4];
        _Pragma("GCC unroll 4") for (int q = 0; q < np; q++)
            wk[q] = f16 ? _mm512_cvtph_ps(_mm256_load_si256(
                              (const __m256i *)((const uint16_t *)w + q * ws + (size_t)k * GEMM_NR)))
                        : _mm512_load_ps((const float *)w + q * ws + (size_t)k * GEMM_NR);
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
            __m512 a = _mm512_set1_ps(x[(size_t)k * MR + r]);
            _Pragma("GCC unroll 4") for (int q = 0; q < np; q++) c[q][r] = _mm512_fmadd_ps(a, wk[q], c[q][r]);
        }
    }
    __mmask16 any = 0;
    _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) {
        __m512 t = _mm512_set1_ps(thr[r]);
        _Pragma("GCC unroll 4") for (int q = 0; q < np; q++) any |= _mm512_cmp_ps_mask(c[q][r], t, _CMP_GE_OQ);
    }
    if (!any) return 0;
    _Pragma("GCC unroll 4") for (int q = 0; q < np; q++)
        _Pragma("GCC unroll 8") for (int r = 0; r < mr; r++) _mm512_storeu_ps(acc + (size_t)r * np * GEMM_NR + q * GEMM_NR, c[q][r]);
    return 1;
}

#define SCAN_WIDE_KMAX 2048 /* a group's panels (4 x K x 64 bytes) stay in L2 while the row tiles pass */

static int scan_tilen(int np, int mr, int K, const float *x, const void *w, size_t ws, const float *thr, float *acc,
                      int f16)
{
#define SCANN(n, m, h) return tilen_scan_avx512(n, m, K, x, w, ws, thr, acc, h)
#define SCANN_ROWS(n, h)                  \
    switch (mr) {                         \
    case 6: SCANN(n, 6, h);               \
    case 5: SCANN(n, 5, h);               \
    case 4: SCANN(n, 4, h);               \
    case 3: SCANN(n, 3, h);               \
    case 2: SCANN(n, 2, h);               \
    default: SCANN(n, 1, h);              \
    }
    if (np == 4) {
        if (f16) SCANN_ROWS(4, 1) else SCANN_ROWS(4, 0)
    } else {
        if (f16) SCANN_ROWS(2, 1) else SCANN_ROWS(2, 0)
    }
#undef SCANN_ROWS
#undef SCANN
}

/* Panels [p, p + np) for the tile of rows [i, i + mr): hits reported panel by
 * panel, each row's in the order of its columns, as scan_slice reports them
 * one panel at a time. */
static int scan_group(const float *xp, int i, int mr, const gemm_weight *W, int p, int np, float *thr,
                      gemm_hit_fn hit, void *ctx)
{
    float acc[MR * 4 * GEMM_NR];
    int K = W->K;
    size_t es = W->f16 ? sizeof(uint16_t) : sizeof(float);
    const void *w = (const unsigned char *)W->data + (size_t)p * K * GEMM_NR * es;
    if (!scan_tilen(np, mr, K, xp + (size_t)i * K, w, (size_t)K * GEMM_NR, thr + i, acc, W->f16)) return 0;
    for (int q = 0; q < np; q++) {
        int rc = scan_hits(acc + q * GEMM_NR, np * GEMM_NR, i, mr, (p + q) * GEMM_NR, GEMM_NR, thr, hit, ctx);
        if (rc) return rc;
    }
    return 0;
}

static int scan_panels_at_once(const gemm_weight *W, int p)
{
    if (gemm_portable_forced || W->K <= 0 || W->K > SCAN_WIDE_KMAX) return 1;
    for (int n = 4; n > 1; n /= 2)
        if ((p + n) * GEMM_NR <= W->N) return n;
    return 1;
}
#endif

int gemm_scan(const float *xp, int T, const gemm_weight *W, float *thr, gemm_hit_fn hit, void *ctx, float *work)
{
    int kend = W->K > 0 ? W->K : 1; /* K == 0: one empty slice, every value 0 */
    for (int i0 = 0; i0 < T; i0 += SCAN_MC) {
        int i1 = T - i0 < SCAN_MC ? T : i0 + SCAN_MC;
        for (int p = 0; p < gemm_panels(W->N); p++) {
#ifdef GEMM_AVX512
            int np = scan_panels_at_once(W, p);
            if (np > 1) {
                for (int i = i0; i < i1; i += MR) {
                    int rc = scan_group(xp, i, i1 - i < MR ? i1 - i : MR, W, p, np, thr, hit, ctx);
                    if (rc) return rc;
                }
                p += np - 1;
                continue;
            }
#endif
            for (int k0 = 0; k0 < kend; k0 += KC)
                for (int i = i0; i < i1; i += MR) {
                    int rc = scan_slice(xp, i, i1 - i < MR ? i1 - i : MR, W, p, k0, thr, hit, ctx,
                                        work + (size_t)(i - i0) * GEMM_NR);
                    if (rc) return rc;
                }
        }
    }
    return 0;
}

int gemm_scan_tile(const float *xp, int i, int mr, const gemm_weight *W, int p, float *thr, gemm_hit_fn hit,
                   void *ctx, float *acc)
{
    int kend = W->K > 0 ? W->K : 1;
    for (int k0 = 0; k0 < kend; k0 += KC) {
        int rc = scan_slice(xp, i, mr, W, p, k0, thr, hit, ctx, acc);
        if (rc) return rc;
    }
    return 0;
}

/* Up to MR independent rows: job j multiplies packed row rows[j] of x by
 * panel panels[j] of W. Each job's 16 values take the steps tile() takes
 * for them (zero start, one FMA per k in order, "+ 0" where a k slice
 * begins, as a reload of y plus a zero bias does), so they have its bits. */
static inline __attribute__((always_inline)) void rows_kernel(int n, int K, const float *const *x, const float *const *w,
                                                              float *out)
{
#ifdef GEMM_AVX512
    if (!gemm_portable_forced) { /* the AVX2 steps, a whole panel row per register */
        __m512 c[MR];
        _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) c[j] = _mm512_setzero_ps();
        for (int k0 = 0; k0 < K; k0 += KC) {
            int k1 = K - k0 < KC ? K : k0 + KC;
            if (k0 > 0)
                _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) c[j] = _mm512_add_ps(c[j], _mm512_setzero_ps());
            for (int k = k0; k < k1; k++)
                _Pragma("GCC unroll 8") for (int j = 0; j < n; j++)
                    c[j] = _mm512_fmadd_ps(_mm512_set1_ps(x[j][(size_t)k * MR]), _mm512_load_ps(w[j] + (size_t)k * GEMM_NR), c[j]);
        }
        _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) _mm512_storeu_ps(out + j * GEMM_NR, c[j]);
        return;
    }
#endif
#ifdef GEMM_AVX2
    if (!gemm_portable_forced) {
        __m256 c0[MR], c1[MR];
        _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) c0[j] = c1[j] = _mm256_setzero_ps();
        for (int k0 = 0; k0 < K; k0 += KC) {
            int k1 = K - k0 < KC ? K : k0 + KC;
            if (k0 > 0)
                _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) {
                    c0[j] = _mm256_add_ps(c0[j], _mm256_setzero_ps());
                    c1[j] = _mm256_add_ps(c1[j], _mm256_setzero_ps());
                }
            for (int k = k0; k < k1; k++)
                _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) {
                    __m256 a = _mm256_broadcast_ss(x[j] + (size_t)k * MR);
                    c0[j] = _mm256_fmadd_ps(a, _mm256_load_ps(w[j] + (size_t)k * GEMM_NR), c0[j]);
                    c1[j] = _mm256_fmadd_ps(a, _mm256_load_ps(w[j] + (size_t)k * GEMM_NR + 8), c1[j]);
                }
        }
        _Pragma("GCC unroll 8") for (int j = 0; j < n; j++) {
            _mm256_storeu_ps(out + j * GEMM_NR, c0[j]);
            _mm256_storeu_ps(out + j * GEMM_NR + 8, c1[j]);
        }
        return;
    }
#endif
    for (int j = 0; j < n; j++) {
        float c[GEMM_NR] = {0};
        for (int k0 = 0; k0 < K; k0 += KC) {
            int k1 = K - k0 < KC ? K : k0 + KC;
            if (k0 > 0)
                for (int l = 0; l < GEMM_NR; l++) c[l] = c[l] + 0.0f;
            for (int k = k0; k < k1; k++) {
                float a = x[j][(size_t)k * MR];
                for (int l = 0; l < GEMM_NR; l++) c[l] += a * w[j][(size_t)k * GEMM_NR + l];
            }
        }
        memcpy(out + j * GEMM_NR, c, sizeof c);
    }
}

int gemm_scan_rows(const float *xp, const int *rows, const int *panels, int n, const gemm_weight *W, float *thr,
                   gemm_hit_fn hit, void *ctx)
{
    int K = W->K, N = W->N;
    const float *x[MR], *w[MR];
    float out[MR * GEMM_NR];
    for (int j = 0; j < n; j++) {
        x[j] = xp + (size_t)(rows[j] / MR) * MR * K + rows[j] % MR;
        w[j] = (const float *)W->data + (size_t)panels[j] * K * GEMM_NR;
    }
    switch (n) {
    case 6: rows_kernel(6, K, x, w, out); break;
    case 5: rows_kernel(5, K, x, w, out); break;
    case 4: rows_kernel(4, K, x, w, out); break;
    case 3: rows_kernel(3, K, x, w, out); break;
    case 2: rows_kernel(2, K, x, w, out); break;
    case 1: rows_kernel(1, K, x, w, out); break;
    default: return 0;
    }
    for (int j = 0; j < n; j++) { /* each job is a one-row tile */
        int n0 = panels[j] * GEMM_NR, nv = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
        int rc = scan_hits(out + j * GEMM_NR, GEMM_NR, rows[j], 1, n0, nv, thr, hit, ctx);
        if (rc) return rc;
    }
    return 0;
}

/* ---- few rows: dot products on rows as they are ------------------------------- */

/* v[t] = x_t . g for t < T: 16 interleaved partial sums (two 8-wide
 * accumulators), added pairwise in a fixed tree, then the K % 16 tail. */
static inline __attribute__((always_inline)) void dots_row(int T, const float *x, size_t ldx, const float *g, int K,
                                                           float *v)
{
    int k = 0;
#ifdef GEMM_AVX512
    if (!gemm_portable_forced) { /* lane l holds AVX2's partial sum l (a0 lanes 0-7, a1 lanes 8-15) */
        __m512 a[MR];
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) a[t] = _mm512_setzero_ps();
        for (; k + 16 <= K; k += 16) {
            __m512 gk = _mm512_loadu_ps(g + k);
            _Pragma("GCC unroll 8") for (int t = 0; t < T; t++)
                a[t] = _mm512_fmadd_ps(_mm512_loadu_ps(x + (size_t)t * ldx + k), gk, a[t]);
        }
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) {
            __m256 p = _mm256_add_ps(_mm512_castps512_ps256(a[t]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[t]), 1)));
            __m128 q = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1)); /* l + (l + 4) */
            q = _mm_add_ps(q, _mm_movehl_ps(q, q));                                       /* l + (l + 2) */
            q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));                                   /* 0 + 1 */
            v[t] = _mm_cvtss_f32(q);
        }
    } else
#endif
#ifdef GEMM_AVX2
    if (!gemm_portable_forced) {
        __m256 a0[MR], a1[MR];
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) a0[t] = a1[t] = _mm256_setzero_ps();
        for (; k + 16 <= K; k += 16) {
            __m256 g0 = _mm256_loadu_ps(g + k), g1 = _mm256_loadu_ps(g + k + 8);
            _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) {
                a0[t] = _mm256_fmadd_ps(_mm256_loadu_ps(x + (size_t)t * ldx + k), g0, a0[t]);
                a1[t] = _mm256_fmadd_ps(_mm256_loadu_ps(x + (size_t)t * ldx + k + 8), g1, a1[t]);
            }
        }
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) {
            __m256 p = _mm256_add_ps(a0[t], a1[t]);
            __m128 q = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1)); /* l + (l + 4) */
            q = _mm_add_ps(q, _mm_movehl_ps(q, q));                                       /* l + (l + 2) */
            q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));                                   /* 0 + 1 */
            v[t] = _mm_cvtss_f32(q);
        }
    } else
#endif
    {
        for (int t = 0; t < T; t++) {
            const float *xt = x + (size_t)t * ldx;
            float a[16] = {0};
            for (k = 0; k + 16 <= K; k += 16)
                for (int l = 0; l < 16; l++) a[l] += xt[k + l] * g[k + l];
            float p[8], q[4];
            for (int l = 0; l < 8; l++) p[l] = a[l] + a[l + 8];
            for (int l = 0; l < 4; l++) q[l] = p[l] + p[l + 4];
            v[t] = (q[0] + q[2]) + (q[1] + q[3]);
        }
    }
    for (int t = 0; t < T; t++)
        for (int kk = k; kk < K; kk++) v[t] += x[(size_t)t * ldx + kk] * g[kk];
}

int gemm_scan_dots(const float *x, size_t ldx, int T, const float *g, size_t ldg, int N, int K, float *thr,
                   gemm_hit_fn hit, void *ctx)
{
    float v[MR];
    if (T <= 0 || T > MR) return 0;
    for (int n = 0; n < N; n++) {
        const float *gr = g + (size_t)n * ldg;
        switch (T) {
        case 6: dots_row(6, x, ldx, gr, K, v); break;
        case 5: dots_row(5, x, ldx, gr, K, v); break;
        case 4: dots_row(4, x, ldx, gr, K, v); break;
        case 3: dots_row(3, x, ldx, gr, K, v); break;
        case 2: dots_row(2, x, ldx, gr, K, v); break;
        default: dots_row(1, x, ldx, gr, K, v); break;
        }
        for (int t = 0; t < T; t++)
            if (v[t] >= thr[t]) {
                int rc = hit(ctx, t, n, v[t], &thr[t]);
                if (rc) return rc;
            }
    }
    return 0;
}
