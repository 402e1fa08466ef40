/* m_prefs_avgjg_ret.c — prefs_avgjg_ret (trec_eval 10.0 m_prefs_avgjg_ret.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_avgjg_ret(const mm_measure *m, const mm_eval_opts *o,
                                 const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    mm_prefs_avgjg(q, MM_PREFS_RET, v);
}

const mm_measure_def mm_measure_prefs_avgjg_ret = {
    .name = "prefs_avgjg_ret",
    .definition = "prefs_avgjg over the preferences whose two documents were both retrieved.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_prefs_avgjg_ret,
};
