/* adamw.h — the optimiser and learning-rate schedule of mm-train.
 *
 * Owns: AdamW as torch.optim.AdamW computes it (decoupled weight decay:
 * p -= lr·wd·p first, then the bias-corrected Adam step
 * p -= lr · m̂ / (√v̂ + eps)), its moment buffers, and the schedule: linear
 * warm-up from lr/warmup to lr over `warmup` steps, then a cosine from lr
 * to 0 over the remaining steps (CLIP_benchmark's linear-probe schedule).
 */
#ifndef MM_NN_ADAMW_H
#define MM_NN_ADAMW_H

#include <stddef.h>

#include "core/pool.h"

typedef struct adamw {
    float beta1, beta2, eps, weight_decay;
    size_t n;     /* parameters */
    float *m, *v; /* first and second moments, n each */
    long t;       /* steps taken */
} adamw;

/* Allocates zeroed moments for n parameters (xalloc: cannot fail). */
void adamw_init(adamw *opt, size_t n, float beta1, float beta2, float eps, float weight_decay);
void adamw_free(adamw *opt);
/* One step at learning rate lr over params[n] with gradients grads[n].
 * decay (n flags, or NULL = all) says which parameters weight decay applies
 * to (not biases, norms or tokens, as is usual). */
void adamw_step(adamw *opt, float *params, const float *grads, const unsigned char *decay, float lr);
/* The same on pool's threads (NULL: the caller), the same bits: every
 * parameter takes the same operations whoever updates it. */
void adamw_step_pool(adamw *opt, mm_pool *pool, float *params, const float *grads, const unsigned char *decay,
                     float lr);
#define ADAMW_CHUNK 4096 /* parameters per part of the pool's job */
/* The learning rate of step `step` (0-based) of `total`. */
float lr_schedule(float lr, long step, long warmup, long total);

#endif
