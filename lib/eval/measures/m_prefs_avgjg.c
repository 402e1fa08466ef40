/* m_prefs_avgjg.c — prefs_avgjg (trec_eval 10.0 m_prefs_avgjg.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_avgjg(const mm_measure *m, const mm_eval_opts *o,
                             const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    mm_prefs_avgjg(q, MM_PREFS_RET | MM_PREFS_IMP | MM_PREFS_NOTOCCUR, v);
}

const mm_measure_def mm_measure_prefs_avgjg = {
    .name = "prefs_avgjg",
    .definition = "Preferences fulfilled / possible per judgment group, averaged over the groups.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_prefs_avgjg,
};
