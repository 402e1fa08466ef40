/* m_rbp.c — rank-biased precision (Moffat & Zobel, ACM TOIS 27, 2008).
 *
 * trec_eval 10.0 (m_rbp.c) normalises the gains with `min` and `max` that it
 * never initialises, so its value depends on the build. We compute what it
 * means to: min and max over the gain table, gains rescaled to [0, 1] only
 * if they fall outside it. With default gains this is rel / max_rel. */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    double p = 0.9;
    for (size_t i = 0; i < m->ngains; i++)
        if (strcmp(m->gains[i].name, "p") == 0) p = m->gains[i].gain;
    mm_gain_level buf[32];
    size_t cap = m->ngains + (size_t)q->num_rel_levels;
    mm_gain_level *g = cap <= 32 ? buf : xmalloc(cap * sizeof *g);
    size_t ng = mm_setup_gains(m, q, g);
    if (ng > 0) {
        double min = g[0].gain, max = g[0].gain;
        for (size_t i = 1; i < ng; i++) {
            if (g[i].gain < min) min = g[i].gain;
            if (g[i].gain > max) max = g[i].gain;
        }
        if ((min < 0 || max > 1) && max > min)
            for (size_t i = 0; i < ng; i++) g[i].gain = (g[i].gain - min) / (max - min);
    }
    double sum = 0.0, cur_p = 1.0;
    for (long i = 0; i < q->num_ret; i++) {
        double gain = mm_gain_of(g, ng, q->rel[i]);
        if (gain != 0) sum += gain * cur_p;
        cur_p *= p;
    }
    v[0] = (1.0 - p) * sum;
    if (g != buf) free(g);
}

const mm_measure_def mm_measure_rbp = {
    .name = "rbp",
    .definition = "Rank-biased precision (1 - p) * sum over ranks i of gain_i * p^(i-1), p = 0.9 "
                  "(rbp.p=0.8 to change), gains = relevance values rescaled to [0, 1] when they "
                  "exceed it. trec_eval 10.0 reads uninitialised memory here; mm-eval computes "
                  "the intended value, so rbp rows need not agree with trec_eval's.",
    .params = MM_PARAM_GAINS,
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
