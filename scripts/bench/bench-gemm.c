/* bench-gemm.c — lib/kernels/gemm on one thread, each kernel level in turn
 * (scripts/bench/bench-gemm builds and runs it). Rows alternate between the
 * levels, repeat after repeat, and the best of each is kept, so that a
 * shared machine's noise falls on every level alike. The figure divides by
 * the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time: on a
 * loaded machine time spent descheduled is not counted (caches shared with
 * other processes still are).
 *
 * The header gives one core's FMA peak at 256 and 512 bits, measured with a
 * register-only loop (12 independent accumulators), and each level's column
 * is followed by its share of the peak at its width (avx2: 256 bits; avx512:
 * 512; generic and openblas: the 256-bit figure, for scale). With
 * BENCH_OPENBLAS (the script sets it where pkg-config finds OpenBLAS) a last
 * column is OpenBLAS's cblas_sgemm on the row-major K x N weight, whole, as
 * a BLAS user would call it: the yardstick for "OpenBLAS where ours are not
 * better". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"
#ifdef BENCH_OPENBLAS
#include <cblas.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
#include <immintrin.h>
/* 12 named accumulators (an array may live in memory), enough to cover the
 * FMA latency of a core with two FMA pipes; the empty asm keeps the chains. */
#define FMA_REGS(T, set1)                                                                                     \
    T a0 = set1(0), a1 = set1(1), a2 = set1(2), a3 = set1(3), a4 = set1(4), a5 = set1(5), a6 = set1(6),      \
      a7 = set1(7), a8 = set1(8), a9 = set1(9), a10 = set1(10), a11 = set1(11), b = set1(0.999999f),          \
      c = set1(1e-7f)
#define FMA_ALL(f)                                                                                            \
    a0 = f(a0, b, c), a1 = f(a1, b, c), a2 = f(a2, b, c), a3 = f(a3, b, c), a4 = f(a4, b, c),                \
    a5 = f(a5, b, c), a6 = f(a6, b, c), a7 = f(a7, b, c), a8 = f(a8, b, c), a9 = f(a9, b, c),                \
    a10 = f(a10, b, c), a11 = f(a11, b, c)
#define FMA_KEEP(r)                                                                                           \
    __asm__ volatile("" : "+" r(a0), "+" r(a1), "+" r(a2), "+" r(a3), "+" r(a4), "+" r(a5), "+" r(a6),       \
                     "+" r(a7), "+" r(a8), "+" r(a9), "+" r(a10), "+" r(a11))
__attribute__((target("avx2,fma"))) static float fma256(long n)
{
    FMA_REGS(__m256, _mm256_set1_ps);
    for (long k = 0; k < n; k++) {
        FMA_ALL(_mm256_fmadd_ps);
        FMA_KEEP("x");
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a5), a11));
    return t[0];
}
__attribute__((target("avx512f"))) static float fma512(long n)
{
    FMA_REGS(__m512, _mm512_set1_ps);
    for (long k = 0; k < n; k++) {
        FMA_ALL(_mm512_fmadd_ps);
        FMA_KEEP("v");
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a5), a11));
}
/* GFLOP/s of the loop at `bits`, best of reps runs of ~secs; 0 if the CPU lacks it. */
static double fma_peak(int bits, double secs, int reps)
{
    __builtin_cpu_init();
    if (bits == 256 ? !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                    : !__builtin_cpu_supports("avx512f"))
        return 0;
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < reps; r++) {
        long n = 1000000, it = 0;
        double t0 = now(), t;
        while ((t = now() - t0) < secs) {
            sink += bits == 256 ? fma256(n) : fma512(n);
            it++;
        }
        double g = (bits / 32) * 2.0 * 12 * n * it / t / 1e9;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}
#else
static double fma_peak(int bits, double secs, int reps)
{
    (void)bits, (void)secs, (void)reps;
    return 0;
}
#endif

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    /* the engine's products: a caption or image (M = 1), one ViT-B/32 image
     * (50 tokens) and a batch of 32 (1600) through the MLP and the QKV
     * projection, one head's attention scores */
    static const int shapes[][3] = {{1, 3072, 768},    {50, 3072, 768},   {50, 768, 3072}, {400, 3072, 768},
                                    {1600, 3072, 768}, {1600, 768, 3072}, {1600, 2304, 768}, {50, 50, 64}};
    double peak256 = fma_peak(256, secs / 2, reps), peak512 = fma_peak(512, secs / 2, reps);
    printf("# CPU: %s; levels run: ", cpu_model_name());
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) printf("%s ", cpu_isa_name((cpu_isa)i));
    if (peak256 > 0)
        printf("\n# FMA peak, one core, registers only: 256-bit %.1f GFLOP/s, 512-bit ", peak256);
    else
        printf("\n# FMA peak: measured on x86-64 only (%%pk columns 0)");
    if (peak256 <= 0)
        printf("\n");
    else if (peak512 > 0)
        printf("%.1f GFLOP/s\n", peak512);
    else
        printf("(no AVX-512)\n");
    printf("# GFLOP/s, 1 thread, per CPU-s, best of %d x %.1f s of CPU; %%pk: of the peak at the level's width; "
           "M x N x K\n%-16s", reps, secs, "shape");
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) printf(" %8s %4s", cpu_isa_name((cpu_isa)i), "%pk");
#ifdef BENCH_OPENBLAS
    printf(" %8s %4s", "OpenBLAS", "%pk");
    openblas_set_num_threads(1);
#endif
    printf("\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = aligned_alloc(64, (size_t)M * K * 4), *y = aligned_alloc(64, (size_t)M * N * 4);
        float *w = aligned_alloc(64, (size_t)K * N * 4), *p = aligned_alloc(64, gemm_packed_count(K, N) * 4);
        float *work = aligned_alloc(64, GEMM_WORK_FLOATS * 4);
        for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)(i % 97) * 0.01f - 0.5f;
        for (size_t i = 0; i < (size_t)K * N; i++) w[i] = (float)(i % 89) * 0.01f - 0.4f;
        gemm_pack(p, w, K, N, (size_t)N, 0);
        gemm_weight W = {p, K, N, 0};
        double best[CPU_ISA_COUNT] = {0}, blas = 0;
        for (int r = 0; r < reps; r++) {
#ifdef BENCH_OPENBLAS
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, x, K, w, N, 0, y, N);
            long bit = 0;
            double b0 = now(), bt;
            while ((bt = now() - b0) < secs || bit < 2) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, x, K, w, N, 0, y, N);
                bit++;
            }
            if (2.0 * M * N * K * bit / bt / 1e9 > blas) blas = 2.0 * M * N * K * bit / bt / 1e9;
#endif
            for (int i = 0; i < CPU_ISA_COUNT; i++) {
                if (cpu_use((cpu_isa)i) != 0) continue;
                gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, M, 0, 0, gemm_panels(N), work);
                long it = 0;
                double t0 = now(), t;
                while ((t = now() - t0) < secs || it < 2) {
                    gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, M, 0, 0, gemm_panels(N), work);
                    it++;
                }
                double g = 2.0 * M * N * K * it / t / 1e9;
                if (g > best[i]) best[i] = g;
            }
        }
        char name[32];
        snprintf(name, sizeof name, "%dx%dx%d", M, N, K);
        printf("%-16s", name);
        for (int i = 0; i < CPU_ISA_COUNT; i++)
            if (cpu_isa_supported((cpu_isa)i)) {
                double pk = i == CPU_ISA_AVX512 ? peak512 : peak256;
                printf(" %8.1f %4.0f", best[i], pk > 0 ? 100 * best[i] / pk : 0.0);
            }
#ifdef BENCH_OPENBLAS
        printf(" %8.1f %4.0f", blas, peak256 > 0 ? 100 * blas / peak256 : 0.0);
#endif
        printf("\n");
        free(x), free(y), free(w), free(p), free(work);
    }
    return 0;
}
