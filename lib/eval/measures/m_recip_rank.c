/* m_recip_rank.c — reciprocal rank of the first relevant document. */
#include "eval/measures.h"

void mm_calc_reciprocal_rank(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            v[0] = 1.0 / (double)(i + 1);
            return;
        }
}

const mm_measure_def mm_measure_recip_rank = {
    .name = "recip_rank",
    .definition = "1 / rank of the first relevant retrieved document; 0 if none (no cutoff). "
                  "Summary: the mean (MRR).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = mm_calc_reciprocal_rank,
};
