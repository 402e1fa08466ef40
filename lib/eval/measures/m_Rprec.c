/* m_Rprec.c — precision after R documents (trec_eval m_Rprec.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    long rel_so_far = 0;
    for (long i = 0; i < q->num_rel && i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) rel_so_far++;
    if (q->num_rel) v[0] = (double)rel_so_far / (double)q->num_rel;
}

const mm_measure_def mm_measure_Rprec = {
    .name = "Rprec",
    .definition = "R-precision: relevant documents among the top min(N, R), divided by R. "
                  "0 if R = 0.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
