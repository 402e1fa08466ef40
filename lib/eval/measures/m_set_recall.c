/* m_set_recall.c — recall of the retrieved set (trec_eval m_set_recall.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    if (q->num_rel) v[0] = (double)q->num_rel_ret / (double)q->num_rel;
}

const mm_measure_def mm_measure_set_recall = {
    .name = "set_recall",
    .definition = "num_rel_ret / R (0 if R = 0).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
