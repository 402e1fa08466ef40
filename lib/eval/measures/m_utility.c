/* m_utility.c — set utility (trec_eval m_utility.c). */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    const double *p = m->fparams;
    v[0] = p[0] * (double)q->num_rel_ret + p[1] * (double)(q->num_ret - q->num_rel_ret) +
           p[2] * (double)(q->num_rel - q->num_rel_ret) +
           p[3] * (double)(o->num_docs_in_coll + q->num_rel_ret - q->num_ret - q->num_rel);
}

const mm_measure_def mm_measure_utility = {
    .name = "utility",
    .definition = "p1*a + p2*b + p3*c + p4*d with a = relevant retrieved, b = non-relevant "
                  "retrieved, c = relevant not retrieved, d = the rest of the collection (-N). "
                  "Parameters p1,p2,p3,p4, default 1,-1,0,0.",
    .params = MM_PARAM_FLOATS,
    .default_params = "1.0,-1.0,0.0,0.0",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .zero_if_missing = true,
    .calc = calc,
};
