/* fuse_optimize.h — the search for late-fusion weights that maximise an
 * evaluation measure (mm-fuse --runs --optimize MEASURE --qrels QRELS).
 *
 * Owns: the candidate weight vectors (a grid over the simplex, or coordinate
 * ascent on a grid), the scoring of a candidate and the choice among equals.
 *
 * A candidate is scored exactly as mm-eval scores a run file: the fused run is
 * formatted as the text mm-fuse would write (same queries, documents, tie
 * order and -k cut; the scores replaced by integers of the same order and
 * ties, since measures see only the ranking) and read back through
 * lib/eval/measures' mm_evaluate_reader, then summarised with mm_summary_value.
 * What is optimised is therefore the number `mm-eval -m MEASURE QRELS
 * fused.trec` prints for the written run.
 *
 * Choice among equals: the uniform weights (1/R each) are scored first and a
 * later candidate replaces the best only if its value is strictly greater, so
 * ties keep the uniform weights, else the earliest candidate in search order.
 */
#ifndef MM_FUSE_OPTIMIZE_H
#define MM_FUSE_OPTIMIZE_H

#include <stddef.h>

#include "core/error.h"
#include "fuse/fuse.h"
#include "eval/measures.h"

enum fuse_search { FUSE_SEARCH_GRID = 0, FUSE_SEARCH_ASCENT = 1 };

/* Bound on the number of grid candidates (C(1/step + R - 1, R - 1)). */
#define FUSE_MAX_GRID 200000

typedef struct fuse_optimize_params {
    const char *measure;     /* an mm-eval -m spec with one value: "map", "P.10", "ndcg_cut.10" */
    const trec_qrels *qrels;
    mm_eval_opts eval;       /* mm-eval's -l -M -J -c (MM_EVAL_OPTS_DEFAULT) */
    int search;              /* FUSE_SEARCH_GRID */
    double step;             /* 0.1: weights are multiples of step; 1/step must be an integer */
    int max_rounds;          /* 10: coordinate-ascent passes over the runs */
    const char *tag;         /* run tag of the evaluated text */
    int digits;              /* as fuse_run_params.digits */
    /* Called after each candidate (may be NULL). */
    void (*progress)(size_t done, size_t total, double best, void *ctx);
    void *progress_ctx;
} fuse_optimize_params;

typedef struct fuse_optimize_result {
    double *weights;     /* one per run (malloc'd) */
    double value;        /* the measure for those weights */
    size_t evaluations;  /* candidates scored */
    size_t skipped;      /* candidates whose fused run lacks a qrels query: a zero weight
                            dropped every document of that query (only without
                            eval.complete_rel_info, as mm-eval refuses such a run) */
    char row_name[64];   /* the measure's row name as mm-eval prints it ("P_10") */
} fuse_optimize_result;

/* Returns 0, or -1 with err and *exit_status (1: usage of the measure or
 * search parameters, or the evaluation status mm-eval would exit with). */
int fuse_optimize(const fuse_runs *fr, const fuse_optimize_params *p, fuse_optimize_result *out,
                  mm_error *err, int *exit_status);
void fuse_optimize_result_free(fuse_optimize_result *r);

#endif
