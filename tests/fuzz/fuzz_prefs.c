/* fuzz_prefs.c — libFuzzer harness for the preference (-R prefs,
 * -R qrels_prefs) and judgment-group (-R qrels_jg) readers and the
 * evaluation behind them.
 *
 * Input: one mode byte, then "JUDGMENTS 0xFF RUN". Mode % 3: 0 prefs,
 * 1 qrels_prefs (both scored with all_prefs), 2 qrels_jg (scored with
 * qrels_jg); bit 4 -c, bit 5 -M 3. Every call must return cleanly (0 or an
 * error), never crash; the preference counts must be consistent.
 *
 *   make build-fuzz/fuzz_prefs
 *   build-fuzz/fuzz_prefs -max_total_time=600 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/measures.h"
#include "eval/prefs.h"
#include "io/trec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void score(const mm_measure_set *set, const mm_eval_opts *opts, int rc,
                  mm_eval_result *res)
{
    if (rc == 0) {
        for (size_t row = 0; row < set->nvalues; row++)
            (void)mm_summary_value(set, res, opts, row, NULL, 0);
        /* fulfilled preferences never exceed possible ones */
        const mm_measure *poss = mm_measure_set_find(set, "prefs_num_prefs_poss");
        const mm_measure *ful = mm_measure_set_find(set, "prefs_num_prefs_ful");
        if (poss && ful)
            for (size_t q = 0; q < res->query_count; q++)
                if (res->values[q * set->nvalues + ful->offset] >
                    res->values[q * set->nvalues + poss->offset])
                    abort();
    }
    if (rc == 0 || res->partial) mm_eval_result_free(res, set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++, size--;
    const uint8_t *sep = memchr(data, 0xFF, size);
    if (!sep) return 0;
    size_t jlen = (size_t)(sep - data);
    int kind = mode % 3;
    mm_error err;
    mm_eval_opts opts = MM_EVAL_OPTS_DEFAULT;
    opts.complete_rel_info = mode & 16;
    if (mode & 32) opts.max_docs_per_topic = 3;
    mm_measure_set set = {0};
    mm_measure_set_add(&set, kind == 2 ? "qrels_jg" : "all_prefs", &err);
    if (mm_measure_set_finalize(&set, &err) < 0) abort();
    trec_reader *jr = trec_reader_open_mem(data, jlen, "rel", &err);
    trec_reader *rr = trec_reader_open_mem(sep + 1, size - jlen - 1, "run", &err);
    mm_eval_result res;
    int status;
    if (jr && rr) {
        if (kind == 2) {
            trec_qrels q;
            if (trec_qrels_load_jg_reader(&q, jr, &err) == 0) {
                int rc = mm_evaluate_reader(&q, rr, &opts, &set, &res, &err, &status);
                score(&set, &opts, rc, &res);
                trec_qrels_free(&q);
            }
        } else {
            mm_prefs p;
            if (mm_prefs_load_reader(&p, jr, kind == 1, &err) == 0) {
                int rc = mm_prefs_evaluate_reader(&p, rr, &opts, &set, &res, &err, &status);
                score(&set, &opts, rc, &res);
                mm_prefs_free(&p);
            }
        }
    }
    trec_reader_close(jr);
    trec_reader_close(rr);
    mm_measure_set_free(&set);
    return 0;
}
