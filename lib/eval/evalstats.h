/* evalstats.h — the statistics evaluation needs and trec_eval lacks.
 *
 * Owns: a seeded pseudo-random generator (xoshiro256** seeded by splitmix64:
 * the same seed gives the same numbers on every platform), percentile
 * bootstrap confidence intervals, the paired two-sided randomisation
 * (permutation) test, the paired t-test with the Student t distribution
 * (regularised incomplete beta function), and quantiles as NumPy computes
 * them by default (linear interpolation).
 *
 * The paired tests follow SciPy's definitions so that results can be checked
 * against scipy.stats.ttest_rel and scipy.stats.permutation_test(...,
 * permutation_type='samples', statistic = mean of the differences):
 *  - exact (all 2^n sign patterns, no +1 adjustment) when 2^n <= permutations;
 *  - otherwise random sign flips with p = (count + 1) / (permutations + 1);
 *  - two-sided p = min(1, 2 * min(p_less, p_greater)), comparisons with
 *    SciPy's tolerance max(1e-14, 1e-14 * |observed|).
 */
#ifndef MM_EVALSTATS_H
#define MM_EVALSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mm_rng {
    uint64_t s[4];
} mm_rng;

void mm_rng_seed(mm_rng *r, uint64_t seed);
uint64_t mm_rng_next(mm_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t mm_rng_below(mm_rng *r, uint64_t n);

/* q-quantile (0 <= q <= 1) of sorted[0..n), NumPy's default 'linear' method. */
double mm_quantile_sorted(const double *sorted, size_t n, double q);

/* n draws with replacement from [0, n) (one bootstrap resample of queries). */
void mm_bootstrap_indices(mm_rng *r, size_t n, size_t *idx);

/* Percentile interval at confidence `level` (e.g. 0.95) of the bootstrap
 * statistics samples[0..count): the (1-level)/2 and (1+level)/2 quantiles.
 * Sorts samples in place. */
void mm_percentile_interval(double *samples, size_t count, double level, double *lo,
                            double *hi);

/* Paired randomisation test of mean(a - b) = 0, two-sided. Returns the
 * p-value; *exact tells whether all 2^n patterns were enumerated. n = 0 gives
 * 1. */
double mm_paired_permutation_test(const double *a, const double *b, size_t n,
                                  uint64_t permutations, uint64_t seed, bool *exact);

/* Paired t-test (scipy.stats.ttest_rel(a, b)): t = mean(d) / (sd(d)/sqrt(n)),
 * d = a - b, df = n - 1. Returns the two-sided p-value; NaN when n < 2 or all
 * differences are 0 (SciPy gives NaN too). */
double mm_paired_t_test(const double *a, const double *b, size_t n, double *t, double *df);

/* Student t distribution function P(T <= t) with df degrees of freedom. */
double mm_student_t_cdf(double t, double df);
/* Regularised incomplete beta function I_x(a, b). */
double mm_incomplete_beta(double x, double a, double b);

#endif
