/* level_body.h — one kernel level: the bodies of gemm_body.h (and, with
 * KERNEL_LEVEL_ALL, ops_body.h and misc_body.h) compiled under this level's
 * names, and kernels_fill_<level>(), which puts them into the table.
 * A level file (generic/, x86_avx2/, ...) defines KERNEL_LEVEL to its name
 * and includes this once; its folder's compiler flags select the bodies'
 * SIMD paths. A level without KERNEL_LEVEL_ALL replaces only the GEMM and
 * the float32 scans and keeps the entries the table already holds. */
#ifndef KERNEL_LEVEL
#error "define KERNEL_LEVEL (generic, avx2, ...) before including kernels/level_body.h"
#endif

#include "kernels/cpu.h"

#define KERNEL_CAT2(a, b) a##_##b
#define KERNEL_CAT(a, b) KERNEL_CAT2(a, b)
#define KERNEL_NAME(name) KERNEL_CAT(name, KERNEL_LEVEL)

/* The bodies' public names, as this level's. */
#define gemm_run KERNEL_NAME(gemm_run)
#define gemm_run_xt KERNEL_NAME(gemm_run_xt)
#define gemm_pack_rows KERNEL_NAME(gemm_pack_rows)
#define gemm_pack_transposed KERNEL_NAME(gemm_pack_transposed)
#define gemm_scan KERNEL_NAME(gemm_scan)
#define gemm_scan_tile KERNEL_NAME(gemm_scan_tile)
#define gemm_scan_rows KERNEL_NAME(gemm_scan_rows)
#define gemm_scan_dots KERNEL_NAME(gemm_scan_dots)
#include "kernels/gemm_body.h"
#undef gemm_run
#undef gemm_run_xt
#undef gemm_pack_rows
#undef gemm_pack_transposed
#undef gemm_scan
#undef gemm_scan_tile
#undef gemm_scan_rows
#undef gemm_scan_dots

#ifdef KERNEL_LEVEL_ALL
#define kernel_activate KERNEL_NAME(activate)
#define kernel_gelu_backward KERNEL_NAME(gelu_backward)
#define kernel_softmax KERNEL_NAME(softmax)
#define kernel_softmax_lse KERNEL_NAME(softmax_lse)
#define kernel_layernorm KERNEL_NAME(layernorm)
#define kernel_f16_to_f32_n KERNEL_NAME(f16_to_f32_n)
#define kernel_f32_to_f16_n KERNEL_NAME(f32_to_f16_n)
#define kernel_crc32c KERNEL_NAME(crc32c)
#define kernel_find_nonfinite KERNEL_NAME(find_nonfinite)
#define kernel_adamw KERNEL_NAME(adamw)
#include "kernels/ops_body.h"
#include "kernels/misc_body.h"
#include "kernels/adamw_body.h"
#undef kernel_activate
#undef kernel_gelu_backward
#undef kernel_softmax
#undef kernel_softmax_lse
#undef kernel_layernorm
#undef kernel_f16_to_f32_n
#undef kernel_f32_to_f16_n
#undef kernel_crc32c
#undef kernel_find_nonfinite
#undef kernel_adamw
#endif

/* The table's member names are the bodies' names: the renaming macros are
 * gone by now, so t->gemm_run is the member and KERNEL_NAME(gemm_run) this
 * level's function. */
void KERNEL_NAME(kernels_fill)(kernel_table *t)
{
    t->gemm_run = KERNEL_NAME(gemm_run);
    t->gemm_run_xt = KERNEL_NAME(gemm_run_xt);
    t->gemm_pack_rows = KERNEL_NAME(gemm_pack_rows);
    t->gemm_pack_transposed = KERNEL_NAME(gemm_pack_transposed);
    t->gemm_scan = KERNEL_NAME(gemm_scan);
    t->gemm_scan_tile = KERNEL_NAME(gemm_scan_tile);
    t->gemm_scan_rows = KERNEL_NAME(gemm_scan_rows);
    t->gemm_scan_dots = KERNEL_NAME(gemm_scan_dots);
#ifdef KERNEL_LEVEL_ALL
    t->activate = KERNEL_NAME(activate);
    t->gelu_backward = KERNEL_NAME(gelu_backward);
    t->softmax = KERNEL_NAME(softmax);
    t->softmax_lse = KERNEL_NAME(softmax_lse);
    t->layernorm = KERNEL_NAME(layernorm);
    t->f16_to_f32_n = KERNEL_NAME(f16_to_f32_n);
    t->f32_to_f16_n = KERNEL_NAME(f32_to_f16_n);
    t->crc32c = KERNEL_NAME(crc32c);
    t->find_nonfinite = KERNEL_NAME(find_nonfinite);
    t->adamw = KERNEL_NAME(adamw);
#endif
}
