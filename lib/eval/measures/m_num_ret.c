/* m_num_ret.c — documents retrieved (trec_eval m_num_ret.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    v[0] = (double)q->num_ret;
}

const mm_measure_def mm_measure_num_ret = {
    .name = "num_ret",
    .definition = "N, the number of documents retrieved for the query after -M and -J "
                  "(0 for a query missing from the run). Summary: the sum.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .zero_if_missing = true,
    .calc = calc,
};
