/* kernels_avx2.c — the kernel table's avx2 level: the same bodies compiled
 * with -mavx2 -mfma -mf16c -msse4.2 (the Makefile's flags for this folder),
 * which selects their AVX2/FMA/F16C/SSE4.2 paths. Called only on CPUs that
 * have all of these (kernels/cpu.c). */
#if defined(__x86_64__)

#include "kernels/cpu.h"

/* The bodies' public names, as this level's. */
#define gemm_run gemm_run_avx2
#define gemm_pack_rows gemm_pack_rows_avx2
#define gemm_pack_transposed gemm_pack_transposed_avx2
#define gemm_scan gemm_scan_avx2
#define gemm_scan_tile gemm_scan_tile_avx2
#define gemm_scan_rows gemm_scan_rows_avx2
#define gemm_scan_dots gemm_scan_dots_avx2
#define kernel_activate activate_avx2
#define kernel_softmax softmax_avx2
#define kernel_layernorm layernorm_avx2
#define kernel_f16_to_f32_n f16_to_f32_n_avx2
#define kernel_f32_to_f16_n f32_to_f16_n_avx2
#define kernel_crc32c crc32c_avx2
#define kernel_find_nonfinite find_nonfinite_avx2

#include "kernels/gemm_body.h"
#include "kernels/ops_body.h"
#include "kernels/misc_body.h"

#undef gemm_run
#undef gemm_pack_rows
#undef gemm_pack_transposed
#undef gemm_scan
#undef gemm_scan_tile
#undef gemm_scan_rows
#undef gemm_scan_dots
#undef kernel_activate
#undef kernel_softmax
#undef kernel_layernorm
#undef kernel_f16_to_f32_n
#undef kernel_f32_to_f16_n
#undef kernel_crc32c
#undef kernel_find_nonfinite

void kernels_fill_avx2(kernel_table *t)
{
    t->gemm_run = gemm_run_avx2;
    t->gemm_pack_rows = gemm_pack_rows_avx2;
    t->gemm_pack_transposed = gemm_pack_transposed_avx2;
    t->gemm_scan = gemm_scan_avx2;
    t->gemm_scan_tile = gemm_scan_tile_avx2;
    t->gemm_scan_rows = gemm_scan_rows_avx2;
    t->gemm_scan_dots = gemm_scan_dots_avx2;
    t->activate = activate_avx2;
    t->softmax = softmax_avx2;
    t->layernorm = layernorm_avx2;
    t->f16_to_f32_n = f16_to_f32_n_avx2;
    t->f32_to_f16_n = f32_to_f16_n_avx2;
    t->crc32c = crc32c_avx2;
    t->find_nonfinite = find_nonfinite_avx2;
}
#endif
