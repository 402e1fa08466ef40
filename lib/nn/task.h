/* task.h — what a head is trained to predict.
 *
 * Owns: the tasks of mm-train (single-label classification, multi-label
 * classification, regression, pair matching), the loss of each over one
 * batch of outputs with its gradient, what an output becomes at predict time
 * (softmax, sigmoid, the value itself) and the validation measures of each
 * task, with the direction in which they improve. The losses are the layers
 * of lib/nn/layers.h; equations in mm-train(1).
 */
#ifndef MM_NN_TASK_H
#define MM_NN_TASK_H

#include <stddef.h>

enum head_task { TASK_CLASSIFY = 0, TASK_MULTILABEL, TASK_REGRESSION, TASK_PAIR, TASK_COUNT };

int task_parse(const char *name); /* -1 if unknown */
const char *task_name(int task);  /* "classification", "multilabel", "regression", "pair" */
/* The fewest outputs a head of the task may have (2 classes; 1 otherwise). */
int task_min_outputs(int task);

/* The targets of one batch of nb examples whose outputs are logits[rows, V]:
 * - classification: example b is row b; y[b] its class;
 * - multilabel: row b; t[b·V + v] 1 if label v applies, else 0;
 * - regression: row b; t[b·V + v] the value of output v;
 * - pair (V = 1): example b is a query owning group[b] consecutive rows, its
 *   candidates; t[r] is row r's target probability (1/|relevant| for each
 *   relevant candidate, 0 for the others). */
typedef struct task_batch {
    int nb, rows;
    const int *y;
    const float *t;
    const int *group;
} task_batch;

/* The batch's loss; adds scale · d loss / d logits into dlogits[rows, V].
 * scratch holds rows · V floats. */
double task_loss(int task, const float *logits, int V, const task_batch *b, float scale, float *dlogits,
                 float *scratch);

/* Outputs [rows, V] into predictions in place: softmax over V
 * (classification), the sigmoid of each (multilabel), unchanged otherwise. */
void task_activate(int task, float *out, size_t rows, int V);

/* ---- validation measures ---------------------------------------------------
 * classification: loss (mean cross-entropy), acc, bacc (mean per-class
 * recall over the classes present); multilabel: loss (mean BCE), map (mean
 * over items of the average precision of the labels ranked by probability);
 * regression: loss (mean squared error), mae; pair: loss (mean listwise
 * cross-entropy), mrr (of the first relevant candidate), r1 (share of
 * queries whose top candidate is relevant). */
#define TASK_MAX_MEASURES 3
int task_measure_count(int task);
const char *task_measure_name(int task, int m);
int task_measure_parse(int task, const char *name); /* index, or -1 */
int task_measure_higher_better(int task, int m);
/* The measure early stopping uses unless told: acc, map, loss, mrr. */
int task_default_measure(int task);

/* All measures of the task into values[] from raw outputs (before
 * task_activate) of n examples, laid out as task_batch says (nb = n). */
void task_evaluate(int task, const float *logits, int V, const task_batch *b, double *values);

#endif
