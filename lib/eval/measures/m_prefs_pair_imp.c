/* m_prefs_pair_imp.c — prefs_pair_imp (trec_eval 10.0 m_prefs_pair_imp.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_pair_imp(const mm_measure *m, const mm_eval_opts *o,
                                const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    mm_prefs_pair(q, MM_PREFS_RET | MM_PREFS_IMP, v);
}

const mm_measure_def mm_measure_prefs_pair_imp = {
    .name = "prefs_pair_imp",
    .definition = "prefs_pair over the pairs with at least one document retrieved.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_prefs_pair_imp,
};
