/* m_G.c — normalised gain G (trec_eval m_G.c, experimental). */
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
    double results_g = 0.0, sum_results = 0.0, sum_ideal = 0.0, sum_cost = 0.0;
    const double min_cost = 1.0;
    long i = 0;
    for (; i < q->num_ret && w.gain > 0.0; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        sum_results += rg;
        mm_ideal_step(&w);
        if (w.gain > 0.0) sum_ideal += w.gain;
        sum_cost += w.gain >= min_cost ? w.gain : min_cost;
        if (rg != 0) results_g += rg / log2(2 + sum_cost - sum_results);
    }
    for (; i < q->num_ret; i++) {
        double rg = mm_gain_of(g, ng, q->rel[i]);
        sum_results += rg;
        sum_cost += min_cost;
        if (rg != 0) results_g += rg / log2(2 + sum_cost - sum_results);
    }
    while (w.gain > 0.0) {
        mm_ideal_step(&w);
        if (w.gain > 0.0) sum_ideal += w.gain;
    }
    if (sum_ideal > 0.0) v[0] = results_g / sum_ideal;
    if (g != buf) free(g);
}

const mm_measure_def mm_measure_G = {
    .name = "G",
    .definition = "Normalised gain G: each retrieved document at rank i contributes gain / "
                  "log2(2 + ideal cumulative cost(i) - cumulative gain(i)); the sum is divided by "
                  "the total ideal gain. Gains default to the relevance value; parameters "
                  "level=gain override them (G.1=3,2=9).",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
