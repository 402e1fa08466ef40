/* test_gemm_bf16.c — gemm_run with bfloat16 weights (gemm_pack_bf16) on CPUs
 * with AVX512_BF16: against a double-precision product of the bf16-rounded
 * x and W (the kernel's products are then exact; only its float32 sums
 * differ), with a bias, with accumulate, for odd K, N not a multiple of 16,
 * T across the kernel's row blocks; and the same bits whatever the panel
 * split between threads and the rows run together. # SKIP elsewhere. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/half.h"

static void *test_aligned_alloc(size_t n) /* 64-byte aligned (aligned_alloc wants a multiple) */
{
    return aligned_alloc(64, (n + 63) / 64 * 64);
}

static unsigned long long rng = 0x2545f4914f6cdd1dull;
static float rnd(void) { return (float)(test_rand_unit(&rng) * 2.0 - 1.0); }

static double bf16_round(float f) /* nearest even, as the kernel rounds */
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1);
    u &= 0xffff0000u;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

static void run_case(int T, int K, int N, int f16)
{
    float *x = malloc(sizeof(float) * (size_t)T * K), *w = malloc(sizeof(float) * (size_t)K * N);
    float *bias = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * (size_t)T * N);
    float *y2 = malloc(sizeof(float) * (size_t)T * N);
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd() * 3;
    for (size_t i = 0; i < (size_t)K * N; i++) w[i] = rnd() * 0.1f;
    for (int i = 0; i < N; i++) bias[i] = rnd();
    void *packed = test_aligned_alloc(gemm_packed_count(K, N) * sizeof(float));
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)K * N);
    if (f16) { /* an F16 checkpoint's weight: W is what the halves hold */
        for (size_t i = 0; i < (size_t)K * N; i++) h[i] = mm_f32_to_f16(w[i]), w[i] = mm_f16_to_f32(h[i]);
        gemm_pack(packed, h, K, N, (size_t)N, 1);
    } else {
        gemm_pack(packed, w, K, N, (size_t)N, 0);
    }
    gemm_weight src = {packed, K, N, f16};
    uint16_t *pb = test_aligned_alloc(gemm_bf16_packed_count(K, N) * sizeof(uint16_t));
    gemm_weight W = gemm_pack_bf16(pb, &src);
    float *work = test_aligned_alloc(GEMM_BF16_WORK_FLOATS * sizeof(float));
    gemm_run(y, (size_t)N, x, (size_t)K, &W, bias, T, 0, 0, gemm_panels(N), work);
    int bad = 0;
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                double p = bf16_round(x[(size_t)t * K + k]) * bf16_round(w[(size_t)k * N + n]);
                s += p, a += fabs(p);
            }
            s += bias[n];
            double got = y[(size_t)t * N + n];
            if (!(fabs(got - s) <= 1e-6 * (a + fabs(bias[n])) + 1e-6) && bad++ < 3)
                fprintf(stderr, "  T %d K %d N %d [%d,%d]: %.9g want %.9g\n", T, K, N, t, n, got, s);
        }
    CHECK_MSG(bad == 0, "T %d K %d N %d f16 %d: %d values off", T, K, N, f16, bad);
    /* panels in two ranges (two threads) and rows one at a time: same bits */
    int mid = gemm_panels(N) / 2;
    gemm_run(y2, (size_t)N, x, (size_t)K, &W, bias, T, 0, 0, mid, work);
    gemm_run(y2, (size_t)N, x, (size_t)K, &W, bias, T, 0, mid, gemm_panels(N), work);
    CHECK_MSG(memcmp(y, y2, sizeof(float) * (size_t)T * N) == 0, "T %d K %d N %d: panel split changes bits", T, K, N);
    for (int t = 0; t < T; t++)
        gemm_run(y2 + (size_t)t * N, (size_t)N, x + (size_t)t * K, (size_t)K, &W, bias, 1, 0, 0, gemm_panels(N), work);
    CHECK_MSG(memcmp(y, y2, sizeof(float) * (size_t)T * N) == 0, "T %d K %d N %d: rows alone change bits", T, K, N);
    /* accumulate: y2 = y + x.W + bias */
    memcpy(y2, y, sizeof(float) * (size_t)T * N);
    gemm_run(y2, (size_t)N, x, (size_t)K, &W, bias, T, 1, 0, gemm_panels(N), work);
    int badacc = 0;
    for (size_t i = 0; i < (size_t)T * N; i++) badacc += y2[i] != y[i] + y[i];
    CHECK_MSG(badacc == 0, "T %d K %d N %d: accumulate: %d values are not y + (x.W + b)", T, K, N, badacc);
    free(x), free(w), free(bias), free(y), free(y2), free(h), free(packed), free(pb), free(work);
}

static void test_bf16_products(void)
{
    if (!gemm_bf16_available()) {
        test_skip("no AVX512_BF16 (or MM_ISA below avx512)");
        return;
    }
    static const int shapes[][3] = {{1, 768, 768}, {7, 33, 17}, {50, 768, 2304}, {300, 1001, 70}, {13, 3072, 768},
                                    {6, 1, 16}, {5, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int f16 = 0; f16 < 2; f16++) run_case(shapes[s][0], shapes[s][1], shapes[s][2], f16);
}

static void test_unavailable_below_avx512(void)
{
    cpu_isa was = cpu_isa_active();
    if (cpu_use(CPU_ISA_AVX2) != 0) {
        test_skip("no avx2 level");
        return;
    }
    CHECK(!gemm_bf16_available());
    cpu_use(was);
}

int main(void)
{
    RUN(test_bf16_products);
    RUN(test_unavailable_below_avx512);
    return test_summary();
}
