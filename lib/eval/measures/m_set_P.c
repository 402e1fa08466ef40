/* m_set_P.c — precision of the retrieved set (trec_eval m_set_P.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    if (q->num_ret) v[0] = (double)q->num_rel_ret / (double)q->num_ret;
}

const mm_measure_def mm_measure_set_P = {
    .name = "set_P",
    .definition = "num_rel_ret / N (0 if N = 0).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
