/* test_fmtfloat.c — mm_fmt_float_g against snprintf("%.*g") byte for byte.
 *
 * Random bit patterns (every exponent, subnormals, inf/nan), random values in
 * the range scores live in, and the edge cases: ±0, powers of ten and their
 * float neighbours, exact halfway cases (round half to even), values that
 * round up to the next power of ten (the %g style switch at 1e-4 and 1e9),
 * the smallest and largest floats. (An exhaustive check over all 2^32 bit
 * patterns is too slow for `make check`: see fmtfloat.h.)
 */
#include "core/fmtfloat.h"
#include "test.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int mismatches;

/* Compares one value at one precision; reports the first few differences. */
static void check_one(float f, int prec)
{
    char ours[MM_FMT_FLOAT_MAX + 8], ref[64];
    memset(ours, 'X', sizeof ours);
    size_t n = mm_fmt_float_g(ours, f, prec);
    int m = snprintf(ref, sizeof ref, "%.*g", prec, (double)f);
    if ((int)n != m || strcmp(ours, ref) != 0 || n >= MM_FMT_FLOAT_MAX) {
        if (mismatches++ < 10)
            fprintf(stderr, "  bits %08" PRIx32 " prec %d: ours '%s' (%zu), printf '%s'\n", to_bits(f),
                    prec, ours, n, ref);
    }
}

static void check_all_prec(float f)
{
    for (int p = 1; p <= 9; p++) check_one(f, p);
}

static void test_special_values(void)
{
    mismatches = 0;
    const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.1f, 1e-4f, 1e-5f, 9.5f, 10.0f,
                       100.0f, 1e9f, 1e10f, 123456789.0f, 999999999.0f, 1e38f, FLT_MAX, -FLT_MAX,
                       FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_EPSILON,
                       16777216.0f, 16777215.0f, 0.3f, 0.7f, 2.5f, 3.5f, 0.25f, 0.125f};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) check_all_prec(v[i]);
    /* inf and nan go through snprintf: still printf's text */
    check_all_prec(INFINITY);
    check_all_prec(-INFINITY);
    check_all_prec(NAN);
    check_all_prec(-NAN);
    check_all_prec(from_bits(0x7fc00001u));
    /* precisions outside 1..9 fall back to snprintf */
    for (int p = -1; p <= 12; p++) check_one(0.123456789f, p);
    CHECK_EQ_INT(mismatches, 0);

    char buf[MM_FMT_FLOAT_MAX];
    CHECK_EQ_INT(mm_fmt_float_g(buf, -0.0f, 9), 2);
    CHECK_EQ_STR(buf, "-0");
    mm_fmt_float_g(buf, 1234567.125f, 9); /* an exact tie: half to even */
    CHECK_EQ_STR(buf, "1234567.12");
    mm_fmt_float_g(buf, 1234567.375f, 9);
    CHECK_EQ_STR(buf, "1234567.38");
    mm_fmt_float_g(buf, FLT_TRUE_MIN, 9);
    CHECK_EQ_STR(buf, "1.40129846e-45");
    mm_fmt_float_g(buf, FLT_MAX, 9);
    CHECK_EQ_STR(buf, "3.40282347e+38");
    mm_fmt_float_g(buf, 0.0001f, 9);
    CHECK_EQ_STR(buf, "9.99999975e-05");
}

/* Powers of ten and their neighbours, where the decimal exponent changes and
 * where rounding carries into a new digit (9.99999999...e-5 -> 0.0001). */
static void test_powers_of_ten(void)
{
    mismatches = 0;
    for (int x = -46; x <= 39; x++) {
        float f = (float)pow(10.0, x);
        if (!isfinite(f)) continue;
        uint32_t u = to_bits(f);
        for (int64_t d = -40; d <= 40; d++) {
            int64_t b = (int64_t)u + d;
            if (b < 0 || b >= 0x7f800000) continue;
            check_all_prec(from_bits((uint32_t)b));
            check_all_prec(-from_bits((uint32_t)b));
        }
    }
    CHECK_EQ_INT(mismatches, 0);
}

/* Floats whose decimal expansion has a 5 right after the last printed digit
 * and nothing after it: integers + k/2, k/4, k/8 with enough digits. */
static void test_halfway_cases(void)
{
    mismatches = 0;
    int found = 0;
    for (int i = 0; i < 200000; i++) {
        /* x.5 with 10 significant digits, and x.25/x.75 etc. */
        uint32_t base = (uint32_t)(rng() % 16777216u);
        for (int k = 1; k <= 3; k++) {
            float f = (float)base / (float)(1 << k) + 0.0f;
            check_one(f, 9);
            char full[64];
            snprintf(full, sizeof full, "%.20g", (double)f);
            if (strchr(full, '.')) found++;
        }
        /* significand digits ending in 5 at every position */
        float g = ldexpf((float)(base | 1u), (int)(rng() % 60) - 40);
        check_all_prec(g);
    }
    CHECK(found > 0);
    /* an explicit list of exact ties at 9 digits */
    const float ties[] = {1234567.125f, 1234567.375f, 1234567.625f, 1234567.875f, 8388607.5f,
                          8388606.5f, 16777.2158203125f, 0.0000152587890625f};
    for (size_t i = 0; i < sizeof ties / sizeof *ties; i++) check_all_prec(ties[i]);
    CHECK_EQ_INT(mismatches, 0);
}

static void test_subnormals(void)
{
    mismatches = 0;
    for (uint32_t u = 1; u < 4096; u++) check_all_prec(from_bits(u));
    for (uint32_t u = 0x007ff000u; u <= 0x00800fffu; u++) check_one(from_bits(u), 9);
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)(rng() % 0x00800000u);
        check_one(from_bits(u), 9);
        check_one(from_bits(u | 0x80000000u), (int)(rng() % 9) + 1);
    }
    CHECK_EQ_INT(mismatches, 0);
}

static void test_random_bit_patterns(void)
{
    mismatches = 0;
    for (int i = 0; i < 2000000; i++) check_one(from_bits((uint32_t)rng()), 9);
    for (int i = 0; i < 300000; i++) check_one(from_bits((uint32_t)rng()), (int)(rng() % 9) + 1);
    CHECK_EQ_INT(mismatches, 0);
}

/* The values mm-rank prints: inner products of unit vectors. */
static void test_random_scores(void)
{
    mismatches = 0;
    for (int i = 0; i < 1000000; i++) {
        float f = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        check_one(f, 9);
        check_one(f * 1e-3f, 9);
    }
    CHECK_EQ_INT(mismatches, 0);
}

static void test_u64(void)
{
    char buf[24], ref[24];
    const uint64_t v[] = {0, 1, 9, 10, 99, 100, 1000000, 4294967295ull, 18446744073709551615ull};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        size_t n = mm_fmt_u64(buf, v[i]);
        snprintf(ref, sizeof ref, "%" PRIu64, v[i]);
        CHECK_EQ_STR(buf, ref);
        CHECK_EQ_INT(n, strlen(ref));
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t x = rng() >> (rng() % 64);
        mm_fmt_u64(buf, x);
        snprintf(ref, sizeof ref, "%" PRIu64, x);
        CHECK_EQ_STR(buf, ref);
    }
}

int main(void)
{
    RUN(test_special_values);
    RUN(test_powers_of_ten);
    RUN(test_halfway_cases);
    RUN(test_subnormals);
    RUN(test_random_bit_patterns);
    RUN(test_random_scores);
    RUN(test_u64);
    return test_summary();
}
