/* m_set_map.c — unranked set average precision (trec_eval m_set_map.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    if (q->num_ret && q->num_rel)
        v[0] = ((double)q->num_rel_ret * (double)q->num_rel_ret) /
               ((double)q->num_ret * (double)q->num_rel);
}

const mm_measure_def mm_measure_set_map = {
    .name = "set_map",
    .definition = "num_rel_ret^2 / (N * R): set precision times set recall (0 if N or R is 0).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
