/* test_half.c — binary16 and bfloat16 conversions.
 *
 * f16 -> f32 is checked exhaustively against the definition (ldexp of the
 * fields); f32 -> f16 against the definition of round-to-nearest-even on
 * every tie point and its neighbours, and on a sweep of f32 bit patterns.
 * The bulk functions (F16C when compiled for it) must agree bit for bit
 * with the scalar ones.
 */
#include "kernels/half.h"
#include "test.h"

#include <math.h>
#include <stdint.h>

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The value of an f16 bit pattern by its definition, in double. */
static double ref_f16_value(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0x1f) v = mant ? NAN : INFINITY;
    else if (exp == 0) v = ldexp(mant, -24);
    else v = ldexp(1024 + mant, exp - 25);
    return sign ? -v : v;
}

static void test_f16_to_f32_exhaustive(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mm_f16_to_f32((uint16_t)h);
        double ref = ref_f16_value((uint16_t)h);
        if (isnan(ref)) {
            if (!isnan(f)) bad++;
        } else if ((double)f != ref || !signbit(f) != !signbit(ref)) {
            if (bad++ < 5) fprintf(stderr, "  f16 %04x -> %.9g, expected %.9g\n", h, f, ref);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* All 65536 patterns: f16 -> f32 -> f16 gives the same bits; NaNs stay NaN
 * (quiet NaNs keep their payload exactly). */
static void test_roundtrip_all_patterns(void)
{
    int bad = 0, nan_bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t back = mm_f32_to_f16(mm_f16_to_f32((uint16_t)h));
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan) {
            int back_nan = (back & 0x7c00) == 0x7c00 && (back & 0x3ff);
            if (!back_nan || (back & 0x8000) != (h & 0x8000)) nan_bad++;
            if ((h & 0x200) && back != h) nan_bad++; /* quiet NaN: exact */
        } else if (back != h) {
            if (bad++ < 5) fprintf(stderr, "  %04x -> %04x\n", h, back);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(nan_bad, 0);
}

static void test_specific_values(void)
{
    CHECK_EQ_INT(mm_f32_to_f16(0.0f), 0x0000);
    CHECK_EQ_INT(mm_f32_to_f16(-0.0f), 0x8000);
    CHECK_EQ_INT(mm_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(mm_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(mm_f32_to_f16(0.5f), 0x3800);
    CHECK_EQ_INT(mm_f32_to_f16(65504.0f), 0x7bff);          /* largest finite */
    CHECK_EQ_INT(mm_f32_to_f16(6.103515625e-05f), 0x0400);  /* smallest normal 2^-14 */
    CHECK_EQ_INT(mm_f32_to_f16(5.9604644775390625e-08f), 0x0001); /* smallest subnormal */
    CHECK_EQ_INT(mm_f32_to_f16(INFINITY), 0x7c00);
    CHECK_EQ_INT(mm_f32_to_f16(-INFINITY), 0xfc00);
    CHECK(isnan(mm_f16_to_f32(mm_f32_to_f16(NAN))));
    CHECK(isnan(mm_f16_to_f32(mm_f32_to_f16(-NAN))));
    /* f32 NaN whose payload lies only in the low 13 bits must not become inf */
    uint16_t h = mm_f32_to_f16(from_bits(0x7f800001u));
    CHECK((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0);
    h = mm_f32_to_f16(from_bits(0xff800001u));
    CHECK((h & 0xfc00) == 0xfc00 && (h & 0x3ff) != 0);
}

static void test_ties_to_even(void)
{
    /* 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10 */
    CHECK_EQ_INT(mm_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    /* 1 + 3*2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even) */
    CHECK_EQ_INT(mm_f32_to_f16(1.0f + 0x3p-11f), 0x3c02);
    CHECK_EQ_INT(mm_f32_to_f16(-(1.0f + 0x3p-11f)), 0xbc02);
    /* just above / below the tie */
    CHECK_EQ_INT(mm_f32_to_f16(nextafterf(1.0f + 0x1p-11f, 2.0f)), 0x3c01);
    CHECK_EQ_INT(mm_f32_to_f16(nextafterf(1.0f + 0x3p-11f, 0.0f)), 0x3c01);
    /* subnormal ties: 2^-25 is halfway between 0 and 2^-24 -> 0 (even) */
    CHECK_EQ_INT(mm_f32_to_f16(0x1p-25f), 0x0000);
    CHECK_EQ_INT(mm_f32_to_f16(-0x1p-25f), 0x8000);
    CHECK_EQ_INT(mm_f32_to_f16(nextafterf(0x1p-25f, 1.0f)), 0x0001);
    CHECK_EQ_INT(mm_f32_to_f16(0x3p-25f), 0x0002); /* 1.5 * 2^-24 -> 2 */
    CHECK_EQ_INT(mm_f32_to_f16(0x5p-25f), 0x0002); /* 2.5 * 2^-24 -> 2 */
    /* largest subnormal + half an ulp rounds up to the smallest normal */
    CHECK_EQ_INT(mm_f32_to_f16(0x7ffp-25f), 0x0400);
    /* overflow: 65520 is the tie between 65504 and "65536" -> inf (even) */
    CHECK_EQ_INT(mm_f32_to_f16(65520.0f), 0x7c00);
    CHECK_EQ_INT(mm_f32_to_f16(nextafterf(65520.0f, 0.0f)), 0x7bff);
    CHECK_EQ_INT(mm_f32_to_f16(1e10f), 0x7c00);
    CHECK_EQ_INT(mm_f32_to_f16(-1e10f), 0xfc00);
    CHECK_EQ_INT(mm_f32_to_f16(3.4e38f), 0x7c00);
    /* tiny values flush to signed zero */
    CHECK_EQ_INT(mm_f32_to_f16(1e-30f), 0x0000);
    CHECK_EQ_INT(mm_f32_to_f16(-1e-30f), 0x8000);
    CHECK_EQ_INT(mm_f32_to_f16(from_bits(1)), 0x0000); /* f32 subnormal */
}

/* For every pair of adjacent non-negative finite f16 values (and the pair
 * 65504 / overflow), the midpoint goes to the even one, and the f32 values
 * one ulp either side of it go to the nearer one. */
static void test_every_tie_point(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x7bff + 1; h++) {
        double lo = ref_f16_value((uint16_t)h);
        double hi = h == 0x7bff ? 65536.0 : ref_f16_value((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2); /* exact: needs at most 12 significant bits */
        if ((double)mid != (lo + hi) / 2) { bad++; continue; }
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        uint16_t want[3] = {(uint16_t)h, even, (uint16_t)(h + 1)};
        float x[3] = {nextafterf(mid, 0.0f), mid, nextafterf(mid, INFINITY)};
        for (int k = 0; k < 3; k++) {
            uint16_t got = mm_f32_to_f16(x[k]);
            uint16_t got_neg = mm_f32_to_f16(-x[k]);
            if (got != want[k] || got_neg != (want[k] | 0x8000)) {
                if (bad++ < 5)
                    fprintf(stderr, "  %.9g -> %04x, expected %04x\n", x[k], got, want[k]);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* A sweep over f32 bit patterns: the scalar result must be a nearest f16
 * (ties to even), or inf exactly when |x| >= 65520. */
static void test_nearest_on_sweep(void)
{
    int bad = 0;
    for (uint64_t u = 0; u < 0x7f800000u; u += 1021) {
        float x = from_bits((uint32_t)u);
        uint16_t h = mm_f32_to_f16(x);
        if (x >= 65520.0f) {
            if (h != 0x7c00) bad++;
            continue;
        }
        double v = ref_f16_value(h), err = fabs((double)x - v);
        double below = h > 0 ? ref_f16_value((uint16_t)(h - 1)) : -INFINITY;
        double above = h < 0x7bff ? ref_f16_value((uint16_t)(h + 1)) : 65536.0;
        double eb = fabs((double)x - below), ea = fabs((double)x - above);
        if (h == 0) eb = INFINITY; /* -0 / 0 neighbourhood: 0 is correct when err is smallest */
        if (err > eb || err > ea || (err == ea && (h & 1)) || (err == eb && (h & 1))) {
            if (bad++ < 5) fprintf(stderr, "  %a -> %04x\n", x, h);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* Bulk (F16C when available) and scalar paths agree on every f16 pattern and
 * on a sweep of f32 patterns, with lengths that are not multiples of 8. */
static void test_bulk_matches_scalar(void)
{
    enum { N = 65536 + 7 };
    uint16_t *h = malloc(N * sizeof *h), *h2 = malloc(N * sizeof *h2);
    float *f = malloc(N * sizeof *f);
    if (!h || !h2 || !f) abort();
    for (size_t i = 0; i < N; i++) h[i] = (uint16_t)(i * 40503u); /* permutation + wrap */
    mm_f16_to_f32_n(h, f, N);
    int bad = 0;
    for (size_t i = 0; i < N; i++) {
        float s = mm_f16_to_f32(h[i]);
        if (bits(s) != bits(f[i]) && !(isnan(s) && isnan(f[i]))) bad++;
    }
    CHECK_EQ_INT(bad, 0);

    /* f32 -> f16 over a sweep that includes NaNs, infinities and subnormals */
    bad = 0;
    int nan_payload_diff = 0;
    for (uint64_t base = 0; base < 0x100000000ull; base += (uint64_t)N * 997) {
        size_t n = N - (size_t)(base % 8);
        for (size_t i = 0; i < n; i++) f[i] = from_bits((uint32_t)(base + i * 997));
        mm_f32_to_f16_n(f, h, n);
        for (size_t i = 0; i < n; i++) {
            uint16_t s = mm_f32_to_f16(f[i]);
            if (s != h[i]) {
                if (isnan(f[i]) && (s & 0x7c00) == 0x7c00 && (h[i] & 0x7c00) == 0x7c00 &&
                    (s & 0x3ff) && (h[i] & 0x3ff))
                    nan_payload_diff++;
                else if (bad++ < 5)
                    fprintf(stderr, "  %08x: scalar %04x bulk %04x\n", bits(f[i]), s, h[i]);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(nan_payload_diff, 0);

    /* the exhaustive round trip through the bulk functions too */
    for (size_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    mm_f16_to_f32_n(h, f, 65536);
    mm_f32_to_f16_n(f, h2, 65536);
    bad = 0;
    for (size_t i = 0; i < 65536; i++) {
        int is_nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
        if (is_nan ? !((h2[i] & 0x7c00) == 0x7c00 && (h2[i] & 0x3ff)) : h2[i] != i) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* short arrays (scalar tail only) and n = 0 */
    mm_f32_to_f16_n(f, h2, 0);
    mm_f16_to_f32_n(h, f, 0);
    free(h);
    free(h2);
    free(f);
}

static void test_bf16(void)
{
    CHECK_EQ_INT(bits(mm_bf16_to_f32(0x3f80)), 0x3f800000u);
    CHECK_EQ_INT(bits(mm_bf16_to_f32(0xc049)), 0xc0490000u);
    CHECK(isinf(mm_bf16_to_f32(0x7f80)));
    CHECK(isnan(mm_bf16_to_f32(0x7fc0)));
    uint16_t src[19];
    float dst[19];
    for (int i = 0; i < 19; i++) src[i] = (uint16_t)(0x3f80 + 37 * i);
    mm_bf16_to_f32_n(src, dst, 19);
    int bad = 0;
    for (int i = 0; i < 19; i++)
        if (bits(dst[i]) != (uint32_t)src[i] << 16) bad++;
    CHECK_EQ_INT(bad, 0);
}

/* f32 -> bf16 (gemm_pack_bf16, the bf16 GEMM's x): nearest even at the
 * halfway points, a carry into the exponent, infinities kept, NaN quiet. */
static void test_f32_to_bf16(void)
{
    CHECK_EQ_INT(mm_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(mm_f32_to_bf16(from_bits(0x3f808000u)), 0x3f80); /* tie, even stays */
    CHECK_EQ_INT(mm_f32_to_bf16(from_bits(0x3f818000u)), 0x3f82); /* tie, odd rounds up */
    CHECK_EQ_INT(mm_f32_to_bf16(from_bits(0x3f808001u)), 0x3f81); /* above the tie */
    CHECK_EQ_INT(mm_f32_to_bf16(from_bits(0x3fffffffu)), 0x4000); /* carry into the exponent */
    CHECK_EQ_INT(mm_f32_to_bf16(-INFINITY), 0xff80);
    CHECK_EQ_INT(mm_f32_to_bf16(from_bits(0x7f800001u)) & 0x7fc0, 0x7fc0); /* signalling NaN: a quiet NaN */
    int bad = 0; /* every bf16 value comes back exact */
    for (uint32_t b = 0; b < 0x10000; b++)
        if ((b & 0x7f80) != 0x7f80 && mm_f32_to_bf16(mm_bf16_to_f32((uint16_t)b)) != b) bad++;
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    RUN(test_f16_to_f32_exhaustive);
    RUN(test_roundtrip_all_patterns);
    RUN(test_specific_values);
    RUN(test_ties_to_even);
    RUN(test_every_tie_point);
    RUN(test_nearest_on_sweep);
    RUN(test_bulk_matches_scalar);
    RUN(test_bf16);
    RUN(test_f32_to_bf16);
    return test_summary();
}
