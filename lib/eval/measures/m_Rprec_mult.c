/* m_Rprec_mult.c — precision at multiples of R (trec_eval m_Rprec_mult.c). */
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

void mm_calc_Rprec_mult(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    long cut[64];
    size_t n = m->nparams;
    long *cutoffs = n <= 64 ? cut : xmalloc(n * sizeof *cutoffs);
    /* trec_eval keeps the 9.0 rounding here in 10.0: (long)(x * R + 0.9) */
    for (size_t i = 0; i < n; i++) cutoffs[i] = (long)(m->fparams[i] * (double)q->num_rel + 0.9);
    long cur = (long)n - 1;
    /* cutoffs beyond the ranking: missing ranks are non-relevant */
    while (cur >= 0 && cutoffs[cur] > q->num_ret) {
        v[cur] = (double)q->num_rel_ret / (double)cutoffs[cur];
        cur--;
    }
    long rel_so_far = q->num_rel_ret;
    for (long i = q->num_ret; i > 0 && rel_so_far > 0; i--) {
        double precis = (double)rel_so_far / (double)i;
        while (cur >= 0 && i == cutoffs[cur]) v[cur--] = precis;
        if (q->rel[i - 1] >= o->relevance_level) rel_so_far--;
    }
    if (cutoffs != cut) free(cutoffs);
}

const mm_measure_def mm_measure_Rprec_mult = {
    .name = "Rprec_mult",
    .definition = "Precision at rank (long)(x*R + 0.9) for each multiple x of R (default 0.2, "
                  "0.4, ..., 2.0); ranks beyond N count as non-relevant.",
    .params = MM_PARAM_FRACTIONS,
    .default_params = "0.2,0.4,0.6,0.8,1.0,1.2,1.4,1.6,1.8,2.0",
    .row_format = "%s_%3.2f",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = mm_calc_Rprec_mult,
};
