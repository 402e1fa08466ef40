/* layers.c — the float32 layers (bodies in layers_body.h) and the GEMM path
 * of the linear layer. */
#include "nn/layers.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "kernels/gemm.h"
#include "nn/ops.h"

/* float32 softmax rows on the kernel table (nn/ops: 8 or 16 lanes, an exp
 * within ~1 ulp); the double build of the tests keeps the body's libm loop. */
static float softmax_row_ops(float *y, const float *x, int V)
{
    if (y != x) memcpy(y, x, (size_t)V * sizeof *y);
    return ops_softmax_lse(y, V);
}
#define LSOFTMAX_ROW softmax_row_ops
/* GELU and its backward on the kernel table too (erfc fit within 1.2e-7) */
#define LGELU_FORWARD ops_gelu
#define LGELU_BACKWARD ops_gelu_backward

#define LREAL float
#define LFN(name) name
#define LAPI
#define LEXP expf
#define LLOG logf
#define LSQRT sqrtf
#define LERF erff
#define LFABS fabsf
/* the body's linear loops become the reference path */
#define linear_forward linear_forward_ref
#define linear_backward linear_backward_ref
#include "nn/layers_body.h"
#undef linear_forward
#undef linear_backward

/* ---- the exec: pool and scratch ------------------------------------------- */
void nn_exec_init(nn_exec *ex, mm_pool *pool)
{
    memset(ex, 0, sizeof *ex);
    ex->pool = pool;
    ex->threads = mm_pool_threads(pool);
    ex->workraw = xmalloc((size_t)ex->threads * GEMM_WORK_FLOATS * sizeof(float) + 64);
    ex->work = (float *)(((uintptr_t)ex->workraw + 63) & ~(uintptr_t)63);
}

void nn_exec_free(nn_exec *ex)
{
    free(ex->wraw);
    free(ex->xraw);
    free(ex->workraw);
    memset(ex, 0, sizeof *ex);
}

/* *p (floats, 64-byte aligned, from *raw) holds at least n floats. */
static void grow(void **raw, float **p, size_t *cap, size_t n)
{
    if (n <= *cap) return;
    free(*raw);
    *raw = xmalloc(n * sizeof(float) + 64);
    *p = (float *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
    *cap = n;
}

/* Below this many multiply-adds a product runs on the caller alone. */
#define LINEAR_MIN_WORK (1 << 17)

typedef struct linear_job {
    nn_exec *ex;
    float *out, *dinp, *dweight;
    const float *inp, *weight, *bias, *dout;
    int B, C, OC;
} linear_job;

/* Panels [p0, p1) of out's OC columns: pack those rows of weight as
 * columns of W^T (C x OC), then multiply. */
static void forward_part(void *ctx, int thread, int p0, int p1)
{
    linear_job *j = ctx;
    int n0 = p0 * GEMM_NR;
    gemm_pack_cols(j->ex->wpack, j->weight, (size_t)j->C, j->C, j->OC, n0, (p1 - p0) * GEMM_NR, 1);
    gemm_weight w = {j->ex->wpack, j->C, j->OC, 0};
    gemm_run(j->out, (size_t)j->OC, j->inp, (size_t)j->C, &w, j->bias, j->B, 0, p0, p1,
             j->ex->work + (size_t)thread * GEMM_WORK_FLOATS);
}

void linear_forward(nn_exec *ex, float *out, const float *inp, const float *weight, const float *bias, int B, int C,
                    int OC)
{
    if (!ex) {
        linear_forward_ref(out, inp, weight, bias, B, C, OC);
        return;
    }
    grow(&ex->wraw, &ex->wpack, &ex->wcap, gemm_packed_count(C, OC));
    linear_job j = {.ex = ex, .out = out, .inp = inp, .weight = weight, .bias = bias, .B = B, .C = C, .OC = OC};
    mm_pool_for(ex->pool, forward_part, &j, gemm_panels(OC), (double)B * C * OC, LINEAR_MIN_WORK);
}

/* Panels [p0, p1) of the C columns of dinp and dweight:
 *   dinp    += dout[B,OC] · W        (W = weight, OC x C, packed as is)
 *   dweight += dout^T · inp[B,C]     (inp packed as a B x C weight, dout
 *                                     read transposed by gemm_run_xt) */
static void backward_part(void *ctx, int thread, int p0, int p1)
{
    linear_job *j = ctx;
    int n0 = p0 * GEMM_NR, n = (p1 - p0) * GEMM_NR;
    float *work = j->ex->work + (size_t)thread * GEMM_WORK_FLOATS;
    if (j->dinp) {
        gemm_pack_cols(j->ex->wpack, j->weight, (size_t)j->C, j->OC, j->C, n0, n, 0);
        gemm_weight w = {j->ex->wpack, j->OC, j->C, 0};
        gemm_run(j->dinp, (size_t)j->C, j->dout, (size_t)j->OC, &w, NULL, j->B, 1, p0, p1, work);
    }
    if (j->dweight) {
        gemm_pack_cols(j->ex->xpack, j->inp, (size_t)j->C, j->B, j->C, n0, n, 0);
        gemm_weight w = {j->ex->xpack, j->B, j->C, 0};
        gemm_run_xt(j->dweight, (size_t)j->C, j->dout, (size_t)j->OC, &w, NULL, j->OC, 1, p0, p1, work);
    }
}

void linear_backward(nn_exec *ex, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int B, int C, int OC)
{
    if (!ex) {
        linear_backward_ref(dinp, dweight, dbias, dout, inp, weight, B, C, OC);
        return;
    }
    if (dbias)
        for (int b = 0; b < B; b++) {
            const float *dy = dout + (size_t)b * OC;
            for (int o = 0; o < OC; o++) dbias[o] += dy[o];
        }
    if (!dinp && !dweight) return;
    if (dinp) grow(&ex->wraw, &ex->wpack, &ex->wcap, gemm_packed_count(OC, C));
    if (dweight) grow(&ex->xraw, &ex->xpack, &ex->xcap, gemm_packed_count(B, C));
    linear_job j = {.ex = ex, .dinp = dinp, .dweight = dweight, .inp = inp, .weight = weight, .dout = dout,
                    .B = B, .C = C, .OC = OC};
    double work = (double)B * C * OC * ((dinp != NULL) + (dweight != NULL));
    mm_pool_for(ex->pool, backward_part, &j, gemm_panels(C), work, LINEAR_MIN_WORK);
}

/* ---- element-wise layers on the pool -----------------------------------------
 * Each value takes the same operations whoever computes it, so the bits do
 * not depend on the thread count. */
#define ELEM_CHUNK 8192

typedef struct elem_job {
    float *out;
    const float *a, *b;
    size_t n;
    int op; /* 0 gelu forward, 1 gelu backward */
} elem_job;

static void elem_part(void *ctx, int thread, int c0, int c1)
{
    (void)thread;
    const elem_job *j = ctx;
    size_t lo = (size_t)c0 * ELEM_CHUNK, hi = (size_t)c1 * ELEM_CHUNK < j->n ? (size_t)c1 * ELEM_CHUNK : j->n;
    if (j->op == 0) gelu_forward(j->out + lo, j->a + lo, hi - lo);
    else gelu_backward(j->out + lo, j->a + lo, j->b + lo, hi - lo);
}

static void elem_run(nn_exec *ex, elem_job *j)
{
    size_t chunks = (j->n + ELEM_CHUNK - 1) / ELEM_CHUNK;
    mm_pool_for(ex ? ex->pool : NULL, elem_part, j, (int)chunks, (double)j->n, 1 << 15);
}

void gelu_forward_ex(nn_exec *ex, float *out, const float *inp, size_t n)
{
    elem_job j = {out, inp, NULL, n, 0};
    elem_run(ex, &j);
}

void gelu_backward_ex(nn_exec *ex, float *dinp, const float *inp, const float *dout, size_t n)
{
    elem_job j = {dinp, inp, dout, n, 1};
    elem_run(ex, &j);
}

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = seed ^ (stream * 0xD1B54A32D192ED03ull);
    (void)nn_rng_u64(r);
}

uint64_t nn_rng_u64(nn_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

uint32_t nn_rng_below(nn_rng *r, uint32_t n)
{
    /* multiply-shift: the bias is below 2^-32 for any n we use */
    return (uint32_t)(((nn_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}
