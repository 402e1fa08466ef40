/* kernels_generic.c — the kernel table's portable level: the bodies of
 * gemm_body.h, ops_body.h and misc_body.h compiled for baseline x86-64 (or
 * any architecture) with no SIMD flags. Without FMA each multiply-add
 * rounds twice (-std=c11 keeps the compiler from fusing a*b+c), so this
 * level rounds differently from avx2, and the same way on every CPU. */

#define KERNEL_LEVEL generic
#define KERNEL_LEVEL_ALL
#include "kernels/level_body.h"
