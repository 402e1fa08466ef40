/* adamw.c — AdamW and warm-up + cosine (see adamw.h). */
#include "nn/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "kernels/cpu.h"

void adamw_init(adamw *opt, size_t n, float beta1, float beta2, float eps, float weight_decay)
{
    opt->beta1 = beta1, opt->beta2 = beta2, opt->eps = eps, opt->weight_decay = weight_decay;
    opt->n = n;
    opt->t = 0;
    opt->m = xcalloc(n ? n : 1, sizeof(float));
    opt->v = xcalloc(n ? n : 1, sizeof(float));
}

void adamw_free(adamw *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

typedef struct adamw_job {
    adamw *opt;
    float *params;
    const float *grads;
    const unsigned char *decay;
    kernel_adamw_args args;
} adamw_job;

/* Parameters [i0, i1): the active level's kernel, whose every level gives
 * the same bits (kernels/adamw_body.h), so the split between threads and
 * MM_ISA do not change a head. */
static void adamw_range(void *ctx, int thread, int i0, int i1)
{
    (void)thread;
    const adamw_job *j = ctx;
    adamw *opt = j->opt;
    size_t lo = (size_t)i0 * ADAMW_CHUNK, hi = (size_t)i1 * ADAMW_CHUNK < opt->n ? (size_t)i1 * ADAMW_CHUNK : opt->n;
    cpu_kernels()->adamw(j->params + lo, opt->m + lo, opt->v + lo, j->grads + lo, j->decay ? j->decay + lo : NULL,
                         hi - lo, &j->args);
}

void adamw_step(adamw *opt, float *params, const float *grads, const unsigned char *decay, float lr)
{
    adamw_step_pool(opt, NULL, params, grads, decay, lr);
}

void adamw_step_pool(adamw *opt, mm_pool *pool, float *params, const float *grads, const unsigned char *decay,
                     float lr)
{
    opt->t++;
    /* bias corrections in double, as torch computes them from Python floats */
    double bc1 = 1 - pow(opt->beta1, (double)opt->t), bc2 = 1 - pow(opt->beta2, (double)opt->t);
    adamw_job j = {opt, params, grads, decay,
                   {opt->beta1, opt->beta2, opt->eps, (float)(lr / bc1), (float)(1 / sqrt(bc2)), lr * opt->weight_decay}};
    size_t chunks = (opt->n + ADAMW_CHUNK - 1) / ADAMW_CHUNK;
    mm_pool_for(pool, adamw_range, &j, (int)chunks, (double)opt->n, 1 << 16);
}

float lr_schedule(float lr, long step, long warmup, long total)
{
    if (step < warmup) return lr * (float)(step + 1) / (float)warmup;
    long rest = total - warmup;
    if (rest <= 0) return lr;
    double e = (double)(step - warmup) / (double)rest;
    return (float)(0.5 * (1 + cos(M_PI * e)) * lr);
}
