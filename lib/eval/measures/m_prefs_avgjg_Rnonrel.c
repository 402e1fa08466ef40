/* m_prefs_avgjg_Rnonrel.c — prefs_avgjg_Rnonrel (trec_eval 10.0 m_prefs_avgjg_Rnonrel.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_avgjg_Rnonrel(const mm_measure *m, const mm_eval_opts *o,
                                     const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    mm_prefs_avgjg_rnonrel(q, false, v);
}

const mm_measure_def mm_measure_prefs_avgjg_Rnonrel = {
    .name = "prefs_avgjg_Rnonrel",
    .definition = "prefs_avgjg as if each judgment group had as many non-relevant as relevant docs.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_prefs_avgjg_Rnonrel,
};
