/* m_map.c — (mean) average precision (trec_eval m_map.c). */
#include "eval/measures.h"

void mm_calc_average_precision(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    double sum = 0.0;
    long rel_so_far = 0;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            rel_so_far++;
            sum += (double)rel_so_far / (double)(i + 1);
        }
    if (rel_so_far) v[0] = sum / (double)q->num_rel;
}

const mm_measure_def mm_measure_map = {
    .name = "map",
    .definition = "Average precision: the sum, over the relevant retrieved documents, of the "
                  "precision at their rank, divided by R (relevant documents not retrieved "
                  "contribute 0). 0 if R = 0. Summary: the mean (MAP).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = mm_calc_average_precision,
};
