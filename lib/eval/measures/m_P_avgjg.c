/* m_P_avgjg.c — P_avgjg (trec_eval m_P_avgjg.c): P for each judgment group of a
 * query (-R qrels_jg), averaged over the groups (avgjg.c). */
#include "eval/measures.h"

static void calc_P(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    mm_calc_over_jgs(mm_calc_precision_at, m, o, q, v);
}

const mm_measure_def mm_measure_P_avgjg = {
    .name = "P_avgjg",
    .definition = "P at each cutoff, averaged over the judgment groups of the query "
                  "(-R qrels_jg). Default cutoffs as P.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,15,20,30,100,200,500,1000",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_P,
};
