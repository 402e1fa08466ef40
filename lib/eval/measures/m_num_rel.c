/* m_num_rel.c — relevant documents judged (trec_eval m_num_rel.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    v[0] = (double)q->num_rel;
}

const mm_measure_def mm_measure_num_rel = {
    .name = "num_rel",
    .definition = "R, the number of qrels entries of the query with rel >= the relevance "
                  "level (-l). Summary: the sum; with -c trec_eval 10.0 instead counts every "
                  "qrels entry with rel > 0 ignoring -l, and so does mm-eval.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .calc = calc,
};
