/* bootstrap.c — see bootstrap.h. */
#include "eval/bootstrap.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "eval/evalstats.h"

/* How a row's resample value is computed. Every path gives the bits
 * mm_summary_value gives for the same resample (tests/unit/eval/test_bootstrap.c
 * compares them with the plain loop over it). */
enum row_path {
    PATH_NAN,     /* no interval: strings, run ids, no summary */
    PATH_COUNT,   /* num_q: the resample size */
    PATH_PACKED,  /* mean, sum or geometric mean of one packed per-query term */
    PATH_MEDIAN,  /* median from counts of each distinct value */
    PATH_GENERIC, /* mm_summary_value itself (balanced accuracy) */
};

/* A median row. The median of a resample is an order statistic, a value
 * and not a sum, so it does not depend on the order of the draws: counting
 * how often each distinct value is drawn and walking the counts in value
 * order gives the same k-th smallest value as sorting the resample, in O(n +
 * distinct values) per replicate instead of a selection over n doubles. */
typedef struct median_row {
    double *value;  /* distinct values, ascending */
    size_t *of;     /* per query: index into value */
    size_t nvalues;
    size_t *count;  /* MEDIAN_LANES x nvalues counts in this resample */
} median_row;

/* Draw i is counted in histogram i % MEDIAN_LANES, summed at the end: with
 * few distinct values (ranks) one histogram would make consecutive draws
 * wait on the same counter. */
enum { MEDIAN_LANES = 4 };

/* Packed rows summed per pass over a resample (8 doubles: one cache line
 * of terms per draw). */
enum { PACK = 8 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sets up m for col[0..n). Returns 0 when the values are not all ordered
 * and distinct in bits (NaN, or -0 beside +0: which of two equal-comparing
 * values a sort leaves in the middle is the sort's choice), so the row must
 * take the generic path. */
static int median_init(median_row *m, const double *col, size_t n)
{
    memset(m, 0, sizeof *m);
    for (size_t q = 0; q < n; q++)
        if (isnan(col[q]) || (col[q] == 0.0 && signbit(col[q]))) return 0;
    m->value = xmalloc((n + 1) * sizeof *m->value);
    memcpy(m->value, col, n * sizeof *col);
    qsort(m->value, n, sizeof *m->value, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || m->value[i] != m->value[u - 1]) m->value[u++] = m->value[i];
    m->nvalues = u;
    m->of = xmalloc((n + 1) * sizeof *m->of);
    for (size_t q = 0; q < n; q++) {
        const double *hit = bsearch(&col[q], m->value, u, sizeof *m->value, cmp_double);
        m->of[q] = (size_t)(hit - m->value);
    }
    m->count = xmalloc((MEDIAN_LANES * u + 1) * sizeof *m->count);
    return 1;
}

/* The k-th smallest (0-based) drawn value, k < n. */
static double median_kth(const median_row *m, size_t k)
{
    size_t seen = 0, v = 0;
    while (seen + m->count[v] <= k) seen += m->count[v++];
    return m->value[v];
}

/* mm_summary_value's median: the middle value, or the mean of the two. */
static double median_value(median_row *m, const size_t *idx, size_t n)
{
    if (n == 0) return 0.0;
    size_t u = m->nvalues, *c = m->count, i = 0;
    memset(c, 0, MEDIAN_LANES * u * sizeof *c);
    for (; i + MEDIAN_LANES <= n; i += MEDIAN_LANES)
        for (size_t l = 0; l < MEDIAN_LANES; l++) c[l * u + m->of[idx[i + l]]]++;
    for (; i < n; i++) c[m->of[idx[i]]]++;
    for (size_t l = 1; l < MEDIAN_LANES; l++)
        for (size_t v = 0; v < u; v++) c[v] += c[l * u + v];
    double hi = median_kth(m, n / 2);
    if (n % 2) return hi;
    return (median_kth(m, n / 2 - 1) + hi) / 2.0;
}

static void median_free(median_row *m)
{
    free(m->value);
    free(m->of);
    free(m->count);
}

void mm_bootstrap_summary(const mm_measure_set *set, const mm_eval_result *res,
                          const mm_eval_opts *opts, size_t B, uint64_t seed, double level,
                          double *lo, double *hi)
{
    size_t rows = set->nvalues, n = res->query_count;
    double *samples = xmalloc((rows * B + 1) * sizeof *samples);
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    enum row_path *path = xmalloc((rows + 1) * sizeof *path);
    mm_aggregate *agg = xmalloc((rows + 1) * sizeof *agg);
    size_t *slot = xmalloc((rows + 1) * sizeof *slot); /* packed column or median row */
    median_row *med = xcalloc(rows + 1, sizeof *med);
    double *col = xmalloc((n + 1) * sizeof *col);
    size_t npacked = 0, nmed = 0;
    for (size_t r = 0; r < rows; r++) {
        const mm_measure *m = mm_measure_of_row(set, r, NULL);
        agg[r] = m->def->kind == MM_VALUE_STRING ? MM_AGG_NONE : m->def->aggregate;
        switch (agg[r]) {
        case MM_AGG_MEAN:
        case MM_AGG_SUM:
        case MM_AGG_GEOMEAN: path[r] = PATH_PACKED, slot[r] = npacked++; break;
        case MM_AGG_MEDIAN:
            for (size_t q = 0; q < n; q++) col[q] = res->values[q * rows + r];
            if (median_init(&med[nmed], col, n)) path[r] = PATH_MEDIAN, slot[r] = nmed++;
            else path[r] = PATH_GENERIC;
            break;
        case MM_AGG_NUM_Q: path[r] = PATH_COUNT; break;
        case MM_AGG_BALANCED: path[r] = PATH_GENERIC; break;
        default: path[r] = PATH_NAN; break;
        }
    }
    /* The packed terms, query-major: one resample is one pass over the draws
     * that reads one short run of terms per draw and adds each to its row's
     * sum, so every row still adds the same terms in the same order as
     * mm_summary_value (same bits) without a pass per row. The terms are what
     * mm_summary_value adds: the value, num_rel_any for -c num_rel, the log
     * for a geometric mean (computed once here instead of per draw). */
    /* rows padded with zero terms to whole groups of PACK, whose sums a
     * pass keeps in registers */
    size_t width = (npacked + PACK - 1) / PACK * PACK;
    double *term = xcalloc(n * width + 1, sizeof *term);
    for (size_t r = 0; r < rows; r++) {
        if (path[r] != PATH_PACKED) continue;
        const mm_measure *m = mm_measure_of_row(set, r, NULL);
        bool any_rel = agg[r] == MM_AGG_SUM && opts->complete_rel_info &&
                       strcmp(m->def->name, "num_rel") == 0;
        for (size_t q = 0; q < n; q++) {
            double v = res->values[q * rows + r];
            if (any_rel) v = (double)res->num_rel_any[q];
            else if (agg[r] == MM_AGG_GEOMEAN) v = log(v > 0.00001 ? v : 0.00001);
            term[q * width + slot[r]] = v;
        }
    }
    double *sum = xmalloc((width + 1) * sizeof *sum);
    mm_rng rng;
    mm_rng_seed(&rng, seed);
    for (size_t b = 0; b < B; b++) {
        mm_bootstrap_indices(&rng, n, idx);
        for (size_t j0 = 0; j0 < width; j0 += PACK) {
            /* eight named sums: an array here stays in memory (GCC 12 -O2),
             * and every draw then waits on a store */
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (size_t i = 0; i < n; i++) {
                const double *t = term + idx[i] * width + j0;
                s0 += t[0], s1 += t[1], s2 += t[2], s3 += t[3];
                s4 += t[4], s5 += t[5], s6 += t[6], s7 += t[7];
            }
            const double s[PACK] = {s0, s1, s2, s3, s4, s5, s6, s7};
            memcpy(sum + j0, s, sizeof s);
        }
        for (size_t r = 0; r < rows; r++) {
            double v = NAN;
            switch (path[r]) {
            case PATH_PACKED:
                v = sum[slot[r]];
                if (agg[r] == MM_AGG_MEAN) v = n ? v / (double)n : 0.0;
                else if (agg[r] == MM_AGG_GEOMEAN) v = n ? exp(v / (double)n) : 0.0;
                break;
            case PATH_MEDIAN: v = median_value(&med[slot[r]], idx, n); break;
            case PATH_COUNT: v = (double)n; break;
            case PATH_GENERIC: v = mm_summary_value(set, res, opts, r, idx, n); break;
            case PATH_NAN: break;
            }
            samples[r * B + b] = v;
        }
    }
    for (size_t r = 0; r < rows; r++) {
        mm_aggregate a = agg[r];
        if (a == MM_AGG_NONE || a == MM_AGG_RUNID || a == MM_AGG_NUM_Q || B == 0) {
            lo[r] = hi[r] = NAN;
            continue;
        }
        mm_percentile_interval(samples + r * B, B, level, &lo[r], &hi[r]);
    }
    for (size_t k = 0; k < nmed; k++) median_free(&med[k]);
    free(med);
    free(sum);
    free(term);
    free(col);
    free(slot);
    free(agg);
    free(path);
    free(samples);
    free(idx);
}
