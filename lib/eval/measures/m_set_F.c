/* m_set_F.c — F measure of the retrieved set (trec_eval m_set_F.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    if (q->num_ret && q->num_rel && q->num_rel_ret) {
        double x = m->nparams ? m->fparams[0] : 1.0;
        double P = (double)q->num_rel_ret / (double)q->num_ret;
        double R = (double)q->num_rel_ret / (double)q->num_rel;
        v[0] = (x + 1.0) * P * R / (x * P + R);
    }
}

const mm_measure_def mm_measure_set_F = {
    .name = "set_F",
    .definition = "(x+1) P R / (x P + R) with P = set_P, R = set_recall and x the parameter "
                  "(default 1: the harmonic mean); 0 if nothing relevant is retrieved.",
    .params = MM_PARAM_FLOATS,
    .default_params = "1.0",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
