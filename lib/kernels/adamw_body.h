/* adamw_body.h — the AdamW update of lib/nn/adamw.c, compiled once per level
 * like ops_body.h (the including file #defines kernel_adamw to its level's
 * name). Each lane does the scalar loop's operations in the scalar loop's
 * order — multiplies, adds, one square root and one division, each rounded
 * once (no FMA: an FMA would round differently) — so every level gives the
 * portable loop's bits and a head does not depend on MM_ISA. */
#include <math.h>
#include <stddef.h>

#include "kernels/cpu.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

void kernel_adamw(float *p, float *m, float *v, const float *g, const unsigned char *decay, size_t n,
                  const kernel_adamw_args *a);

void kernel_adamw(float *p, float *m, float *v, const float *g, const unsigned char *decay, size_t n,
                  const kernel_adamw_args *a)
{
    const float b1 = a->beta1, b2 = a->beta2, c1 = 1 - a->beta1, c2 = 1 - a->beta2;
    const float eps = a->eps, step = a->step, rbc2 = a->rbc2, wd = a->wd;
    size_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), vc1 = _mm512_set1_ps(c1),
                 vc2 = _mm512_set1_ps(c2), veps = _mm512_set1_ps(eps), vstep = _mm512_set1_ps(step),
                 vrbc2 = _mm512_set1_ps(rbc2), vwd = _mm512_set1_ps(wd);
    for (; i + 16 <= n; i += 16) {
        __m512 pi = _mm512_loadu_ps(p + i), gi = _mm512_loadu_ps(g + i);
        if (wd != 0) {
            __mmask16 k = decay ? _mm_test_epi8_mask(_mm_loadu_si128((const __m128i *)(decay + i)),
                                                     _mm_set1_epi8(-1))
                                : (__mmask16)0xffff;
            pi = _mm512_mask_sub_ps(pi, k, pi, _mm512_mul_ps(vwd, pi));
        }
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(vc1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + i)),
                                  _mm512_mul_ps(_mm512_mul_ps(vc2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), vrbc2), veps);
        _mm512_storeu_ps(p + i, _mm512_sub_ps(pi, _mm512_div_ps(_mm512_mul_ps(vstep, mi), den)));
    }
#elif defined(__AVX2__)
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), vc1 = _mm256_set1_ps(c1),
                 vc2 = _mm256_set1_ps(c2), veps = _mm256_set1_ps(eps), vstep = _mm256_set1_ps(step),
                 vrbc2 = _mm256_set1_ps(rbc2), vwd = _mm256_set1_ps(wd);
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i), gi = _mm256_loadu_ps(g + i);
        if (wd != 0) {
            __m256 dec = _mm256_sub_ps(pi, _mm256_mul_ps(vwd, pi));
            if (decay) {
                __m256i d = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(decay + i)));
                __m256 keep = _mm256_castsi256_ps(_mm256_cmpeq_epi32(d, _mm256_setzero_si256()));
                pi = _mm256_blendv_ps(dec, pi, keep);
            } else {
                pi = dec;
            }
        }
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vc1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(vc2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), vrbc2), veps);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(vstep, mi), den)));
    }
#endif
    for (; i < n; i++) {
        float gi = g[i];
        if (wd != 0 && (!decay || decay[i])) p[i] -= wd * p[i];
        float mi = m[i] = b1 * m[i] + c1 * gi;
        float vi = v[i] = b2 * v[i] + c2 * gi * gi;
        p[i] -= step * mi / (sqrtf(vi) * rbc2 + eps);
    }
}
