/* train.c — the training loop (see train.h). */
#include "nn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "nn/adamw.h"

enum { PREDICT_BATCH = 256 };

int head_feature_dim(const head *h) { return h->fusion == HEAD_NONE ? h->D : h->hidden; }

int head_explain_dim(const head *h)
{
    return h->fusion == HEAD_GATED ? h->ninputs : h->fusion == HEAD_ATTENTION ? h->ninputs + 1 : 0;
}

void head_outputs(const head *h, mm_pool *pool, const float *x, size_t n, float *out, float *features, float *explain)
{
    head_work w;
    head_work_init(&w, h, PREDICT_BATCH);
    head_work_set_pool(&w, pool);
    int V = h->nclasses, F = head_feature_dim(h), E = head_explain_dim(h);
    for (size_t b0 = 0; b0 < n; b0 += PREDICT_BATCH) {
        int B = (int)(n - b0 < PREDICT_BATCH ? n - b0 : PREDICT_BATCH);
        memcpy(w.x, x + b0 * (size_t)h->D, (size_t)B * (size_t)h->D * sizeof(float));
        head_forward(h, &w, B, 0, NULL);
        memcpy(out + b0 * (size_t)V, w.logits, (size_t)B * (size_t)V * sizeof(float));
        if (features)
            memcpy(features + b0 * (size_t)F, h->fusion == HEAD_NONE ? w.x : w.a1,
                   (size_t)B * (size_t)F * sizeof(float));
        if (explain && h->fusion == HEAD_GATED)
            memcpy(explain + b0 * (size_t)E, w.galpha, (size_t)B * (size_t)E * sizeof(float));
        if (explain && h->fusion == HEAD_ATTENTION) head_cls_attention(h, &w, B, explain + b0 * (size_t)E);
    }
    head_work_free(&w);
}

void head_predict(const head *h, const float *x, size_t n, float *probs) { head_predict_pool(h, NULL, x, n, probs); }

void head_predict_pool(const head *h, mm_pool *pool, const float *x, size_t n, float *probs)
{
    head_outputs(h, pool, x, n, probs, NULL, NULL);
    task_activate(h->task, probs, n, h->nclasses);
}

void head_pair_outputs(const head *h, mm_pool *pool, const pairdata *p, float *out)
{
    size_t total = p->first[p->nq];
    float *x = xmalloc((size_t)PREDICT_BATCH * (size_t)h->D * sizeof(float));
    size_t q = 0;
    for (size_t c0 = 0; c0 < total; c0 += PREDICT_BATCH) {
        size_t nb = total - c0 < PREDICT_BATCH ? total - c0 : PREDICT_BATCH;
        for (size_t c = c0; c < c0 + nb; c++) {
            while (p->first[q + 1] <= c) q++;
            pair_fill(p, q, c, x + (c - c0) * (size_t)h->D);
        }
        head_outputs(h, pool, x, nb, out + c0, NULL, NULL);
    }
    free(x);
}

/* The rows and targets of example e at row `row` of a batch: returns the
 * number of rows written. */
static int fill_example(const head *h, const train_set *s, size_t e, float *x, int row, int *y, float *t)
{
    int D = h->D, V = h->nclasses;
    if (s->pairs) {
        const pairdata *p = s->pairs;
        int n = (int)(p->first[e + 1] - p->first[e]);
        for (int c = 0; c < n; c++) {
            pair_fill(p, e, p->first[e] + (size_t)c, x + (size_t)(row + c) * D);
            t[row + c] = p->target[p->first[e] + (size_t)c];
        }
        return n;
    }
    memcpy(x + (size_t)row * D, s->x + e * (size_t)D, (size_t)D * sizeof(float));
    if (h->task == TASK_CLASSIFY) y[row] = s->y[e];
    else memcpy(t + (size_t)row * V, s->t + e * (size_t)V, (size_t)V * sizeof(float));
    return 1;
}

static size_t example_of(const train_set *s, size_t i) { return s->index ? s->index[i] : i; }

/* The task's measures over a whole set. */
static void evaluate_set(const head *h, mm_pool *pool, const train_set *s, double *values)
{
    int V = h->nclasses, D = h->D;
    size_t rows = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t e = example_of(s, i);
        rows += s->pairs ? s->pairs->first[e + 1] - s->pairs->first[e] : 1;
    }
    float *x = xmalloc((rows ? rows : 1) * (size_t)D * sizeof(float));
    float *out = xmalloc((rows ? rows : 1) * (size_t)V * sizeof(float));
    float *t = xmalloc((rows ? rows : 1) * (size_t)V * sizeof(float));
    int *y = xmalloc((rows ? rows : 1) * sizeof *y), *group = xmalloc((s->n ? s->n : 1) * sizeof *group);
    int r = 0;
    for (size_t i = 0; i < s->n; i++) {
        int k = fill_example(h, s, example_of(s, i), x, r, y, t);
        group[i] = k;
        r += k;
    }
    head_outputs(h, pool, x, rows, out, NULL, NULL);
    task_batch b = {.nb = (int)s->n, .rows = (int)rows, .y = y, .t = t, .group = group};
    task_evaluate(h->task, out, V, &b, values);
    free(x), free(out), free(t), free(y), free(group);
}

int train_run(head *h, const train_opts *o, const train_set *tr, const train_set *va, train_epoch_fn fn, void *ctx,
              mm_error *err)
{
    size_t n = tr->n, nv = va ? va->n : 0;
    if (n == 0) return mm_fail(err, MM_ERR_MALFORMED, "empty training set");
    int B = o->batch, V = h->nclasses;
    int maxrows = B * (tr->pairs ? tr->pairs->maxc : 1);
    head_work w;
    adamw opt = {0};
    size_t *order = xmalloc(n * sizeof *order);
    float *scratch = xmalloc((size_t)maxrows * (size_t)V * sizeof(float));
    float *best = xmalloc(h->nparams * sizeof(float));
    int *ty = xmalloc((size_t)maxrows * sizeof *ty), *group = xmalloc((size_t)B * sizeof *group);
    float *tt = xmalloc((size_t)maxrows * (size_t)V * sizeof(float));
    unsigned char *decay = xmalloc(h->nparams);
    head_work_init(&w, h, maxrows);
    adamw_init(&opt, h->nparams, o->beta1, o->beta2, o->eps, o->weight_decay);
    head_work_set_pool(&w, o->pool);
    for (int i = 0; i < h->ntensors; i++) memset(decay + h->t[i].off, h->t[i].decay, h->t[i].count);
    for (size_t i = 0; i < n; i++) order[i] = example_of(tr, i);
    nn_rng shuffle, drop;
    nn_rng_seed(&shuffle, o->seed, 1);
    nn_rng_seed(&drop, o->seed, 2);
    long steps_per_epoch = (long)((n + (size_t)B - 1) / (size_t)B), total = steps_per_epoch * o->epochs;
    long warmup = (long)(o->warmup * (float)steps_per_epoch), step = 0;
    int m = o->measure, higher = task_measure_higher_better(h->task, m);
    double best_measure = NAN;
    /* A softmax over each query's candidates does not change when every
     * score moves by the same amount, so the output bias of a pair head has
     * no gradient but rounding noise, which Adam would turn into full-size
     * steps: it stays at its initial value. So do, for the same reason, the
     * weights of a linear (none) pair head on the query's own features,
     * and the final layer norm's bias of an attention pair head (it adds
     * out.weight · norm.bias to every score). */
    const head_tensor *pair_bias = h->task == TASK_PAIR ? head_tensor_find(h, "out.bias") : NULL;
    const head_tensor *pair_norm_bias =
        h->task == TASK_PAIR && h->fusion == HEAD_ATTENTION ? head_tensor_find(h, "norm.bias") : NULL;
    int since_best = 0;
    memcpy(best, h->params, h->nparams * sizeof(float));
    for (int ep = 1; ep <= o->epochs; ep++) {
        for (size_t i = n - 1; i > 0 && !o->no_shuffle; i--) { /* Fisher-Yates */
            size_t j = nn_rng_below(&shuffle, (uint32_t)(i + 1));
            size_t t = order[i];
            order[i] = order[j], order[j] = t;
        }
        double loss_sum = 0;
        for (size_t b0 = 0; b0 < n; b0 += (size_t)B) {
            int bs = (int)(n - b0 < (size_t)B ? n - b0 : (size_t)B), rows = 0;
            for (int r = 0; r < bs; r++) {
                group[r] = fill_example(h, tr, order[b0 + r], w.x, rows, ty, tt);
                rows += group[r];
            }
            head_forward(h, &w, rows, 1, &drop);
            memset(w.dlogits, 0, (size_t)rows * (size_t)V * sizeof(float));
            task_batch tb = {.nb = bs, .rows = rows, .y = ty, .t = tt, .group = group};
            double loss = task_loss(h->task, w.logits, V, &tb, 1, w.dlogits, scratch);
            loss_sum += loss;
            if (o->step_fn) o->step_fn(o->step_ctx, step, loss);
            memset(w.grads, 0, h->nparams * sizeof(float));
            head_backward(h, &w, rows);
            if (pair_bias) { /* see above */
                memset(w.grads + pair_bias->off, 0, pair_bias->count * sizeof(float));
                if (h->fusion == HEAD_NONE) /* the query's columns: 1 row [1, D] */
                    memset(w.grads + head_tensor_find(h, "out.weight")->off, 0, (size_t)h->dims[0] * sizeof(float));
                if (pair_norm_bias) memset(w.grads + pair_norm_bias->off, 0, pair_norm_bias->count * sizeof(float));
            }
            adamw_step_pool(&opt, o->pool, h->params, w.grads, decay, lr_schedule(o->lr, step, warmup, total));
            step++;
        }
        train_epoch e = {.epoch = ep, .train_loss = loss_sum / (double)steps_per_epoch};
        for (int k = 0; k < TASK_MAX_MEASURES; k++) e.val[k] = NAN;
        if (nv) {
            evaluate_set(h, o->pool, va, e.val);
            double v = e.val[m];
            if (isnan(best_measure) || (higher ? v > best_measure : v < best_measure)) {
                best_measure = v;
                memcpy(best, h->params, h->nparams * sizeof(float));
                e.best = 1;
                since_best = 0;
            } else
                since_best++;
        } else {
            e.best = 1;
            memcpy(best, h->params, h->nparams * sizeof(float));
        }
        if (fn && fn(ctx, &e)) break;
        if (o->patience > 0 && since_best >= o->patience) break;
    }
    memcpy(h->params, best, h->nparams * sizeof(float));
    head_work_free(&w);
    adamw_free(&opt);
    free(order), free(scratch), free(best), free(ty), free(group), free(tt), free(decay);
    return 0;
}
