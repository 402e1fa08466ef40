/* m_gm_bpref.c — geometric mean of bpref (trec_eval m_gm_bpref.c). */
#include "eval/measures.h"

double mm_bpref_value(const mm_eval_opts *o, const mm_query_rels *q);

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    v[0] = mm_bpref_value(o, q);
}

const mm_measure_def mm_measure_gm_bpref = {
    .name = "gm_bpref",
    .definition = "bpref per query; summary: the geometric mean exp(mean(log(max(bpref, "
                  "0.00001)))). Summary row only.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_GEOMEAN,
    .per_query = false, /* trec_eval prints only the summary */
    .calc = calc,
};
