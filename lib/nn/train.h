/* train.h — the training loop of mm-train: mini-batches, AdamW, schedule,
 * validation and early stopping, for a softmax-classification head.
 *
 * Owns: the order of examples (one seeded shuffle per epoch), the batch
 * loop (forward, softmax cross-entropy, backward, AdamW step at the
 * scheduled rate), the per-epoch validation (accuracy, balanced accuracy)
 * and keeping the parameters of the best validation epoch. Everything
 * random draws from streams of the seed, and every sum runs in a fixed
 * order, so the same seed and data give the same head bit for bit.
 */
#ifndef MM_NN_TRAIN_H
#define MM_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "nn/head.h"

typedef struct train_opts {
    int epochs, batch;
    float lr, beta1, beta2, eps, weight_decay;
    float warmup; /* epochs of linear warm-up (fractional allowed) */
    uint64_t seed;
    int patience; /* stop after this many epochs without a better validation measure (0: never) */
    int no_shuffle; /* batches in row order (the PyTorch golden test feeds the same batches) */
    mm_pool *pool;  /* the -t threads the products and element-wise passes run on (NULL: the caller) */
    /* called after every step with the batch's loss (NULL: not called) */
    void (*step_fn)(void *ctx, long step, double loss);
    void *step_ctx;
} train_opts;

typedef struct train_epoch {
    int epoch;
    double train_loss;         /* mean over the epoch's batches */
    double val_acc, val_bacc;  /* NAN without validation */
    double val_loss;
    int best;                  /* this epoch is the best so far (kept) */
} train_epoch;

/* Called after every epoch; a non-zero return stops training. */
typedef int (*train_epoch_fn)(void *ctx, const train_epoch *e);

/* Trains h on rows x[n, D] with classes y[n] (all >= 0); validation rows
 * xv[nv, D], yv (nv may be 0: the last epoch is kept). */
int train_run(head *h, const train_opts *o, const float *x, const int *y, size_t n, const float *xv, const int *yv,
              size_t nv, train_epoch_fn fn, void *ctx, mm_error *err);

/* Predicted class probabilities of rows x[n, D] into probs[n, nclasses],
 * the products on pool (NULL: the caller; the same bits either way). */
int head_predict(const head *h, const float *x, size_t n, float *probs, mm_error *err);
int head_predict_pool(const head *h, mm_pool *pool, const float *x, size_t n, float *probs, mm_error *err);

/* Accuracy and balanced accuracy (mean per-class recall over the classes
 * present in y) of probs against y. */
void train_accuracy(const float *probs, const int *y, size_t n, int V, double *acc, double *bacc);

#endif
