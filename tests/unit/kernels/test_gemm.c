/* test_gemm.c — lib/gemm against a double-precision reference: every edge
 * of the blocking (rows not a multiple of the tile, a partial last panel, k
 * not a multiple of the slice, x too large for the whole-x path, K = 0),
 * bias and accumulate, panel ranges that split the work, with and without
 * the scratch space that repacks x, both kernels, and F16 weights (widened
 * in the kernel: bit-identical to the same values given as F32); and each
 * level of the kernel table against the others: avx512 gives avx2's bits
 * (products, scans), skipped where the CPU lacks a level. */
#include "test.h"

#include <stdint.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/half.h"

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

/* gemm_pack_rows and gemm_pack_transposed write the layouts gemm.h describes. */
static void test_pack_rows_and_transposed(void)
{
    static const int dims[][2] = {{1, 1}, {5, 3}, {6, 8}, {7, 17}, {16, 9}, {33, 40}, {13, 0}};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        int T = dims[s][0], K = dims[s][1];
        size_t ld = (size_t)K + 3;
        float *x = malloc(sizeof(float) * ((size_t)T * ld + 1));
        float *xp = alloc64(sizeof(float) * gemm_rows_packed_count(T, K));
        float *wp = alloc64(sizeof(float) * (gemm_packed_count(K, T) + 1));
        for (size_t i = 0; i < (size_t)T * ld; i++) x[i] = rnd();
        gemm_pack_rows(xp, x, ld, T, K);
        int tiles = (T + GEMM_MR - 1) / GEMM_MR, bad = 0;
        for (int t = 0; t < tiles; t++)
            for (int k = 0; k < K; k++)
                for (int r = 0; r < GEMM_MR; r++) {
                    int row = t * GEMM_MR + r;
                    float want = row < T ? x[(size_t)row * ld + k] : 0.0f;
                    bad += xp[((size_t)t * K + k) * GEMM_MR + r] != want;
                }
        CHECK_MSG(bad == 0, "pack_rows T %d K %d: %d wrong", T, K, bad);
        bad = 0;
        for (int variant = 0; variant < 2; variant++) {
            gemm_force_portable(variant);
            gemm_pack_transposed(wp, x, ld, T, K);
            for (int k = 0; k < K; k++)
                for (int n = 0; n < gemm_panels(T) * GEMM_NR; n++)
                    bad += wp[gemm_packed_index(K, k, n)] != (n < T ? x[(size_t)n * ld + k] : 0.0f);
        }
        gemm_force_portable(0);
        CHECK_MSG(bad == 0, "pack_transposed N %d K %d: %d wrong", T, K, bad);
        free(x);
        free(xp);
        free(wp);
    }
}

/* gemm_scan against gemm_run on the same data: each value at or above its
 * row's threshold is reported once, with gemm_run's bits; with rising
 * thresholds, only values that reach the threshold of the moment. */
typedef struct scan_log {
    const float *y; /* gemm_run's values, T x N */
    int N;
    unsigned char *seen;
    int raise, bad, hits;
    const float *thr0;
} scan_log;

static int record_hit(void *ctx, int row, int col, float v, float *thr)
{
    scan_log *L = ctx;
    size_t i = (size_t)row * L->N + col;
    if (L->seen[i]++ || v != L->y[i] || !(v >= *thr)) L->bad++;
    L->hits++;
    if (L->raise) *thr = v;
    return 0;
}

static int stop_hit(void *ctx, int row, int col, float v, float *thr)
{
    (void)ctx, (void)row, (void)col, (void)v, (void)thr;
    return 7;
}

static void check_scan(int T, int N, int K)
{
    float *x = malloc(sizeof(float) * ((size_t)T * K + 1)), *g = malloc(sizeof(float) * ((size_t)N * K + 1));
    float *xp = alloc64(sizeof(float) * gemm_rows_packed_count(T, K));
    float *wp = alloc64(sizeof(float) * (gemm_packed_count(K, N) + 1));
    float *y = malloc(sizeof(float) * (size_t)T * N), *thr = malloc(sizeof(float) * (size_t)T);
    float *thr0 = malloc(sizeof(float) * (size_t)T);
    static float scan_work[GEMM_SCAN_WORK_FLOATS] __attribute__((aligned(64)));
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd();
    for (size_t i = 0; i < (size_t)N * K; i++) g[i] = rnd();
    gemm_pack_rows(xp, x, (size_t)K, T, K);
    gemm_pack_transposed(wp, g, (size_t)K, N, K);
    gemm_weight W = {wp, K, N, 0};
    /* the openblas level runs gemm_run on OpenBLAS but keeps generic's
     * scans (kernels_openblas.c): their bits are generic's products' */
    cpu_isa was = cpu_isa_active();
    if (was == CPU_ISA_OPENBLAS) cpu_use(CPU_ISA_GENERIC);
    gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, T, 0, 0, gemm_panels(N), NULL);
    cpu_use(was);
    unsigned char *seen = calloc((size_t)T * N, 1);
    for (int raise = 0; raise < 2; raise++) {
        for (int t = 0; t < T; t++) thr[t] = thr0[t] = t % 3 == 0 ? -INFINITY : rnd() * sqrtf((float)K) * 0.3f;
        memset(seen, 0, (size_t)T * N);
        scan_log L = {y, N, seen, raise, 0, 0, thr0};
        CHECK_EQ_INT(gemm_scan(xp, T, &W, thr, record_hit, &L, scan_work), 0);
        CHECK_MSG(L.bad == 0, "scan T %d N %d K %d raise %d: %d bad hits", T, N, K, raise, L.bad);
        int missed = 0, want = 0;
        if (!raise) {
            for (int t = 0; t < T; t++)
                for (int n = 0; n < N; n++) {
                    int reach = y[(size_t)t * N + n] >= thr0[t];
                    want += reach;
                    missed += reach && !seen[(size_t)t * N + n];
                }
            CHECK_MSG(missed == 0 && L.hits == want, "scan T %d N %d K %d: %d hits, %d wanted, %d missed", T, N,
                      K, L.hits, want, missed);
        } else { /* the row maxima are always reported (nothing can exceed them) */
            for (int t = 0; t < T; t++) {
                int best = 0;
                for (int n = 1; n < N; n++)
                    if (y[(size_t)t * N + n] > y[(size_t)t * N + best]) best = n;
                if (y[(size_t)t * N + best] >= thr0[t]) missed += !seen[(size_t)t * N + best];
            }
            CHECK_MSG(missed == 0, "scan T %d N %d K %d raising: %d row maxima missed", T, N, K, missed);
        }
    }
    for (int t = 0; t < T; t++) thr[t] = -INFINITY;
    CHECK_EQ_INT(gemm_scan(xp, T, &W, thr, stop_hit, NULL, scan_work), 7);
    free(x), free(g), free(xp), free(wp), free(y), free(thr), free(thr0), free(seen);
}

static void test_scan(void)
{
    static const int shapes_scan[][3] = {{1, 1, 1},  {1, 40, 512}, {5, 16, 3},    {6, 17, 256},
                                         {7, 33, 257}, {97, 50, 600}, {200, 31, 70}, {13, 5, 0}};
    for (int variant = 0; variant < 2; variant++) {
        gemm_force_portable(variant);
        for (size_t s = 0; s < sizeof shapes_scan / sizeof shapes_scan[0]; s++)
            check_scan(shapes_scan[s][0], shapes_scan[s][1], shapes_scan[s][2]);
    }
    gemm_force_portable(0);
}

/* ---- the levels against each other ------------------------------------------ */

static void *must(void *p)
{
    if (!p) abort();
    return p;
}

/* gemm_run on the level isa, in `parts` panel ranges (as threads split it). */
static void run_on(cpu_isa isa, float *y, const float *y0, const float *x, const gemm_weight *w, const float *b,
                   int T, int accumulate, int parts, float *scratch)
{
    int panels = gemm_panels(w->N);
    cpu_use(isa);
    memcpy(y, y0, sizeof(float) * (size_t)T * w->N);
    for (int part = 0; part < parts; part++)
        gemm_run(y, (size_t)w->N, x, (size_t)w->K, w, b, T, accumulate, panels * part / parts,
                 panels * (part + 1) / parts, scratch);
}

/* Products on levels a and b: mismatching shapes (each bias / accumulate /
 * split / scratch / F16 variant counted once). */
static int compare_gemm(cpu_isa a, cpu_isa b_isa, int T, int N, int K)
{
    float *x = must(malloc(sizeof(float) * ((size_t)T * K + 1))), *W = must(malloc(sizeof(float) * ((size_t)K * N + 1)));
    float *b = must(malloc(sizeof(float) * (size_t)N + 1)), *y0 = must(malloc(sizeof(float) * (size_t)T * N + 1));
    float *ya = must(malloc(sizeof(float) * (size_t)T * N + 1)), *yb = must(malloc(sizeof(float) * (size_t)T * N + 1));
    float *packed = must(alloc64(sizeof(float) * (gemm_packed_count(K, N) + 16)));
    uint16_t *Wh = must(malloc(sizeof(uint16_t) * ((size_t)K * N + 1)));
    uint16_t *packed_h = must(alloc64(sizeof(uint16_t) * (gemm_packed_count(K, N) + 32)));
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd();
    for (size_t i = 0; i < (size_t)K * N; i++) W[i] = rnd(), Wh[i] = mm_f32_to_f16(W[i]);
    for (int i = 0; i < N; i++) b[i] = rnd();
    for (size_t i = 0; i < (size_t)T * N; i++) y0[i] = i % 7 == 0 ? -0.0f : rnd(); /* -0 + 0 must stay the same */
    gemm_pack(packed, W, K, N, (size_t)N, 0);
    gemm_pack(packed_h, Wh, K, N, (size_t)N, 1);
    gemm_weight gw = {packed, K, N, 0}, gh = {packed_h, K, N, 1};
    int bad = 0;
    for (int f16 = 0; f16 < 2; f16++)
        for (int variant = 0; variant < 4; variant++)
            for (int parts = 1; parts <= 4; parts++) {
                const gemm_weight *w = f16 ? &gh : &gw;
                const float *bias = variant & 1 ? b : NULL;
                float *scratch = parts == 2 ? NULL : work;
                run_on(a, ya, y0, x, w, bias, T, variant >> 1, 1, work); /* the reference split: one range */
                run_on(b_isa, yb, y0, x, w, bias, T, variant >> 1, parts, scratch);
                if (memcmp(ya, yb, sizeof(float) * (size_t)T * N) != 0) {
                    if (bad++ == 0)
                        fprintf(stderr, "  %s vs %s: T=%d N=%d K=%d f16=%d bias=%d acc=%d parts=%d differ\n",
                                cpu_isa_name(a), cpu_isa_name(b_isa), T, N, K, f16, variant & 1, variant >> 1,
                                parts);
                }
            }
    free(x), free(W), free(b), free(y0), free(ya), free(yb), free(packed), free(Wh), free(packed_h);
    return bad;
}

/* Every hit a scan reports, in order, with its value's bits. */
typedef struct hit_list {
    int n, cap;
    float *v;
    int *rc;
} hit_list;

static int list_hit(void *ctx, int row, int col, float v, float *thr)
{
    hit_list *L = ctx;
    if (L->n == L->cap) {
        L->cap = L->cap ? 2 * L->cap : 256;
        L->v = must(realloc(L->v, sizeof(float) * (size_t)L->cap));
        L->rc = must(realloc(L->rc, 2 * sizeof(int) * (size_t)L->cap));
    }
    L->v[L->n] = v;
    L->rc[2 * L->n] = row, L->rc[2 * L->n + 1] = col;
    L->n++;
    if (row % 2) *thr = v; /* odd rows raise their threshold: order matters too */
    return 0;
}

/* The hits' indices grouped by row, each row's in arrival order (a stable
 * counting sort): the contract is each row's sequence (gemm.h); how rows
 * interleave depends on the tile shape. */
static int *by_row(const hit_list *L)
{
    int rows = 0;
    for (int h = 0; h < L->n; h++) rows = L->rc[2 * h] + 1 > rows ? L->rc[2 * h] + 1 : rows;
    int *start = must(calloc((size_t)rows + 1, sizeof(int))), *idx = must(malloc(sizeof(int) * ((size_t)L->n + 1)));
    for (int h = 0; h < L->n; h++) start[L->rc[2 * h] + 1]++;
    for (int r = 0; r < rows; r++) start[r + 1] += start[r];
    for (int h = 0; h < L->n; h++) idx[start[L->rc[2 * h]]++] = h;
    free(start);
    return idx;
}

static int same_hits(const hit_list *a, const hit_list *b)
{
    if (a->n != b->n) return 0;
    int *ia = by_row(a), *ib = by_row(b), same = 1;
    for (int h = 0; h < a->n && same; h++) {
        int x = ia[h], y = ib[h];
        same = memcmp(&a->v[x], &b->v[y], sizeof(float)) == 0 && a->rc[2 * x] == b->rc[2 * y] &&
               a->rc[2 * x + 1] == b->rc[2 * y + 1];
    }
    free(ia), free(ib);
    return same;
}

/* The float32 scans (gemm_scan, gemm_scan_tile, gemm_scan_rows,
 * gemm_scan_dots) on levels a and b: 0 if every call reports the same hits. */
static int compare_scans(cpu_isa a, cpu_isa b, int T, int N, int K)
{
    static float scan_work[GEMM_SCAN_WORK_FLOATS] __attribute__((aligned(64)));
    static float acc[GEMM_MR * GEMM_NR] __attribute__((aligned(64)));
    float *x = must(malloc(sizeof(float) * ((size_t)T * K + 1))), *g = must(malloc(sizeof(float) * ((size_t)N * K + 1)));
    float *xp = must(alloc64(sizeof(float) * gemm_rows_packed_count(T, K) + 4));
    float *wp = must(alloc64(sizeof(float) * (gemm_packed_count(K, N) + 1)));
    float *thr0 = must(malloc(sizeof(float) * (size_t)T + 4)), *thr = must(malloc(sizeof(float) * (size_t)T + 4));
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd();
    for (size_t i = 0; i < (size_t)N * K; i++) g[i] = rnd();
    for (int t = 0; t < T; t++) thr0[t] = t % 3 == 0 ? -INFINITY : rnd() * sqrtf((float)K) * 0.3f;
    gemm_weight W = {wp, K, N, 0};
    hit_list L[2][4];
    memset(L, 0, sizeof L);
    for (int side = 0; side < 2; side++) {
        cpu_use(side ? b : a);
        gemm_pack_rows(xp, x, (size_t)K, T, K);
        gemm_pack_transposed(wp, g, (size_t)K, N, K);
        memcpy(thr, thr0, sizeof(float) * (size_t)T);
        gemm_scan(xp, T, &W, thr, list_hit, &L[side][0], scan_work);
        memcpy(thr, thr0, sizeof(float) * (size_t)T);
        for (int i = 0; i < T; i += GEMM_MR)
            for (int p = 0; p < gemm_panels(N); p++)
                gemm_scan_tile(xp, i, T - i < GEMM_MR ? T - i : GEMM_MR, &W, p, thr, list_hit, &L[side][1], acc);
        memcpy(thr, thr0, sizeof(float) * (size_t)T);
        for (int i = 0; i < T; i++) { /* scattered pairs, up to GEMM_MR at once */
            int rows[GEMM_MR], panels[GEMM_MR], n = 0;
            for (int p = i % 2; p < gemm_panels(N) && n < GEMM_MR; p += 2) rows[n] = i, panels[n++] = p;
            gemm_scan_rows(xp, rows, panels, n, &W, thr, list_hit, &L[side][2]);
        }
        memcpy(thr, thr0, sizeof(float) * (size_t)T);
        for (int i = 0; i < T; i += GEMM_MR)
            gemm_scan_dots(x + (size_t)i * K, (size_t)K, T - i < GEMM_MR ? T - i : GEMM_MR, g, (size_t)K, N, K,
                           thr + i, list_hit, &L[side][3]);
    }
    int bad = 0;
    for (int f = 0; f < 4; f++) {
        if (!same_hits(&L[0][f], &L[1][f])) {
            bad++;
            fprintf(stderr, "  %s vs %s: scan %d T=%d N=%d K=%d: %d vs %d hits or different values\n",
                    cpu_isa_name(a), cpu_isa_name(b), f, T, N, K, L[0][f].n, L[1][f].n);
        }
        for (int s = 0; s < 2; s++) free(L[s][f].v), free(L[s][f].rc);
    }
    free(x), free(g), free(xp), free(wp), free(thr0), free(thr);
    return bad;
}

static const int level_shapes[][3] = {
    {1, 16, 1},     {1, 1, 1},      {5, 17, 3},     {6, 32, 256},  {7, 33, 257}, {13, 100, 70},  {1, 48, 768},
    {50, 96, 768},  {12, 48, 513},  {2, 5, 0},      {3, 80, 255},  {6, 64, 512}, {300, 40, 600}, {253, 31, 520},
    {301, 48, 700}, {257, 17, 1031}, {64, 2304, 768}, {50, 3072, 64},
};

/* avx512 against avx2: the same bits for products and scans. */
static void test_avx512_same_bits_as_avx2(void)
{
    if (!cpu_isa_supported(CPU_ISA_AVX512)) {
        test_skip("no avx512");
        return;
    }
    cpu_isa was = cpu_isa_active();
    for (size_t s = 0; s < sizeof level_shapes / sizeof level_shapes[0]; s++) {
        int T = level_shapes[s][0], N = level_shapes[s][1], K = level_shapes[s][2];
        CHECK_EQ_INT(compare_gemm(CPU_ISA_AVX2, CPU_ISA_AVX512, T, N, K), 0);
        if ((size_t)T * N <= 100000) CHECK_EQ_INT(compare_scans(CPU_ISA_AVX2, CPU_ISA_AVX512, T, N, K), 0);
    }
    cpu_use(was);
}

/* Every level this CPU runs passes the reference checks of run_all. */
static void test_each_level(void)
{
    cpu_isa was = cpu_isa_active();
    for (int isa = 0; isa < CPU_ISA_COUNT; isa++) {
        if (cpu_use((cpu_isa)isa) != 0) {
            printf("# level %s: not run by this CPU\n", cpu_isa_name((cpu_isa)isa));
            continue;
        }
        run_all();
    }
    cpu_use(was);
}

/* gemm_run_xt (x given transposed) gives gemm_run's bits on the same x,
 * split into panel ranges or not, with bias and accumulate; gemm_pack_cols
 * packs column ranges into the whole weight's packing, byte for byte. On
 * every level the CPU runs, and on the portable tile. */
static int check_xt(int T, int N, int K, int use_bias, int accumulate, int parts)
{
    float *x = malloc(sizeof(float) * ((size_t)T * K + 1)), *xt = malloc(sizeof(float) * ((size_t)T * K + 1));
    float *W = malloc(sizeof(float) * ((size_t)K * N + 1)), *b = malloc(sizeof(float) * (size_t)N);
    float *y = malloc(sizeof(float) * (size_t)T * N), *y2 = malloc(sizeof(float) * (size_t)T * N);
    size_t pc = gemm_packed_count(K, N) + 16;
    float *packed = alloc64(sizeof(float) * pc), *cols = alloc64(sizeof(float) * pc);
    float *Wt = malloc(sizeof(float) * ((size_t)K * N + 1));
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = rnd();
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) xt[(size_t)k * T + t] = x[(size_t)t * K + k];
    for (size_t i = 0; i < (size_t)K * N; i++) W[i] = rnd();
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) Wt[(size_t)n * K + k] = W[(size_t)k * N + n];
    for (int i = 0; i < N; i++) b[i] = rnd();
    for (size_t i = 0; i < (size_t)T * N; i++) y[i] = y2[i] = rnd();
    int bad = 0;
    gemm_pack(packed, W, K, N, (size_t)N, 0);
    for (int tr = 0; tr < 2; tr++) { /* column ranges of 2 panels, from W and from W^T */
        memset(cols, 0xff, sizeof(float) * pc);
        for (int n0 = 0; n0 < N; n0 += 2 * GEMM_NR)
            gemm_pack_cols(cols, tr ? Wt : W, tr ? (size_t)K : (size_t)N, K, N, n0, 2 * GEMM_NR, tr);
        bad += memcmp(cols, packed, sizeof(float) * gemm_packed_count(K, N)) != 0;
    }
    gemm_weight w = {packed, K, N, 0};
    int panels = gemm_panels(N);
    gemm_run(y, (size_t)N, x, (size_t)K, &w, use_bias ? b : NULL, T, accumulate, 0, panels, work);
    for (int p = 0; p < parts; p++)
        gemm_run_xt(y2, (size_t)N, xt, (size_t)T, &w, use_bias ? b : NULL, T, accumulate, panels * p / parts,
                    panels * (p + 1) / parts, work);
    bad += memcmp(y, y2, sizeof(float) * (size_t)T * N) != 0;
    free(x), free(xt), free(W), free(Wt), free(b), free(y), free(y2), free(packed), free(cols);
    return bad;
}

static void test_run_xt(void)
{
    cpu_isa was = cpu_isa_active();
    for (int isa = 0; isa < CPU_ISA_COUNT; isa++) {
        if (cpu_use((cpu_isa)isa) != 0) continue;
        for (int portable = 0; portable < 2; portable++) {
            gemm_force_portable(portable);
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (int variant = 0; variant < 4; variant++)
                    for (int parts = 1; parts <= 3; parts += 2)
                        CHECK_EQ_INT(check_xt(shapes[s][0], shapes[s][1], shapes[s][2], variant & 1, variant >> 1,
                                              parts), 0);
        }
    }
    gemm_force_portable(0);
    cpu_use(was);
}

int main(void)
{
    RUN(test_layout);
    RUN(test_pack_rows_and_transposed);
    RUN(test_scan);
    RUN(test_simd_kernel);
    RUN(test_portable_kernel);
    RUN(test_each_level);
    RUN(test_avx512_same_bits_as_avx2);
    RUN(test_run_xt);
    return test_summary();
}
