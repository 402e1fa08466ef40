/* kernels_generic.c — the kernel table's portable level: the bodies of
 * gemm_body.h, ops_body.h and misc_body.h compiled for baseline x86-64 (or
 * any architecture) with no SIMD flags. Without FMA each multiply-add
 * rounds twice (-std=c11 keeps the compiler from fusing a*b+c), so this
 * level rounds differently from avx2, and the same way on every CPU. */

#include "kernels/cpu.h"

/* The bodies' public names, as this level's. */
#define gemm_run gemm_run_generic
#define gemm_pack_rows gemm_pack_rows_generic
#define gemm_pack_transposed gemm_pack_transposed_generic
#define gemm_scan gemm_scan_generic
#define gemm_scan_tile gemm_scan_tile_generic
#define gemm_scan_rows gemm_scan_rows_generic
#define gemm_scan_dots gemm_scan_dots_generic
#define kernel_activate activate_generic
#define kernel_softmax softmax_generic
#define kernel_layernorm layernorm_generic
#define kernel_f16_to_f32_n f16_to_f32_n_generic
#define kernel_f32_to_f16_n f32_to_f16_n_generic
#define kernel_crc32c crc32c_generic
#define kernel_find_nonfinite find_nonfinite_generic

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

void kernels_fill_generic(kernel_table *t)
{
    t->gemm_run = gemm_run_generic;
    t->gemm_pack_rows = gemm_pack_rows_generic;
    t->gemm_pack_transposed = gemm_pack_transposed_generic;
    t->gemm_scan = gemm_scan_generic;
    t->gemm_scan_tile = gemm_scan_tile_generic;
    t->gemm_scan_rows = gemm_scan_rows_generic;
    t->gemm_scan_dots = gemm_scan_dots_generic;
    t->activate = activate_generic;
    t->softmax = softmax_generic;
    t->layernorm = layernorm_generic;
    t->f16_to_f32_n = f16_to_f32_n_generic;
    t->f32_to_f16_n = f32_to_f16_n_generic;
    t->crc32c = crc32c_generic;
    t->find_nonfinite = find_nonfinite_generic;
}
