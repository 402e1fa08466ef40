/* m_medr.c — median rank of the first relevant document (mmkit). */
#include "eval/measures.h"

void mm_first_relevant_rank(const mm_eval_opts *o, const mm_query_rels *q, double *v);

void mm_first_relevant_rank(const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            v[0] = (double)(i + 1);
            return;
        }
    v[0] = -1.0; /* not found: the evaluator substitutes max N + 1 */
}

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    mm_first_relevant_rank(o, q, v);
}

const mm_measure_def mm_measure_medr = {
    .name = "medr",
    .definition = "Rank of the first relevant document; the summary is the median over queries "
                  "(mean of the two middle values for an even count). A query whose relevant "
                  "documents are not retrieved gets rank D + 1, D the deepest ranking in the "
                  "run (with a full ranking of the gallery: the gallery size + 1).",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEDIAN,
    .per_query = true,
    .first_rank = true,
    .calc = calc,
};
