/* m_meanr.c — mean rank of the first relevant document (mmkit). */
#include "eval/measures.h"

void mm_first_relevant_rank(const mm_eval_opts *o, const mm_query_rels *q, double *v);

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    mm_first_relevant_rank(o, q, v);
}

const mm_measure_def mm_measure_meanr = {
    .name = "meanr",
    .definition = "Rank of the first relevant document as for medr; the summary is the mean.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .first_rank = true,
    .calc = calc,
};
