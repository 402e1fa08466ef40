/* m_infAP.c — inferred average precision (trec_eval m_infap.c; Yilmaz & Aslam,
 * CIKM 2006). */
#include "eval/measures.h"

#define INFAP_EPSILON 0.00001

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    long nonrel_so_far = 0, rel_so_far = 0, pool_unjudged_so_far = 0;
    double inf_ap = 0.0;
    for (long j = 0; j < q->num_ret; j++) {
        long r = q->rel[j];
        if (r == MM_RELVALUE_NONPOOL) continue; /* not in the pool: skipped */
        if (r == MM_RELVALUE_UNJUDGED) {        /* pooled but unjudged: counted */
            pool_unjudged_so_far++;
            continue;
        }
        if (r < o->relevance_level) {
            nonrel_so_far++;
            continue;
        }
        rel_so_far++;
        if (j == 0) {
            inf_ap += 1.0;
        } else {
            double fj = (double)j;
            long above = rel_so_far - 1 + nonrel_so_far + pool_unjudged_so_far;
            inf_ap += 1.0 / (fj + 1.0) + (fj / (fj + 1.0)) * ((double)above / fj) *
                                             (((double)(rel_so_far - 1) + INFAP_EPSILON) /
                                              ((double)(rel_so_far - 1 + nonrel_so_far) +
                                               2 * INFAP_EPSILON));
        }
    }
    if (q->num_rel) inf_ap /= (double)q->num_rel;
    v[0] = inf_ap;
}

const mm_measure_def mm_measure_infAP = {
    .name = "infAP",
    .definition = "Inferred AP: for each retrieved judged-relevant document at 0-based rank j, "
                  "1 if j = 0, else 1/(j+1) + (j/(j+1)) * (a/j) * ((r+e)/(r+n+2e)), where a "
                  "counts the judged and pooled-unjudged documents above it, r the relevant "
                  "and n the non-relevant ones above it, e = 0.00001; the sum divided by R. "
                  "Documents not in the qrels are skipped.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
