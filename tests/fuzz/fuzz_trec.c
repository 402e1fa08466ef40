/* fuzz_trec.c — libFuzzer harness for the TREC run and qrels parsers and the
 * evaluator behind them.
 *
 * The first byte picks what the rest is: 0 qrels, 1 a run (streaming reader
 * and whole-run loader), 2+ "qrels 0xFF run" evaluated with all_trec and the
 * multimodal measures under option bits taken from that byte (-c, -J, -M 3,
 * -l 2). Every call must return cleanly (0 or an error), never crash.
 *
 *   make build-fuzz/fuzz_trec
 *   build-fuzz/fuzz_trec -max_total_time=600 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/measures.h"
#include "io/trec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_qrels(const uint8_t *data, size_t size)
{
    mm_error err;
    trec_reader *r = trec_reader_open_mem(data, size, "qrels", &err);
    if (!r) return;
    trec_qrels q;
    if (trec_qrels_load_reader(&q, r, &err) == 0) {
        for (size_t i = 0; i < q.query_count; i++) {
            const char *qid = q.queries[i].qid;
            if (trec_qrels_find_query(&q, qid, strlen(qid)) != (long)i) abort();
            for (size_t j = q.queries[i].first; j < q.queries[i].first + q.queries[i].count; j++)
                if (trec_qrels_find_doc(&q, i, q.docno[j], strlen(q.docno[j])) != (long)j) abort();
        }
        trec_qrels_free(&q);
    }
    trec_reader_close(r);
}

static void fuzz_run(const uint8_t *data, size_t size)
{
    mm_error err;
    trec_reader *r = trec_reader_open_mem(data, size, "run", &err);
    if (!r) return;
    trec_run_line l;
    while (trec_read_run_line(r, &l, &err) == 1)
        if (strlen(l.qid) != l.qid_len || strlen(l.docno) != l.docno_len) abort();
    trec_reader_close(r);
    r = trec_reader_open_mem(data, size, "run", &err);
    trec_run run;
    if (trec_run_load_reader(&run, r, &err) == 0) {
        for (size_t i = 0; i < run.query_count; i++)
            if (!trec_is_sorted_ranked(run.queries[i].items, run.queries[i].count)) abort();
        trec_run_free(&run);
    }
    trec_reader_close(r);
}

static void fuzz_eval(uint8_t mode, const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0xFF, size);
    if (!sep) return;
    size_t qlen = (size_t)(sep - data);
    mm_error err;
    trec_reader *qr = trec_reader_open_mem(data, qlen, "qrels", &err);
    trec_qrels q;
    int ok = qr && trec_qrels_load_reader(&q, qr, &err) == 0;
    trec_reader_close(qr);
    if (!ok) return;
    mm_measure_set set = {0};
    mm_measure_set_add(&set, "all_trec", &err);
    mm_measure_set_add(&set, "clip", &err);
    mm_measure_set_add(&set, "zeroshot", &err);
    mm_measure_set_add(&set, "ndcg.1=3,2=0.5", &err);
    mm_measure_set_add(&set, "dcg", &err);
    if (mm_measure_set_finalize(&set, &err) == 0) {
        mm_eval_opts opts = MM_EVAL_OPTS_DEFAULT;
        opts.complete_rel_info = mode & 4;
        opts.judged_docs_only = mode & 8;
        if (mode & 16) opts.max_docs_per_topic = 3;
        if (mode & 32) opts.relevance_level = 2;
        trec_reader *rr = trec_reader_open_mem(sep + 1, size - qlen - 1, "run", &err);
        mm_eval_result res;
        int status;
        if (rr && mm_evaluate_reader(&q, rr, &opts, &set, &res, &err, &status) == 0) {
            for (size_t row = 0; row < set.nvalues; row++)
                (void)mm_summary_value(&set, &res, &opts, row, NULL, 0);
            mm_eval_result_free(&res, &set);
        }
        trec_reader_close(rr);
    }
    mm_measure_set_free(&set);
    trec_qrels_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++, size--;
    switch (mode % 3) {
    case 0: fuzz_qrels(data, size); break;
    case 1: fuzz_run(data, size); break;
    default: fuzz_eval(mode, data, size); break;
    }
    return 0;
}
