/* m_runid.c — the run tag (trec_eval m_runid.c): summary row only. */
#include "eval/measures.h"

const mm_measure_def mm_measure_runid = {
    .name = "runid",
    .definition = "The tag (sixth field) of the last line of the run file. Summary row only.",
    .kind = MM_VALUE_STRING,
    .aggregate = MM_AGG_RUNID,
    .per_query = false,
};
