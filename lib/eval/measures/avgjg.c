/* avgjg.c — what the *_avgjg measures share (trec_eval m_map_avgjg.c,
 * m_P_avgjg.c, m_Rprec_mult_avgjg.c): a measure computed for each judgment
 * group of a query (-R qrels_jg) and averaged over the groups. With plain
 * qrels a query is its own single group and the value is the measure's. */
#include "core/xalloc.h"
#include "eval/measures.h"

#include <stdlib.h>

/* trec_eval adds each group's value into the row, then divides by the number
 * of groups when there is more than one: the same order of additions here. */
void mm_calc_over_jgs(mm_calc_fn *base, const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                      double *v)
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
