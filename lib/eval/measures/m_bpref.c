/* m_bpref.c — binary preference (trec_eval m_bpref.c; Buckley & Voorhees 2004). */
#include "eval/measures.h"

double mm_bpref_value(const mm_eval_opts *o, const mm_query_rels *q);

double mm_bpref_value(const mm_eval_opts *o, const mm_query_rels *q)
{
    /* judged non-relevant documents in the qrels: levels 0 .. level-1 */
    long num_nonrel = 0;
    for (long j = 0; j < o->relevance_level && j < q->num_rel_levels; j++)
        num_nonrel += q->rel_levels[j];
    long nonrel_so_far = 0;
    double bpref = 0.0;
    for (long i = 0; i < q->num_ret; i++) {
        long v = q->rel[i];
        if (v < 0) continue; /* unjudged (either kind) is skipped */
        if (v < o->relevance_level) {
            nonrel_so_far++;
        } else if (nonrel_so_far > 0) {
            long a = nonrel_so_far < q->num_rel ? nonrel_so_far : q->num_rel;
            long b = num_nonrel < q->num_rel ? num_nonrel : q->num_rel;
            bpref += 1.0 - (double)a / (double)b;
        } else {
            bpref += 1.0;
        }
    }
    return q->num_rel ? bpref / (double)q->num_rel : bpref;
}

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)m;
    v[0] = mm_bpref_value(o, q);
}

const mm_measure_def mm_measure_bpref = {
    .name = "bpref",
    .definition = "Binary preference: (1/R) times the sum over retrieved judged-relevant "
                  "documents r of 1 - min(n_r, R) / min(Nn, R), where n_r is the number of "
                  "judged non-relevant documents (0 <= rel < -l) ranked above r and Nn the "
                  "number of judged non-relevant documents in the qrels; the term is 1 when "
                  "n_r = 0. Unjudged documents are skipped.",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
