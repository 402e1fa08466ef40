/* m_rbp_resid.c — rank-biased precision residual (trec_eval m_rbp_resid.c). */
#include <string.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    double p = 0.9; /* rbp_resid.p=0.8, as rbp; other names are ignored, as trec_eval does */
    for (size_t i = 0; i < m->ngains; i++)
        if (strcmp(m->gains[i].name, "p") == 0) p = m->gains[i].gain;
    double sum = 0.0, cur_p = 1.0;
    long unjudged = 0;
    for (long i = 0; i < q->num_ret; i++) {
        if (q->rel[i] < 0) {
            unjudged++;
            sum += cur_p;
        }
        cur_p *= p;
    }
    if (unjudged) v[0] = cur_p + (1 - p) * sum;
}

const mm_measure_def mm_measure_rbp_resid = {
    .name = "rbp_resid",
    .definition = "The RBP residual (uncertainty from unjudged documents): p^N + (1 - p) * sum "
                  "over unjudged ranks i of p^(i-1), p = 0.9 (rbp_resid.p=0.8 to change); 0 if "
                  "every retrieved document is judged.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .zero_if_missing = true,
    .calc = calc,
};
