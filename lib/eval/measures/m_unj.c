/* m_unj.c — fraction unjudged at cutoffs (trec_eval 10.0 m_unjudged.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    long unj = 0, i = 0;
    for (size_t c = 0; c < m->nparams; c++) {
        long k = m->cutoffs[c];
        for (; i < k && i < q->num_ret; i++)
            if (q->rel[i] < 0) unj++;
        v[c] = (double)unj / (double)k;
    }
}

const mm_measure_def mm_measure_unj = {
    .name = "unj",
    .definition = "Fraction of the top k that is unjudged (not in the qrels, or judged "
                  "negative); the denominator is k. Default k = 5, 10, 20.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,20",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .zero_if_missing = true,
    .calc = calc,
};
