/* m_yaap.c — Yet Another Average Precision (Robertson, "On Smoothing Average
 * Precision", ECIR 2012; trec_eval 10.0 m_yaap.c). */
#include <math.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    double sum = 0.0;
    long rel_so_far = 0;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            rel_so_far++;
            sum += (double)rel_so_far / (double)(i + 1);
        }
    /* a log-odds form of AP, which averages better across queries than AP */
    v[0] = log((1.0 + sum) / (1.0 + (double)q->num_rel - sum));
}

const mm_measure_def mm_measure_yaap = {
    .name = "yaap",
    .definition = "Yet another average precision: log((1 + S) / (1 + R - S)), where S is the sum, "
                  "over the relevant retrieved documents, of the precision at their rank (AP "
                  "before dividing by R). Monotonic with AP on one query; better behaved in a "
                  "mean. Not in any nickname (as in trec_eval).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
