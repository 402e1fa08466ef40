/* m_P.c — precision at cutoffs (trec_eval m_P.c). */
#include "eval/measures.h"

void mm_calc_precision_at(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    long rel_so_far = 0, i = 0;
    for (size_t c = 0; c < m->nparams; c++) {
        long k = m->cutoffs[c];
        for (; i < k && i < q->num_ret; i++)
            if (q->rel[i] >= o->relevance_level) rel_so_far++;
        /* ranks beyond N count as non-relevant */
        v[c] = (double)rel_so_far / (double)k;
    }
}

const mm_measure_def mm_measure_P = {
    .name = "P",
    .definition = "Precision at k: relevant documents among the top k, divided by k (missing "
                  "ranks count as non-relevant). Default k = 5, 10, 15, 20, 30, 100, 200, 500, "
                  "1000.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,15,20,30,100,200,500,1000",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = mm_calc_precision_at,
};
