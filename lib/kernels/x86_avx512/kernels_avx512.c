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

#include "kernels/cpu.h"

/* The bodies' public names, as this level's. */
#define gemm_run gemm_run_avx512
#define gemm_pack_rows gemm_pack_rows_avx512
#define gemm_pack_transposed gemm_pack_transposed_avx512
#define gemm_scan gemm_scan_avx512
#define gemm_scan_tile gemm_scan_tile_avx512
#define gemm_scan_rows gemm_scan_rows_avx512
#define gemm_scan_dots gemm_scan_dots_avx512

#include "kernels/gemm_body.h"

#undef gemm_run
#undef gemm_pack_rows
#undef gemm_pack_transposed
#undef gemm_scan
#undef gemm_scan_tile
#undef gemm_scan_rows
#undef gemm_scan_dots

void kernels_fill_avx512(kernel_table *t)
{
    t->gemm_run = gemm_run_avx512;
    t->gemm_pack_rows = gemm_pack_rows_avx512;
    t->gemm_pack_transposed = gemm_pack_transposed_avx512;
    t->gemm_scan = gemm_scan_avx512;
    t->gemm_scan_tile = gemm_scan_tile_avx512;
    t->gemm_scan_rows = gemm_scan_rows_avx512;
    t->gemm_scan_dots = gemm_scan_dots_avx512;
}
#endif
