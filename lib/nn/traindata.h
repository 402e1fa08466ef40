/* traindata.h — the examples mm-train learns from and mm-predict scores.
 *
 * Owns: loading one MMF file per modality and joining them by id (the first
 * file's order; every value checked finite), each input L2-normalised and
 * the inputs concatenated into one row per item; reading labels
 * (`id<TAB>label` TSV or qrels `id 0 label rel`, errors as file:line) and
 * matching them to the rows (--missing error|skip, both directions counted).
 */
#ifndef MM_NN_TRAINDATA_H
#define MM_NN_TRAINDATA_H

#include <stddef.h>

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

#endif
