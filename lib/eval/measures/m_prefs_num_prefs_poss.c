/* m_prefs_num_prefs_poss.c — prefs_num_prefs_poss (trec_eval 10.0 m_prefs_num_prefs_poss.c),
 * from the preference counts of eval/prefs.h (-R prefs, -R qrels_prefs). */
#include "eval/measures.h"
#include "eval/prefs.h"

static void calc_prefs_num_prefs_poss(const mm_measure *m, const mm_eval_opts *o,
                                      const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    long poss = 0;
    for (size_t i = 0; q->prefs && i < q->prefs->num_jgs; i++) {
        const mm_prefs_jg *g = &q->prefs->jgs[i];
        poss += g->poss_ret + g->poss_imp + g->poss_notoccur;
    }
    v[0] = (double)poss;
}

const mm_measure_def mm_measure_prefs_num_prefs_poss = {
    .name = "prefs_num_prefs_poss",
    .definition = "Number of preferences in the judgments (-R prefs/qrels_prefs), over all judgment "
                  "groups, whether or not the run retrieved their documents.",
    .kind = MM_VALUE_COUNT,
    .aggregate = MM_AGG_SUM,
    .per_query = true,
    .calc = calc_prefs_num_prefs_poss,
};
