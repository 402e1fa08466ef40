/* misc_body.h — the small kernels of lib/kernels/half.c, crc32c.c and
 * lib/retrieval's finite check, compiled once per level like gemm_body.h
 * (the including file #defines kernel_f16_to_f32_n, kernel_f32_to_f16_n,
 * kernel_crc32c and kernel_find_nonfinite to its level's names). F16C, SSE4.2
 * and AVX2 bodies are built where the file's flags allow; otherwise the
 * portable ones, with the same values. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "kernels/crc32c.h"
#include "kernels/half.h"

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

void kernel_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);
void kernel_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
uint32_t kernel_crc32c(uint32_t crc, const void *data, size_t n);
size_t kernel_find_nonfinite(const float *v, size_t n);

void kernel_f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
#endif
    for (; i < n; i++) dst[i] = mm_f16_to_f32(src[i]);
}

void kernel_f32_to_f16_n(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps(src + i);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    for (; i < n; i++) dst[i] = mm_f32_to_f16(src[i]);
}

size_t kernel_find_nonfinite(const float *v, size_t n)
{
    size_t i = 0;
#if defined(__AVX2__)
    /* the common all-finite case: a branch-free scan of the exponent bits */
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    __m256i bad = _mm256_setzero_si256();
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(v + i));
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(x, expo), expo));
    }
    if (!_mm256_testz_si256(bad, bad)) i = 0; /* find it below */
#endif
    for (; i < n; i++)
        if (!isfinite(v[i])) return i;
    return n;
}

#if defined(__SSE4_2__)
/* Three interleaved lanes of the crc32 instruction: see crc32c.c. */
#include <nmmintrin.h>

enum { LONG_LANE = 8192, SHORT_LANE = 256 };

/* shift[t][i][b]: the register after L(t) zero bytes, starting from b << 8i. */
static uint32_t shift_tab[2][4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static void build_shift_tables(void)
{
    static const size_t lane[2] = {LONG_LANE, SHORT_LANE};
    for (int t = 0; t < 2; t++) {
        uint32_t unit[32]; /* unit[j]: the register after `lane` zero bytes from bit j alone */
        mm_crc32c_zeros_op(unit, lane[t]);
        for (int i = 0; i < 4; i++)
            for (uint32_t b = 0; b < 256; b++) {
                uint32_t v = 0;
                for (int k = 0; k < 8; k++)
                    if (b >> k & 1) v ^= unit[8 * i + k];
                shift_tab[t][i][b] = v;
            }
    }
}

static inline uint32_t shift(int t, uint32_t x)
{
    return shift_tab[t][0][x & 0xff] ^ shift_tab[t][1][(x >> 8) & 0xff] ^
           shift_tab[t][2][(x >> 16) & 0xff] ^ shift_tab[t][3][x >> 24];
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Rounds of 3 lanes of `lane` bytes while they fit; returns the register. */
static inline uint32_t rounds(int t, size_t lane, uint32_t c, const unsigned char **pp, size_t *np)
{
    const unsigned char *p = *pp;
    size_t n = *np;
    while (n >= 3 * lane) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        const unsigned char *a = p, *b = p + lane, *d = p + 2 * lane;
        for (size_t i = 0; i < lane; i += 8) {
            c0 = _mm_crc32_u64(c0, load64(a + i));
            c1 = _mm_crc32_u64(c1, load64(b + i));
            c2 = _mm_crc32_u64(c2, load64(d + i));
        }
        c = shift(t, shift(t, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * lane;
        n -= 3 * lane;
    }
    *pp = p;
    *np = n;
    return c;
}

uint32_t kernel_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    if (n >= 3 * SHORT_LANE) {
        pthread_once(&shift_once, build_shift_tables);
        c = rounds(0, LONG_LANE, c, &p, &n);
        c = rounds(1, SHORT_LANE, c, &p, &n);
    }
    uint64_t c64 = c;
    while (n >= 8) {
        c64 = _mm_crc32_u64(c64, load64(p));
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--) c = _mm_crc32_u8(c, *p++);
    return ~c;
}

#else
uint32_t kernel_crc32c(uint32_t crc, const void *data, size_t n) { return mm_crc32c_table(crc, data, n); }
#endif
