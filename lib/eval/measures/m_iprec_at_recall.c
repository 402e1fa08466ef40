/* m_iprec_at_recall.c — interpolated precision at recall levels
 * (trec_eval 10.0 m_iprec_at_recall.c). */
#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

void mm_iprec_at_recall_values(const mm_eval_opts *o, const mm_query_rels *q,
                               const double *fractions, size_t n, double *v);

void mm_iprec_at_recall_values(const mm_eval_opts *o, const mm_query_rels *q,
                               const double *fractions, size_t n, double *v)
{
    /* A recall fraction x becomes a number of relevant documents: 10.0 rounds
     * (lround(x * R)); 9.0.x computed (long)(x * R + 0.9). */
    long cut[64];
    long *cutoffs = n <= 64 ? cut : xmalloc(n * sizeof *cutoffs);
    for (size_t i = 0; i < n; i++) cutoffs[i] = lround(fractions[i] * (double)q->num_rel);
    long cur = (long)n - 1;
    while (cur >= 0 && cutoffs[cur] > q->num_rel_ret) cur--;
    /* Interpolated precision at rank X = max precision at any rank >= X, so
     * walk the ranking backwards. When -J leaves no document this is 0/0, a
     * NaN that prints "-nan" as trec_eval's does (x86's default NaN has the
     * sign bit set); --empty-is-zero gives 0 instead. */
    double int_precis = q->num_ret || !o->empty_is_zero
                            ? (double)q->num_rel_ret / (double)q->num_ret
                            : 0.0;
    long rel_so_far = q->num_rel_ret;
    for (long i = q->num_ret; i > 0 && rel_so_far > 0; i--) {
        double precis = (double)rel_so_far / (double)i;
        if (int_precis < precis) int_precis = precis;
        if (q->rel[i - 1] >= o->relevance_level) {
            while (cur >= 0 && rel_so_far == cutoffs[cur]) v[cur--] = int_precis;
            rel_so_far--;
        }
    }
    while (cur >= 0) v[cur--] = int_precis;
    if (cutoffs != cut) free(cutoffs);
}

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    mm_iprec_at_recall_values(o, q, m->fparams, m->nparams, v);
}

const mm_measure_def mm_measure_iprec_at_recall = {
    .name = "iprec_at_recall",
    .definition = "Interpolated precision at recall x: the highest precision at any rank where "
                  "at least lround(x*R) relevant documents have been retrieved (trec_eval 10.0 "
                  "rounding). Default x = 0.0, 0.1, ..., 1.0.",
    .params = MM_PARAM_FRACTIONS,
    .default_params = "0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0",
    .row_format = "%s_%3.2f",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
