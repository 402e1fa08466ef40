/* m_R.c — image-text retrieval Recall@K as CLIP papers report it (mmkit).
 *
 * A query scores 1 at K if ANY relevant document is among its top K (LAION
 * CLIP_benchmark: an image retrieves any of its captions), i.e. trec_eval's
 * success_K under another name; the summary is the fraction of queries. */
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    long first = -1;
    for (long i = 0; i < q->num_ret; i++)
        if (q->rel[i] >= o->relevance_level) {
            first = i;
            break;
        }
    for (size_t c = 0; c < m->nparams; c++) v[c] = first >= 0 && first < m->cutoffs[c];
}

const mm_measure_def mm_measure_R = {
    .name = "R",
    .definition = "Recall@K in the CLIP sense (rows R@1, R@5, R@10 by default; -m R@5 or "
                  "-m R.1,5,10): 1 if any relevant document is among the top K, else 0; the "
                  "summary is the fraction of queries. Same numbers as success_K.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "1,5,10",
    .row_format = "%s@%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
