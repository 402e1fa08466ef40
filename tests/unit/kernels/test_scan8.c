/* test_scan8.c — the int8 pre-filter must change nothing: scan8_scan
 * reports exactly the hits gemm_scan reports (same rows, columns, values,
 * in any order), with thresholds that rise as a top-k heap's would, on data
 * chosen to stress the bound: random unit vectors, near-duplicates (scores a
 * few ulps apart around the threshold), exact ties, wildly different
 * magnitudes, zero vectors, odd dimensions. Also the quantiser's refusals
 * (NaN, Inf, huge) and the limits' bookkeeping. Skipped (with a note) on a
 * CPU without AVX-512 VNNI, where scan8_scan is gemm_scan itself. */
#include "test.h"

#include <stdint.h>

#include "kernels/gemm.h"
#include "kernels/scan8.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static float gauss(void)
{
    double u = urand() + 1e-300, v = urand();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static void *alloc64(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

/* A top-k of k scores per row, kept as a sorted array: the threshold is the
 * k-th best once k are in (the heaps in mm-rank behave the same way). */
typedef struct topk_log {
    int k, T;
    float *best;   /* T x k, descending */
    int *count;
    int *hits;     /* T x N: how often (row, col) was reported */
    float *value;  /* T x N: the value reported */
    int N;
} topk_log;

static int on_hit(void *ctx, int row, int col, float v, float *thr)
{
    topk_log *L = ctx;
    size_t i = (size_t)row * L->N + col;
    L->hits[i]++;
    L->value[i] = v;
    float *b = L->best + (size_t)row * L->k;
    int n = L->count[row];
    if (n < L->k) L->count[row] = ++n;
    else if (!(v > b[n - 1])) return 0; /* an equal score: mm-rank's tie-break decides; the threshold stays */
    int j = n - 1;
    while (j > 0 && b[j - 1] < v) {
        b[j] = b[j - 1];
        j--;
    }
    b[j] = v;
    if (L->count[row] == L->k) *thr = b[L->k - 1];
    return 0;
}

static topk_log log_new(int T, int N, int k)
{
    topk_log L = {k, T, calloc((size_t)T * k, sizeof(float)), calloc((size_t)T, sizeof(int)),
                  calloc((size_t)T * N, sizeof(int)), calloc((size_t)T * N, sizeof(float)), N};
    return L;
}

static void log_free(topk_log *L) { free(L->best), free(L->count), free(L->hits), free(L->value); }

enum { DATA_UNIT, DATA_NEAR_DUP, DATA_TIES, DATA_MAGNITUDES, DATA_ZEROS, DATA_KINDS };

static void fill(float *x, int rows, int K, int kind, const float *base)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * K;
        double n2 = 0;
        for (int k = 0; k < K; k++) {
            switch (kind) {
            case DATA_NEAR_DUP: /* one direction plus a whisper: scores crowd the threshold */
                v[k] = base[k] + gauss() * 1e-6f;
                break;
            case DATA_TIES: /* multiples of 1/8 in [-1, 1]: many exactly equal scores */
                v[k] = (float)((int)(urand() * 17) - 8) / 8.0f;
                break;
            default:
                v[k] = gauss();
            }
            n2 += (double)v[k] * v[k];
        }
        float scale = 1.0f;
        if (kind == DATA_UNIT || kind == DATA_NEAR_DUP) scale = (float)(1 / sqrt(n2 > 0 ? n2 : 1));
        if (kind == DATA_MAGNITUDES) scale = powf(10.0f, (float)(urand() * 30 - 15));
        if (kind == DATA_ZEROS && r % 3 == 0) scale = 0.0f;
        for (int k = 0; k < K; k++) v[k] *= scale;
    }
}

/* x (T rows) and g (N rows) of K, in every layout the two scans read. */
typedef struct packed {
    float *xp, *wp, *work;
    uint8_t *x8;
    int8_t *w8;
    scan8_vec *xst, *wst;
    scan8_limits lim;
    gemm_weight W;
} packed;

static void pack_both(packed *P, const float *x, int T, const float *g, int N, int K)
{
    P->xp = alloc64(sizeof(float) * gemm_rows_packed_count(T, K));
    P->wp = alloc64(sizeof(float) * gemm_packed_count(K, N));
    P->work = alloc64(sizeof(float) * SCAN8_WORK_FLOATS);
    P->x8 = alloc64(scan8_rows_bytes(T, K));
    P->w8 = alloc64(scan8_panels_bytes(N, K));
    P->xst = calloc((size_t)T, sizeof *P->xst);
    P->wst = calloc((size_t)gemm_panels(N) * GEMM_NR, sizeof *P->wst);
    gemm_pack_rows(P->xp, x, (size_t)K, T, K);
    gemm_pack_transposed(P->wp, g, (size_t)K, N, K);
    CHECK_EQ_INT(scan8_pack_rows(P->x8, P->xst, x, (size_t)K, T, K), 0);
    scan8_limits_init(&P->lim);
    for (int p = 0; p < gemm_panels(N); p++) {
        int n = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
        scan8_pack_panel(P->w8, p, P->wst + p * GEMM_NR, &P->lim, g + (size_t)p * GEMM_NR * K, (size_t)K, n, K);
    }
    CHECK(P->lim.ok);
    P->W = (gemm_weight){P->wp, K, N, 0};
}

static int scan8_packed(packed *P, int T, float *thr, gemm_hit_fn hit, void *ctx)
{
    return scan8_scan(P->xp, P->x8, P->xst, T, &P->W, P->w8, P->wst, &P->lim, thr, hit, ctx, P->work);
}

static void packed_free(packed *P)
{
    free(P->xp), free(P->wp), free(P->work), free(P->x8), free(P->w8), free(P->xst), free(P->wst);
}

/* Returns the number of differences between the two paths. */
static int compare_paths(int T, int N, int K, int kind, int k)
{
    float *x = malloc(sizeof(float) * ((size_t)T * K + 1)), *g = malloc(sizeof(float) * ((size_t)N * K + 1));
    float *base = malloc(sizeof(float) * ((size_t)K + 1));
    fill(base, 1, K, DATA_UNIT, NULL);
    fill(x, T, K, kind, base);
    fill(g, N, K, kind, base);
    packed P;
    pack_both(&P, x, T, g, N, K);
    float *thr = malloc(sizeof(float) * (size_t)T);

    topk_log want = log_new(T, N, k), got = log_new(T, N, k);
    for (int t = 0; t < T; t++) thr[t] = -INFINITY;
    CHECK_EQ_INT(gemm_scan(P.xp, T, &P.W, thr, on_hit, &want, P.work), 0);
    for (int t = 0; t < T; t++) thr[t] = -INFINITY;
    CHECK_EQ_INT(scan8_packed(&P, T, thr, on_hit, &got), 0);
    /* The kept scores must agree exactly; the int8 path may report fewer
     * losers (that is its point), never a different value. */
    int diff = 0;
    for (int t = 0; t < T; t++) {
        diff += want.count[t] != got.count[t];
        for (int j = 0; j < want.count[t] && j < got.count[t]; j++)
            diff += want.best[(size_t)t * k + j] != got.best[(size_t)t * k + j];
    }
    for (size_t i = 0; i < (size_t)T * N; i++)
        if (got.hits[i] && want.hits[i] && got.value[i] != want.value[i]) diff++;
    free(x), free(g), free(base), free(thr);
    packed_free(&P);
    log_free(&want);
    log_free(&got);
    return diff;
}

static void test_same_hits_as_gemm_scan(void)
{
    if (!scan8_available()) {
        test_skip("no avx512 VNNI: scan8_scan is gemm_scan here, nothing to compare");
        return;
    }
    static const int shapes[][4] = {
        /* T, N, K, k */
        {1, 1, 1, 1},     {12, 16, 4, 3},    {13, 17, 5, 2},    {25, 100, 3, 10},  {50, 300, 512, 10},
        {37, 211, 515, 7}, {200, 700, 64, 100}, {30, 40, 1000, 5}, {192, 96, 128, 1}, {7, 2000, 32, 10},
    };
    for (int kind = 0; kind < DATA_KINDS; kind++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int d = compare_paths(shapes[s][0], shapes[s][1], shapes[s][2], kind, shapes[s][3]);
            CHECK_MSG(d == 0, "kind %d T %d N %d K %d k %d: %d differences", kind, shapes[s][0], shapes[s][1],
                      shapes[s][2], shapes[s][3], d);
        }
    /* the portable float32 kernel: the rescoring follows it too */
    gemm_force_portable(1);
    CHECK_EQ_INT(compare_paths(40, 300, 515, DATA_NEAR_DUP, 10), 0);
    CHECK_EQ_INT(compare_paths(40, 300, 512, DATA_TIES, 10), 0);
    gemm_force_portable(0);
}

/* The filter must actually filter: on random unit vectors with a settled
 * threshold, most rows are never rescored. Counted through the hits. */
static void test_filters(void)
{
    if (!scan8_available()) {
        test_skip("no avx512 VNNI");
        return;
    }
    int T = 60, N = 4000, K = 256, k = 10;
    topk_log L = log_new(T, N, k);
    float *x = malloc(sizeof(float) * (size_t)T * K), *g = malloc(sizeof(float) * (size_t)N * K);
    fill(x, T, K, DATA_UNIT, NULL);
    fill(g, N, K, DATA_UNIT, NULL);
    packed P;
    pack_both(&P, x, T, g, N, K);
    float thr[60];
    for (int t = 0; t < T; t++) thr[t] = 0.25f; /* about 4 sigma for 256-d unit vectors */
    CHECK_EQ_INT(scan8_packed(&P, T, thr, on_hit, &L), 0);
    long reported = 0;
    for (size_t i = 0; i < (size_t)T * N; i++) reported += L.hits[i];
    /* with the threshold at 4 sigma only a few hundred values reach it */
    CHECK_MSG(reported < (long)T * N / 50, "%ld of %d values reported", reported, T * N);
    free(x), free(g);
    packed_free(&P);
    log_free(&L);
}

/* Thresholds set at each row's 5th best value (so the values at and just
 * above them, which the int8 pass sees only approximately, decide): every
 * value at or above its threshold must be reported, with its float32 bits. */
static int record(void *ctx, int row, int col, float v, float *thr)
{
    topk_log *L = ctx;
    (void)thr;
    L->hits[(size_t)row * L->N + col]++;
    L->value[(size_t)row * L->N + col] = v;
    return 0;
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static void test_complete_at_threshold(void)
{
    if (!scan8_available()) {
        test_skip("no avx512 VNNI");
        return;
    }
    for (int kind = DATA_UNIT; kind <= DATA_MAGNITUDES; kind++) {
        if (kind == DATA_TIES) continue;
        int T = 48, N = 2000, K = kind == DATA_UNIT ? 512 : 77;
        float *x = malloc(sizeof(float) * (size_t)T * K), *g = malloc(sizeof(float) * (size_t)N * K);
        float base[512];
        fill(base, 1, K, DATA_UNIT, NULL);
        fill(x, T, K, kind, base);
        fill(g, N, K, kind, base);
        float *y = malloc(sizeof(float) * (size_t)T * N), *sorted = malloc(sizeof(float) * (size_t)N);
        float thr[48];
        packed P;
        pack_both(&P, x, T, g, N, K);
        gemm_run(y, (size_t)N, x, (size_t)K, &P.W, NULL, T, 0, 0, gemm_panels(N), NULL);
        for (int t = 0; t < T; t++) {
            memcpy(sorted, y + (size_t)t * N, sizeof(float) * (size_t)N);
            qsort(sorted, (size_t)N, sizeof(float), cmp_desc);
            thr[t] = sorted[4];
        }
        topk_log L = log_new(T, N, 1);
        CHECK_EQ_INT(scan8_packed(&P, T, thr, record, &L), 0);
        int missed = 0, wrong = 0;
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++) {
                size_t i = (size_t)t * N + n;
                if (y[i] >= thr[t] && !L.hits[i]) missed++;
                if (L.hits[i] && (L.value[i] != y[i] || L.hits[i] > 1)) wrong++;
            }
        CHECK_MSG(missed == 0 && wrong == 0, "kind %d: %d missed, %d wrong", kind, missed, wrong);
        free(x), free(g), free(y), free(sorted);
        packed_free(&P);
        log_free(&L);
    }
}

/* A pair found by hill-climbing the ratio (v - a) / B, where it reaches
 * 0.99996 before the bound's 1% slack (a review of this module): the int8
 * approximation a is 0, the float32 value v about 0.005984. With the
 * threshold at exactly v, the value must be reported; a bound any smaller
 * than this one (norms in float, no slack: checked, 0.9999 B loses it)
 * would lose it. */
static int note_hit(void *ctx, int row, int col, float v, float *thr)
{
    (void)row, (void)col, (void)thr;
    *(float *)ctx = v;
    return 0;
}

static void test_tight_pair(void)
{
    if (!scan8_available()) {
        test_skip("no avx512 VNNI");
        return;
    }
    const int K = 2;
    float x[2] = {-0x1.ea9b8ep-2f, -0x1.ee5f2cp-10f}, g[2] = {-0x1.99196cp-8f, -0x1.965258p+0f};
    packed P;
    pack_both(&P, x, 1, g, 1, K);
    float v = 0, thr = -INFINITY;
    gemm_scan(P.xp, 1, &P.W, &thr, note_hit, &v, P.work); /* v: gemm's value */
    CHECK(v > 0.00598f && v < 0.00599f);
    float got = NAN;
    thr = v;
    CHECK_EQ_INT(scan8_packed(&P, 1, &thr, note_hit, &got), 0);
    CHECK_MSG(got == v, "the tight pair was %s", isnan(got) ? "missed" : "reported with other bits");
    packed_free(&P);
}

/* Vectors that cannot be bounded are refused; the block is marked. */
static void test_refusals(void)
{
    float v[2 * 8] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t x8[64 * 4];
    int8_t w8[64 * 2 * 4];
    scan8_vec st[16];
    CHECK_EQ_INT(scan8_pack_rows(x8, st, v, 8, 2, 8), 0);
    CHECK(st[0].scale > 0 && st[0].norm >= sqrtf(204.0f) && st[0].enorm >= 0);
    v[3] = NAN;
    CHECK_EQ_INT(scan8_pack_rows(x8, st, v, 8, 2, 8), -1);
    v[3] = INFINITY;
    CHECK_EQ_INT(scan8_pack_rows(x8, st, v, 8, 2, 8), -1);
    v[3] = 1e30f;
    CHECK_EQ_INT(scan8_pack_rows(x8, st, v, 8, 2, 8), -1);
    scan8_limits lim;
    scan8_limits_init(&lim);
    scan8_pack_panel(w8, 0, st, &lim, v, 8, 2, 8);
    CHECK(!lim.ok);
    v[3] = 4;
    scan8_limits_init(&lim);
    scan8_pack_panel(w8, 0, st, &lim, v, 8, 2, 8);
    CHECK(lim.ok && lim.norm >= st[1].norm && lim.enorm >= st[0].enorm);
}

/* quantize's AVX-512 version (the one the int8 path runs) against its
 * portable reference (scan8_force_off selects it): the same bytes and
 * scale and sum for every length around the 16-lane steps, and norms that
 * differ by at most one float step (their sums run in another order). */
static void test_quantize_versions(void)
{
    if (!scan8_available()) {
        test_skip("no avx512 VNNI: only the portable quantisation runs here");
        return;
    }
    static const int lens[] = {1, 3, 15, 16, 17, 31, 32, 33, 100, 512, 513, 768};
    unsigned long long r = 12345;
    float x[768];
    uint8_t a8[64 * 768], b8[64 * 768];
    scan8_vec sa[1], sb[1];
    int bad = 0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int K = lens[li];
        for (int rep = 0; rep < 20; rep++) {
            for (int k = 0; k < K; k++) x[k] = (float)((test_rand_unit(&r) * 2 - 1) * (rep % 3 ? 1.0 : 1e-3));
            if (rep == 5) x[K / 2] = 0.0f;
            if (rep == 6) x[0] = -0.0f;
            CHECK_EQ_INT(scan8_pack_rows(a8, sa, x, (size_t)K, 1, K), 0);
            scan8_force_off(1);
            CHECK_EQ_INT(scan8_pack_rows(b8, sb, x, (size_t)K, 1, K), 0);
            scan8_force_off(0);
            if (memcmp(a8, b8, scan8_rows_bytes(1, K)) != 0 || sa[0].scale != sb[0].scale ||
                sa[0].sum != sb[0].sum || sa[0].qnorm != sb[0].qnorm ||
                fabsf(sa[0].norm - sb[0].norm) > nextafterf(sb[0].norm, INFINITY) - sb[0].norm ||
                fabsf(sa[0].enorm - sb[0].enorm) > nextafterf(sb[0].enorm, INFINITY) - sb[0].enorm) {
                if (bad++ < 3) fprintf(stderr, "  K %d rep %d: versions differ\n", K, rep);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    RUN(test_refusals);
    RUN(test_quantize_versions);
    RUN(test_same_hits_as_gemm_scan);
    RUN(test_complete_at_threshold);
    RUN(test_tight_pair);
    RUN(test_filters);
    return test_summary();
}
