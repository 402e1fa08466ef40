/* adamw.c — AdamW and warm-up + cosine (see adamw.h). */
#include "nn/adamw.h"

#include <math.h>
#include <stdlib.h>

int adamw_init(adamw *opt, size_t n, float beta1, float beta2, float eps, float weight_decay)
{
    opt->beta1 = beta1, opt->beta2 = beta2, opt->eps = eps, opt->weight_decay = weight_decay;
    opt->n = n;
    opt->t = 0;
    opt->m = calloc(n ? n : 1, sizeof(float));
    opt->v = calloc(n ? n : 1, sizeof(float));
    if (!opt->m || !opt->v) {
        adamw_free(opt);
        return -1;
    }
    return 0;
}

void adamw_free(adamw *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

void adamw_step(adamw *opt, float *params, const float *grads, const unsigned char *decay, float lr)
{
    opt->t++;
    /* bias corrections in double, as torch computes them from Python floats */
    double bc1 = 1 - pow(opt->beta1, (double)opt->t), bc2 = 1 - pow(opt->beta2, (double)opt->t);
    float step = (float)(lr / bc1), rbc2 = (float)(1 / sqrt(bc2));
    float wd = lr * opt->weight_decay;
    for (size_t i = 0; i < opt->n; i++) {
        float g = grads[i];
        if (wd != 0 && (!decay || decay[i])) params[i] -= wd * params[i];
        float m = opt->m[i] = opt->beta1 * opt->m[i] + (1 - opt->beta1) * g;
        float v = opt->v[i] = opt->beta2 * opt->v[i] + (1 - opt->beta2) * g * g;
        params[i] -= step * m / (sqrtf(v) * rbc2 + opt->eps);
    }
}

float lr_schedule(float lr, long step, long warmup, long total)
{
    if (step < warmup) return lr * (float)(step + 1) / (float)warmup;
    long rest = total - warmup;
    if (rest <= 0) return lr;
    double e = (double)(step - warmup) / (double)rest;
    return (float)(0.5 * (1 + cos(M_PI * e)) * lr);
}
