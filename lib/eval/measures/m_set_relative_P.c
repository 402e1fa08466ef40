/* m_set_relative_P.c — relative precision of the retrieved set
 * (trec_eval m_set_rel_P.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    long d = q->num_ret < q->num_rel ? q->num_ret : q->num_rel;
    if (d > 0) v[0] = (double)q->num_rel_ret / (double)d;
}

const mm_measure_def mm_measure_set_relative_P = {
    .name = "set_relative_P",
    .definition = "num_rel_ret / min(N, R) (0 if either is 0).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
