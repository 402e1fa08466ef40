/* traindata.h — the examples mm-train learns from and mm-predict scores.
 *
 * Owns: loading one MMF file per modality and joining them by id (the first
 * file's order; every value checked finite), each input L2-normalised and
 * the inputs concatenated into one row per item; reading labels
 * (`id<TAB>label` TSV or qrels `id 0 label rel`, errors as file:line) and
 * matching them to the rows (--missing error|skip, both directions counted);
 * the targets of the other tasks (several labels per id, values per id) and
 * the pairs of pair matching: queries, their candidates from a run and the
 * relevant documents from qrels.
 */
#ifndef MM_NN_TRAINDATA_H
#define MM_NN_TRAINDATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TD_MAX_INPUTS 8

typedef struct traindata {
    size_t rows;
    int ninputs;
    int dims[TD_MAX_INPUTS];
    char *sources[TD_MAX_INPUTS]; /* each file's "model" header value, or "" */
    int D;
    float *x;   /* rows × D */
    char **ids; /* rows, owned */
} traindata;

/* Loads and joins; `missing_skip` drops an item absent from a later file
 * (counted in *skipped) instead of failing. normalize != 0: L2 per input. */
int traindata_load(traindata *td, const char *const *paths, int n, int missing_skip, int normalize,
                   size_t *skipped, mm_error *err);
void traindata_free(traindata *td);

typedef struct labelset {
    size_t n;
    char **ids, **labels;
    size_t *lines;
    const char *path;
} labelset;

int labels_load(labelset *ls, const char *path, mm_error *err);
void labels_free(labelset *ls);

/* Gives each row of td its label's class index in *y (rows), with the
 * classes sorted (byte order) in *classes / *nclasses. Labels whose id has
 * no row and rows without a label: an error naming the first (file:line or
 * the feature file's id) unless missing_skip, when such rows get y = -1
 * and the counts are returned. */
int labels_match(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip, int **y,
                 char ***classes, int *nclasses, size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err);

/* The first label line whose id has no row of td: an error naming it
 * (file:line), or with missing_skip their count in *unmatched. */
int labels_check_ids(const labelset *ls, const traindata *td, const char *feature_name, size_t *unmatched,
                     int missing_skip, mm_error *err);

/* multilabel: every label of an id applies (TSV lines or qrels rel > 0,
 * repeated per label). The labels, sorted, into *classes; t[rows, nclasses]
 * 0/1. Missing rows and labels as labels_match. */
int labels_match_multi(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip,
                       float **t, unsigned char **has, char ***classes, int *nclasses, size_t *unmatched_labels,
                       size_t *unlabelled_rows, mm_error *err);

/* regression: `id<TAB>value` (one value per id, a finite number); t[rows]
 * and has[rows] (the row has a value). */
int values_match(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip, float **t,
                 unsigned char **has, size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err);

/* ---- pairs --------------------------------------------------------------------
 * Each query of the candidate run that has features and at least one
 * relevant document (qrels rel > 0) with features becomes one example: its
 * candidates are the run's documents (in the run's order) plus, at the end
 * and when add_missing is set, every relevant document the run missed, so
 * that each example has a positive (without add_missing, a query with no
 * relevant candidate is skipped); a candidate's target is 1/|relevant| if relevant, else 0. A
 * pair's row is [q; d] or, with product, [q; d; q ⊙ d] (q, d normalised as
 * loaded). Without qrels (mm-predict --rerank) every query of the run with
 * features is kept and the targets are 0. */
typedef struct pairdata {
    size_t nq;        /* queries kept */
    int qdim, gdim, product, D;
    traindata q, g;   /* the query and document features */
    size_t *first;    /* nq + 1: query i's candidates are first[i] .. first[i+1]-1 */
    uint32_t *qrow;   /* per query, its row in q */
    uint32_t *doc;    /* per candidate, its row in g */
    float *target;    /* per candidate */
    int maxc;         /* the most candidates of a query */
    size_t skipped_queries, missing_docs; /* run queries without features or positives; candidates without features */
} pairdata;

/* qrels_path NULL: no targets. product: add q ⊙ d (needs qdim == gdim).
 * k > 0 keeps only each query's first k candidates of the run. */
int pairdata_load(pairdata *p, const char *q_path, const char *g_path, const char *run_path, const char *qrels_path,
                  int product, int k, int normalize, int add_missing, mm_error *err);
void pairdata_free(pairdata *p);
/* The row of candidate c of query i into dst[D]. */
void pair_fill(const pairdata *p, size_t i, size_t c, float *dst);

#endif
