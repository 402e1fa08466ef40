/* head.c — the fusion networks, their parameters and the head directory. */
#include "nn/head.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "core/xalloc.h"
#include "io/safetensors.h"

static const char *const fusion_names[] = {"none", "concat", "gated", "attention"};

int head_fusion_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof fusion_names / sizeof *fusion_names); i++)
        if (!strcmp(name, fusion_names[i])) return i;
    return -1;
}

const char *head_fusion_name(int fusion)
{
    return fusion >= 0 && fusion < (int)(sizeof fusion_names / sizeof *fusion_names) ? fusion_names[fusion] : "?";
}

static void add_tensor(head *h, const char *name, int rows, int cols, int decay)
{
    head_tensor *t = &h->t[h->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->count = (size_t)rows * (size_t)(cols ? cols : 1);
    t->off = h->nparams;
    t->decay = decay;
    t->init = HEAD_INIT_LINEAR;
    /* a bias takes the bound of the weight before it, as torch.nn.Linear */
    t->fan_in = cols ? cols : (h->ntensors > 1 ? h->t[h->ntensors - 2].shape[1] : 1);
    h->nparams += t->count;
}

/* The last tensor added starts as kind (ZERO, ONE, XAVIER, TOKEN). */
static void set_init(head *h, int kind) { h->t[h->ntensors - 1].init = kind; }

/* The output layer on the fusion output's `cols` features: out.weight and
 * out.bias, or each task's weight and then each task's bias (head.h). */
static void add_outputs(head *h, int cols)
{
    if (!h->multi) {
        add_tensor(h, "out.weight", h->nclasses, cols, 1);
        add_tensor(h, "out.bias", h->nclasses, 0, 0);
        return;
    }
    char name[64];
    for (int t = 0; t < h->ntasks; t++) {
        snprintf(name, sizeof name, "heads.%s.weight", h->out[t].name);
        add_tensor(h, name, h->out[t].n, cols, 1);
    }
    for (int t = 0; t < h->ntasks; t++) {
        snprintf(name, sizeof name, "heads.%s.bias", h->out[t].name);
        add_tensor(h, name, h->out[t].n, 0, 0);
        h->t[h->ntensors - 1].fan_in = cols; /* its weight's, which is not the tensor before it */
    }
}

int head_task_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n >= HEAD_TASK_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z') &&
            !(name[i] >= '0' && name[i] <= '9') && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

int head_task_find(const head *h, const char *name)
{
    for (int t = 0; t < h->ntasks; t++)
        if (!strcmp(h->out[t].name, name)) return t;
    return -1;
}

/* attention: the encoder, torch's nn.TransformerEncoder(nn.TransformerEncoderLayer(
 * W, heads, 4W, activation="gelu", batch_first=True, norm_first=True), layers)
 * under the module name "encoder", so its state dict loads as it is. */
static void layout_attention(head *h)
{
    int W = h->hidden, F = 4 * h->hidden;
    char name[64];
    for (int i = 0; i < h->ninputs; i++) {
        snprintf(name, sizeof name, "proj.%d.weight", i);
        add_tensor(h, name, W, h->dims[i], 1);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        add_tensor(h, name, W, 0, 0);
    }
    add_tensor(h, "cls", W, 0, 0);
    set_init(h, HEAD_INIT_TOKEN);
    for (int l = 0; l < h->layers; l++) {
#define LT(suffix, rows, cols, decay, kind)                                   \
    snprintf(name, sizeof name, "encoder.layers.%d.%s", l, suffix);          \
    add_tensor(h, name, rows, cols, decay);                                  \
    if (kind) set_init(h, kind)
        LT("self_attn.in_proj_weight", 3 * W, W, 1, HEAD_INIT_XAVIER);
        LT("self_attn.in_proj_bias", 3 * W, 0, 0, HEAD_INIT_ZERO);
        LT("self_attn.out_proj.weight", W, W, 1, 0);
        LT("self_attn.out_proj.bias", W, 0, 0, HEAD_INIT_ZERO);
        LT("linear1.weight", F, W, 1, 0);
        LT("linear1.bias", F, 0, 0, 0);
        LT("linear2.weight", W, F, 1, 0);
        LT("linear2.bias", W, 0, 0, 0);
        LT("norm1.weight", W, 0, 0, HEAD_INIT_ONE);
        LT("norm1.bias", W, 0, 0, HEAD_INIT_ZERO);
        LT("norm2.weight", W, 0, 0, HEAD_INIT_ONE);
        LT("norm2.bias", W, 0, 0, HEAD_INIT_ZERO);
#undef LT
    }
    add_tensor(h, "norm.weight", W, 0, 0);
    set_init(h, HEAD_INIT_ONE);
    add_tensor(h, "norm.bias", W, 0, 0);
    set_init(h, HEAD_INIT_ZERO);
    add_outputs(h, W);
}

/* The tensors of each network, in a fixed order (the order in the file). */
static void layout(head *h)
{
    h->ntensors = 0;
    h->nparams = 0;
    if (h->fusion == HEAD_ATTENTION) {
        layout_attention(h);
    } else if (h->fusion == HEAD_NONE) {
        add_outputs(h, h->D);
    } else if (h->fusion == HEAD_GATED) {
        char name[32];
        for (int i = 0; i < h->ninputs; i++) {
            snprintf(name, sizeof name, "proj.%d.weight", i);
            add_tensor(h, name, h->hidden, h->dims[i], 1);
            snprintf(name, sizeof name, "proj.%d.bias", i);
            add_tensor(h, name, h->hidden, 0, 0);
        }
        add_tensor(h, "gate.weight", h->ninputs, h->D, 1);
        add_tensor(h, "gate.bias", h->ninputs, 0, 0);
        add_outputs(h, h->hidden);
    } else {
        add_tensor(h, "fc.weight", h->hidden, h->D, 1);
        add_tensor(h, "fc.bias", h->hidden, 0, 0);
        add_outputs(h, h->hidden);
    }
}

const head_tensor *head_tensor_find(const head *h, const char *name)
{
    for (int i = 0; i < h->ntensors; i++)
        if (!strcmp(h->t[i].name, name)) return &h->t[i];
    return NULL;
}

static float *P(const head *h, const char *name) { return h->params + head_tensor_find(h, name)->off; }

/* The output layer as one [nclasses, width] weight and one bias: out.*, or
 * the first task's heads.NAME.*, where the tasks' consecutive tensors start
 * (add_outputs). */
static float *out_param(const head *h, const float *base, int bias)
{
    char name[64];
    if (!h->multi) snprintf(name, sizeof name, "out.%s", bias ? "bias" : "weight");
    else snprintf(name, sizeof name, "heads.%s.%s", h->out[0].name, bias ? "bias" : "weight");
    return (float *)base + head_tensor_find(h, name)->off;
}

/* Shape checks shared by head_init and the loader. */
/* The first of input i's columns in a row of D. */
static int input_offset(const head *h, int i)
{
    int off = 0;
    for (int k = 0; k < i; k++) off += h->dims[k];
    return off;
}

static int check_shape(head *h, mm_error *err, const char *where)
{
    if (h->ninputs < 1 || h->ninputs > HEAD_MAX_INPUTS)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: %d inputs (1 to %d)", where, h->ninputs, HEAD_MAX_INPUTS);
    if (h->task < 0 || h->task >= TASK_COUNT) return mm_fail(err, MM_ERR_MALFORMED, "%s: unknown task", where);
    if (h->multi && (h->ntasks < 1 || h->ntasks > HEAD_MAX_TASKS))
        return mm_fail(err, MM_ERR_LIMIT, "%s: %d tasks (1 to %d)", where, h->ntasks, HEAD_MAX_TASKS);
    if (h->product && (h->task != TASK_PAIR || h->ninputs != 3 || h->dims[0] != h->dims[1] || h->dims[2] != h->dims[0]))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: a product input needs a pair head of 3 inputs of one dim", where);
    if (h->fusion == HEAD_NONE && h->ninputs != 1 && h->task != TASK_PAIR)
        return mm_fail(err, MM_ERR_MISMATCH,
                       "%s: fusion none is a linear probe on one input, %d given (fuse them first, or use concat)",
                       where, h->ninputs);
    long D = 0;
    for (int i = 0; i < h->ninputs; i++) {
        if (h->dims[i] < 1 || h->dims[i] > 65536)
            return mm_fail(err, MM_ERR_LIMIT, "%s: input %d: dim %d out of range 1..65536", where, i + 1, h->dims[i]);
        D += h->dims[i];
    }
    h->D = (int)D;
    if (h->task == TASK_CLASSIFY && h->nclasses < 2)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: %d class%s: a classifier needs at least 2", where, h->nclasses,
                       h->nclasses == 1 ? "" : "es");
    if (h->nclasses < 1) return mm_fail(err, MM_ERR_MALFORMED, "%s: no output", where);
    if (h->task == TASK_PAIR && h->nclasses != 1)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: a pair head has 1 output, not %d", where, h->nclasses);
    if (h->nclasses > 1000000) return mm_fail(err, MM_ERR_LIMIT, "%s: %d classes (at most 1000000)", where, h->nclasses);
    if (h->multi) {
        int sum = 0;
        for (int t = 0; t < h->ntasks; t++) {
            const head_out *o = &h->out[t];
            if (!head_task_name_ok(o->name))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: task %d: name \"%s\" is not 1 to %d of A-Z a-z 0-9 _ -",
                               where, t + 1, o->name, HEAD_TASK_NAME_MAX - 1);
            for (int u = 0; u < t; u++)
                if (!strcmp(h->out[u].name, o->name))
                    return mm_fail(err, MM_ERR_MALFORMED, "%s: task %d: name \"%s\" repeats task %d", where, t + 1,
                                   o->name, u + 1);
            if (o->kind != TASK_CLASSIFY && o->kind != TASK_MULTILABEL && o->kind != TASK_REGRESSION)
                return mm_fail(err, MM_ERR_MALFORMED,
                               "%s: task %s: kind %s (a multi-task head has classification, multilabel, regression)",
                               where, o->name, task_name(o->kind));
            if (o->n < task_min_outputs(o->kind))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: task %s: %d output%s, a %s task needs at least %d", where,
                               o->name, o->n, o->n == 1 ? "" : "s", task_name(o->kind), task_min_outputs(o->kind));
            if (!(o->weight > 0 && o->weight <= 1e6f))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: task %s: weight %g not in (0, 1e6]", where, o->name,
                               (double)o->weight);
            if (o->off != sum || o->n > h->nclasses - sum)
                return mm_fail(err, MM_ERR_MALFORMED, "%s: task %s: outputs %d..%d are not the next of %d", where,
                               o->name, o->off, o->off + o->n - 1, h->nclasses);
            sum += o->n;
        }
        if (sum != h->nclasses)
            return mm_fail(err, MM_ERR_MALFORMED, "%s: the tasks have %d outputs, not %d", where, sum, h->nclasses);
    }
    if (h->fusion != HEAD_NONE && (h->hidden < 1 || h->hidden > 65536))
        return mm_fail(err, MM_ERR_LIMIT, "%s: hidden width %d out of range 1..65536", where, h->hidden);
    if (h->fusion == HEAD_ATTENTION) {
        if (h->layers < 1 || h->layers > HEAD_MAX_LAYERS)
            return mm_fail(err, MM_ERR_LIMIT, "%s: %d encoder layers (1 to %d)", where, h->layers, HEAD_MAX_LAYERS);
        if (h->heads < 1 || h->heads > h->hidden || h->hidden % h->heads)
            return mm_fail(err, MM_ERR_MALFORMED, "%s: %d attention heads do not divide the width %d", where,
                           h->heads, h->hidden);
        if (h->hidden > 16384)
            return mm_fail(err, MM_ERR_LIMIT, "%s: width %d out of range 1..16384", where, h->hidden);
    }
    if (!(h->dropout >= 0 && h->dropout < 1))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: dropout %g not in [0, 1)", where, (double)h->dropout);
    return 0;
}

/* The one allocation whose size the input declares (mm-train's options, a
 * config.json whose shapes model.safetensors has confirmed): a failure is
 * reported, not fatal (xalloc.h). */
static int alloc_params(head *h, mm_error *err)
{
    layout(h);
    h->params = calloc(h->nparams, sizeof(float));
    if (!h->params) return mm_fail(err, MM_ERR_NOMEM, "head: %zu parameters: out of memory", h->nparams);
    return 0;
}

int head_init(head *h, const head_arch *a, int nclasses, const char *const *classes, nn_rng *rng, mm_error *err)
{
    memset(h, 0, sizeof *h);
    int fusion = a->fusion, ninputs = a->ninputs;
    h->task = a->task;
    h->ntasks = 1;
    h->out[0] = (head_out){.kind = a->task, .n = nclasses, .weight = 1};
    if (a->ntasks > 0) {
        h->multi = 1;
        h->ntasks = a->ntasks > HEAD_MAX_TASKS ? HEAD_MAX_TASKS + 1 : a->ntasks;
        for (int t = 0, off = 0; t < a->ntasks && t < HEAD_MAX_TASKS; off += a->tasks[t].n, t++) {
            h->out[t] = a->tasks[t];
            h->out[t].off = off;
        }
        h->task = a->tasks[0].kind;
    }
    h->product = a->product;
    h->fusion = fusion;
    if (fusion == HEAD_ATTENTION) h->layers = a->layers, h->heads = a->heads;
    h->ninputs = ninputs;
    for (int i = 0; i < ninputs && i < HEAD_MAX_INPUTS; i++) h->dims[i] = a->dims[i];
    h->norm = HEAD_NORM_L2;
    h->hidden = fusion == HEAD_NONE ? 0 : a->hidden;
    h->dropout = fusion == HEAD_NONE ? 0 : a->dropout;
    h->nclasses = nclasses;
    if (check_shape(h, err, "head") < 0) return -1;
    for (int i = 0; i < ninputs; i++) h->sources[i] = xstrdup("");
    h->classes = xcalloc((size_t)nclasses, sizeof *h->classes);
    for (int c = 0; c < nclasses; c++) h->classes[c] = xstrdup(classes[c]);
    if (alloc_params(h, err) < 0) return -1;
    /* torch.nn.Linear: kaiming_uniform(a=√5) for the weight and the bias
     * bound alike both come to U(-1/√fan_in, 1/√fan_in) */
    for (int i = 0; i < h->ntensors; i++) {
        const head_tensor *t = &h->t[i];
        float *p = h->params + t->off, bound = 1.0f / sqrtf((float)t->fan_in);
        if (t->init == HEAD_INIT_XAVIER) bound = sqrtf(6.0f / (float)(t->shape[0] + t->shape[1]));
        if (t->init == HEAD_INIT_TOKEN) bound = 0.02f;
        for (size_t k = 0; k < t->count; k++)
            p[k] = t->init == HEAD_INIT_ZERO  ? 0.0f
                   : t->init == HEAD_INIT_ONE ? 1.0f
                                              : (2 * nn_rng_uniform(rng) - 1) * bound;
    }
    return 0;
}

void head_free(head *h)
{
    for (int i = 0; i < h->ninputs && i < HEAD_MAX_INPUTS; i++) free(h->sources[i]);
    if (h->classes)
        for (int c = 0; c < h->nclasses; c++) free(h->classes[c]);
    free(h->classes);
    free(h->recipe);
    free(h->params);
    free(h->zmean);
    free(h->zstd);
    memset(h, 0, sizeof *h);
}

void head_select_task(head *h, int t)
{
    if (!h->multi) return;
    head old = *h; /* its tensors, params and classes, taken over or freed below */
    const head_out o = old.out[t];
    h->classes = xmalloc((size_t)o.n * sizeof *h->classes);
    for (int k = 0; k < old.nclasses; k++) {
        if (k >= o.off && k < o.off + o.n) h->classes[k - o.off] = old.classes[k];
        else free(old.classes[k]);
    }
    free(old.classes);
    h->nclasses = o.n;
    h->task = o.kind;
    h->multi = 0;
    h->ntasks = 1;
    memset(h->out, 0, sizeof h->out);
    h->out[0] = (head_out){.kind = o.kind, .n = o.n, .weight = 1};
    layout(h);
    h->params = xmalloc(h->nparams * sizeof(float));
    char name[64];
    for (int i = 0; i < h->ntensors; i++) {
        const head_tensor *nt = &h->t[i];
        const char *from = nt->name;
        if (!strcmp(from, "out.weight") || !strcmp(from, "out.bias")) {
            snprintf(name, sizeof name, "heads.%s.%s", o.name, from + 4);
            from = name;
        }
        memcpy(h->params + nt->off, old.params + head_tensor_find(&old, from)->off, nt->count * sizeof(float));
    }
    free(old.params);
}

void head_zscore_fit(head *h, const float *x, const size_t *index, size_t n)
{
    size_t D = (size_t)h->D;
    double *sum = xcalloc(D ? D : 1, sizeof *sum), *sq = xcalloc(D ? D : 1, sizeof *sq);
    for (size_t i = 0; i < n; i++) {
        const float *r = x + index[i] * D;
        for (size_t d = 0; d < D; d++) sum[d] += r[d];
    }
    free(h->zmean), free(h->zstd);
    h->zmean = xmalloc((D ? D : 1) * sizeof *h->zmean);
    h->zstd = xmalloc((D ? D : 1) * sizeof *h->zstd);
    for (size_t d = 0; d < D; d++) h->zmean[d] = n ? (float)(sum[d] / (double)n) : 0.0f;
    for (size_t i = 0; i < n; i++) { /* two passes: no cancellation in the variance */
        const float *r = x + index[i] * D;
        for (size_t d = 0; d < D; d++) {
            double e = (double)r[d] - h->zmean[d];
            sq[d] += e * e;
        }
    }
    for (size_t d = 0; d < D; d++) {
        float s = n ? (float)sqrt(sq[d] / (double)n) : 0.0f;
        h->zstd[d] = s > 1e-12f ? s : 1.0f;
    }
    free(sum), free(sq);
}

void head_standardize(const head *h, float *x, size_t rows)
{
    if (h->norm != HEAD_NORM_ZSCORE) return;
    size_t D = (size_t)h->D;
    for (size_t r = 0; r < rows; r++)
        for (size_t d = 0; d < D; d++) x[r * D + d] = (x[r * D + d] - h->zmean[d]) / h->zstd[d];
}

/* ---- forward / backward ------------------------------------------------------
 * none:   logits = x·Wo^T + bo
 * concat: h1 = x·Wfc^T + bfc; a1 = GELU(h1); d1 = dropout(a1); logits = d1·Wo^T + bo */
static void attn_work_init(head_work *w, const head *h, int B);
static void attn_work_free(head_work *w);

/* n zeroed floats */
static float *fzero(size_t n) { return xcalloc(n ? n : 1, sizeof(float)); }

void head_work_init(head_work *w, const head *h, int B)
{
    memset(w, 0, sizeof *w);
    w->B = B;
    nn_exec_init(&w->ex, NULL);
    size_t H = (size_t)B * (size_t)(h->hidden ? h->hidden : 1), V = (size_t)B * (size_t)h->nclasses;
    float **bufs[] = {&w->h1, &w->a1, &w->mask, &w->d1, &w->dd1, &w->da1, &w->dh1, &w->uniform};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) *bufs[i] = fzero(H);
    w->x = fzero((size_t)B * (size_t)h->D);
    w->logits = fzero(V);
    w->dlogits = fzero(V);
    w->grads = fzero(h->nparams);
    if (h->fusion == HEAD_ATTENTION || h->fusion == HEAD_GATED)
        for (int i = 0; i < h->ninputs; i++) w->gx[i] = fzero((size_t)B * (size_t)h->dims[i]);
    if (h->fusion == HEAD_ATTENTION) attn_work_init(w, h, B);
    if (h->fusion == HEAD_GATED) {
        size_t M = (size_t)B * (size_t)h->ninputs;
        for (int i = 0; i < h->ninputs; i++) w->gpre[i] = fzero(H), w->gz[i] = fzero(H);
        float **g[] = {&w->glogit, &w->galpha, &w->gdalpha, &w->gdlogit};
        for (size_t i = 0; i < sizeof g / sizeof *g; i++) *g[i] = fzero(M);
        w->gdz = fzero(H);
        w->gdpre = fzero(H);
    }
}

void head_work_free(head_work *w)
{
    float *bufs[] = {w->x, w->h1, w->a1, w->mask, w->d1, w->logits, w->dlogits, w->dd1, w->da1, w->dh1, w->uniform, w->grads};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    for (int i = 0; i < HEAD_MAX_INPUTS; i++) free(w->gx[i]), free(w->gpre[i]), free(w->gz[i]);
    free(w->glogit), free(w->galpha), free(w->gdalpha), free(w->gdlogit), free(w->gdz), free(w->gdpre);
    nn_exec_free(&w->ex);
    attn_work_free(w);
    memset(w, 0, sizeof *w);
}

void head_work_set_pool(head_work *w, mm_pool *pool)
{
    nn_exec_free(&w->ex);
    nn_exec_init(&w->ex, pool);
}

static float *G(const head *h, head_work *w, const char *name);

/* gated: z_i = GELU(P_i x_i + c_i) [B, H] per input; α = softmax(Wg x + bg)
 * [B, M]; a1 = Σ_i α_i z_i, which then goes through dropout and the output
 * layer like concat's hidden layer. */
static void gated_forward(const head *h, head_work *w, int B)
{
    int M = h->ninputs, H = h->hidden, D = h->D;
    char name[32];
    for (int i = 0, off = 0; i < M; off += h->dims[i], i++) {
        for (int b = 0; b < B; b++)
            memcpy(w->gx[i] + (size_t)b * h->dims[i], w->x + (size_t)b * D + off, (size_t)h->dims[i] * sizeof(float));
        snprintf(name, sizeof name, "proj.%d.weight", i);
        const float *Wp = P(h, name);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        linear_forward(&w->ex, w->gpre[i], w->gx[i], Wp, P(h, name), B, h->dims[i], H);
        gelu_forward_ex(&w->ex, w->gz[i], w->gpre[i], (size_t)B * (size_t)H);
    }
    linear_forward(&w->ex, w->glogit, w->x, P(h, "gate.weight"), P(h, "gate.bias"), B, D, M);
    softmax_forward(w->galpha, w->glogit, B, M);
    for (int b = 0; b < B; b++) {
        float *a = w->a1 + (size_t)b * H;
        for (int k = 0; k < H; k++) a[k] = 0;
        for (int i = 0; i < M; i++) {
            float al = w->galpha[(size_t)b * M + i];
            const float *z = w->gz[i] + (size_t)b * H;
            for (int k = 0; k < H; k++) a[k] += al * z[k];
        }
    }
}

/* With da1 the gradient of a1: dα_i = da1 · z_i, dz_i = α_i da1, then the
 * softmax, GELU and linear backwards. */
static void gated_backward(const head *h, head_work *w, int B)
{
    int M = h->ninputs, H = h->hidden, D = h->D;
    size_t n = (size_t)B * (size_t)H;
    char name[32];
    for (int b = 0; b < B; b++)
        for (int i = 0; i < M; i++) {
            const float *z = w->gz[i] + (size_t)b * H, *da = w->da1 + (size_t)b * H;
            float s = 0;
            for (int k = 0; k < H; k++) s += da[k] * z[k];
            w->gdalpha[(size_t)b * M + i] = s;
        }
    memset(w->gdlogit, 0, (size_t)B * (size_t)M * sizeof(float));
    softmax_backward(w->gdlogit, w->galpha, w->gdalpha, B, M);
    linear_backward(&w->ex, NULL, G(h, w, "gate.weight"), G(h, w, "gate.bias"), w->gdlogit, w->x, P(h, "gate.weight"), B,
                    D, M);
    for (int i = 0; i < M; i++) {
        for (int b = 0; b < B; b++) {
            float al = w->galpha[(size_t)b * M + i];
            for (int k = 0; k < H; k++) w->gdz[(size_t)b * H + k] = al * w->da1[(size_t)b * H + k];
        }
        memset(w->gdpre, 0, n * sizeof(float));
        gelu_backward_ex(&w->ex, w->gdpre, w->gpre[i], w->gdz, n);
        snprintf(name, sizeof name, "proj.%d.weight", i);
        float *dW = G(h, w, name);
        const float *Wp = P(h, name);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        linear_backward(&w->ex, NULL, dW, G(h, w, name), w->gdpre, w->gx[i], Wp, B, h->dims[i], H);
    }
}

/* ---- attention ---------------------------------------------------------------
 * Tokens X[B, T, W], T = M + 1: X[b, 0] = cls, X[b, i] = proj_i(x_i[b]).
 * Each of the L pre-LN encoder layers:
 *   X' = X + out_proj(MHA(in_proj(LN1(X))))
 *   X'' = X' + linear2(GELU(linear1(LN2(X'))))
 * then z = LN(X[b, 0]) (the [CLS] row), logits = out(dropout(z)).
 * What the backward needs is kept per layer (the arena below). */
typedef struct head_attn_layer {
    float *x;           /* [BT, W] the layer's input */
    float *ln1, *m1, *r1; /* LN1(x) [BT, W], its mean and rstd [BT] */
    float *qkv;         /* [BT, 3W] */
    float *att;         /* [B, NH, T, T] */
    float *ao;          /* [BT, W] attention output (before out_proj) */
    float *xm;          /* [BT, W] x + out_proj(ao) */
    float *ln2, *m2, *r2;
    float *f1, *g1;     /* [BT, F] linear1's output and its GELU */
} head_attn_layer;

typedef struct head_attn_work {
    int T, W, F;
    head_attn_layer l[HEAD_MAX_LAYERS];
    float *xout;          /* [BT, W] the last layer's output */
    float *z0, *zn, *zm, *zr; /* [B, W] the [CLS] rows, LN of them, mean, rstd [B] */
    float *tok;           /* [B, W] one input's token, forward and backward */
    float *dx, *dt, *dqkv, *dao, *df, *dg, *dz; /* backward */
    float *arena;
} head_attn_work;

/* Cuts base into the encoder's buffers for batches of B rows and returns
 * the floats they take; base NULL only counts (the arena's size). */
static size_t attn_carve(head_attn_work *a, const head *h, int B, float *base)
{
    size_t T = (size_t)a->T, W = (size_t)a->W, F = (size_t)a->F, NH = (size_t)h->heads, BT = (size_t)B * T, n = 0;
#define TAKE(ptr, k) (ptr = base ? base + n : NULL, n += (k))
    for (int l = 0; l < h->layers; l++) {
        head_attn_layer *y = &a->l[l];
        TAKE(y->x, BT * W), TAKE(y->ln1, BT * W), TAKE(y->m1, BT), TAKE(y->r1, BT), TAKE(y->qkv, BT * 3 * W);
        TAKE(y->att, (size_t)B * NH * T * T), TAKE(y->ao, BT * W), TAKE(y->xm, BT * W), TAKE(y->ln2, BT * W);
        TAKE(y->m2, BT), TAKE(y->r2, BT), TAKE(y->f1, BT * F), TAKE(y->g1, BT * F);
    }
    TAKE(a->xout, BT * W), TAKE(a->z0, (size_t)B * W), TAKE(a->zn, (size_t)B * W), TAKE(a->zm, (size_t)B);
    TAKE(a->zr, (size_t)B), TAKE(a->tok, (size_t)B * W), TAKE(a->dx, BT * W), TAKE(a->dt, BT * W);
    TAKE(a->dqkv, BT * 3 * W), TAKE(a->dao, BT * W), TAKE(a->df, BT * F), TAKE(a->dg, BT * F);
    TAKE(a->dz, (size_t)B * W);
#undef TAKE
    return n;
}

static void attn_work_init(head_work *w, const head *h, int B)
{
    head_attn_work *a = xcalloc(1, sizeof *a);
    w->attn = a;
    a->T = h->ninputs + 1, a->W = h->hidden, a->F = 4 * h->hidden;
    a->arena = fzero(attn_carve(a, h, B, NULL));
    attn_carve(a, h, B, a->arena);
}

static void attn_work_free(head_work *w)
{
    if (!w->attn) return;
    free(w->attn->arena);
    free(w->attn);
    w->attn = NULL;
}

/* The tensor "encoder.layers.L.SUFFIX" of params (or of grads). */
static float *LP(const head *h, const float *base, int l, const char *suffix)
{
    char name[64];
    snprintf(name, sizeof name, "encoder.layers.%d.%s", l, suffix);
    return (float *)base + head_tensor_find(h, name)->off;
}

/* Splits x into the inputs' slices w->gx[i] [B, dims[i]]. */
static void split_inputs(const head *h, head_work *w, int B)
{
    for (int i = 0, off = 0; i < h->ninputs; off += h->dims[i], i++)
        for (int b = 0; b < B; b++)
            memcpy(w->gx[i] + (size_t)b * h->dims[i], w->x + (size_t)b * h->D + off, (size_t)h->dims[i] * sizeof(float));
}

/* Forward up to z = LN(X_L[b, 0]) into w->a1 [B, W]. */
static void attention_forward_head(const head *h, head_work *w, int B)
{
    head_attn_work *a = w->attn;
    int M = h->ninputs, T = a->T, W = a->W, F = a->F, L = h->layers, BT = B * T;
    const float *prm = h->params;
    char name[32];
    split_inputs(h, w, B);
    float *x0 = L > 0 ? a->l[0].x : a->xout;
    const float *cls = P(h, "cls");
    for (int b = 0; b < B; b++) memcpy(x0 + (size_t)b * T * W, cls, (size_t)W * sizeof(float));
    for (int i = 0; i < M; i++) {
        snprintf(name, sizeof name, "proj.%d.weight", i);
        const float *Wp = P(h, name);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        linear_forward(&w->ex, a->tok, w->gx[i], Wp, P(h, name), B, h->dims[i], W);
        for (int b = 0; b < B; b++)
            memcpy(x0 + ((size_t)b * T + 1 + i) * W, a->tok + (size_t)b * W, (size_t)W * sizeof(float));
    }
    for (int l = 0; l < L; l++) {
        head_attn_layer *y = &a->l[l];
        float *xo = l + 1 < L ? a->l[l + 1].x : a->xout;
        layernorm_forward(y->ln1, y->m1, y->r1, y->x, LP(h, prm, l, "norm1.weight"), LP(h, prm, l, "norm1.bias"), BT,
                          W, 1e-5f);
        linear_forward(&w->ex, y->qkv, y->ln1, LP(h, prm, l, "self_attn.in_proj_weight"),
                       LP(h, prm, l, "self_attn.in_proj_bias"), BT, W, 3 * W);
        attention_forward(y->ao, y->att, y->qkv, B, T, W, h->heads);
        linear_forward(&w->ex, y->xm, y->ao, LP(h, prm, l, "self_attn.out_proj.weight"),
                       LP(h, prm, l, "self_attn.out_proj.bias"), BT, W, W);
        for (size_t k = 0; k < (size_t)BT * W; k++) y->xm[k] += y->x[k];
        layernorm_forward(y->ln2, y->m2, y->r2, y->xm, LP(h, prm, l, "norm2.weight"), LP(h, prm, l, "norm2.bias"), BT,
                          W, 1e-5f);
        linear_forward(&w->ex, y->f1, y->ln2, LP(h, prm, l, "linear1.weight"), LP(h, prm, l, "linear1.bias"), BT, W, F);
        gelu_forward_ex(&w->ex, y->g1, y->f1, (size_t)BT * F);
        linear_forward(&w->ex, xo, y->g1, LP(h, prm, l, "linear2.weight"), LP(h, prm, l, "linear2.bias"), BT, F, W);
        for (size_t k = 0; k < (size_t)BT * W; k++) xo[k] += y->xm[k];
    }
    for (int b = 0; b < B; b++) memcpy(a->z0 + (size_t)b * W, a->xout + (size_t)b * T * W, (size_t)W * sizeof(float));
    layernorm_forward(w->a1, a->zm, a->zr, a->z0, P(h, "norm.weight"), P(h, "norm.bias"), B, W, 1e-5f);
}

/* From w->da1 (the gradient of z) down to the parameters. */
static void attention_backward_head(const head *h, head_work *w, int B)
{
    head_attn_work *a = w->attn;
    int M = h->ninputs, T = a->T, W = a->W, F = a->F, L = h->layers, BT = B * T;
    const float *prm = h->params;
    float *grd = w->grads;
    size_t nBTW = (size_t)BT * W * sizeof(float);
    char name[32];
    memset(a->dz, 0, (size_t)B * W * sizeof(float));
    layernorm_backward(a->dz, G(h, w, "norm.weight"), G(h, w, "norm.bias"), w->da1, a->z0, P(h, "norm.weight"), a->zm,
                       a->zr, B, W);
    memset(a->dx, 0, nBTW);
    for (int b = 0; b < B; b++) memcpy(a->dx + (size_t)b * T * W, a->dz + (size_t)b * W, (size_t)W * sizeof(float));
    for (int l = L - 1; l >= 0; l--) {
        head_attn_layer *y = &a->l[l];
        /* dx is the gradient of the layer's output X'' = X' + MLP(LN2(X')) */
        memset(a->dg, 0, (size_t)BT * F * sizeof(float));
        linear_backward(&w->ex, a->dg, LP(h, grd, l, "linear2.weight"), LP(h, grd, l, "linear2.bias"), a->dx, y->g1,
                        LP(h, prm, l, "linear2.weight"), BT, F, W);
        memset(a->df, 0, (size_t)BT * F * sizeof(float));
        gelu_backward_ex(&w->ex, a->df, y->f1, a->dg, (size_t)BT * F);
        memset(a->dt, 0, nBTW);
        linear_backward(&w->ex, a->dt, LP(h, grd, l, "linear1.weight"), LP(h, grd, l, "linear1.bias"), a->df, y->ln2,
                        LP(h, prm, l, "linear1.weight"), BT, W, F);
        /* adds into dx: now the gradient of X' (residual + LN2 path) */
        layernorm_backward(a->dx, LP(h, grd, l, "norm2.weight"), LP(h, grd, l, "norm2.bias"), a->dt, y->xm,
                           LP(h, prm, l, "norm2.weight"), y->m2, y->r2, BT, W);
        memset(a->dao, 0, nBTW);
        linear_backward(&w->ex, a->dao, LP(h, grd, l, "self_attn.out_proj.weight"),
                        LP(h, grd, l, "self_attn.out_proj.bias"), a->dx, y->ao, LP(h, prm, l, "self_attn.out_proj.weight"),
                        BT, W, W);
        memset(a->dqkv, 0, nBTW * 3);
        attention_backward(a->dqkv, a->dao, y->qkv, y->att, B, T, W, h->heads);
        memset(a->dt, 0, nBTW);
        linear_backward(&w->ex, a->dt, LP(h, grd, l, "self_attn.in_proj_weight"),
                        LP(h, grd, l, "self_attn.in_proj_bias"), a->dqkv, y->ln1,
                        LP(h, prm, l, "self_attn.in_proj_weight"), BT, W, 3 * W);
        /* now the gradient of X, the layer's input */
        layernorm_backward(a->dx, LP(h, grd, l, "norm1.weight"), LP(h, grd, l, "norm1.bias"), a->dt, y->x,
                           LP(h, prm, l, "norm1.weight"), y->m1, y->r1, BT, W);
    }
    float *dcls = G(h, w, "cls");
    for (int b = 0; b < B; b++)
        for (int k = 0; k < W; k++) dcls[k] += a->dx[(size_t)b * T * W + k];
    for (int i = 0; i < M; i++) {
        for (int b = 0; b < B; b++)
            memcpy(a->tok + (size_t)b * W, a->dx + ((size_t)b * T + 1 + i) * W, (size_t)W * sizeof(float));
        snprintf(name, sizeof name, "proj.%d.weight", i);
        float *dW = G(h, w, name);
        const float *Wp = P(h, name);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        linear_backward(&w->ex, NULL, dW, G(h, w, name), a->tok, w->gx[i], Wp, B, h->dims[i], W);
    }
}

void head_cls_attention(const head *h, const head_work *w, int B, float *out)
{
    const head_attn_work *a = w->attn;
    int T = a->T, NH = h->heads;
    const float *att = a->l[h->layers - 1].att;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float s = 0;
            for (int k = 0; k < NH; k++) s += att[(((size_t)b * NH + k) * T + 0) * T + t];
            out[(size_t)b * T + t] = s / (float)NH;
        }
}

void head_forward(const head *h, head_work *w, int B, int train, nn_rng *rng)
{
    const float *x = w->x, *Wo = out_param(h, h->params, 0), *bo = out_param(h, h->params, 1);
    int V = h->nclasses, D = h->D, H = h->hidden;
    if (h->fusion == HEAD_NONE) {
        linear_forward(&w->ex, w->logits, x, Wo, bo, B, D, V);
        return;
    }
    size_t n = (size_t)B * (size_t)H;
    if (h->fusion == HEAD_GATED) {
        gated_forward(h, w, B);
    } else if (h->fusion == HEAD_ATTENTION) {
        attention_forward_head(h, w, B);
    } else {
        linear_forward(&w->ex, w->h1, x, P(h, "fc.weight"), P(h, "fc.bias"), B, D, H);
        gelu_forward_ex(&w->ex, w->a1, w->h1, n);
    }
    float p = train ? h->dropout : 0;
    if (p > 0)
        for (size_t i = 0; i < n; i++) w->uniform[i] = nn_rng_uniform(rng);
    dropout_forward(w->d1, w->mask, w->a1, w->uniform, n, p);
    linear_forward(&w->ex, w->logits, w->d1, Wo, bo, B, H, V);
}

static float *G(const head *h, head_work *w, const char *name) { return w->grads + head_tensor_find(h, name)->off; }

void head_backward(const head *h, head_work *w, int B)
{
    int V = h->nclasses, D = h->D, H = h->hidden;
    const float *x = w->x, *Wo = out_param(h, h->params, 0);
    float *dWo = out_param(h, w->grads, 0), *dbo = out_param(h, w->grads, 1);
    if (h->fusion == HEAD_NONE) {
        linear_backward(&w->ex, NULL, dWo, dbo, w->dlogits, x, Wo, B, D, V);
        return;
    }
    size_t n = (size_t)B * (size_t)H;
    memset(w->dd1, 0, n * sizeof(float));
    memset(w->da1, 0, n * sizeof(float));
    memset(w->dh1, 0, n * sizeof(float));
    linear_backward(&w->ex, w->dd1, dWo, dbo, w->dlogits, w->d1, Wo, B, H, V);
    dropout_backward(w->da1, w->mask, w->dd1, n);
    if (h->fusion == HEAD_GATED) {
        gated_backward(h, w, B);
        return;
    }
    if (h->fusion == HEAD_ATTENTION) {
        attention_backward_head(h, w, B);
        return;
    }
    gelu_backward_ex(&w->ex, w->dh1, w->h1, w->da1, n);
    linear_backward(&w->ex, NULL, G(h, w, "fc.weight"), G(h, w, "fc.bias"), w->dh1, x, P(h, "fc.weight"), B, D, H);
}

/* ---- on disk -------------------------------------------------------------- */
static int write_all(FILE *fp, const void *p, size_t n) { return fwrite(p, 1, n, fp) == n ? 0 : -1; }

static int save_safetensors(const head *h, const char *path, mm_error *err)
{
    json_t *hdr = json_object();
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(hdr, "__metadata__", meta);
    for (int i = 0; i < h->ntensors; i++) {
        const head_tensor *t = &h->t[i];
        json_t *o = json_object(), *shape = json_array(), *offs = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_array_append_new(offs, json_integer((json_int_t)(t->off * 4)));
        json_array_append_new(offs, json_integer((json_int_t)((t->off + t->count) * 4)));
        json_object_set_new(o, "dtype", json_string("F32"));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "data_offsets", offs);
        json_object_set_new(hdr, t->name, o);
    }
    char *text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (!text) return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(text);
        return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    }
    unsigned char n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int bad = write_all(fp, n8, 8) || write_all(fp, text, len);
    for (size_t i = len; i < padded && !bad; i++) bad = fputc(' ', fp) == EOF;
    /* the data: little-endian float32, which is this machine's order */
    if (!bad) bad = write_all(fp, h->params, h->nparams * sizeof(float));
    free(text);
    if (fclose(fp) != 0 || bad) return mm_fail(err, MM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int head_save(const head *h, const char *dir, mm_error *err)
{
    char path[4096];
    json_t *c = json_object(), *inputs = json_array(), *classes = json_array();
    json_object_set_new(c, "format", json_string("mmkit-head"));
    json_object_set_new(c, "version", json_integer(1));
    if (!h->multi) json_object_set_new(c, "task", json_string(task_name(h->task)));
    json_object_set_new(c, "fusion", json_string(head_fusion_name(h->fusion)));
    json_object_set_new(c, "hidden", json_integer(h->hidden));
    if (h->fusion == HEAD_ATTENTION) {
        json_object_set_new(c, "layers", json_integer(h->layers));
        json_object_set_new(c, "heads", json_integer(h->heads));
    }
    json_object_set_new(c, "dropout", json_real(h->dropout));
    for (int i = 0; i < h->ninputs; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "dim", json_integer(h->dims[i]));
        json_object_set_new(o, "source", json_string(h->sources[i] ? h->sources[i] : ""));
        int prod = h->product && i == h->ninputs - 1;
        json_object_set_new(o, "norm", json_string(prod || h->norm == HEAD_NORM_NONE ? "none"
                                                   : h->norm == HEAD_NORM_ZSCORE ? "zscore" : "l2"));
        if (h->norm == HEAD_NORM_ZSCORE) { /* 17 significant digits: each float comes back exact */
            json_t *mean = json_array(), *std = json_array();
            for (int d = 0, off = input_offset(h, i); d < h->dims[i]; d++) {
                json_array_append_new(mean, json_real(h->zmean[off + d]));
                json_array_append_new(std, json_real(h->zstd[off + d]));
            }
            json_object_set_new(o, "mean", mean);
            json_object_set_new(o, "std", std);
        }
        if (h->task == TASK_PAIR)
            json_object_set_new(o, "role", json_string(prod ? "product" : i == 0 ? "query" : "document"));
        json_array_append_new(inputs, o);
    }
    json_object_set_new(c, "inputs", inputs);
    if (h->multi) {
        json_t *tasks = json_array();
        for (int t = 0; t < h->ntasks; t++) {
            const head_out *o = &h->out[t];
            json_t *j = json_object(), *cl = json_array();
            json_object_set_new(j, "name", json_string(o->name));
            json_object_set_new(j, "kind", json_string(task_name(o->kind)));
            json_object_set_new(j, "weight", json_real(o->weight));
            for (int k = 0; k < o->n; k++) json_array_append_new(cl, json_string(h->classes[o->off + k]));
            json_object_set_new(j, "classes", cl);
            json_array_append_new(tasks, j);
        }
        json_object_set_new(c, "tasks", tasks);
        json_decref(classes);
    } else {
        for (int k = 0; k < h->nclasses; k++) json_array_append_new(classes, json_string(h->classes[k]));
        json_object_set_new(c, "classes", classes);
    }
    if (h->recipe) {
        json_t *r = json_loads(h->recipe, 0, NULL);
        if (r) json_object_set_new(c, "recipe", r);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_dump_file(c, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(c);
    if (rc != 0) return mm_fail(err, MM_ERR_IO, "%s: write failed", path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return save_safetensors(h, path, err);
}

static int read_file(const char *path, char **buf, size_t *len, mm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = xmalloc(cap + 1);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) b = xrealloc(b, 2 * cap + 1), cap *= 2;
    }
    int ioerr = ferror(fp);
    fclose(fp);
    if (ioerr) {
        free(b);
        return mm_fail(err, MM_ERR_IO, "%s: read failed", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

int head_load(head *h, const char *dir, mm_error *err)
{
    char cpath[4096], spath[4096];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    snprintf(spath, sizeof spath, "%s/model.safetensors", dir);
    char *cfg = NULL, *st = NULL;
    size_t clen, slen;
    if (read_file(cpath, &cfg, &clen, err) < 0) return -1;
    if (read_file(spath, &st, &slen, err) < 0) {
        free(cfg);
        return -1;
    }
    int rc = head_parse(h, cfg, clen, cpath, st, slen, spath, err);
    free(cfg);
    free(st);
    return rc;
}

/* A field of the config, of the JSON type wanted, or an error naming it. */
static json_t *field(json_t *o, const char *key, int type, const char *name, mm_error *err)
{
    json_t *v = json_object_get(o, key);
    static const char *const tn[] = {"an object", "an array", "a string", "an integer", "a number"};
    if (!v || (type == JSON_REAL ? !json_is_number(v) : json_typeof(v) != (json_type)type)) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\": %s, expected %s", name, key, v ? "wrong type" : "missing",
                tn[type <= JSON_REAL ? type : 0]);
        return NULL;
    }
    return v;
}

/* inputs[i].mean and .std of a zscore head: dims[i] finite numbers each, std > 0. */
static int parse_zscore(head *h, json_t *inputs, const char *config_name, mm_error *err)
{
    h->zmean = xmalloc((size_t)h->D * sizeof *h->zmean);
    h->zstd = xmalloc((size_t)h->D * sizeof *h->zstd);
    for (int i = 0; i < h->ninputs; i++) {
        json_t *o = json_array_get(inputs, (size_t)i);
        char nb[4200];
        snprintf(nb, sizeof nb, "%s: inputs[%d]", config_name, i);
        for (int s = 0; s < 2; s++) {
            const char *key = s ? "std" : "mean";
            json_t *a = field(o, key, JSON_ARRAY, nb, err);
            if (!a) return -1;
            if (json_array_size(a) != (size_t)h->dims[i])
                return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\": %zu values, expected dim %d", nb, key,
                               json_array_size(a), h->dims[i]);
            float *dst = (s ? h->zstd : h->zmean) + input_offset(h, i);
            for (int d = 0; d < h->dims[i]; d++) {
                json_t *v = json_array_get(a, (size_t)d);
                double x = json_is_number(v) ? json_number_value(v) : NAN;
                if (!isfinite(x) || fabs(x) > 3.4e38 || (s && !(x > 0)))
                    return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\"[%d]: %s", nb, key, d,
                                   s ? "expected a positive number" : "expected a finite number");
                dst[d] = (float)x;
            }
        }
    }
    return 0;
}

int head_parse(head *h, const char *config, size_t config_len, const char *config_name, const void *st,
               size_t st_len, const char *st_name, mm_error *err)
{
    memset(h, 0, sizeof *h);
    json_error_t je;
    json_t *c = json_loadb(config, config_len, JSON_REJECT_DUPLICATES, &je);
    if (!c) return mm_fail(err, MM_ERR_MALFORMED, "%s:%d:%d: %s", config_name, je.line, je.column, je.text);
    json_t *v, *inputs, *classes, *flat = NULL;
    int rc = -1;
    safetensors *s = NULL;
    if (!json_is_object(c)) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: not a JSON object", config_name);
        goto out;
    }
    if (!(v = field(c, "format", JSON_STRING, config_name, err))) goto out;
    if (strcmp(json_string_value(v), "mmkit-head") != 0) {
        mm_fail(err, MM_ERR_UNSUPPORTED, "%s: \"format\": \"%s\", expected \"mmkit-head\"", config_name,
                json_string_value(v));
        goto out;
    }
    /* "task" came with multilabel, regression and pair: a head without it
     * is a classifier */
    if ((v = json_object_get(c, "task"))) {
        if (!json_is_string(v) || (h->task = task_parse(json_string_value(v))) < 0) {
            mm_fail(err, MM_ERR_UNSUPPORTED, "%s: \"task\": expected one of classification, multilabel, regression, pair",
                    config_name);
            goto out;
        }
    }
    if (!(v = field(c, "fusion", JSON_STRING, config_name, err))) goto out;
    if ((h->fusion = head_fusion_parse(json_string_value(v))) < 0) {
        mm_fail(err, MM_ERR_UNSUPPORTED, "%s: \"fusion\": unknown \"%s\"", config_name, json_string_value(v));
        goto out;
    }
    if (!(v = field(c, "hidden", JSON_INTEGER, config_name, err))) goto out;
    json_int_t hidden = json_integer_value(v);
    h->hidden = hidden < 0 || hidden > 65536 ? -1 : (int)hidden;
    if (h->fusion == HEAD_ATTENTION) {
        if (!(v = field(c, "layers", JSON_INTEGER, config_name, err))) goto out;
        h->layers = json_integer_value(v) < 0 || json_integer_value(v) > 1000 ? -1 : (int)json_integer_value(v);
        if (!(v = field(c, "heads", JSON_INTEGER, config_name, err))) goto out;
        h->heads = json_integer_value(v) < 0 || json_integer_value(v) > 65536 ? -1 : (int)json_integer_value(v);
    }
    if (!(v = field(c, "dropout", JSON_REAL, config_name, err))) goto out;
    h->dropout = (float)json_number_value(v);
    if (!(inputs = field(c, "inputs", JSON_ARRAY, config_name, err))) goto out;
    if ((v = json_object_get(c, "tasks"))) { /* multi-task: the tasks' classes side by side (head.h) */
        if (!json_is_array(v) || json_object_get(c, "task") || json_object_get(c, "classes")) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: \"tasks\": expected an array, in place of \"task\" and \"classes\"",
                    config_name);
            goto out;
        }
        size_t nt = json_array_size(v);
        h->multi = 1;
        h->ntasks = nt > HEAD_MAX_TASKS ? HEAD_MAX_TASKS + 1 : (int)nt;
        classes = flat = json_array();
        for (size_t t = 0; t < nt && t < HEAD_MAX_TASKS; t++) {
            json_t *o = json_array_get(v, t), *f;
            head_out *ho = &h->out[t];
            char nb[4200];
            snprintf(nb, sizeof nb, "%s: tasks[%zu]", config_name, t);
            if (!json_is_object(o)) {
                mm_fail(err, MM_ERR_MALFORMED, "%s: not an object", nb);
                goto out;
            }
            if (!(f = field(o, "name", JSON_STRING, nb, err))) goto out;
            if (!head_task_name_ok(json_string_value(f))) {
                mm_fail(err, MM_ERR_MALFORMED, "%s: \"name\": not 1 to %d of A-Z a-z 0-9 _ -", nb,
                        HEAD_TASK_NAME_MAX - 1);
                goto out;
            }
            snprintf(ho->name, sizeof ho->name, "%s", json_string_value(f));
            if (!(f = field(o, "kind", JSON_STRING, nb, err))) goto out;
            if ((ho->kind = task_parse(json_string_value(f))) < 0) {
                mm_fail(err, MM_ERR_UNSUPPORTED, "%s: \"kind\": expected one of classification, multilabel, regression",
                        nb);
                goto out;
            }
            if (!(f = field(o, "weight", JSON_REAL, nb, err))) goto out;
            ho->weight = (float)json_number_value(f);
            if (!(f = field(o, "classes", JSON_ARRAY, nb, err))) goto out;
            size_t n = json_array_size(f), before = json_array_size(flat);
            ho->off = before > 1000001 ? 1000001 : (int)before;
            ho->n = n > 1000001 ? 1000001 : (int)n;
            for (size_t k = 0; k < n && before + k <= 1000000; k++) json_array_append(flat, json_array_get(f, k));
        }
        h->task = h->out[0].kind;
    } else if (!(classes = field(c, "classes", JSON_ARRAY, config_name, err)))
        goto out;
    size_t ni = json_array_size(inputs), nc = json_array_size(classes);
    h->ninputs = ni > HEAD_MAX_INPUTS ? HEAD_MAX_INPUTS + 1 : (int)ni;
    h->nclasses = nc > 1000001 ? 1000001 : (int)nc;
    if (!h->multi) h->ntasks = 1, h->out[0] = (head_out){.kind = h->task, .n = h->nclasses, .weight = 1};
    h->norm = HEAD_NORM_L2;
    for (size_t i = 0; i < ni && i < HEAD_MAX_INPUTS; i++) {
        json_t *o = json_array_get(inputs, i), *d, *src, *nm;
        char nb[4200];
        snprintf(nb, sizeof nb, "%s: inputs[%zu]", config_name, i);
        if (!json_is_object(o)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: not an object", nb);
            goto out;
        }
        if (!(d = field(o, "dim", JSON_INTEGER, nb, err))) goto out;
        json_int_t dim = json_integer_value(d);
        h->dims[i] = dim < 1 || dim > 65536 ? 0 : (int)dim;
        src = json_object_get(o, "source");
        h->sources[i] = xstrdup(json_is_string(src) ? json_string_value(src) : "");
        nm = json_object_get(o, "norm");
        if (nm && (!json_is_string(nm) || (strcmp(json_string_value(nm), "l2") && strcmp(json_string_value(nm), "none") &&
                                           strcmp(json_string_value(nm), "zscore")))) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: \"norm\": expected \"l2\", \"zscore\" or \"none\"", nb);
            goto out;
        }
        if (nm && !strcmp(json_string_value(nm), "zscore")) {
            if (i > 0 && h->norm != HEAD_NORM_ZSCORE) {
                mm_fail(err, MM_ERR_MALFORMED, "%s: \"norm\": \"zscore\" after an input that is not", nb);
                goto out;
            }
            h->norm = HEAD_NORM_ZSCORE;
        } else if (h->norm == HEAD_NORM_ZSCORE) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: \"norm\": every input is \"zscore\" or none is", nb);
            goto out;
        }
        json_t *role = json_object_get(o, "role");
        if (role && json_is_string(role) && !strcmp(json_string_value(role), "product")) {
            if (i + 1 != ni) {
                mm_fail(err, MM_ERR_MALFORMED, "%s: \"role\": \"product\" is only the last input", nb);
                goto out;
            }
            h->product = 1;
        } else if (nm && !strcmp(json_string_value(nm), "none"))
            h->norm = HEAD_NORM_NONE;
    }
    if (check_shape(h, err, config_name) < 0) goto out;
    if (h->norm == HEAD_NORM_ZSCORE && parse_zscore(h, inputs, config_name, err) < 0) goto out;
    h->classes = xcalloc(nc ? nc : 1, sizeof *h->classes);
    for (size_t k = 0; k < nc; k++) {
        json_t *o = json_array_get(classes, k);
        /* where class k is in the file: classes[k], or tasks[t].classes[k - off] */
        int t = 0;
        while (h->multi && t + 1 < h->ntasks && (size_t)h->out[t + 1].off <= k) t++;
        size_t first = h->multi ? (size_t)h->out[t].off : 0; /* a class repeats only within its task */
        char at[64];
        if (h->multi) snprintf(at, sizeof at, "tasks[%d].classes", t);
        else snprintf(at, sizeof at, "classes");
        if (!json_is_string(o) || !json_string_length(o)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: %s[%zu]: expected a non-empty string", config_name, at, k - first);
            goto out;
        }
        h->classes[k] = xstrdup(json_string_value(o));
        for (size_t j = first; j < k; j++)
            if (!strcmp(h->classes[j], h->classes[k])) {
                mm_fail(err, MM_ERR_MALFORMED, "%s: %s[%zu]: \"%s\" repeats %s[%zu]", config_name, at, k - first,
                        h->classes[k], at, j - first);
                goto out;
            }
    }
    if ((v = json_object_get(c, "recipe"))) h->recipe = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    /* the shapes first, the memory after: a config that claims huge dims
     * fails on the tensors the file does (not) hold, before any allocation
     * its size would need */
    layout(h);
    if (!(s = st_parse(st, st_len, st_name, err))) goto out;
    if (st_count(s) != (size_t)h->ntensors) {
        mm_fail(err, MM_ERR_MISMATCH, "%s: %zu tensors, the %s head of %s has %d", st_name, st_count(s),
                head_fusion_name(h->fusion), config_name, h->ntensors);
        goto out;
    }
    for (int i = 0; i < h->ntensors; i++) {
        const head_tensor *t = &h->t[i];
        const st_tensor *x = st_find(s, t->name);
        if (!x) {
            mm_fail(err, MM_ERR_MISMATCH, "%s: tensor \"%s\" missing", st_name, t->name);
            goto out;
        }
        int ok = x->dtype == ST_F32 && x->ndim == t->ndim;
        for (int d = 0; ok && d < t->ndim; d++) ok = x->shape[d] == t->shape[d];
        if (!ok) {
            if (t->ndim == 2)
                mm_fail(err, MM_ERR_MISMATCH, "%s: tensor \"%s\": expected F32 [%d, %d] (from %s)", st_name, t->name,
                        t->shape[0], t->shape[1], config_name);
            else
                mm_fail(err, MM_ERR_MISMATCH, "%s: tensor \"%s\": expected F32 [%d] (from %s)", st_name, t->name,
                        t->shape[0], config_name);
            goto out;
        }
    }
    if (alloc_params(h, err) < 0) goto out;
    for (int i = 0; i < h->ntensors; i++) {
        const head_tensor *t = &h->t[i];
        const st_tensor *x = st_find(s, t->name);
        if (st_to_f32(x, h->params + t->off, err) < 0) goto out;
        for (size_t k = 0; k < t->count; k++)
            if (!isfinite(h->params[t->off + k])) {
                mm_fail(err, MM_ERR_CORRUPT, "%s: tensor \"%s\": element %zu is not finite", st_name, t->name, k);
                goto out;
            }
    }
    rc = 0;
out:
    if (s) st_close(s);
    json_decref(flat);
    json_decref(c);
    if (rc < 0) head_free(h);
    return rc;
}
