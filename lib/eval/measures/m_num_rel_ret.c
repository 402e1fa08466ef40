/* m_num_rel_ret.c — relevant documents retrieved (trec_eval m_num_rel_ret.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    v[0] = (double)q->num_rel_ret;
}

const mm_measure_def mm_measure_num_rel_ret = {
    .name = "num_rel_ret",
    .definition = "Number of retrieved documents that are relevant (value >= -l). Summary: "
                  "the sum.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .calc = calc,
};
