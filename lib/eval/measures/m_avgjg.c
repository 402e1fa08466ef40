/* m_avgjg.c — map_avgjg, P_avgjg, Rprec_mult_avgjg (trec_eval m_map_avgjg.c,
 * m_P_avgjg.c, m_Rprec_mult_avgjg.c): map, P and Rprec_mult computed for each
 * judgment group of a query (-R qrels_jg) and averaged over the groups. With
 * plain qrels a query is its own single group and they equal map, P and
 * Rprec_mult. */
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

typedef void calc_fn(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                     double *v);

/* trec_eval adds each group's value into the row, then divides by the number
 * of groups when there is more than one: the same order of additions here. */
static void over_groups(calc_fn *base, const mm_measure *m, const mm_eval_opts *o,
                        const mm_query_rels *q, double *v)
{
    double one[64];
    double *tmp = m->nvalues <= 64 ? one : xcalloc(m->nvalues, sizeof *tmp);
    for (size_t g = 0; g < q->num_jgs; g++) {
        for (size_t r = 0; r < m->nvalues; r++) tmp[r] = 0.0;
        base(m, o, &q->jgs[g], tmp);
        for (size_t r = 0; r < m->nvalues; r++) v[r] += tmp[r];
    }
    if (q->num_jgs > 1)
        for (size_t r = 0; r < m->nvalues; r++) v[r] /= (double)q->num_jgs;
    if (tmp != one) free(tmp);
}

static void calc_map(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    over_groups(mm_calc_average_precision, m, o, q, v);
}

static void calc_P(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    over_groups(mm_calc_precision_at, m, o, q, v);
}

static void calc_Rprec_mult(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                            double *v)
{
    over_groups(mm_calc_Rprec_mult, m, o, q, v);
}

const mm_measure_def mm_measure_map_avgjg = {
    .name = "map_avgjg",
    .definition = "map computed against each judgment group of the query (-R qrels_jg) and "
                  "averaged over the groups; equals map with plain qrels.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_map,
};

const mm_measure_def mm_measure_P_avgjg = {
    .name = "P_avgjg",
    .definition = "P at each cutoff, averaged over the judgment groups of the query "
                  "(-R qrels_jg). Default cutoffs as P.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "5,10,15,20,30,100,200,500,1000",
    .row_format = "%s_%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_P,
};

const mm_measure_def mm_measure_Rprec_mult_avgjg = {
    .name = "Rprec_mult_avgjg",
    .definition = "Rprec_mult at each multiple of R, R and the ranking taken per judgment "
                  "group (-R qrels_jg), averaged over the groups. Default multiples as "
                  "Rprec_mult.",
    .params = MM_PARAM_FRACTIONS,
    .default_params = "0.2,0.4,0.6,0.8,1.0,1.2,1.4,1.6,1.8,2.0",
    .row_format = "%s_%3.2f",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc_Rprec_mult,
};
