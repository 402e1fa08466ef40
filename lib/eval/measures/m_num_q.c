/* m_num_q.c — number of queries evaluated (trec_eval m_num_q.c). */
#include "eval/measures.h"

const mm_measure_def mm_measure_num_q = {
    .name = "num_q",
    .definition = "Number of queries averaged over: the qrels queries (with -c, including those "
                  "missing from the run). Summary row only.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_NUM_Q,
    .per_query = false,
};
