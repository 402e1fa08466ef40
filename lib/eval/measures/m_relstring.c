/* m_relstring.c — relevance values of the top documents as a string
 * (trec_eval m_relstring.c). */
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/measures.h"

static char *calc_string(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q)
{
    (void)o;
    long len = m->nparams ? (long)m->fparams[0] : 10;
    if (len > q->num_ret) len = q->num_ret;
    if (len < 0 || q->missing) len = 0;
    char *s = xmalloc((size_t)len + 1);
    for (long i = 0; i < len; i++) {
        long r = q->rel[i];
        s[i] = r > 9                        ? '>'
               : r >= 0                     ? (char)('0' + r)
               : r == MM_RELVALUE_NONPOOL   ? '-'
               : r == MM_RELVALUE_UNJUDGED  ? '.'
                                            : '<';
    }
    s[len] = '\0';
    return s;
}

const mm_measure_def mm_measure_relstring = {
    .name = "relstring",
    .definition = "The relevance values of the first n (default 10) retrieved documents, one "
                  "character each: the digit 0-9, '>' above 9, '-' not in the qrels, '.' judged "
                  "with a negative value. Per-query rows only.",
    .params = MM_PARAM_FLOATS,
    .default_params = "10",
    .kind = MM_VALUE_STRING,
    .aggregate = MM_AGG_NONE,
    .per_query = true,
    .calc_string = calc_string,
};
