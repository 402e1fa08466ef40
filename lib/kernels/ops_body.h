/* ops_body.h — the element-wise kernels behind lib/nn/ops.h (activations,
 * softmax, layer norm), compiled once per instruction-set level like
 * gemm_body.h: the including file #defines kernel_activate, kernel_softmax
 * and kernel_layernorm to its level's names. With AVX2+FMA (the file's
 * flags) they run 8 lanes at a time; otherwise plain C on libm. */
#include <math.h>
#include <stddef.h>

#include "kernels/cpu.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define OPS_SIMD 1
#endif
/* lib/kernels/x86_avx512/: the same kernels 16 lanes at a time. Every lane
 * takes the steps the 8-lane code takes (the same polynomial, operation by
 * operation), and the sums keep the 8-lane code's order (softmax adds the
 * two halves of 16 values one after the other; layer norm's two 8-lane
 * partial sums are the two halves of one register), so the avx512 level
 * gives avx2's bits here too. */
#if defined(OPS_SIMD) && defined(__AVX512F__)
#define OPS_SIMD512 1
#endif

void kernel_activate(float *y, int T, int N, int act);
void kernel_gelu_backward(float *dx, const float *x, const float *dy, size_t n);
void kernel_softmax(float *x, int n);
float kernel_softmax_lse(float *x, int n);
void kernel_layernorm(float *y, const float *x, const float *g, const float *b, int T, int w, float eps);

/* ------------------------------------------------------------------------ */
/* Elementwise kernels. With AVX2+FMA they run 8 lanes at a time; exp is a   */
/* Cephes-style polynomial accurate to ~1 ulp (the reference tolerance is   */
/* 1e-4, float32 rounding alone gives ~1e-6). Tails go through a padded     */
/* 8-lane buffer, so a value's result does not depend on its position.       */

#ifdef OPS_SIMD
static inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* Phi(x), the standard normal CDF: 0.5 erfc(-x / sqrt2). erfc(z), z >= 0,
 * from Numerical Recipes' erfcc (Chebyshev fit, relative error < 1.2e-7
 * everywhere), so that the small negative tail stays accurate too. */
static inline __m256 phi8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(0.70710678118654752f));
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, z, one));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    __m256 erfc = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
    __m256 tail = _mm256_mul_ps(half, erfc);                 /* Phi(-|x|) */
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_sub_ps(one, tail), tail, neg);
}

static inline __m256 act8(__m256 x, int act)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (act) {
    case KERNEL_ACT_QUICK_GELU: /* x * sigmoid(1.702 x) */
        return _mm256_div_ps(x, _mm256_add_ps(one, exp8(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)))));
    case KERNEL_ACT_GELU: /* x * Phi(x) */
        return _mm256_mul_ps(x, phi8(x));
    default: /* KERNEL_ACT_GELU_TANH: 0.5 x (1 + tanh(u)) = x sigmoid(2u),
              * u = sqrt(2/pi) (x + 0.044715 x^3): no cancellation in the tail */ {
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f),
                                 _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        return _mm256_div_ps(x, _mm256_add_ps(one, exp8(_mm256_mul_ps(u, _mm256_set1_ps(-2.0f)))));
    }
    }
}

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#ifdef OPS_SIMD512
static inline __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* phi8, 16 lanes. */
static inline __m512 phi16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(half, z, one));
    __m512 p = _mm512_set1_ps(0.17087277f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
    __m512 erfc = _mm512_mul_ps(t, exp16(_mm512_fnmadd_ps(z, z, p)));
    __m512 tail = _mm512_mul_ps(half, erfc);
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(neg, _mm512_sub_ps(one, tail), tail);
}

/* act8, 16 lanes (see act8 for the formulas). */
static inline __m512 act16(__m512 x, int act)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (act) {
    case KERNEL_ACT_QUICK_GELU:
        return _mm512_div_ps(x, _mm512_add_ps(one, exp16(_mm512_mul_ps(x, _mm512_set1_ps(-1.702f)))));
    case KERNEL_ACT_GELU:
        return _mm512_mul_ps(x, phi16(x));
    default: {
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286536f),
                                 _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
        return _mm512_div_ps(x, _mm512_add_ps(one, exp16(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)))));
    }
    }
}
#endif
#else
static inline float act1(float x, int act)
{
    switch (act) {
    case KERNEL_ACT_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
    case KERNEL_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    default: return x / (1.0f + expf(-2.0f * 0.79788456080286536f * (x + 0.044715f * x * x * x)));
    }
}
#endif

/* y = act(y) over T rows of N. */
void kernel_activate(float *y, int T, int N, int act)
{
    for (int t = 0; t < T; t++) {
        float *row = y + (size_t)t * N;
#ifdef OPS_SIMD
        int j = 0;
#ifdef OPS_SIMD512
        for (; j + 16 <= N; j += 16) _mm512_storeu_ps(row + j, act16(_mm512_loadu_ps(row + j), act));
#endif
        for (; j + 8 <= N; j += 8) _mm256_storeu_ps(row + j, act8(_mm256_loadu_ps(row + j), act));
        if (j < N) {
            float tmp[8] = {0};
            for (int k = j; k < N; k++) tmp[k - j] = row[k];
            _mm256_storeu_ps(tmp, act8(_mm256_loadu_ps(tmp), act));
            for (int k = j; k < N; k++) row[k] = tmp[k - j];
        }
#else
        for (int j = 0; j < N; j++) row[j] = act1(row[j], act);
#endif
    }
}

/* dx += dy * GELU'(x), GELU'(x) = Phi(x) + x pdf(x) (exact GELU, as
 * torch's default): mm-train's backward of the MLP activation. Every lane,
 * at 8 or 16 lanes, takes the same operations (avx512 gives avx2's bits). */
#ifdef OPS_SIMD
static inline __m256 gelu_grad8(__m256 x, __m256 dy, __m256 dx)
{
    __m256 pdf = _mm256_mul_ps(exp8(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), x), x)),
                               _mm256_set1_ps(0.39894228040143267794f));
    return _mm256_add_ps(dx, _mm256_mul_ps(dy, _mm256_add_ps(phi8(x), _mm256_mul_ps(x, pdf))));
}
#endif
#ifdef OPS_SIMD512
static inline __m512 gelu_grad16(__m512 x, __m512 dy, __m512 dx)
{
    __m512 pdf = _mm512_mul_ps(exp16(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(-0.5f), x), x)),
                               _mm512_set1_ps(0.39894228040143267794f));
    return _mm512_add_ps(dx, _mm512_mul_ps(dy, _mm512_add_ps(phi16(x), _mm512_mul_ps(x, pdf))));
}
#endif

void kernel_gelu_backward(float *dx, const float *x, const float *dy, size_t n)
{
    size_t i = 0;
#ifdef OPS_SIMD
#ifdef OPS_SIMD512
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dx + i, gelu_grad16(_mm512_loadu_ps(x + i), _mm512_loadu_ps(dy + i), _mm512_loadu_ps(dx + i)));
#endif
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dx + i, gelu_grad8(_mm256_loadu_ps(x + i), _mm256_loadu_ps(dy + i), _mm256_loadu_ps(dx + i)));
    if (i < n) {
        float tx[8] = {0}, tdy[8] = {0}, tdx[8] = {0};
        for (size_t k = i; k < n; k++) tx[k - i] = x[k], tdy[k - i] = dy[k], tdx[k - i] = dx[k];
        _mm256_storeu_ps(tdx, gelu_grad8(_mm256_loadu_ps(tx), _mm256_loadu_ps(tdy), _mm256_loadu_ps(tdx)));
        for (size_t k = i; k < n; k++) dx[k] = tdx[k - i];
    }
#else
    for (; i < n; i++) {
        float xi = x[i];
        float cdf = 0.5f * (1 + erff(xi * 0.70710678118654752440f));
        float pdf = expf(-0.5f * xi * xi) * 0.39894228040143267794f;
        dx[i] += dy[i] * (cdf + xi * pdf);
    }
#endif
}

/* Softmax of x[0..n) in place, max-subtracted so that exp never overflows;
 * with want_lse (a constant at each call below, so each copy is specialised)
 * it also returns log-sum-exp, the engine's copy pays nothing for it. */
static inline __attribute__((always_inline)) float softmax_body(float *x, int n, int want_lse)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
#ifdef OPS_SIMD
    int i = 0;
    __m256 vmx = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
#ifdef OPS_SIMD512
    for (; i + 16 <= n; i += 16) { /* the two halves added in the 8-lane loop's order */
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(mx)));
        _mm512_storeu_ps(x + i, e);
        vs = _mm256_add_ps(vs, _mm512_castps512_ps256(e));
        vs = _mm256_add_ps(vs, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
#endif
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(x + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    if (i < n) {
        float tmp[8];
        for (int k = 0; k < 8; k++) tmp[k] = i + k < n ? x[i + k] - mx : -100.0f;
        _mm256_storeu_ps(tmp, exp8(_mm256_loadu_ps(tmp)));
        for (int k = 0; i + k < n; k++) x[i + k] = tmp[k];
        for (; i < n; i++) sum += x[i];
    }
    sum += hsum8(vs);
#else
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
#endif
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
    return want_lse ? mx + logf(sum) : 0.0f;
}

void kernel_softmax(float *x, int n) { softmax_body(x, n, 0); }

float kernel_softmax_lse(float *x, int n) { return softmax_body(x, n, 1); }

/* LayerNorm over rows: y = (x - mean) / sqrt(var + eps) * g + b, biased
 * variance (as torch). y may equal x. */
void kernel_layernorm(float *y, const float *x, const float *g, const float *b, int T, int w, float eps)
{
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * w;
        float *yr = y + (size_t)t * w;
        float mean, var;
#ifdef OPS_SIMD
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int j = 0;
#ifdef OPS_SIMD512
        /* s0 and s1 as the two halves of one register */
        __m512 s01 = _mm512_setzero_ps();
        for (; j + 16 <= w; j += 16) s01 = _mm512_add_ps(s01, _mm512_loadu_ps(xr + j));
        s0 = _mm512_castps512_ps256(s01);
        s1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s01), 1));
#else
        for (; j + 16 <= w; j += 16) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(xr + j));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(xr + j + 8));
        }
#endif
        float s = hsum8(_mm256_add_ps(s0, s1));
        for (; j < w; j++) s += xr[j];
        mean = s / (float)w;
        s0 = _mm256_setzero_ps();
        s1 = _mm256_setzero_ps();
#ifdef OPS_SIMD512
        s01 = _mm512_setzero_ps();
        for (j = 0; j + 16 <= w; j += 16) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(xr + j), _mm512_set1_ps(mean));
            s01 = _mm512_fmadd_ps(d, d, s01);
        }
        s0 = _mm512_castps512_ps256(s01);
        s1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s01), 1));
#else
        __m256 vm = _mm256_set1_ps(mean);
        for (j = 0; j + 16 <= w; j += 16) {
            __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(xr + j), vm);
            __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(xr + j + 8), vm);
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
        }
#endif
        float v = hsum8(_mm256_add_ps(s0, s1));
        for (; j < w; j++) v += (xr[j] - mean) * (xr[j] - mean);
        var = v / (float)w;
#else
        float s = 0.0f, v = 0.0f;
        for (int j = 0; j < w; j++) s += xr[j];
        mean = s / (float)w;
        for (int j = 0; j < w; j++) v += (xr[j] - mean) * (xr[j] - mean);
        var = v / (float)w;
#endif
        float rstd = 1.0f / sqrtf(var + eps);
        for (int k = 0; k < w; k++) yr[k] = (xr[k] - mean) * rstd * g[k] + b[k];
    }
}


