/* kernels_avx512.c — the kernel table's avx512 level: gemm_body.h compiled
 * with the avx2 flags plus -mavx512f -mavx512vl -mavx512bw (the Makefile's
 * flags for this folder), which selects its 512-bit tiles (a panel row of
 * GEMM_NR floats is one zmm register) and the 16-lane element-wise ops of
 * ops_body.h (activations, softmax, layer norm; conversions, CRC and the
 * finite check are misc_body.h's at these flags). mm-rank's int8 VNNI kernel
 * selects itself in lib/kernels/scan8.c. The AVX-512 tiles and ops take the
 * same steps per output as the AVX2 ones, so this level gives avx2's bits
 * (tested by tests/unit/kernels/test_gemm.c and tests/unit/nn/test_ops.c). Called only on CPUs that have AVX-512
 * F/VL/BW/VNNI (kernels/cpu.c). */
#if defined(__x86_64__)

#define KERNEL_LEVEL avx512
#define KERNEL_LEVEL_ALL
#include "kernels/level_body.h"

#endif
