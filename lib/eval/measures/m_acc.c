/* m_acc.c — zero-shot classification top-k accuracy (mmkit).
 *
 * The run ranks class ids (docnos) for each image (qid); the qrels give each
 * image its class: the relevant doc with the highest rel (ties: smallest docno). */
#include <string.h>

#include "eval/measures.h"

static void calc(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v)
{
    (void)o;
    long pos = -1;
    if (q->label && q->docno)
        for (long i = 0; i < q->num_ret; i++)
            if (strcmp(q->docno[i], q->label) == 0) {
                pos = i;
                break;
            }
    for (size_t c = 0; c < m->nparams; c++) v[c] = pos >= 0 && pos < m->cutoffs[c];
}

const mm_measure_def mm_measure_acc = {
    .name = "acc",
    .definition = "Zero-shot top-k accuracy (rows acc@1, acc@5 by default; -m acc@1): 1 if the "
                  "query's class (its relevant qrels doc with the highest rel, ties: smallest "
                  "docno) is among the top k ranked classes, else 0; the summary is the fraction "
                  "of queries.",
    .params = MM_PARAM_CUTOFFS,
    .default_params = "1,5",
    .row_format = "%s@%ld",
    .kind = MM_VALUE_FLOAT,
    .aggregate = MM_AGG_MEAN,
    .per_query = true,
    .calc = calc,
};
