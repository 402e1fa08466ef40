/* m_11pt_avg.c — interpolated precision averaged over recall points
 * (trec_eval 10.0 m_11pt_avg.c). */
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

void mm_iprec_at_recall_values(const mm_eval_opts *o, const mm_query_rels *q,
                               const double *fractions, size_t n, double *v);

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    double buf[64];
    double *p = m->nparams <= 64 ? buf : xcalloc(m->nparams, sizeof *p);
    for (size_t i = 0; i < m->nparams; i++) p[i] = 0.0;
    mm_iprec_at_recall_values(o, q, m->fparams, m->nparams, p);
    double sum = 0.0;
    for (size_t i = 0; i < m->nparams; i++) sum += p[i];
    v[0] = sum / (double)m->nparams;
    if (p != buf) free(p);
}

const mm_measure_def mm_measure_11pt_avg = {
    .name = "11pt_avg",
    .definition = "The mean of iprec_at_recall over the recall points given as parameters "
                  "(default the 11 points 0.0, 0.1, ..., 1.0).",
    .params = MM_PARAM_FLOATS,
    .default_params = "0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
