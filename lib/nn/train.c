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

/* The targets of a batch (or a whole set) of up to `rows` rows, per task:
 * the class (classification) or the n_t values (the others) of each row,
 * and whether the row has a target of the task. */
typedef struct batch_targets {
    int *y[HEAD_MAX_TASKS];
    float *t[HEAD_MAX_TASKS];
    unsigned char *has[HEAD_MAX_TASKS];
} batch_targets;

static void targets_init(batch_targets *b, const head *h, size_t rows)
{
    memset(b, 0, sizeof *b);
    rows = rows ? rows : 1;
    for (int k = 0; k < h->ntasks; k++) {
        b->y[k] = xmalloc(rows * sizeof *b->y[k]);
        b->t[k] = xmalloc(rows * (size_t)h->out[k].n * sizeof(float));
        b->has[k] = xmalloc(rows);
    }
}

static void targets_free(batch_targets *b)
{
    for (int k = 0; k < HEAD_MAX_TASKS; k++) free(b->y[k]), free(b->t[k]), free(b->has[k]);
}

/* The rows and targets of example e at row `row` of a batch: returns the
 * number of rows written. */
static int fill_example(const head *h, const train_set *s, size_t e, float *x, int row, batch_targets *bt)
{
    int D = h->D;
    if (s->pairs) {
        const pairdata *p = s->pairs;
        int n = (int)(p->first[e + 1] - p->first[e]);
        for (int c = 0; c < n; c++) {
            pair_fill(p, e, p->first[e] + (size_t)c, x + (size_t)(row + c) * D);
            bt->t[0][row + c] = p->target[p->first[e] + (size_t)c];
        }
        return n;
    }
    memcpy(x + (size_t)row * D, s->x + e * (size_t)D, (size_t)D * sizeof(float));
    for (int k = 0; k < h->ntasks; k++) {
        const train_target *g = &s->task[k];
        int n = h->out[k].n, has = !g->has || g->has[e];
        bt->has[k][row] = (unsigned char)has;
        if (h->out[k].kind == TASK_CLASSIFY) bt->y[k][row] = has ? g->y[e] : -1;
        else if (has) memcpy(bt->t[k] + (size_t)row * n, g->t + e * (size_t)n, (size_t)n * sizeof(float));
        else memset(bt->t[k] + (size_t)row * n, 0, (size_t)n * sizeof(float));
    }
    return 1;
}

static size_t example_of(const train_set *s, size_t i) { return s->index ? s->index[i] : i; }

/* Task k's part of outputs out[rows, V]: its columns of the rows that have
 * a target of it, packed into g[nb, n_k] with their targets (y, t) and row
 * numbers (row, or NULL); returns nb. */
static int gather_task(const head *h, int k, const float *out, int rows, const batch_targets *bt, float *g, int *y,
                       float *t, int *row)
{
    int V = h->nclasses, n = h->out[k].n, off = h->out[k].off, nb = 0;
    for (int r = 0; r < rows; r++) {
        if (!bt->has[k][r]) continue;
        memcpy(g + (size_t)nb * n, out + (size_t)r * V + off, (size_t)n * sizeof(float));
        y[nb] = bt->y[k][r];
        memcpy(t + (size_t)nb * n, bt->t[k] + (size_t)r * n, (size_t)n * sizeof(float));
        if (row) row[nb] = r;
        nb++;
    }
    return nb;
}

/* Every task's measures over a whole set into values[task][measure]; a
 * task none of whose examples has a target gets NaN. */
static void evaluate_set(const head *h, mm_pool *pool, const train_set *s, double values[][TASK_MAX_MEASURES])
{
    int V = h->nclasses, D = h->D;
    size_t rows = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t e = example_of(s, i);
        rows += s->pairs ? s->pairs->first[e + 1] - s->pairs->first[e] : 1;
    }
    size_t R = rows ? rows : 1;
    float *x = xmalloc(R * (size_t)D * sizeof(float));
    float *out = xmalloc(R * (size_t)V * sizeof(float)), *g = xmalloc(R * (size_t)V * sizeof(float));
    float *t = xmalloc(R * (size_t)V * sizeof(float));
    int *y = xmalloc(R * sizeof *y), *group = xmalloc((s->n ? s->n : 1) * sizeof *group);
    batch_targets bt;
    targets_init(&bt, h, rows);
    int r = 0;
    for (size_t i = 0; i < s->n; i++) {
        int k = fill_example(h, s, example_of(s, i), x, r, &bt);
        group[i] = k;
        r += k;
    }
    head_outputs(h, pool, x, rows, out, NULL, NULL);
    if (s->pairs) {
        task_batch b = {.nb = (int)s->n, .rows = (int)rows, .y = y, .t = bt.t[0], .group = group};
        task_evaluate(h->task, out, V, &b, values[0]);
    } else
        for (int k = 0; k < h->ntasks; k++) {
            int nb = gather_task(h, k, out, (int)rows, &bt, g, y, t, NULL);
            task_batch b = {.nb = nb, .rows = nb, .y = y, .t = t};
            for (int m = 0; m < TASK_MAX_MEASURES; m++) values[k][m] = NAN;
            if (nb) task_evaluate(h->out[k].kind, g, h->out[k].n, &b, values[k]);
        }
    targets_free(&bt);
    free(x), free(out), free(g), free(t), free(y), free(group);
}

/* Scratch of batch_loss for batches of up to `rows` rows. */
typedef struct loss_work {
    float *g, *dg, *t, *scratch;
    int *y, *row;
} loss_work;

/* The loss of a batch of `rows` examples (not pairs) on the outputs
 * w->logits, Σ_k weight_k · loss_k over the tasks, each task's loss over
 * the rows that have a target of it (a task with none in the batch adds
 * nothing: task_loss[k] = NaN); its gradient into w->dlogits (zeroed
 * first). A single-task head is the one task over every column and row. */
static double batch_loss(const head *h, head_work *w, int rows, const batch_targets *bt, loss_work *lw,
                         double *task_loss_out)
{
    int V = h->nclasses;
    double total = 0;
    memset(w->dlogits, 0, (size_t)rows * (size_t)V * sizeof(float));
    for (int k = 0; k < h->ntasks; k++) {
        const head_out *o = &h->out[k];
        int n = o->n, nb = gather_task(h, k, w->logits, rows, bt, lw->g, lw->y, lw->t, lw->row);
        task_loss_out[k] = NAN;
        if (!nb) continue;
        memset(lw->dg, 0, (size_t)nb * (size_t)n * sizeof(float));
        task_batch tb = {.nb = nb, .rows = nb, .y = lw->y, .t = lw->t};
        double l = task_loss(o->kind, lw->g, n, &tb, o->weight, lw->dg, lw->scratch);
        task_loss_out[k] = l;
        total += (double)o->weight * l;
        for (int i = 0; i < nb; i++)
            memcpy(w->dlogits + (size_t)lw->row[i] * V + o->off, lw->dg + (size_t)i * n, (size_t)n * sizeof(float));
    }
    return total;
}

int train_run(head *h, const train_opts *o, const train_set *tr, const train_set *va, train_epoch_fn fn, void *ctx,
              mm_error *err)
{
    size_t n = tr->n, nv = va ? va->n : 0;
    if (n == 0) return mm_fail(err, MM_ERR_MALFORMED, "empty training set");
    int B = o->batch, V = h->nclasses, T = h->ntasks;
    int maxrows = B * (tr->pairs ? tr->pairs->maxc : 1);
    size_t MV = (size_t)maxrows * (size_t)V;
    head_work w;
    adamw opt = {0};
    size_t *order = xmalloc(n * sizeof *order);
    float *scratch = xmalloc(MV * sizeof(float));
    float *best = xmalloc(h->nparams * sizeof(float));
    int *group = xmalloc((size_t)B * sizeof *group);
    unsigned char *decay = xmalloc(h->nparams);
    batch_targets bt;
    targets_init(&bt, h, (size_t)maxrows);
    loss_work lw = {xmalloc(MV * sizeof(float)), xmalloc(MV * sizeof(float)), xmalloc(MV * sizeof(float)), scratch,
                    xmalloc((size_t)maxrows * sizeof(int)), xmalloc((size_t)maxrows * sizeof(int))};
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
    int m = o->measure, mt = o->measure_task, higher = task_measure_higher_better(h->out[mt].kind, m);
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
        double loss_sum = 0, task_sum[HEAD_MAX_TASKS] = {0};
        long task_steps[HEAD_MAX_TASKS] = {0};
        for (size_t b0 = 0; b0 < n; b0 += (size_t)B) {
            int bs = (int)(n - b0 < (size_t)B ? n - b0 : (size_t)B), rows = 0;
            for (int r = 0; r < bs; r++) {
                group[r] = fill_example(h, tr, order[b0 + r], w.x, rows, &bt);
                rows += group[r];
            }
            head_forward(h, &w, rows, 1, &drop);
            double loss, tl[HEAD_MAX_TASKS];
            if (tr->pairs) {
                memset(w.dlogits, 0, (size_t)rows * (size_t)V * sizeof(float));
                task_batch tb = {.nb = bs, .rows = rows, .t = bt.t[0], .group = group};
                loss = tl[0] = task_loss(h->task, w.logits, V, &tb, 1, w.dlogits, scratch);
            } else
                loss = batch_loss(h, &w, rows, &bt, &lw, tl);
            loss_sum += loss;
            for (int k = 0; k < T; k++)
                if (!isnan(tl[k])) task_sum[k] += tl[k], task_steps[k]++;
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
        for (int k = 0; k < HEAD_MAX_TASKS; k++) {
            e.task_loss[k] = k < T && task_steps[k] ? task_sum[k] / (double)task_steps[k] : NAN;
            for (int j = 0; j < TASK_MAX_MEASURES; j++) e.val[k][j] = NAN;
        }
        if (nv) {
            evaluate_set(h, o->pool, va, e.val);
            double v = e.val[mt][m];
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
    targets_free(&bt);
    free(lw.g), free(lw.dg), free(lw.t), free(lw.y), free(lw.row);
    free(order), free(scratch), free(best), free(group), free(decay);
    return 0;
}
