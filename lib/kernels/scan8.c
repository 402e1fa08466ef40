/* scan8.c — see scan8.h.
 *
 * Layouts (G = ceil(K / 4) groups of 4 values; missing values are 0):
 *  - query tile t (SCAN8_MR rows): for each group g, the rows' 4 values side
 *    by side, 48 bytes, as unsigned bytes x~ + 128 (vpdpbusd multiplies
 *    unsigned by signed bytes; the offset comes out as 128 * sum(g~), which
 *    the kernel subtracts per column);
 *  - gallery panel p (GEMM_NR vectors): for each group g, the 16 vectors' 4
 *    values side by side, 64 bytes, signed.
 * A 12 x 16 tile keeps 12 accumulators of 16 int32 in zmm registers; one
 * group costs 1 load, 12 broadcasts and 12 512-bit vpdpbusd. The sums are exact in int32 for K <= 65536 (255 * 127 * K).
 */
#include "kernels/scan8.h"

#include "kernels/cpu.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SCAN8_X86 1
#define VNNI_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni")))
#endif

#define MC8 180          /* query rows per pass over a block's panels (a multiple of SCAN8_MR) */
#define ROWS_MAX 192     /* per-row arrays in the scratch space (>= MC8 + SCAN8_MR) */
#define HOT_ROWS 6       /* a tile with this many candidate rows ... */
#define HOT_PANELS 8     /* ... goes straight to float32 for this many panels (early on, while
                          * the thresholds are still low, the int8 pass would only add work) */
#define MAX_GROUPS 16384 /* K up to 65536 (MMF_MAX_DIM): the int32 sums stay exact */
#define TINY 1e-30f      /* below this largest |x|, a vector is stored as zeros (all error) */
#define HUGE_NORM 1e18f  /* above this norm a vector is not bounded (|q| |g| could overflow) */
_Static_assert(MC8 % SCAN8_MR == 0 && MC8 + SCAN8_MR <= ROWS_MAX, "scan8.c: MC8");
_Static_assert(SCAN8_WORK_FLOATS >= GEMM_SCAN_WORK_FLOATS && SCAN8_WORK_FLOATS >= 3 * ROWS_MAX + GEMM_MR * GEMM_NR,
               "scan8.h: SCAN8_WORK_FLOATS too small");

static int force_off;

void scan8_force_off(int on) { force_off = on; }

int scan8_available(void)
{
#ifdef SCAN8_X86
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    /* MM_ISA below avx512 switches it off too (kernels/cpu.h) */
    return have && !force_off && cpu_isa_active() >= CPU_ISA_AVX512;
#else
    return 0;
#endif
}

static int groups(int K) { return (K + 3) / 4; }

size_t scan8_rows_bytes(int T, int K)
{
    return (size_t)((T + SCAN8_MR - 1) / SCAN8_MR) * SCAN8_MR * (size_t)groups(K) * 4;
}

size_t scan8_panels_bytes(int N, int K) { return (size_t)gemm_panels(N) * GEMM_NR * (size_t)groups(K) * 4; }

/* A double as a float no smaller than it. */
static float round_up(double d)
{
    float f = (float)d;
    if ((double)f < d) f = nextafterf(f, INFINITY);
    return f;
}

#ifdef SCAN8_X86
static int quantize_avx512(const float *x, int K, int8_t *q, scan8_vec *st);
#endif

/* Quantises x (K values) into q (4 * groups(K) values: the tail of the last
 * group is zero); 0, or -1 if x cannot be bounded (q is then all zero and
 * st zeroed). The int8 path runs only where scan8_available(), i.e. with
 * AVX-512: there quantize_avx512 does it (the same q, scale and sum; the
 * norms summed in another order, see there); this portable loop is its
 * reference (tests/unit/kernels/test_scan8.c). */
static int quantize_portable(const float *x, int K, int8_t *q, scan8_vec *st);
static int quantize(const float *x, int K, int8_t *q, scan8_vec *st)
{
#ifdef SCAN8_X86
    if (scan8_available()) return quantize_avx512(x, K, q, st);
#endif
    return quantize_portable(x, K, q, st);
}

static int quantize_portable(const float *x, int K, int8_t *q, scan8_vec *st)
{
    float m = 0.0f;
    int finite = 1;
    for (int k = 0; k < K; k++) {
        float a = fabsf(x[k]);
        finite &= a <= FLT_MAX; /* false for NaN too */
        m = a > m ? a : m;
    }
    memset(st, 0, sizeof *st);
    if (!finite || m > HUGE_NORM / sqrtf((float)(K > 0 ? K : 1))) {
        memset(q, 0, (size_t)groups(K) * 4);
        return -1;
    }
    /* Any integers are a valid quantisation (the bound uses the actual
     * error); rounding to nearest makes the error small. */
    float s = m >= TINY ? m / 127.0f : 0.0f, inv = m >= TINY ? 127.0f / m : 0.0f;
    double n2 = 0, e2 = 0, q2 = 0;
    int32_t sum = 0;
    for (int k = 0; k < K; k++) {
        float t = x[k] * inv;
        int v = (int)(t + (t >= 0 ? 0.5f : -0.5f));
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        q[k] = (int8_t)v;
        sum += v;
        q2 += (double)v * v;
        double e = (double)x[k] - (double)s * v;
        e2 += e * e;
        n2 += (double)x[k] * x[k];
    }
    memset(q + K, 0, (size_t)groups(K) * 4 - (size_t)K);
    st->scale = s;
    st->norm = round_up(sqrt(n2));
    st->qnorm = round_up((double)s * sqrt(q2));
    st->enorm = round_up(sqrt(e2));
    st->sum = sum;
    return 0;
}

#ifdef SCAN8_X86
/* quantize_portable 16 values at a time: the same largest |x|, scale, q
 * (x * inv rounded half away from zero, clamped) and integer sums; |x|^2 and
 * |x - s q|^2 in double lanes added in another order, so the norms (each
 * rounded up to a float) may differ from the portable loop's in the last
 * place, as either differs from the exact value: both are the bounds the
 * kernel's threshold test is built on, which leaves no slack for rounding
 * (scan8.h), and the candidates it passes are rescored in float32, so the
 * ranking is the same. This runs on mm-rank's reader thread for every
 * gallery vector, where the scalar loop was a fifth of the work. */
VNNI_TARGET static int quantize_avx512(const float *x, int K, int8_t *q, scan8_vec *st)
{
    __m512 vm = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (int k = 0; k < K; k += 16) {
        __mmask16 live = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
        __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(live, x + k));
        bad |= ~_mm512_cmp_ps_mask(a, _mm512_set1_ps(FLT_MAX), _CMP_LE_OQ); /* > FLT_MAX or NaN */
        vm = _mm512_max_ps(vm, a);
    }
    float m = _mm512_reduce_max_ps(vm);
    memset(st, 0, sizeof *st);
    if (bad || m > HUGE_NORM / sqrtf((float)(K > 0 ? K : 1))) {
        memset(q, 0, (size_t)groups(K) * 4);
        return -1;
    }
    float s = m >= TINY ? m / 127.0f : 0.0f, inv = m >= TINY ? 127.0f / m : 0.0f;
    __m512 vinv = _mm512_set1_ps(inv);
    __m512d vs = _mm512_set1_pd((double)s), n2 = _mm512_setzero_pd(), e2 = _mm512_setzero_pd();
    __m512i vsum = _mm512_setzero_si512(), vq2 = _mm512_setzero_si512();
    for (int k = 0; k < K; k += 16) {
        __mmask16 live = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(live, x + k);
        __m512 t = _mm512_mul_ps(xv, vinv);
        __mmask16 pos = _mm512_cmp_ps_mask(t, _mm512_setzero_ps(), _CMP_GE_OQ);
        __m512 h = _mm512_mask_blend_ps(pos, _mm512_set1_ps(-0.5f), _mm512_set1_ps(0.5f));
        __m512i v = _mm512_cvttps_epi32(_mm512_add_ps(t, h));
        v = _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
        v = _mm512_maskz_mov_epi32(live, v); /* missing values: 0 (t = 0 rounds to 0 anyway) */
        _mm512_mask_cvtepi32_storeu_epi8(q + k, live, v);
        vsum = _mm512_add_epi32(vsum, v);
        vq2 = _mm512_add_epi32(vq2, _mm512_mullo_epi32(v, v)); /* <= 127^2 K / 16 per lane: exact */
        __m512d xlo = _mm512_cvtps_pd(_mm512_castps512_ps256(xv));
        __m512d xhi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1)));
        __m512d vlo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(v));
        __m512d vhi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1));
        n2 = _mm512_fmadd_pd(xlo, xlo, n2);
        n2 = _mm512_fmadd_pd(xhi, xhi, n2);
        __m512d elo = _mm512_sub_pd(xlo, _mm512_mul_pd(vs, vlo)), ehi = _mm512_sub_pd(xhi, _mm512_mul_pd(vs, vhi));
        e2 = _mm512_fmadd_pd(elo, elo, e2);
        e2 = _mm512_fmadd_pd(ehi, ehi, e2);
    }
    memset(q + K, 0, (size_t)groups(K) * 4 - (size_t)K);
    int64_t q2 = 0;
    int32_t lanes[16];
    _mm512_storeu_si512(lanes, vq2);
    for (int i = 0; i < 16; i++) q2 += lanes[i];
    st->scale = s;
    st->norm = round_up(sqrt(_mm512_reduce_add_pd(n2)));
    st->qnorm = round_up((double)s * sqrt((double)q2));
    st->enorm = round_up(sqrt(_mm512_reduce_add_pd(e2)));
    st->sum = _mm512_reduce_add_epi32(vsum);
    return 0;
}
#endif

int scan8_pack_rows(uint8_t *dst, scan8_vec *st, const float *x, size_t ldx, int T, int K)
{
    int G = groups(K), tiles = (T + SCAN8_MR - 1) / SCAN8_MR, ok = 0;
    int8_t q[4 * MAX_GROUPS];
    if (G > MAX_GROUPS) return -1;
    memset(dst, 128, scan8_rows_bytes(T, K)); /* zeros, offset */
    for (int t = 0; t < tiles; t++)
        for (int r = 0; r < SCAN8_MR && t * SCAN8_MR + r < T; r++) {
            int row = t * SCAN8_MR + r;
            if (quantize(x + (size_t)row * ldx, K, q, &st[row])) ok = -1;
            uint8_t *d = dst + (size_t)t * G * 4 * SCAN8_MR + (size_t)r * 4;
            for (int g = 0; g < G; g++)
                for (int b = 0; b < 4; b++) d[(size_t)g * 4 * SCAN8_MR + b] = (uint8_t)(q[g * 4 + b] + 128);
        }
    return ok;
}

void scan8_limits_init(scan8_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->ok = 1;
}

void scan8_pack_panel(int8_t *dst, int panel, scan8_vec *st, scan8_limits *lim, const float *src, size_t lds,
                      int n, int K)
{
    int G = groups(K);
    int8_t q[4 * MAX_GROUPS];
    int8_t *d = dst + (size_t)panel * G * 4 * GEMM_NR;
    if (G > MAX_GROUPS) {
        lim->ok = 0;
        return;
    }
    for (int j = 0; j < GEMM_NR; j++) {
        if (j >= n) {
            memset(q, 0, (size_t)G * 4); /* a missing vector: zeros */
        } else {
            if (quantize(src + (size_t)j * lds, K, q, &st[j])) lim->ok = 0;
            lim->norm = st[j].norm > lim->norm ? st[j].norm : lim->norm;
            lim->qnorm = st[j].qnorm > lim->qnorm ? st[j].qnorm : lim->qnorm;
            lim->enorm = st[j].enorm > lim->enorm ? st[j].enorm : lim->enorm;
        }
        for (int g = 0; g < G; g++) memcpy(d + (size_t)g * 4 * GEMM_NR + (size_t)j * 4, q + g * 4, 4);
    }
}

#ifdef SCAN8_X86
/* The lowest value a quantised product may have when its float32 value v
 * reaches thr (see scan8.h), for a row whose bound is B. */
static float row_limit(float thr, double B)
{
    if (!(thr > -INFINITY)) return -INFINITY;
    if (thr == INFINITY) return INFINITY; /* (an Inf score kept from a block the filter skipped) */
    double t = (double)thr, lim = t - B - fabs(t) * 0x1p-23; /* the last term: this rounding */
    return (float)lim;
}

/* What a panel's columns contribute to every tile against it: the offset
 * correction 128 * sum(g~), the scales, the mask of real columns (wst has
 * entries for those only). */
typedef struct panel_cols {
    int32_t corr[GEMM_NR];
    float scale[GEMM_NR];
    unsigned valid;
} panel_cols;

static void panel_cols_of(panel_cols *pc, const scan8_vec *wst, int nv)
{
    for (int j = 0; j < GEMM_NR; j++) {
        pc->corr[j] = j < nv ? 128 * wst[j].sum : 0;
        pc->scale[j] = j < nv ? wst[j].scale : 0.0f;
    }
    pc->valid = nv >= GEMM_NR ? 0xffffu : (1u << nv) - 1;
}

/* One 12-row int8 tile against one panel: bit r set if row r has a value at
 * or above its limit among the panel's real columns. */
VNNI_TARGET static unsigned tile8(const uint8_t *x, const int8_t *w, int G, const float *limit, const float *qscale,
                                  const panel_cols *pc)
{
    /* One zmm of 16 int32 per row: a group's 64 panel bytes are one load,
     * and each row's broadcast feeds one 512-bit vpdpbusd (16 columns x 4
     * values); 12 accumulators cover its latency. */
    __m512i c[SCAN8_MR];
    for (int r = 0; r < SCAN8_MR; r++) c[r] = _mm512_setzero_si512();
    for (int g = 0; g < G; g++) {
        __m512i wg = _mm512_load_si512((const void *)(w + (size_t)g * 64));
        const uint8_t *xg = x + (size_t)g * 4 * SCAN8_MR;
        _Pragma("GCC unroll 12") for (int r = 0; r < SCAN8_MR; r++) {
            int32_t four;
            memcpy(&four, xg + 4 * r, 4);
            c[r] = _mm512_dpbusd_epi32(c[r], _mm512_set1_epi32(four), wg);
        }
    }
    __m512i k = _mm512_loadu_si512((const void *)pc->corr);
    __m512 sc = _mm512_loadu_ps(pc->scale);
    __mmask16 valid = (__mmask16)pc->valid;
    unsigned rows = 0;
    _Pragma("GCC unroll 12") for (int r = 0; r < SCAN8_MR; r++) {
        __m512 lim = _mm512_set1_ps(limit[r]), sq = _mm512_set1_ps(qscale[r]);
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c[r], k)), sc), sq);
        if (_mm512_cmp_ps_mask(v, lim, _CMP_GE_OQ) & valid) rows |= 1u << r;
    }
    return rows;
}

/* The float32 scores of the queued (row, panel) pairs (gemm_scan_rows, the
 * same bits as gemm_scan), then the rows' limits from their thresholds. */
static int rescore(const float *xp, const int *rows, const int *cols, int n, const gemm_weight *W, float *thr,
                   gemm_hit_fn hit, void *ctx, float *limit, const float *bound, int i0)
{
    if (n == 0) return 0;
    int rc = gemm_scan_rows(xp, rows, cols, n, W, thr, hit, ctx);
    for (int j = 0; j < n; j++) limit[rows[j] - i0] = row_limit(thr[rows[j]], bound[rows[j] - i0]);
    return rc;
}
#endif

int scan8_scan(const float *xp, const uint8_t *x8, const scan8_vec *xst, int T, const gemm_weight *W,
               const int8_t *w8, const scan8_vec *wst, const scan8_limits *wlim, float *thr, gemm_hit_fn hit,
               void *ctx, float *work)
{
#ifdef SCAN8_X86
    int K = W->K, N = W->N, G = groups(K), panels = gemm_panels(N);
    float qmax = 0.0f;
    for (int i = 0; i < T; i++) qmax = xst[i].norm > qmax ? xst[i].norm : qmax;
    if (!scan8_available() || !wlim->ok || W->f16 || K <= 0 || (double)qmax * wlim->norm > 1e36)
        return gemm_scan(xp, T, W, thr, hit, ctx, work);
    float *bound = work, *limit = bound + ROWS_MAX, *qscale = limit + ROWS_MAX;
    int rows[GEMM_MR], cols[GEMM_MR], njobs = 0; /* (row, panel) pairs waiting for float32 scores */
    unsigned char hot[MC8 / SCAN8_MR];           /* per tile: panels still to do in float32 only */
    const double u = 0x1p-24, gamma = K * u / (1 - K * u), eta = 1e-37;
    for (int i0 = 0; i0 < T; i0 += MC8) {
        int i1 = T - i0 < MC8 ? T : i0 + MC8;
        int padded = (i1 - i0 + SCAN8_MR - 1) / SCAN8_MR * SCAN8_MR;
        memset(hot, 0, sizeof hot);
        for (int r = 0; r < padded; r++) {
            if (i0 + r >= i1) { /* rows of the last tile past T: never a candidate */
                limit[r] = INFINITY;
                qscale[r] = 0.0f;
                continue;
            }
            const scan8_vec *q = &xst[i0 + r];
            double B = (double)q->qnorm * wlim->enorm + (double)q->enorm * wlim->norm +
                       3 * u * (double)q->qnorm * wlim->qnorm + gamma * (double)q->norm * wlim->norm;
            bound[r] = (float)(B * 1.01 + eta); /* generous: float rounding of B itself */
            limit[r] = row_limit(thr[i0 + r], bound[r]);
            qscale[r] = q->scale;
        }
        for (int p = 0; p < panels; p++) {
            const int8_t *w = w8 + (size_t)p * G * 4 * GEMM_NR;
            panel_cols pc; /* once per panel, not per tile */
            panel_cols_of(&pc, wst + p * GEMM_NR, N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR);
            for (int i = i0; i < i1; i += SCAN8_MR) {
                int r0 = i - i0;
                unsigned char *h = &hot[r0 / SCAN8_MR];
                if (*h) { /* many candidates lately: float32 straight away */
                    (*h)--;
                    for (int ih = i; ih < i + SCAN8_MR && ih < i1; ih += GEMM_MR) {
                        int rc = gemm_scan_tile(xp, ih, i1 - ih < GEMM_MR ? i1 - ih : GEMM_MR, W, p, thr, hit, ctx,
                                                work + 3 * ROWS_MAX);
                        if (rc) return rc;
                    }
                    for (int r = r0; r < r0 + SCAN8_MR && i0 + r < i1; r++)
                        limit[r] = row_limit(thr[i0 + r], bound[r]);
                    continue;
                }
                unsigned cand = tile8(x8 + (size_t)i * G * 4, w, G, limit + r0, qscale + r0, &pc);
                if (__builtin_popcount(cand) >= HOT_ROWS) *h = HOT_PANELS;
                while (cand) {
                    int r = __builtin_ctz(cand);
                    cand &= cand - 1;
                    rows[njobs] = i + r;
                    cols[njobs] = p;
                    if (++njobs == GEMM_MR) {
                        int rc = rescore(xp, rows, cols, njobs, W, thr, hit, ctx, limit, bound, i0);
                        if (rc) return rc;
                        njobs = 0;
                    }
                }
            }
        }
        int rc = rescore(xp, rows, cols, njobs, W, thr, hit, ctx, limit, bound, i0);
        if (rc) return rc;
        njobs = 0;
    }
    return 0;
#else
    (void)x8, (void)xst, (void)w8, (void)wst, (void)wlim;
    return gemm_scan(xp, T, W, thr, hit, ctx, work);
#endif
}
