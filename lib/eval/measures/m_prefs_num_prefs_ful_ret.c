/* m_prefs_num_prefs_ful_ret.c — prefs_num_prefs_ful_ret (trec_eval 10.0 m_prefs_num_prefs_ful_ret.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_num_prefs_ful_ret(const mm_measure *m, const mm_eval_opts *o,
                                         const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    long ful = 0;
    for (size_t i = 0; q->prefs && i < q->prefs->num_jgs; i++) ful += q->prefs->jgs[i].ful_ret;
    v[0] = (double)ful;
}

const mm_measure_def mm_measure_prefs_num_prefs_ful_ret = {
    .name = "prefs_num_prefs_ful_ret",
    .definition = "Number of preferences fulfilled with both documents retrieved.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .calc = calc_prefs_num_prefs_ful_ret,
};
