/* m_relative_P.c — precision relative to the best possible at cutoffs
 * (trec_eval m_rel_P.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    long rel_so_far = 0, i = 0;
    for (size_t c = 0; c < m->nparams; c++) {
        long k = m->cutoffs[c];
        for (; i < k && i < q->num_ret; i++)
            if (q->rel[i] >= o->relevance_level) rel_so_far++;
        if (q->num_rel) v[c] = (double)rel_so_far / (double)(k < q->num_rel ? k : q->num_rel);
    }
}

const mm_measure_def mm_measure_relative_P = {
    .name = "relative_P",
    .definition = "Relevant documents among the top k divided by min(k, R): precision up to R, "
                  "recall after. 0 if R = 0. Default k = 5, 10, 15, 20, 30, 100, 200, 500, "
                  "1000.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,15,20,30,100,200,500,1000",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
