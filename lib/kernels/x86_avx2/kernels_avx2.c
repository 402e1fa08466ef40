/* kernels_avx2.c — the kernel table's avx2 level: the same bodies compiled
 * with -mavx2 -mfma -mf16c -msse4.2 (the Makefile's flags for this folder),
 * which selects their AVX2/FMA/F16C/SSE4.2 paths. Called only on CPUs that
 * have all of these (kernels/cpu.c). */
#if defined(__x86_64__)

#define KERNEL_LEVEL avx2
#define KERNEL_LEVEL_ALL
#include "kernels/level_body.h"

#endif
