/* m_Rprec_mult_avgjg.c — Rprec_mult_avgjg (trec_eval m_Rprec_mult_avgjg.c): Rprec_mult for each judgment group of a
 * query (-R qrels_jg), averaged over the groups (avgjg.c). */
#include "eval/measures.h"

static void calc_Rprec_mult(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    mm_calc_over_jgs(mm_calc_Rprec_mult, m, o, q, v);
}

const mm_measure_def mm_measure_Rprec_mult_avgjg = {
    .name = "Rprec_mult_avgjg",
    .definition = "Rprec_mult at each multiple of R, R and the ranking taken per judgment "
                  "group (-R qrels_jg), averaged over the groups. Default multiples as "
                  "Rprec_mult.",
    .params = MM_PARAM_FRACTIONS,
    .default_params = "0.2,0.4,0.6,0.8,1.0,1.2,1.4,1.6,1.8,2.0",
    .row_format = "%s_%3.2f",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_Rprec_mult,
};
