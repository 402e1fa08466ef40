/* head.h — the trainable head of mm-train: a fusion module and an output
 * layer, its parameters, its forward/backward, and its form on disk.
 *
 * Owns: the networks of --fusion (equations in mm-train(1)), built from
 * lib/nn/layers.h; the parameter set as one flat float array cut into named
 * tensors (PyTorch module names, so scripts/head.py loads them as they are);
 * the head directory: config.json (architecture, classes in order, each
 * input's dim, source model and normalisation, the training recipe) +
 * model.safetensors (F32), written here and read back through
 * lib/io/safetensors.h.
 *
 * Input x of a batch is the concatenation of the item's inputs, each
 * already normalised as the head says (head_normalize), D = Σ dims floats.
 * A pair head (task pair) scores (query, document) pairs: its inputs are the
 * query, the document and, when `product` is set, their elementwise product
 * (computed, not read: see lib/nn/traindata.h), and it has one output.
 * The outputs ("classes" in the file) are the classes (classification), the
 * labels (multilabel), the predicted values' names (regression) or "score".
 *
 * A multi-task head (mm-train --task NAME:KIND:LABELS, repeated) has one
 * output layer per named task on the one fusion module: tensors
 * heads.NAME.weight / heads.NAME.bias, and "tasks" in config.json (name,
 * kind, weight, classes) instead of "task" and "classes". In memory its
 * outputs are the tasks' outputs side by side: nclasses = the sum, classes
 * the tasks' classes in task order, task t owning columns out[t].off ..
 * out[t].off + out[t].n - 1; in params the weights come first, then the
 * biases, so the output layers are one [nclasses, width] matrix and one
 * bias (one product computes every task's outputs). A head of today's form
 * is one unnamed task over all outputs.
 */
#ifndef MM_NN_HEAD_H
#define MM_NN_HEAD_H

#include <stddef.h>

#include "core/error.h"
#include "nn/layers.h"
#include "nn/task.h"

enum head_fusion { HEAD_NONE = 0, HEAD_CONCAT, HEAD_GATED, HEAD_ATTENTION };
/* How each input is normalised before the fusion module (config.json's
 * inputs[i].norm): as read, L2 to unit length, or L2 and then each dimension
 * standardised, (x - mean) / std, with the training items' mean and
 * (population) standard deviation, stored in the head (HEAD_NORM_ZSCORE). */
enum head_norm { HEAD_NORM_NONE = 0, HEAD_NORM_L2, HEAD_NORM_ZSCORE };

#define HEAD_MAX_INPUTS 8
#define HEAD_MAX_LAYERS 12 /* attention: encoder layers */
#define HEAD_MAX_TASKS 8
#define HEAD_TASK_NAME_MAX 32 /* a task name: 1 to 31 of [A-Za-z0-9_-] */
#define HEAD_MAX_TENSORS (8 + 2 * HEAD_MAX_INPUTS + 12 * HEAD_MAX_LAYERS + 2 * HEAD_MAX_TASKS)

/* How head_init fills a tensor. */
enum head_init_kind { HEAD_INIT_LINEAR = 0, HEAD_INIT_ZERO, HEAD_INIT_ONE, HEAD_INIT_XAVIER, HEAD_INIT_TOKEN };

typedef struct head_tensor {
    char name[64];
    int ndim;
    int shape[2];
    size_t off, count; /* in params */
    int decay;         /* weight decay applies (weights, not biases, norms or tokens) */
    int init, fan_in;  /* head_init_kind; LINEAR: U(±1/√fan_in) */
} head_tensor;

/* One task's output layer. */
typedef struct head_out {
    char name[HEAD_TASK_NAME_MAX]; /* "" in a single-task head of today's form */
    int kind;                      /* enum head_task */
    int off, n;                    /* its outputs: columns off .. off + n - 1 */
    float weight;                  /* of its loss in the sum (1 in a single-task head) */
} head_out;

/* 1 if name is a valid task name (see HEAD_TASK_NAME_MAX). */
int head_task_name_ok(const char *name);

typedef struct head {
    int task; /* enum head_task; a multi-task head: its first task's kind */
    int multi;  /* named tasks (see above) */
    int ntasks; /* 1 unless multi */
    head_out out[HEAD_MAX_TASKS];
    int product; /* pair: the last input is input 1 ⊙ input 2 */
    int fusion;
    int ninputs;
    int dims[HEAD_MAX_INPUTS];
    char *sources[HEAD_MAX_INPUTS]; /* source model id of each input ("" if unknown) */
    int norm;
    float *zmean, *zstd; /* HEAD_NORM_ZSCORE: D values each, input after input; else NULL */
    int D;      /* Σ dims */
    int hidden; /* concat: MLP width; gated: the common width; attention: the token width */
    int layers, heads; /* attention: encoder layers, attention heads (0 otherwise) */
    float dropout;
    int nclasses;
    char **classes;
    char *recipe; /* JSON object text of the training recipe, or NULL */
    int ntensors;
    head_tensor t[HEAD_MAX_TENSORS];
    size_t nparams;
    float *params;
} head;

int head_fusion_parse(const char *name); /* -1 if unknown */
const char *head_fusion_name(int fusion);

/* The shape of a new head: task (classification is 0), product (pair: see
 * above), fusion, the inputs' dims, the width (concat: MLP width; gated:
 * common width; attention: token width), attention's encoder layers and
 * heads (ignored by the other fusions), dropout; ntasks > 0: a multi-task
 * head of those tasks (name, kind, n, weight; off is computed; task is
 * ignored). */
typedef struct head_arch {
    int task, product, fusion;
    int ntasks;
    const head_out *tasks;
    int ninputs;
    const int *dims;
    int hidden;
    int layers, heads;
    float dropout;
} head_arch;

/* A new head with parameters initialised as torch.nn.Linear does
 * (uniform in ±1/√fan_in, weights and biases) from rng; the attention
 * encoder's tensors as torch's nn.TransformerEncoderLayer does (in_proj
 * Xavier-uniform, its and out_proj's bias 0, layer norms 1 and 0), the
 * [CLS] token U(±0.02). classes are copied. Fails on an impossible shape
 * (none with several inputs, too few outputs for the task, heads not
 * dividing the width). */
int head_init(head *h, const head_arch *a, int nclasses, const char *const *classes, nn_rng *rng, mm_error *err);
void head_free(head *h);
const head_tensor *head_tensor_find(const head *h, const char *name);
/* The index of the task called name, or -1. */
int head_task_find(const head *h, const char *name);
/* Makes h the single-task head of its task t (its classes, its output
 * layer as out.weight / out.bias, the fusion module as it is): what
 * mm-predict --task applies. */
void head_select_task(head *h, int t);

/* HEAD_NORM_ZSCORE: the statistics of x's rows index[0..n) (rows of D
 * floats, already L2-normalised per input) become the head's (a dimension
 * that does not vary gets std 1). */
void head_zscore_fit(head *h, const float *x, const size_t *index, size_t n);
/* With HEAD_NORM_ZSCORE: rows of x (D floats, L2-normalised per input)
 * standardised in place with the head's statistics; otherwise nothing. */
void head_standardize(const head *h, float *x, size_t rows);

/* Activations and gradients of one batch of up to B rows. */
typedef struct head_work {
    int B;
    float *x, *h1, *a1, *mask, *d1, *logits; /* forward */
    float *dlogits, *dd1, *da1, *dh1;        /* backward */
    /* gated: per input its slice of x, pre-activation and activation [B, H];
     * the gate logits and weights [B, M] and their gradients */
    float *gx[HEAD_MAX_INPUTS], *gpre[HEAD_MAX_INPUTS], *gz[HEAD_MAX_INPUTS];
    float *glogit, *galpha, *gdalpha, *gdlogit, *gdz, *gdpre;
    float *uniform;
    struct head_attn_work *attn; /* attention: the encoder's activations (head.c) */
    float *grads; /* nparams */
    nn_exec ex;   /* where the products run: the pool (head_work_set_pool) and GEMM scratch */
} head_work;

/* Buffers for batches of up to B rows (xalloc: cannot fail); the products
 * run on the caller (head_work_set_pool gives them a pool). */
void head_work_init(head_work *w, const head *h, int B);
void head_work_set_pool(head_work *w, mm_pool *pool);

/* attention: the [CLS] row's attention weights over the tokens ([CLS],
 * input 1, ..., input M), averaged over the heads, of the last layer of the
 * last head_forward: out[b * (M + 1) + t]. */
void head_cls_attention(const head *h, const head_work *w, int B, float *out);

void head_work_free(head_work *w);

/* logits[B, nclasses] of x[B, D] (the caller fills w->x) into w->logits;
 * train != 0 applies dropout, drawing from rng. */
void head_forward(const head *h, head_work *w, int B, int train, nn_rng *rng);
/* Adds the gradients of the loss with dlogits (w->dlogits, B rows) into
 * w->grads, for the batch of the last head_forward. */
void head_backward(const head *h, head_work *w, int B);

/* Writes DIR/config.json and DIR/model.safetensors (DIR exists). */
int head_save(const head *h, const char *dir, mm_error *err);
/* Reads a head directory, validated in full. */
int head_load(head *h, const char *dir, mm_error *err);
/* The same from the two files' bytes (names for messages): the fuzzed entry. */
int head_parse(head *h, const char *config, size_t config_len, const char *config_name, const void *st,
               size_t st_len, const char *st_name, mm_error *err);

#endif
