/* m_Rndcg.c — nDCG averaged at the R-levels (trec_eval m_Rndcg.c, experimental). */
#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    if (q->num_rel == 0) return;
    mm_gain_level buf[32];
    size_t cap = m->ngains + (size_t)q->num_rel_levels;
    mm_gain_level *g = cap <= 32 ? buf : xmalloc(cap * sizeof *g);
    size_t ng = mm_setup_gains(m, q, g);
    mm_ideal_walk w;
    mm_ideal_init(&w, g, ng);
    double old_gain = w.gain, dcg = 0.0, idcg = 0.0, sum = 0.0;
    long changes = 0, i = 0;
    for (; i < q->num_ret && w.gain > 0.0; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        mm_ideal_step(&w);
        /* at a change of the ideal gain level: nDCG here, for the average */
        if (old_gain != w.gain) {
            if (idcg > 0.0) {
                sum += dcg / idcg;
                changes++;
            }
            old_gain = w.gain;
        }
        if (rg != 0) dcg += rg / log2((double)(i + 2));
        if (w.gain > 0.0) idcg += w.gain / log2((double)(i + 2));
    }
    if (i < q->num_ret) {
        for (; i < q->num_ret; i++) {
            double rg = mm_gain_of(g, ng, q->rel[i]);
            if (rg != 0) dcg += rg / log2((double)(i + 2));
        }
        if (idcg > 0.0) {
            sum += dcg / idcg;
            changes++;
        }
    }
    while (w.gain > 0.0) {
        mm_ideal_step(&w);
        if (old_gain != w.gain) {
            if (idcg > 0.0) {
                sum += dcg / idcg;
                changes++;
            }
            old_gain = w.gain;
        }
        if (w.gain > 0.0) idcg += w.gain / log2((double)(i + 2));
        i++;
    }
    if (changes) v[0] = sum / (double)changes;
    if (g != buf) free(g);
}

const mm_measure_def mm_measure_Rndcg = {
    .name = "Rndcg",
    .definition = "nDCG averaged at the R-levels: the ranks where the ideal ranking moves to a "
                  "lower gain level (and at N). 0 if R = 0. Gain parameters as ndcg.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
