/* layers.h — the trainable layers of mm-train: forward/backward pairs.
 *
 * Owns: linear, GELU, dropout, layer norm, softmax, the losses (softmax
 * cross-entropy, sigmoid BCE, MSE) and multi-head self-attention, each as a
 * forward that keeps what its backward needs and a backward that ADDS into
 * the gradients — llm.c's style, no autograd: the fusion networks
 * (lib/nn/head.h) call them in order, forward top to bottom, then backward
 * bottom to top. Also the seeded random stream training draws from.
 *
 * Layouts are PyTorch's (linear weight [out, in]; rows are examples), so a
 * head's tensors load into torch modules unchanged. Bodies: layers_body.h,
 * compiled here for float and in tests/unit/nn/test_layers.c for double
 * (the finite-difference checks). Shapes: see the comments in the body.
 */
#ifndef MM_NN_LAYERS_H
#define MM_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

/* ---- where the matrix products run ----
 * An nn_exec holds the -t pool and the scratch the products need (a packed
 * weight, a packed activation, gemm_run's per-thread work space), grown on
 * demand and kept between calls (out of memory dies, as xalloc does: the
 * sizes are those of tensors already allocated). One exec per network being
 * trained or applied; not shared between threads. */
typedef struct nn_exec {
    mm_pool *pool;
    int threads;
    void *wraw, *xraw, *workraw; /* the allocations, 64-byte aligned below */
    float *wpack, *xpack, *work;
    size_t wcap, xcap; /* floats */
} nn_exec;

void nn_exec_init(nn_exec *ex, mm_pool *pool);
void nn_exec_free(nn_exec *ex);

/* linear: out[B,OC] = inp[B,C] · weight[OC,C]^T + bias[OC] (bias may be NULL).
 * With an exec, through lib/kernels/gemm.h on ex's pool: the weight is
 * packed (each thread its own panels) and multiplied by the engine's SGEMM;
 * every output is one fixed chain of FMAs whatever the thread count, so the
 * result has the same bits for any -t. With ex == NULL, the plain loop nest
 * linear_forward_ref (the reference the GEMM path is tested against). */
void linear_forward(nn_exec *ex, float *out, const float *inp, const float *weight, const float *bias, int B, int C,
                    int OC);
/* dinp[B,C] += dout[B,OC] · weight; dweight[OC,C] += dout^T · inp; dbias[OC]
 * += column sums of dout (in row order). Any of dinp, dweight, dbias may be
 * NULL. GEMM path as linear_forward's (dweight through gemm_run_xt). */
void linear_backward(nn_exec *ex, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int C, int OC);
/* The plain loops (layers_body.h), also compiled for double by the test. */
void linear_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int B, int C, int OC);
void linear_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int B, int C, int OC);
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
/* The same on ex's pool (NULL: the caller), the same bits. */
void gelu_forward_ex(nn_exec *ex, float *out, const float *inp, size_t n);
void gelu_backward_ex(nn_exec *ex, float *dinp, const float *inp, const float *dout, size_t n);
void dropout_forward(float *out, float *mask, const float *inp, const float *uniform, size_t n, float p);
void dropout_backward(float *dinp, const float *mask, const float *dout, size_t n);
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int B, int C, float eps);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int B, int C);
void softmax_forward(float *out, const float *inp, int B, int V);
void softmax_backward(float *dinp, const float *out, const float *dout, int B, int V);
float crossentropy_forward(float *probs, const float *logits, const int *targets, int B, int V);
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, int B, int V, float scale);
float bce_forward(const float *logits, const float *targets, size_t n);
void bce_backward(float *dlogits, const float *logits, const float *targets, size_t n, float scale);
float mse_forward(const float *pred, const float *targets, size_t n);
void mse_backward(float *dpred, const float *pred, const float *targets, size_t n, float scale);
void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T, int C,
                        int NH);

/* ---- the seeded stream (splitmix64): initial weights, shuffles, dropout ----
 * One state per use, derived from --seed, so that the same seed gives the
 * same head bit for bit whatever the thread count. */
typedef struct nn_rng {
    uint64_t s;
} nn_rng;

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);
uint64_t nn_rng_u64(nn_rng *r);
/* Uniform in [0, 1), 24 random bits. */
float nn_rng_uniform(nn_rng *r);
/* Uniform integer in [0, n). */
uint32_t nn_rng_below(nn_rng *r, uint32_t n);

#endif
