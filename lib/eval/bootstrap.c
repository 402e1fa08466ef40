/* bootstrap.c — see bootstrap.h. */
#include "eval/bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "eval/evalstats.h"

/* k-th smallest of a[0..n) (Hoare's selection; a is reordered). */
static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/* The summary of one row over the resample idx: mean, sum and median rows
 * from the row's own contiguous column (the same additions in the same order
 * as mm_summary_value, so the same bits, without its strided loads and its
 * full sort); every other aggregate through mm_summary_value itself. */
static double resample_value(const mm_measure_set *set, const mm_eval_result *res,
                             const mm_eval_opts *opts, size_t row, mm_aggregate a,
                             const double *col, const size_t *idx, size_t n, double *tmp)
{
    double sum = 0.0;
    switch (a) {
    case MM_AGG_MEAN:
        for (size_t i = 0; i < n; i++) sum += col[idx[i]];
        return n ? sum / (double)n : 0.0;
    case MM_AGG_MEDIAN: {
        if (n == 0) return 0.0;
        for (size_t i = 0; i < n; i++) tmp[i] = col[idx[i]];
        double hi = select_kth(tmp, n, n / 2);
        if (n % 2) return hi;
        double lo = tmp[0]; /* largest of the lower half */
        for (size_t i = 1; i < n / 2; i++)
            if (tmp[i] > lo) lo = tmp[i];
        return (lo + hi) / 2.0;
    }
    default:
        return mm_summary_value(set, res, opts, row, idx, n);
    }
}

void mm_bootstrap_summary(const mm_measure_set *set, const mm_eval_result *res,
                          const mm_eval_opts *opts, size_t B, uint64_t seed, double level,
                          double *lo, double *hi)
{
    size_t rows = set->nvalues, n = res->query_count;
    double *samples = xmalloc((rows * B + 1) * sizeof *samples);
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    double *cols = xmalloc((rows * n + 1) * sizeof *cols);
    double *tmp = xmalloc((n + 1) * sizeof *tmp);
    mm_aggregate *agg = xmalloc((rows + 1) * sizeof *agg);
    for (size_t r = 0; r < rows; r++) {
        const mm_measure *m = mm_measure_of_row(set, r, NULL);
        agg[r] = m->def->aggregate;
        if (m->def->kind == MM_VALUE_STRING) agg[r] = MM_AGG_NONE;
        for (size_t q = 0; q < n; q++) cols[r * n + q] = res->values[q * rows + r];
    }
    mm_rng rng;
    mm_rng_seed(&rng, seed);
    for (size_t b = 0; b < B; b++) {
        mm_bootstrap_indices(&rng, n, idx);
        for (size_t r = 0; r < rows; r++)
            samples[r * B + b] = agg[r] == MM_AGG_NONE ? NAN
                                 : resample_value(set, res, opts, r, agg[r], cols + r * n, idx,
                                                  n, tmp);
    }
    for (size_t r = 0; r < rows; r++) {
        mm_aggregate a = agg[r];
        if (a == MM_AGG_NONE || a == MM_AGG_RUNID || a == MM_AGG_NUM_Q || B == 0) {
            lo[r] = hi[r] = NAN;
            continue;
        }
        mm_percentile_interval(samples + r * B, B, level, &lo[r], &hi[r]);
    }
    free(agg);
    free(tmp);
    free(cols);
    free(samples);
    free(idx);
}
