/* m_ndcg_rel.c — nDCG averaged over relevant documents (trec_eval m_ndcg_rel.c,
 * experimental). */
#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    mm_gain_level buf[32];
    size_t cap = m->ngains + (size_t)q->num_rel_levels;
    mm_gain_level *g = cap <= 32 ? buf : xmalloc(cap * sizeof *g);
    size_t ng = mm_setup_gains(m, q, g);
    mm_ideal_walk w;
    mm_ideal_init(&w, g, ng);
    double dcg = 0.0, idcg = 0.0, sum = 0.0;
    long num_rel = 0, num_rel_ret = 0, i = 0;
    for (; i < q->num_ret && w.gain > 0.0; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        if (rg != 0) dcg += rg / log2((double)(i + 2));
        mm_ideal_step(&w);
        if (w.gain > 0.0) {
            num_rel++;
            idcg += w.gain / log2((double)(i + 2));
        }
        if (rg > 0) {
            sum += dcg / idcg;
            num_rel_ret++;
        }
    }
    for (; i < q->num_ret; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        if (rg != 0) dcg += rg / log2((double)(i + 2));
        if (rg > 0) {
            sum += dcg / idcg;
            num_rel_ret++;
        }
    }
    while (w.gain > 0.0) {
        mm_ideal_step(&w);
        if (w.gain > 0.0) {
            num_rel++;
            idcg += w.gain / log2((double)(i + 2));
        }
        i++;
    }
    /* relevant documents not retrieved: the final nDCG each */
    if (idcg > 0.0) sum += (double)(num_rel - num_rel_ret) * dcg / idcg;
    if (sum > 0.0) v[0] = sum / (double)num_rel;
    if (g != buf) free(g);
}

const mm_measure_def mm_measure_ndcg_rel = {
    .name = "ndcg_rel",
    .definition = "nDCG averaged over the relevant (positive gain) documents: at each relevant "
                  "retrieved document the DCG so far over the ideal DCG at that rank; each "
                  "relevant document not retrieved contributes the final DCG / ideal DCG. "
                  "Gain parameters as ndcg.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
