/* m_gm_map.c — geometric mean of average precision (trec_eval m_gm_map.c). */
#include "measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
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

const mm_measure_def mm_measure_gm_map = {
    .name = "gm_map",
    .definition = "Average precision as map; summary: the geometric mean "
                  "exp(mean(log(max(AP, 0.00001)))). Summary row only.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_GEOMEAN,
    .per_query = false, /* trec_eval prints only the summary */
    .calc = calc,
};
