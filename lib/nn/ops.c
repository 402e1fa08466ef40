/* ops.c — see ops.h. */
#include "nn/ops.h"

#include "kernels/cpu.h"
#include "nn/clip_config.h"

_Static_assert((int)CLIP_ACT_QUICK_GELU == (int)KERNEL_ACT_QUICK_GELU && (int)CLIP_ACT_GELU == (int)KERNEL_ACT_GELU &&
                   (int)CLIP_ACT_GELU_TANH == (int)KERNEL_ACT_GELU_TANH,
               "kernels/cpu.h's activation codes are clip_config's");

void ops_activate(float *y, int T, int N, int act) { cpu_kernels()->activate(y, T, N, act); }

float ops_softmax(float *x, int n) { return cpu_kernels()->softmax(x, n); }

void ops_layernorm(float *y, const float *x, const float *g, const float *b, int T, int w, float eps)
{
    cpu_kernels()->layernorm(y, x, g, b, T, w, eps);
}
