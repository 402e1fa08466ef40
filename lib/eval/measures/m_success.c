/* m_success.c — success at cutoffs (trec_eval m_success.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    long first = -1; /* 0-based rank of the first relevant document */
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            first = i;
            break;
        }
    for (size_t c = 0; c < m->nparams; c++) v[c] = first >= 0 && first < m->cutoffs[c];
}

const mm_measure_def mm_measure_success = {
    .name = "success",
    .definition = "1 if a relevant document is among the top k, else 0. Default k = 1, 5, 10.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "1,5,10",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
