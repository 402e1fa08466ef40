/* test_evalstats.c — evalstats against SciPy/NumPy values computed offline
 * (the constants below; the bats tests also compare live with SciPy). */
#include "eval/evalstats.h"
#include "test.h"

static void test_incomplete_beta(void)
{
    /* scipy.special.betainc(a, b, x) */
    CHECK_NEAR(mm_incomplete_beta(0.3, 2.5, 0.5), 0.01892712407194565, 1e-12);
    CHECK_NEAR(mm_incomplete_beta(0.9, 10, 0.5), 0.15164090963470997, 1e-12);
    CHECK_NEAR(mm_incomplete_beta(0.5, 0.5, 0.5), 0.5, 1e-12);
    CHECK_NEAR(mm_incomplete_beta(0.0, 2, 3), 0.0, 0);
    CHECK_NEAR(mm_incomplete_beta(1.0, 2, 3), 1.0, 0);
    /* I_x(1, 1) = x */
    CHECK_NEAR(mm_incomplete_beta(0.37, 1, 1), 0.37, 1e-14);
}

static void test_student_t(void)
{
    /* scipy.stats.t.cdf(t, df) */
    CHECK_NEAR(mm_student_t_cdf(1.5, 3), 0.8847080673775886, 1e-12);
    CHECK_NEAR(mm_student_t_cdf(-2.2, 10), 0.02622053422467655, 1e-12);
    CHECK_NEAR(mm_student_t_cdf(0.3, 1), 0.5927735790777423, 1e-12);
    CHECK_NEAR(mm_student_t_cdf(4.0, 50), 0.999895404876818, 1e-12);
    CHECK_NEAR(mm_student_t_cdf(0.0, 7), 0.5, 1e-15);
}

static const double A[10] = {0.31, 0.52, 0.11, 0.78, 0.45, 0.62, 0.29, 0.05, 0.93, 0.40};
static const double B[10] = {0.35, 0.50, 0.20, 0.80, 0.55, 0.61, 0.40, 0.10, 0.90, 0.52};

static void test_paired_t(void)
{
    double t, df;
    double p = mm_paired_t_test(A, B, 10, &t, &df);
    /* scipy.stats.ttest_rel(A, B) */
    CHECK_NEAR(t, -2.645352163244401, 1e-12);
    CHECK_NEAR(p, 0.02667867875226472, 1e-12);
    CHECK_NEAR(df, 9, 0);
    /* identical samples: SciPy gives NaN */
    CHECK(isnan(mm_paired_t_test(A, A, 10, &t, NULL)));
    /* constant non-zero difference: t infinite, p 0 */
    double C[3] = {1, 2, 3}, D[3] = {0, 1, 2};
    CHECK_NEAR(mm_paired_t_test(C, D, 3, &t, NULL), 0.0, 0);
    CHECK(isinf(t) && t > 0);
    CHECK(isnan(mm_paired_t_test(C, D, 1, &t, NULL)));
}

static void test_permutation(void)
{
    bool exact;
    /* scipy.stats.permutation_test((A, B), mean(x - y), permutation_type='samples',
     * n_resamples=10**6): exact over 2^10 patterns */
    double p = mm_paired_permutation_test(A, B, 10, 1000000, 1, &exact);
    CHECK(exact);
    CHECK_NEAR(p, 0.0390625, 1e-15);
    /* symmetric in the order of the samples */
    CHECK_NEAR(mm_paired_permutation_test(B, A, 10, 1000000, 1, &exact), 0.0390625, 1e-15);
    /* random version: close to the exact value, reproducible with a seed */
    double p1 = mm_paired_permutation_test(A, B, 10, 1000, 7, &exact);
    CHECK(!exact);
    CHECK_NEAR(p1, 0.0390625, 0.03); /* 1000 < 2^10 sign flips */
    CHECK_NEAR(mm_paired_permutation_test(A, B, 10, 1000, 7, &exact), p1, 0);
    /* no difference at all: p = 1 */
    CHECK_NEAR(mm_paired_permutation_test(A, A, 10, 5000, 1, &exact), 1.0, 0);
    CHECK_NEAR(mm_paired_permutation_test(A, B, 0, 5000, 1, &exact), 1.0, 0);
}

static void test_quantiles(void)
{
    /* numpy.quantile([3,1,4,1,5,9,2,6], q) */
    double x[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    double lo, hi;
    mm_percentile_interval(x, 8, 0.95, &lo, &hi);
    CHECK_NEAR(lo, 1.0, 1e-12);
    CHECK_NEAR(hi, 8.475000000000001, 1e-12);
    CHECK_NEAR(mm_quantile_sorted(x, 8, 0.5), 3.5, 1e-12);
    CHECK_NEAR(mm_quantile_sorted(x, 1, 0.3), 1.0, 0);
}

static void test_rng(void)
{
    mm_rng a, b;
    mm_rng_seed(&a, 42);
    mm_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(mm_rng_next(&a) == mm_rng_next(&b));
    mm_rng_seed(&b, 43);
    CHECK(mm_rng_next(&a) != mm_rng_next(&b));
    /* uniformity of mm_rng_below over 3 values */
    long count[3] = {0};
    for (int i = 0; i < 30000; i++) count[mm_rng_below(&a, 3)]++;
    for (int k = 0; k < 3; k++) CHECK(count[k] > 9500 && count[k] < 10500);
    size_t idx[50];
    mm_bootstrap_indices(&a, 50, idx);
    for (int i = 0; i < 50; i++) CHECK(idx[i] < 50);
}

/* mm_bootstrap_indices draws exactly what n calls of mm_rng_below draw
 * (its reciprocal remainder is a speed-up, not another sampler). */
static void test_indices_as_below(void)
{
    static const size_t ns[] = {1, 2, 3, 5, 37, 1000, 25000, 65537, 100003};
    size_t *idx = malloc(100003 * sizeof *idx);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        mm_rng a, b;
        mm_rng_seed(&a, 11 + k);
        mm_rng_seed(&b, 11 + k);
        for (int rep = 0; rep < 3; rep++) {
            mm_bootstrap_indices(&a, ns[k], idx);
            size_t bad = 0;
            for (size_t i = 0; i < ns[k]; i++) bad += idx[i] != (size_t)mm_rng_below(&b, ns[k]);
            CHECK_MSG(bad == 0, "n=%zu: %zu draws differ", ns[k], bad);
        }
        CHECK(mm_rng_next(&a) == mm_rng_next(&b)); /* the same number of draws used */
    }
    free(idx);
}

int main(void)
{
    RUN(test_incomplete_beta);
    RUN(test_student_t);
    RUN(test_paired_t);
    RUN(test_permutation);
    RUN(test_quantiles);
    RUN(test_rng);
    RUN(test_indices_as_below);
    return test_summary();
}
