/* cpu.h — what this CPU can run, and the one table of kernels chosen for it.
 *
 * Owns: CPU feature detection (once per process), the instruction-set
 * levels (generic, avx2, avx512), MM_ISA, and the kernel table. The code
 * written for one instruction set is compiled in a file of its own with that
 * set's flags (lib/kernels/generic/, x86_avx2/, x86_avx512/) and reached only
 * through this table; everything else in lib/ is portable C built for
 * baseline x86-64 (or any architecture), so one binary runs on every x86-64
 * CPU and uses what each one has.
 *
 * Levels. Each level's table starts as the level below's and replaces what
 * it has a faster version of:
 *   generic  portable C (also every non-x86 build)
 *   avx2     x86-64 with AVX2, FMA, F16C, SSE4.2: the GEMM tiles, packing
 *            transposes and scans, the element-wise ops of lib/nn/ops,
 *            F16 conversions, CRC-32C, the finite check
 *   avx512   avx2 + AVX-512 F/VL/BW/VNNI: the GEMM tiles, float32
 *            scans and element-wise ops at 512 bits (lib/kernels/x86_avx512/,
 *            avx2's bits),
 *            mm-rank's int8 pre-filter (lib/kernels/scan8.c, compiled
 *            with per-function targets)
 *   openblas generic + OpenBLAS's SGEMM for the products (gemm_run;
 *            lib/kernels/openblas/): built only for targets other than
 *            x86-64 where the Makefile finds OpenBLAS (MM_OPENBLAS), the
 *            architectures with no SIMD level of ours (arm64)
 * The default is the widest level the CPU runs (openblas where built).
 *
 * MM_ISA=generic|avx2|avx512 (environment) forces a level, for tests and for
 * users who compare paths. A level this CPU cannot run, or an unknown name,
 * is an error, not a silent fall-back: every program checks it at start-up
 * (cli_init) and exits with status 2 and a message naming what is missing,
 * so a test that asks for a path never quietly measures another.
 *
 * Results. Levels may round differently (FMA against a separate multiply and
 * add, a polynomial exp against libm's); each level gives the same bits for
 * any thread count and batch composition, and on every CPU that runs it.
 */
#ifndef MM_CPU_H
#define MM_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "kernels/gemm.h"

/* For a portable loop that only the compiler vectorises (integer code, so
 * every version gives the same bits): an AVX2 clone chosen by the loader on
 * CPUs that have it, the baseline one elsewhere. Not under MM_ISA: nothing
 * to compare. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__SANITIZE_ADDRESS__)
#define KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL_CLONES
#endif

/* The scalars of one AdamW step (lib/nn/adamw.c): step = lr / bias
 * correction 1, rbc2 = 1 / sqrt(bias correction 2), wd = lr x weight decay. */
typedef struct kernel_adamw_args {
    float beta1, beta2, eps, step, rbc2, wd;
} kernel_adamw_args;

/* Activation codes of the table's activate (lib/nn/ops.c maps clip_config's
 * CLIP_ACT_* onto them, which have the same values). */
enum kernel_act { KERNEL_ACT_QUICK_GELU = 1, KERNEL_ACT_GELU, KERNEL_ACT_GELU_TANH };

typedef enum cpu_isa { CPU_ISA_GENERIC, CPU_ISA_AVX2, CPU_ISA_AVX512, CPU_ISA_OPENBLAS, CPU_ISA_COUNT } cpu_isa;

/* Contracts: those of the public functions named, in gemm.h, nn/ops.h,
 * half.h, crc32c.h. */
typedef struct kernel_table {
    cpu_isa isa;
    void (*gemm_run)(float *y, size_t ldy, const float *x, size_t ldx, const gemm_weight *w, const float *bias,
                     int T, int accumulate, int p0, int p1, float *work);
    void (*gemm_run_xt)(float *y, size_t ldy, const float *xt, size_t ldxt, const gemm_weight *w,
                        const float *bias, int T, int accumulate, int p0, int p1, float *work);
    void (*gemm_pack_rows)(float *dst, const float *x, size_t ldx, int T, int K);
    void (*gemm_pack_transposed)(float *dst, const float *src, size_t lds, int N, int K);
    int (*gemm_scan)(const float *xp, int T, const gemm_weight *W, float *thr, gemm_hit_fn hit, void *ctx,
                     float *work);
    int (*gemm_scan_tile)(const float *xp, int i, int mr, const gemm_weight *W, int p, float *thr,
                          gemm_hit_fn hit, void *ctx, float *acc);
    int (*gemm_scan_rows)(const float *xp, const int *rows, const int *panels, int n, const gemm_weight *W,
                          float *thr, gemm_hit_fn hit, void *ctx);
    int (*gemm_scan_dots)(const float *x, size_t ldx, int T, const float *g, size_t ldg, int N, int K, float *thr,
                          gemm_hit_fn hit, void *ctx);
    /* lib/nn/ops.c */
    void (*activate)(float *y, int T, int N, int act);
    void (*gelu_backward)(float *dx, const float *x, const float *dy, size_t n);
    void (*softmax)(float *x, int n);
    float (*softmax_lse)(float *x, int n);
    void (*layernorm)(float *y, const float *x, const float *g, const float *b, int T, int w, float eps);
    /* lib/nn/adamw.c: one AdamW update of n parameters; decay (or NULL: all)
     * marks those weight decay applies to */
    void (*adamw)(float *p, float *m, float *v, const float *g, const unsigned char *decay, size_t n,
                  const kernel_adamw_args *a);
    /* half.c, crc32c.c */
    void (*f16_to_f32_n)(const uint16_t *src, float *dst, size_t n);
    void (*f32_to_f16_n)(const float *src, uint16_t *dst, size_t n);
    uint32_t (*crc32c)(uint32_t crc, const void *data, size_t n);
    /* lib/retrieval: index of the first non-finite value of v[0..n), or n */
    size_t (*find_nonfinite)(const float *v, size_t n);
} kernel_table;

/* "generic", "avx2", "avx512", "openblas". */
const char *cpu_isa_name(cpu_isa isa);
/* 1 if this CPU (and this build) runs the level. */
int cpu_isa_supported(cpu_isa isa);
/* The widest level this CPU runs. */
cpu_isa cpu_isa_best(void);
/* The features of interest detected, space-separated ("sse4.2 avx2 fma ..."). */
const char *cpu_feature_list(void);
/* The CPU's name as it reports it (x86 brand string), or "". */
const char *cpu_model_name(void);

/* MM_ISA: 0 if unset, empty or a level this CPU runs; else -1 with a
 * message. Programs call it through cli_init. */
int cpu_check_env(mm_error *err);

/* The active table: MM_ISA's level, else the widest (an unusable MM_ISA
 * gives the widest to library callers that did not check it). */
const kernel_table *cpu_kernels(void);
cpu_isa cpu_isa_active(void);
/* For tests and benchmarks: makes isa's table the active one; -1 (nothing
 * changed) if this CPU cannot run it. Not while kernels run in other threads. */
int cpu_use(cpu_isa isa);

/* Each ISA file's part: fills the entries it has (the table arrives filled
 * by the level below). Called only once the CPU is known to run the level. */
void kernels_fill_generic(kernel_table *t);
void kernels_fill_avx2(kernel_table *t);
void kernels_fill_avx512(kernel_table *t);
void kernels_fill_openblas(kernel_table *t);

#endif
