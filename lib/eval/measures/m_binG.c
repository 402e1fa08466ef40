/* m_binG.c — binary G (trec_eval m_binG.c, experimental). */
#include <math.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    long rel_so_far = 0;
    double sum = 0.0;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            rel_so_far++;
            /* 2 + number of non-relevant documents ranked above */
            sum += 1.0 / log2((double)(3 + i - rel_so_far));
        }
    if (rel_so_far) v[0] = sum / (double)q->num_rel;
}

const mm_measure_def mm_measure_binG = {
    .name = "binG",
    .definition = "Binary G: the sum over relevant retrieved documents of 1/log2(2 + number of "
                  "non-relevant documents ranked above it), divided by R.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
