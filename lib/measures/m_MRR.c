/* m_MRR.c — mean reciprocal rank under its usual name (mmkit). */
#include "measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            v[0] = 1.0 / (double)(i + 1);
            return;
        }
}

const mm_measure_def mm_measure_MRR = {
    .name = "MRR",
    .definition = "Reciprocal rank of the first relevant document (0 if none retrieved); the "
                  "summary is the mean. Same numbers as recip_rank.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
