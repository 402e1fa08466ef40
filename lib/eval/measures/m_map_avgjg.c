/* m_map_avgjg.c — map_avgjg (trec_eval m_map_avgjg.c): map for each judgment group of a
 * query (-R qrels_jg), averaged over the groups (avgjg.c). */
#include "eval/measures.h"

static void calc_map(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    mm_calc_over_jgs(mm_calc_average_precision, m, o, q, v);
}

const mm_measure_def mm_measure_map_avgjg = {
    .name = "map_avgjg",
    .definition = "map computed against each judgment group of the query (-R qrels_jg) and "
                  "averaged over the groups; equals map with plain qrels.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_map,
};
