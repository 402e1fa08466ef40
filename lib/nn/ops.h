/* ops.h — the element-wise layers of the networks: activations, softmax,
 * layer norm (forward; the backward pairs join with mm-train).
 *
 * Owns the public entry points; the kernels are the active level's
 * (lib/kernels/cpu.h: 8 lanes at a time on AVX2+FMA, with an exp accurate
 * to ~1 ulp; libm in the portable path). Every value's result is
 * independent of its position in the row, so results do not depend on how
 * rows are split between threads.
 */
#ifndef MM_NN_OPS_H
#define MM_NN_OPS_H

#include <stddef.h>

/* y = act(y) over T rows of N; act is clip_config's CLIP_ACT_*. */
void ops_activate(float *y, int T, int N, int act);
/* mm-train's GELU (exact, erf form): y = GELU(x) over n values (y may equal
 * x), and its backward dx += dy * GELU'(x). */
void ops_gelu(float *y, const float *x, size_t n);
void ops_gelu_backward(float *dx, const float *x, const float *dy, size_t n);
/* Softmax of x[0..n) in place, max-subtracted so that exp never overflows.
 * ops_softmax_lse also returns log Σ exp(x) of the input (max + log of the
 * sum it divided by): cross-entropy's -log p = that - x_target stays finite
 * where p is 0. Both give x the same bits. */
void ops_softmax(float *x, int n);
float ops_softmax_lse(float *x, int n);
/* LayerNorm over rows: y = (x - mean) / sqrt(var + eps) * g + b, biased
 * variance (as torch); x [T, w], y may equal x. */
void ops_layernorm(float *y, const float *x, const float *g, const float *b, int T, int w, float eps);

#endif
