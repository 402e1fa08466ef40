/* test_gemm.c — lib/gemm against a double-precision reference: every edge
 * of the blocking (rows not a multiple of the tile, a partial last panel, k
 * not a multiple of the slice, x too large for the whole-x path, K = 0),
 * bias and accumulate, panel ranges that split the work, with and without
 * the scratch space that repacks x, both kernels, and F16 weights (widened
 * in the kernel: bit-identical to the same values given as F32). */
#include "test.h"

#include <stdint.h>

#include "gemm.h"
#include "half.h"

static uint64_t rng_state = 88172645463325252ull;

static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* y = x W (+ b), or y0 + x W (+ b), in double; W is K x N row-major. */
static void reference(double *out, const float *y0, const float *x, const float *W, const float *b, int T, int N,
                      int K)
{
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double s = y0 ? y0[(size_t)t * N + n] : 0.0;
            if (b) s += b[n];
            for (int k = 0; k < K; k++) s += (double)x[(size_t)t * K + k] * W[(size_t)k * N + n];
            out[(size_t)t * N + n] = s;
        }
}

static float work[GEMM_WORK_FLOATS] __attribute__((aligned(64)));

/* 64-byte aligned memory (C11's aligned_alloc wants a multiple of 64). */
static void *alloc64(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}

/* Runs one shape through gemm_run (split into `parts` panel ranges) and
 * compares with the reference; then runs it again with the weights as F16
 * (values rounded to half first) and requires the result of the F32 run on
 * those same values, bit for bit. Returns the number of mismatches. */
static int check_shape(int T, int N, int K, int use_bias, int accumulate, int parts)
{
    float *x = malloc(sizeof(float) * ((size_t)T * K + 1)), *W = malloc(sizeof(float) * ((size_t)K * N + 1));
    float *b = malloc(sizeof(float) * (size_t)N), *y = malloc(sizeof(float) * (size_t)T * N);
    float *y0 = malloc(sizeof(float) * (size_t)T * N);
    float *packed = alloc64(sizeof(float) * (gemm_packed_count(K, N) + 16));
    double *want = malloc(sizeof(double) * (size_t)T * N);
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd();
    for (size_t i = 0; i < (size_t)K * N; i++) W[i] = rnd();
    for (int i = 0; i < N; i++) b[i] = rnd();
    for (size_t i = 0; i < (size_t)T * N; i++) y[i] = y0[i] = rnd();
    gemm_pack(packed, W, K, N, (size_t)N, 0);
    gemm_weight gw = {packed, K, N, 0};
    reference(want, accumulate ? y0 : NULL, x, W, use_bias ? b : NULL, T, N, K);
    int panels = gemm_panels(N);
    for (int part = 0; part < parts; part++)
        gemm_run(y, (size_t)N, x, (size_t)K, &gw, use_bias ? b : NULL, T, accumulate, panels * part / parts,
                 panels * (part + 1) / parts, parts == 2 ? NULL : work);
    int bad = 0;
    double tol = 1e-5 * (K + 2);
    for (size_t i = 0; i < (size_t)T * N; i++)
        if (!(fabs(y[i] - want[i]) <= tol)) {
            if (bad++ == 0)
                fprintf(stderr, "  T=%d N=%d K=%d bias=%d acc=%d parts=%d: element %zu: %g, want %g\n", T, N, K,
                        use_bias, accumulate, parts, i, y[i], want[i]);
        }

    /* The same product with F16 weights. */
    uint16_t *Wh = malloc(sizeof(uint16_t) * ((size_t)K * N + 1));
    uint16_t *packed_h = alloc64(sizeof(uint16_t) * (gemm_packed_count(K, N) + 32));
    float *y32 = malloc(sizeof(float) * (size_t)T * N);
    for (size_t i = 0; i < (size_t)K * N; i++) {
        Wh[i] = mm_f32_to_f16(W[i]);
        W[i] = mm_f16_to_f32(Wh[i]);
    }
    gemm_pack(packed, W, K, N, (size_t)N, 0);
    gemm_pack(packed_h, Wh, K, N, (size_t)N, 1);
    gemm_weight gh = {packed_h, K, N, 1};
    memcpy(y, y0, sizeof(float) * (size_t)T * N);
    memcpy(y32, y0, sizeof(float) * (size_t)T * N);
    gemm_run(y32, (size_t)N, x, (size_t)K, &gw, use_bias ? b : NULL, T, accumulate, 0, panels, work);
    for (int part = 0; part < parts; part++)
        gemm_run(y, (size_t)N, x, (size_t)K, &gh, use_bias ? b : NULL, T, accumulate, panels * part / parts,
                 panels * (part + 1) / parts, parts == 2 ? NULL : work);
    if (memcmp(y, y32, sizeof(float) * (size_t)T * N) != 0) {
        bad++;
        fprintf(stderr, "  T=%d N=%d K=%d bias=%d acc=%d parts=%d: F16 weights differ from F32\n", T, N, K,
                use_bias, accumulate, parts);
    }
    free(Wh);
    free(packed_h);
    free(y32);
    free(x);
    free(W);
    free(b);
    free(y);
    free(y0);
    free(packed);
    free(want);
    return bad;
}

static const int shapes[][3] = {
    {1, 16, 1},    {1, 1, 1},      {5, 17, 3},     {6, 32, 256},  {7, 33, 257},  {13, 100, 70},
    {50, 96, 768}, {12, 48, 513},  {300, 40, 600}, {253, 31, 520}, {2, 5, 0},     {600, 20, 1100},
    {301, 40, 700}, /* x repacked, a last row block of 49: a one-row tile */
    {257, 17, 1031},
};

static void run_all(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int variant = 0; variant < 4; variant++)
            for (int parts = 1; parts <= 3; parts++) /* 2: without scratch, x read in place */
                CHECK_EQ_INT(check_shape(shapes[s][0], shapes[s][1], shapes[s][2], variant & 1, variant >> 1, parts), 0);
}

static void test_simd_kernel(void) { run_all(); }

static void test_portable_kernel(void)
{
    gemm_force_portable(1);
    run_all();
    gemm_force_portable(0);
}

/* The packed layout as documented, and the loader's element-wise filling. */
static void test_layout(void)
{
    int K = 3, N = 20;
    float W[60], packed[3 * 32], filled[96];
    uint16_t Wh[60], packed_h[96], filled_h[96];
    for (int i = 0; i < 60; i++) W[i] = (float)(i + 1);
    CHECK_EQ_INT(gemm_panels(N), 2);
    CHECK_EQ_INT(gemm_packed_count(K, N), 96);
    for (int i = 0; i < 60; i++) Wh[i] = (uint16_t)(i + 1);
    gemm_pack(packed, W, K, N, (size_t)N, 0);
    gemm_pack(packed_h, Wh, K, N, (size_t)N, 1);
    for (int k = 0; k < K; k++)
        for (int n = 0; n < 32; n++) {
            CHECK(packed[gemm_packed_index(K, k, n)] == (n < N ? W[k * N + n] : 0.0f));
            CHECK(packed_h[gemm_packed_index(K, k, n)] == (n < N ? Wh[k * N + n] : 0));
        }
    for (int i = 0; i < 96; i++) {
        filled[i] = -7.0f; /* garbage, as in a fresh arena */
        filled_h[i] = 0xbeef;
    }
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) {
            filled[gemm_packed_index(K, k, n)] = W[k * N + n];
            filled_h[gemm_packed_index(K, k, n)] = Wh[k * N + n];
        }
    gemm_pack_clear_padding(filled, K, N, 0);
    gemm_pack_clear_padding(filled_h, K, N, 1);
    CHECK(memcmp(filled, packed, sizeof packed) == 0);
    CHECK(memcmp(filled_h, packed_h, sizeof packed_h) == 0);
}

int main(void)
{
    RUN(test_layout);
    RUN(test_simd_kernel);
    RUN(test_portable_kernel);
    return test_summary();
}
