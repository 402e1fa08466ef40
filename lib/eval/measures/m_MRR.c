/* m_MRR.c — mean reciprocal rank under its usual name (mmkit). */
#include "eval/measures.h"

const mm_measure_def mm_measure_MRR = {
    .name = "MRR",
    .definition = "Reciprocal rank of the first relevant document (0 if none retrieved); the "
                  "summary is the mean. Same numbers as recip_rank.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = mm_calc_reciprocal_rank, /* the same per-query value */
};
