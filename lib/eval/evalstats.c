/* evalstats.c — see evalstats.h. */
#include "eval/evalstats.h"

#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"

/* ---- random numbers ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void mm_rng_seed(mm_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mm_rng_next(mm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t mm_rng_below(mm_rng *r, uint64_t n)
{
    /* rejection on the top of the range keeps every value equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = mm_rng_next(r);
    while (x >= limit);
    return x % n;
}

/* ---- quantiles and the bootstrap ----------------------------------------------- */

double mm_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1) return sorted[n - 1];
    double frac = pos - (double)lo;
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

/* mm_rng_below(r, n) n times: the same draws and the same results, with the
 * rejection limit computed once and x % n from a reciprocal instead of two
 * 64-bit divisions per draw (they were most of a bootstrap replicate's time).
 * With m = floor((2^64-1)/n), q = floor(x*m / 2^64) is floor(x/n) or at most
 * 2 below it (x < 2^64), so x - q*n is x % n after at most two subtractions. */
void mm_bootstrap_indices(mm_rng *r, size_t n, size_t *idx)
{
    if (n == 0) return;
    const uint64_t n64 = n, limit = UINT64_MAX - UINT64_MAX % n64, m = UINT64_MAX / n64;
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        do x = mm_rng_next(r);
        while (x >= limit);
        uint64_t q = (uint64_t)(((unsigned __int128)x * m) >> 64), rem = x - q * n64;
        while (rem >= n64) rem -= n64;
        idx[i] = (size_t)rem;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void mm_percentile_interval(double *samples, size_t count, double level, double *lo, double *hi)
{
    qsort(samples, count, sizeof *samples, cmp_double);
    *lo = mm_quantile_sorted(samples, count, (1.0 - level) / 2.0);
    *hi = mm_quantile_sorted(samples, count, (1.0 + level) / 2.0);
}

/* ---- the randomisation test -------------------------------------------------------- */

double mm_paired_permutation_test(const double *a, const double *b, size_t n,
                                  uint64_t permutations, uint64_t seed, bool *exact)
{
    if (exact) *exact = false;
    if (n == 0) return 1.0;
    double *d = xmalloc(n * sizeof *d);
    double observed = 0.0;
    for (size_t i = 0; i < n; i++) {
        d[i] = a[i] - b[i];
        observed += d[i];
    }
    observed /= (double)n;
    double gamma = fmax(1e-14, fabs(1e-14 * observed));
    uint64_t less = 0, greater = 0, total;
    bool is_exact = n < 63 && (1ULL << n) <= permutations;
    if (is_exact) {
        /* every assignment of the pair order: pattern bit i set = pair i swapped */
        total = 1ULL << n;
        for (uint64_t pat = 0; pat < total; pat++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++) s += (pat >> i) & 1 ? -d[i] : d[i];
            s /= (double)n;
            less += s <= observed + gamma;
            greater += s >= observed - gamma;
        }
    } else {
        mm_rng r;
        mm_rng_seed(&r, seed);
        total = permutations;
        for (uint64_t p = 0; p < permutations; p++) {
            double s = 0.0;
            uint64_t bits = 0;
            for (size_t i = 0; i < n; i++) {
                if (i % 64 == 0) bits = mm_rng_next(&r);
                s += bits & 1 ? -d[i] : d[i];
                bits >>= 1;
            }
            s /= (double)n;
            less += s <= observed + gamma;
            greater += s >= observed - gamma;
        }
    }
    free(d);
    double adj = is_exact ? 0.0 : 1.0;
    double p_less = ((double)less + adj) / ((double)total + adj);
    double p_greater = ((double)greater + adj) / ((double)total + adj);
    double p = 2.0 * fmin(p_less, p_greater);
    if (exact) *exact = is_exact;
    return p > 1.0 ? 1.0 : p;
}

/* ---- the t-test ------------------------------------------------------------------- */

/* Continued fraction for I_x(a, b) (modified Lentz), valid for
 * x < (a + 1) / (a + b + 2). */
static double beta_cf(double x, double a, double b)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps) break;
    }
    return h;
}

double mm_incomplete_beta(double x, double a, double b)
{
    if (isnan(x) || a <= 0 || b <= 0) return NAN;
    if (x <= 0) return 0.0;
    if (x >= 1) return 1.0;
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lfront) * beta_cf(x, a, b) / a;
    /* symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges fast */
    return 1.0 - exp(lfront) * beta_cf(1.0 - x, b, a) / b;
}

double mm_student_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 1.0 : 0.0;
    /* P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2) */
    double tail = 0.5 * mm_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    return t > 0 ? 1.0 - tail : tail;
}

double mm_paired_t_test(const double *a, const double *b, size_t n, double *t_out, double *df_out)
{
    double t = NAN, df = (double)n - 1.0, p = NAN;
    if (n >= 2) {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++) mean += a[i] - b[i];
        mean /= (double)n;
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = (a[i] - b[i]) - mean;
            ss += e * e;
        }
        double sd = sqrt(ss / df);
        if (sd > 0) {
            t = mean / (sd / sqrt((double)n));
            p = mm_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
            if (p > 1.0) p = 1.0;
        } else if (mean != 0.0) {
            t = mean > 0 ? INFINITY : -INFINITY;
            p = 0.0;
        }
    }
    if (t_out) *t_out = t;
    if (df_out) *df_out = df;
    return p;
}
