/* fuzz_scan8.c — libFuzzer harness for the exactness of mm-rank's int8
 * pre-filter: on vectors the fuzzer chooses (any float bits: tiny, huge,
 * subnormal, mixed magnitudes, near-duplicates), scan8_scan must report every
 * value gemm_scan reports at or above the thresholds, with the same bits.
 * A missed value means the bound in scan8.h is not a bound: abort().
 *
 * Input: byte 0 = T - 1 (1..32 rows), byte 1 = N - 1 (1..64 columns),
 * byte 2 = K - 1 (1..64), byte 3 picks the threshold rank (the r-th best
 * value of each row), then little-endian float32s for x then g (missing
 * bytes are zero; every other float is the previous one plus a few ulps
 * when byte 3's high bit is set, to make near-ties). On a CPU without
 * AVX-512 VNNI scan8_scan is gemm_scan and the check is trivially true.
 *
 *   make build-fuzz/fuzz_scan8
 *   build-fuzz/fuzz_scan8 -max_total_time=600 CORPUS_DIR
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/scan8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    int N;
    unsigned char *hit;
    float *value;
} seen;

static int record(void *ctx, int row, int col, float v, float *thr)
{
    seen *s = ctx;
    (void)thr;
    s->hit[(size_t)row * s->N + col]++;
    s->value[(size_t)row * s->N + col] = v;
    return 0;
}

static void *alloc64(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    int T = data[0] % 32 + 1, N = data[1] % 64 + 1, K = data[2] % 64 + 1, pick = data[3] & 63;
    int ties = data[3] & 128;
    data += 4;
    size -= 4;
    size_t nx = (size_t)T * K, ng = (size_t)N * K;
    float *x = calloc(nx + ng, sizeof(float)), *g;
    if (!x) return 0;
    g = x + nx;
    for (size_t i = 0; i < nx + ng; i++) {
        uint32_t bits = 0;
        if (4 * i < size) memcpy(&bits, data + 4 * i, size - 4 * i < 4 ? size - 4 * i : 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (ties && i % 2 == 1) f = x[i - 1] + x[i - 1] * 0x1p-22f;
        x[i] = f;
    }
    float *xp = alloc64(sizeof(float) * gemm_rows_packed_count(T, K));
    float *wp = alloc64(sizeof(float) * gemm_packed_count(K, N));
    uint8_t *x8 = alloc64(scan8_rows_bytes(T, K));
    int8_t *w8 = alloc64(scan8_panels_bytes(N, K));
    scan8_vec *xst = calloc((size_t)T, sizeof *xst), *wst = calloc((size_t)gemm_panels(N) * GEMM_NR, sizeof *wst);
    float *y = malloc(sizeof(float) * (size_t)T * N), *sorted = malloc(sizeof(float) * (size_t)N);
    float *thr = malloc(sizeof(float) * (size_t)T), *thr2 = malloc(sizeof(float) * (size_t)T);
    float *work = alloc64(sizeof(float) * SCAN8_WORK_FLOATS);
    seen a = {N, calloc((size_t)T * N, 1), calloc((size_t)T * N, sizeof(float))};
    seen b = {N, calloc((size_t)T * N, 1), calloc((size_t)T * N, sizeof(float))};
    if (!xp || !wp || !x8 || !w8 || !xst || !wst || !y || !sorted || !thr || !thr2 || !work || !a.hit || !a.value ||
        !b.hit || !b.value)
        abort();
    gemm_pack_rows(xp, x, (size_t)K, T, K);
    gemm_pack_transposed(wp, g, (size_t)K, N, K);
    gemm_weight W = {wp, K, N, 0};
    int ok = scan8_pack_rows(x8, xst, x, (size_t)K, T, K) == 0;
    scan8_limits lim;
    scan8_limits_init(&lim);
    for (int p = 0; p < gemm_panels(N); p++) {
        int n = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
        scan8_pack_panel(w8, p, wst + p * GEMM_NR, &lim, g + (size_t)p * GEMM_NR * K, (size_t)K, n, K);
    }
    if (ok) {
        /* thresholds: each row's pick-th best float32 value (gemm_run's bits) */
        gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, T, 0, 0, gemm_panels(N), NULL);
        for (int t = 0; t < T; t++) {
            memcpy(sorted, y + (size_t)t * N, sizeof(float) * (size_t)N);
            qsort(sorted, (size_t)N, sizeof(float), cmp_desc);
            thr[t] = thr2[t] = sorted[pick < N ? pick : N - 1];
            if (isnan(thr[t])) thr[t] = thr2[t] = -INFINITY;
        }
        if (gemm_scan(xp, T, &W, thr, record, &a, work) != 0) abort();
        if (scan8_scan(xp, x8, xst, T, &W, w8, wst, &lim, thr2, record, &b, work) != 0) abort();
        for (size_t i = 0; i < (size_t)T * N; i++) {
            if (a.hit[i] && !b.hit[i]) abort(); /* a value the int8 pass lost */
            if (a.hit[i] && b.hit[i] && memcmp(&a.value[i], &b.value[i], sizeof(float)) != 0) abort();
            if (b.hit[i] && !a.hit[i]) abort(); /* reported though below its threshold */
        }
    }
    free(x), free(xp), free(wp), free(x8), free(w8), free(xst), free(wst), free(y), free(sorted), free(thr),
        free(thr2), free(work), free(a.hit), free(a.value), free(b.hit), free(b.value);
    return 0;
}
