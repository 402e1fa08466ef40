/* m_ndcg_cut.c — nDCG at cutoffs (trec_eval m_ndcg_cut.c). */
#include <math.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    /* DCG@k with gain = the raw relevance value (> 0 only): no gain parameters */
    double dcg = 0.0;
    long i = 0;
    for (size_t c = 0; c < m->nparams; c++) {
        long k = m->cutoffs[c];
        for (; i < k && i < q->num_ret; i++)
            if (q->rel[i] > 0) dcg += (double)q->rel[i] / log2((double)(i + 2));
        v[c] = dcg;
    }
    /* ideal DCG@k: judged documents by decreasing relevance, truncated at k */
    double idcg = 0.0;
    long lvl = q->num_rel_levels - 1, left = lvl > 0 ? q->rel_levels[lvl] : 0;
    i = 0;
    for (size_t c = 0; c < m->nparams; c++) {
        long k = m->cutoffs[c];
        while (i < k && lvl > 0) {
            if (left == 0) {
                lvl--;
                left = lvl > 0 ? q->rel_levels[lvl] : 0;
                continue;
            }
            idcg += (double)lvl / log2((double)(i + 2));
            left--;
            i++;
        }
        v[c] = idcg > 0.0 ? v[c] / idcg : 0.0;
    }
}

const mm_measure_def mm_measure_ndcg_cut = {
    .name = "ndcg_cut",
    .definition = "nDCG@k: DCG of the top k (gain = relevance value, discount log2(rank + 1)) "
                  "over the DCG of the ideal ranking truncated at k. No gain parameters; not "
                  "affected by -l. Default k = 5, 10, 15, 20, 30, 100, 200, 500, 1000.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,15,20,30,100,200,500,1000",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
