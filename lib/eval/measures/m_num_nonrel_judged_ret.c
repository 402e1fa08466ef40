/* m_num_nonrel_judged_ret.c — judged non-relevant documents retrieved. */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    long n = 0;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= 0 && q->rel[i] < o->relevance_level) n++;
    v[0] = (double)n;
}

const mm_measure_def mm_measure_num_nonrel_judged_ret = {
    .name = "num_nonrel_judged_ret",
    .definition = "Retrieved documents judged non-relevant (0 <= rel < -l). Summary: the sum.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .calc = calc,
};
