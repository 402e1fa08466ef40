/* train.h — the training loop of mm-train: mini-batches, AdamW, schedule,
 * validation and early stopping, for a head of any task (lib/nn/task.h).
 *
 * Owns: the order of examples (one seeded shuffle per epoch), the batch
 * loop (forward, the task's loss, backward, AdamW step at the scheduled
 * rate), the per-epoch validation (the task's measures) and keeping the
 * parameters of the epoch best on the chosen measure. Everything
 * random draws from streams of the seed, and every sum runs in a fixed
 * order, so the same seed and data give the same head bit for bit.
 */
#ifndef MM_NN_TRAIN_H
#define MM_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "nn/head.h"
#include "nn/traindata.h"

typedef struct train_opts {
    int epochs, batch;
    float lr, beta1, beta2, eps, weight_decay;
    float warmup; /* epochs of linear warm-up (fractional allowed) */
    uint64_t seed;
    int patience; /* stop after this many epochs without a better validation measure (0: never) */
    int no_shuffle; /* batches in row order (the PyTorch golden test feeds the same batches) */
    int measure;    /* the validation measure that picks the epoch kept (task.h index) */
    int measure_task; /* of this task of the head (0: the first) */
    mm_pool *pool;  /* the -t threads the products and element-wise passes run on (NULL: the caller) */
    /* called after every step with the batch's loss (NULL: not called) */
    void (*step_fn)(void *ctx, long step, double loss);
    void *step_ctx;
} train_opts;

typedef struct train_epoch {
    int epoch;
    double train_loss; /* mean over the epoch's batches of the batch loss (Σ_t weight_t · loss_t) */
    /* each task's own (unweighted) loss, mean over the batches that had
     * an example of it (NAN if none did) */
    double task_loss[HEAD_MAX_TASKS];
    /* each task's measures (task.h) on its validation examples; NAN
     * without validation or without a validation example of the task */
    double val[HEAD_MAX_TASKS][TASK_MAX_MEASURES];
    int best; /* this epoch is the best so far (kept) */
} train_epoch;

/* The targets of one task of the head: example e has y[e] (classification)
 * or t[e·n ..] (multilabel, regression: the task's n outputs), if has[e]
 * (has NULL: every example has one). */
typedef struct train_target {
    const int *y;
    const float *t;
    const unsigned char *has;
} train_target;

/* The examples of one set. Example e (an index into the arrays below) is
 * row e of x with the targets task[k] of each task k of the head, or, with
 * pairs, query e of pairs (its rows are its candidates and the targets
 * pairs->target). index: the set's examples (NULL: 0..n-1). */
typedef struct train_set {
    size_t n;
    const size_t *index;
    const float *x;
    train_target task[HEAD_MAX_TASKS];
    const pairdata *pairs;
} train_set;

/* Called after every epoch; a non-zero return stops training. */
typedef int (*train_epoch_fn)(void *ctx, const train_epoch *e);

/* Trains h on the set tr (n >= 1); validation on va (NULL or n = 0: the
 * last epoch is kept). The loss of a batch is Σ_t weight_t · loss_t over
 * the head's tasks, each task's loss (its usual mean) over the batch's
 * examples that have a target of it; a task without one in the batch adds
 * nothing. */
int train_run(head *h, const train_opts *o, const train_set *tr, const train_set *va, train_epoch_fn fn, void *ctx,
              mm_error *err);

/* Everything below runs the products on pool (NULL: the caller); the
 * results are the same bits either way. */

/* Predictions (task_activate of the outputs) of rows x[n, D] into
 * probs[n, nclasses]. */
void head_predict(const head *h, const float *x, size_t n, float *probs);
void head_predict_pool(const head *h, mm_pool *pool, const float *x, size_t n, float *probs);
/* The raw outputs of rows x[n, D] into out[n, nclasses]; when not NULL,
 * the fusion output into features[n, head_feature_dim] and what explains
 * the fusion into explain[n, head_explain_dim]: gated, the gate weights
 * over the inputs; attention, the [CLS] row's attention over the tokens
 * ([CLS], input 1, ..., input M) in the last layer, averaged over heads. */
void head_outputs(const head *h, mm_pool *pool, const float *x, size_t n, float *out, float *features, float *explain);
/* The outputs of every candidate of pairs (in their order) into out[]. */
void head_pair_outputs(const head *h, mm_pool *pool, const pairdata *p, float *out);
/* The width of the fusion output: D for none, hidden otherwise. */
int head_feature_dim(const head *h);
/* The columns of head_outputs' explain: gated M, attention M + 1, else 0. */
int head_explain_dim(const head *h);

#endif
