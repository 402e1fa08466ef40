/* m_gm_map.c — geometric mean of average precision (trec_eval m_gm_map.c). */
#include "eval/measures.h"

const mm_measure_def mm_measure_gm_map = {
    .name = "gm_map",
    .definition = "Average precision as map; summary: the geometric mean "
                  "exp(mean(log(max(AP, 0.00001)))). Summary row only.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_GEOMEAN,
    .per_query = false, /* trec_eval prints only the summary */
    .calc = mm_calc_average_precision, /* the same per-query value */
};
