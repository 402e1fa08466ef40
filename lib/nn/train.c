/* train.c — the training loop (see train.h). */
#include "nn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adamw.h"

enum { PREDICT_BATCH = 256 };

int head_predict(const head *h, const float *x, size_t n, float *probs, mm_error *err)
{
    return head_predict_pool(h, NULL, x, n, probs, err);
}

int head_predict_pool(const head *h, mm_pool *pool, const float *x, size_t n, float *probs, mm_error *err)
{
    head_work w;
    if (head_work_init(&w, h, PREDICT_BATCH) < 0) {
        head_work_free(&w);
        return mm_fail(err, MM_ERR_NOMEM, "head: out of memory for a batch");
    }
    head_work_set_pool(&w, pool);
    for (size_t b0 = 0; b0 < n; b0 += PREDICT_BATCH) {
        int B = (int)(n - b0 < PREDICT_BATCH ? n - b0 : PREDICT_BATCH);
        memcpy(w.x, x + b0 * (size_t)h->D, (size_t)B * (size_t)h->D * sizeof(float));
        head_forward(h, &w, B, 0, NULL);
        softmax_forward(probs + b0 * (size_t)h->nclasses, w.logits, B, h->nclasses);
    }
    head_work_free(&w);
    return 0;
}

void train_accuracy(const float *probs, const int *y, size_t n, int V, double *acc, double *bacc)
{
    size_t *tot = calloc((size_t)V, sizeof *tot), *hit = calloc((size_t)V, sizeof *hit), right = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (p[v] > p[best]) best = v; /* ties: the first class, as mm-predict ranks them */
        tot[y[i]]++;
        if (best == y[i]) hit[y[i]]++, right++;
    }
    double s = 0;
    int present = 0;
    for (int v = 0; v < V; v++)
        if (tot[v]) s += (double)hit[v] / (double)tot[v], present++;
    *acc = n ? (double)right / (double)n : NAN;
    *bacc = present ? s / present : NAN;
    free(tot);
    free(hit);
}

int train_run(head *h, const train_opts *o, const float *x, const int *y, size_t n, const float *xv, const int *yv,
              size_t nv, train_epoch_fn fn, void *ctx, mm_error *err)
{
    if (n == 0) return mm_fail(err, MM_ERR_MALFORMED, "empty training set");
    int B = o->batch, V = h->nclasses;
    head_work w;
    adamw opt = {0};
    size_t *order = malloc(n * sizeof *order);
    float *probs = malloc((size_t)B * (size_t)V * sizeof(float));
    float *vprobs = nv ? malloc(nv * (size_t)V * sizeof(float)) : NULL;
    float *best = malloc(h->nparams * sizeof(float));
    int *ty = malloc((size_t)B * sizeof *ty);
    unsigned char *decay = malloc(h->nparams);
    int rc = -1;
    if (head_work_init(&w, h, B) < 0 || !order || !probs || (nv && !vprobs) || !best || !ty || !decay ||
        adamw_init(&opt, h->nparams, o->beta1, o->beta2, o->eps, o->weight_decay) < 0) {
        mm_fail(err, MM_ERR_NOMEM, "training: out of memory");
        goto out;
    }
    head_work_set_pool(&w, o->pool);
    for (int i = 0; i < h->ntensors; i++) memset(decay + h->t[i].off, h->t[i].decay, h->t[i].count);
    for (size_t i = 0; i < n; i++) order[i] = i;
    nn_rng shuffle, drop;
    nn_rng_seed(&shuffle, o->seed, 1);
    nn_rng_seed(&drop, o->seed, 2);
    long steps_per_epoch = (long)((n + (size_t)B - 1) / (size_t)B), total = steps_per_epoch * o->epochs;
    long warmup = (long)(o->warmup * (float)steps_per_epoch), step = 0;
    double best_measure = -1;
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
            int bs = (int)(n - b0 < (size_t)B ? n - b0 : (size_t)B);
            for (int r = 0; r < bs; r++) {
                memcpy(w.x + (size_t)r * h->D, x + order[b0 + r] * (size_t)h->D, (size_t)h->D * sizeof(float));
                ty[r] = y[order[b0 + r]];
            }
            head_forward(h, &w, bs, 1, &drop);
            float loss = crossentropy_forward(probs, w.logits, ty, bs, V);
            loss_sum += loss;
            if (o->step_fn) o->step_fn(o->step_ctx, step, loss);
            memset(w.dlogits, 0, (size_t)bs * (size_t)V * sizeof(float));
            crossentropy_backward(w.dlogits, probs, ty, bs, V, 1);
            memset(w.grads, 0, h->nparams * sizeof(float));
            head_backward(h, &w, bs);
            adamw_step_pool(&opt, o->pool, h->params, w.grads, decay, lr_schedule(o->lr, step, warmup, total));
            step++;
        }
        train_epoch e = {.epoch = ep, .train_loss = loss_sum / (double)steps_per_epoch, .val_acc = NAN,
                         .val_bacc = NAN, .val_loss = NAN};
        if (nv) {
            if (head_predict_pool(h, o->pool, xv, nv, vprobs, err) < 0) goto out;
            train_accuracy(vprobs, yv, nv, V, &e.val_acc, &e.val_bacc);
            double l = 0;
            for (size_t i = 0; i < nv; i++) l -= log(fmax(vprobs[i * (size_t)V + (size_t)yv[i]], 1e-30));
            e.val_loss = l / (double)nv;
            if (e.val_acc > best_measure) {
                best_measure = e.val_acc;
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
    rc = 0;
out:
    head_work_free(&w);
    adamw_free(&opt);
    free(order), free(probs), free(vprobs), free(best), free(ty), free(decay);
    return rc;
}
