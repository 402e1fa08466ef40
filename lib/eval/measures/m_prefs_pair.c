/* m_prefs_pair.c — prefs_pair (trec_eval 10.0 m_prefs_pair.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_pair(const mm_measure *m, const mm_eval_opts *o,
                            const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    mm_prefs_pair(q, MM_PREFS_RET | MM_PREFS_IMP | MM_PREFS_NOTOCCUR, v);
}

const mm_measure_def mm_measure_prefs_pair = {
    .name = "prefs_pair",
    .definition = "Per pair of judged documents with a preference, the share of judgment groups the "
                  "ranking agrees with, averaged over pairs (pairs of unretrieved docs count 0).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_prefs_pair,
};
