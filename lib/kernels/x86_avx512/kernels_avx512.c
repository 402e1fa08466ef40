/* kernels_avx512.c — the kernel table's avx512 level: gemm_body.h compiled
 * with the avx2 flags plus -mavx512f -mavx512vl -mavx512bw (the Makefile's
 * flags for this folder), which selects its 512-bit tiles (a panel row of
 * GEMM_NR floats is one zmm register). Only the GEMM and the float32 scans
 * are replaced; the element-wise ops, conversions and CRC stay avx2's (the
 * table arrives filled with them), and mm-rank's int8 VNNI kernel selects
 * itself in lib/kernels/scan8.c. The AVX-512 tiles take the same steps per
 * output as the AVX2 ones, so this level gives avx2's bits (tested by
 * tests/unit/kernels/test_gemm.c). Called only on CPUs that have AVX-512
 * F/VL/BW/VNNI (kernels/cpu.c). */
#if defined(__x86_64__)

#define KERNEL_LEVEL avx512
#include "kernels/level_body.h"

#endif
