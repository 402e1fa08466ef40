/* m_balanced_acc.c — mean per-class recall of top-1 predictions (mmkit),
 * scikit-learn's balanced_accuracy_score (adjusted=False). */
#include <string.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    v[0] = q->label && q->num_ret > 0 && q->docno && strcmp(q->docno[0], q->label) == 0;
}

const mm_measure_def mm_measure_balanced_acc = {
    .name = "balanced_acc",
    .definition = "Balanced accuracy: per query 1 if the top-ranked class is the query's class; "
                  "the summary is the mean over classes (the classes of the queries) of the "
                  "fraction of that class's queries predicted correctly, i.e. the mean "
                  "per-class recall as scikit-learn's balanced_accuracy_score. Queries without "
                  "a relevant class are left out of it.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_BALANCED,
    .per_query = true,
    .calc = calc,
};
