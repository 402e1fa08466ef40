/* ops.c — see ops.h. */
#include "nn/ops.h"

#include <string.h>

#include "kernels/cpu.h"
#include "nn/clip_config.h"

_Static_assert((int)CLIP_ACT_QUICK_GELU == (int)KERNEL_ACT_QUICK_GELU && (int)CLIP_ACT_GELU == (int)KERNEL_ACT_GELU &&
                   (int)CLIP_ACT_GELU_TANH == (int)KERNEL_ACT_GELU_TANH,
               "kernels/cpu.h's activation codes are clip_config's");

void ops_activate(float *y, int T, int N, int act) { cpu_kernels()->activate(y, T, N, act); }

void ops_gelu(float *y, const float *x, size_t n)
{
    const kernel_table *k = cpu_kernels();
    if (y != x) memcpy(y, x, n * sizeof *y);
    for (size_t i = 0; i < n; i += (size_t)1 << 30) { /* activate counts in int */
        size_t part = n - i < ((size_t)1 << 30) ? n - i : ((size_t)1 << 30);
        k->activate(y + i, 1, (int)part, KERNEL_ACT_GELU);
    }
}

void ops_gelu_backward(float *dx, const float *x, const float *dy, size_t n)
{
    cpu_kernels()->gelu_backward(dx, x, dy, n);
}

void ops_softmax(float *x, int n) { cpu_kernels()->softmax(x, n); }

float ops_softmax_lse(float *x, int n) { return cpu_kernels()->softmax_lse(x, n); }

void ops_layernorm(float *y, const float *x, const float *g, const float *b, int T, int w, float eps)
{
    cpu_kernels()->layernorm(y, x, g, b, T, w, eps);
}
