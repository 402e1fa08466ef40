/* test_bootstrap.c — mm_bootstrap_summary gives, row by row, exactly the
 * intervals of the plain loop over mm_summary_value (mean, median with odd
 * and even query counts and ties, geometric mean, counts; medians over -0,
 * +0 and NaN, which take the generic path), so that its fast paths change no
 * bit of mm-eval --ci. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/bootstrap.h"
#include "eval/evalstats.h"
#include "test.h"

static void reference(const mm_measure_set *set, const mm_eval_result *res,
                      const mm_eval_opts *o, size_t B, uint64_t seed, double level, double *lo,
                      double *hi)
{
    size_t rows = set->nvalues, n = res->query_count;
    double *s = malloc(rows * B * sizeof *s);
    size_t *idx = malloc(n * sizeof *idx);
    mm_rng rng;
    mm_rng_seed(&rng, seed);
    for (size_t b = 0; b < B; b++) {
        mm_bootstrap_indices(&rng, n, idx);
        for (size_t r = 0; r < rows; r++) s[r * B + b] = mm_summary_value(set, res, o, r, idx, n);
    }
    for (size_t r = 0; r < rows; r++) mm_percentile_interval(s + r * B, B, level, &lo[r], &hi[r]);
    free(s);
    free(idx);
}

static void check_queries(size_t nq)
{
    mm_error err = {0};
    char *qrels = malloc(nq * 64 + 1), *run = malloc(nq * 64 * 8 + 1);
    size_t ql = 0, rl = 0;
    for (size_t q = 0; q < nq; q++) {
        ql += (size_t)sprintf(qrels + ql, "q%03zu 0 d%zu 1\n", q, (q * 7) % 5);
        for (int d = 0; d < 5; d++) /* ranks with many ties across queries */
            rl += (size_t)sprintf(run + rl, "q%03zu Q0 d%d %d %d r\n", q, (d + (int)q) % 5, d + 1, 9 - d);
    }
    trec_qrels qr = {0};
    trec_reader *r = trec_reader_open_mem(qrels, ql, "qrels", &err);
    CHECK(trec_qrels_load_reader(&qr, r, &err) == 0);
    trec_reader_close(r);
    mm_measure_set set = {0};
    const char *specs[] = {"MRR", "medr", "meanr", "gm_map", "num_rel", "R.1,2"};
    for (size_t i = 0; i < 6; i++) CHECK(mm_measure_set_add(&set, specs[i], &err) == 0);
    CHECK(mm_measure_set_finalize(&set, &err) == 0);
    mm_eval_opts o = MM_EVAL_OPTS_DEFAULT;
    mm_eval_result res = {0};
    int st = 0;
    r = trec_reader_open_mem(run, rl, "run", &err);
    CHECK(mm_evaluate_reader(&qr, r, &o, &set, &res, &err, &st) == 0);
    trec_reader_close(r);
    size_t rows = set.nvalues;
    double *lo = calloc(rows, sizeof *lo), *hi = calloc(rows, sizeof *hi);
    double *rlo = calloc(rows, sizeof *rlo), *rhi = calloc(rows, sizeof *rhi);
    mm_bootstrap_summary(&set, &res, &o, 300, 7, 0.9, lo, hi);
    reference(&set, &res, &o, 300, 7, 0.9, rlo, rhi);
    for (size_t k = 0; k < set.count; k++) {
        mm_aggregate a = set.m[k].def->aggregate;
        for (size_t j = 0; j < set.m[k].nvalues; j++) {
            size_t row = set.m[k].offset + j;
            if (a == MM_AGG_NUM_Q) {
                CHECK(isnan(lo[row]));
                continue;
            }
            CHECK_MSG(lo[row] == rlo[row] && hi[row] == rhi[row], "%s n=%zu: [%g,%g] vs [%g,%g]",
                      set.m[k].names[j], nq, lo[row], hi[row], rlo[row], rhi[row]);
        }
    }
    free(lo), free(hi), free(rlo), free(rhi);
    mm_eval_result_free(&res, &set);
    mm_measure_set_free(&set);
    trec_qrels_free(&qr);
    free(qrels);
    free(run);
}

/* Per-query values set by hand: equal-comparing zeros of both signs and
 * NaN in a median row, beside a mean row over the same values. */
static void test_zeros_nan(void)
{
    mm_error err = {0};
    mm_measure_set set = {0};
    CHECK(mm_measure_set_add(&set, "medr", &err) == 0);
    CHECK(mm_measure_set_add(&set, "MRR", &err) == 0);
    CHECK(mm_measure_set_finalize(&set, &err) == 0);
    static const double v[][9] = {
        {3, -0.0, 0.0, 1, -0.0, 0.0, 2, 0.0, -0.0},
        {3, 1, NAN, 0.5, 2, NAN, 1, 0.25, 4},
    };
    for (size_t k = 0; k < 2; k++) {
        size_t n = 9, rows = set.nvalues;
        mm_eval_result res = {0};
        res.query_count = n;
        res.values = calloc(n * rows, sizeof *res.values);
        for (size_t q = 0; q < n; q++)
            for (size_t r = 0; r < rows; r++) res.values[q * rows + r] = v[k][q];
        mm_eval_opts o = MM_EVAL_OPTS_DEFAULT;
        double lo[2], hi[2], rlo[2], rhi[2];
        mm_bootstrap_summary(&set, &res, &o, 200, 3, 0.9, lo, hi);
        reference(&set, &res, &o, 200, 3, 0.9, rlo, rhi);
        for (size_t r = 0; r < rows; r++)
            CHECK_MSG(memcmp(&lo[r], &rlo[r], sizeof lo[r]) == 0 &&
                          memcmp(&hi[r], &rhi[r], sizeof hi[r]) == 0,
                      "case %zu row %zu: [%g,%g] vs [%g,%g]", k, r, lo[r], hi[r], rlo[r], rhi[r]);
        free(res.values);
    }
    mm_measure_set_free(&set);
}

static void test_odd(void) { check_queries(37); }
static void test_even(void) { check_queries(40); }
static void test_one(void) { check_queries(1); }

int main(void)
{
    RUN(test_odd);
    RUN(test_even);
    RUN(test_one);
    RUN(test_zeros_nan);
    return test_summary();
}
