/* m_ndcg.c — nDCG over the whole ranking, and its parts dcg and ideal_dcg
 * (trec_eval m_ndcg.c; Jarvelin & Kekalainen, ACM TOIS 20, 2002). */
#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

/* dcg and ideal dcg with trec_eval's gains: DCG over all retrieved documents,
 * ideal DCG over all judged documents with positive gain (not cut at N). */
static void dcg_pair(const mm_measure *m, const mm_query_rels *q, double *dcg, double *idcg)
{
    mm_gain_level buf[32];
    size_t cap = m->ngains + (size_t)q->num_rel_levels;
    mm_gain_level *g = cap <= 32 ? buf : xmalloc(cap * sizeof *g);
    *dcg = *idcg = 0.0;
    size_t ng = mm_setup_gains(m, q, g);
    mm_ideal_walk w;
    mm_ideal_init(&w, g, ng);
    long i = 0;
    for (; i < q->num_ret && w.gain > 0.0; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        if (rg != 0) *dcg += rg / log2((double)(i + 2));
        mm_ideal_step(&w);
        if (w.gain > 0.0) *idcg += w.gain / log2((double)(i + 2));
    }
    for (; i < q->num_ret; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        if (rg != 0) *dcg += rg / log2((double)(i + 2));
    }
    while (w.gain > 0.0) {
        mm_ideal_step(&w);
        if (w.gain > 0.0) *idcg += w.gain / log2((double)(i + 2));
        i++;
    }
    if (g != buf) free(g);
}

static void calc_ndcg(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                      double *v)
{
    (void)o;
    double dcg, idcg;
    dcg_pair(m, q, &dcg, &idcg);
    if (idcg > 0.0) v[0] = dcg / idcg;
}

static void calc_dcg(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                     double *v)
{
    (void)o;
    double dcg, idcg;
    dcg_pair(m, q, &dcg, &idcg);
    v[0] = dcg;
}

static void calc_ideal_dcg(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                           double *v)
{
    (void)o;
    double dcg, idcg;
    dcg_pair(m, q, &dcg, &idcg);
    v[0] = idcg;
}

const mm_measure_def mm_measure_ndcg = {
    .name = "ndcg",
    .definition = "DCG / ideal DCG. DCG = sum over all retrieved documents of gain / "
                  "log2(rank + 1); the ideal DCG is the same sum over all judged documents "
                  "sorted by decreasing positive gain (not cut at N). The gain is the relevance "
                  "value (linear, not 2^rel - 1), 0 for unjudged documents; parameters "
                  "level=gain override it (ndcg.1=3,2=9). Not affected by -l. 0 if the ideal "
                  "DCG is 0.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_ndcg,
};

const mm_measure_def mm_measure_dcg = {
    .name = "dcg",
    .definition = "The DCG of ndcg (not normalised).",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_dcg,
};

const mm_measure_def mm_measure_ideal_dcg = {
    .name = "ideal_dcg",
    .definition = "The ideal DCG of ndcg.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_ideal_dcg,
};
