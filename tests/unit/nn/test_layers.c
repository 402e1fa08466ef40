/* test_layers.c — every backward of lib/nn/layers against central finite
 * differences, in float64: layers_body.h is compiled here for double, so
 * the check is of the same code the library runs in float32 (whose own
 * results are then compared with the double ones). */
#include "test.h"

#include <math.h>
#include <stddef.h>

#include "nn/layers.h"

#define LREAL double
#define LFN(name) name##_f64
#define LAPI static inline
#define LEXP exp
#define LLOG log
#define LSQRT sqrt
#define LERF erf
#define LFABS fabs
#include "nn/layers_body.h"

static unsigned long long seed = 0x1234567ULL;
static double rnd(void) { return 2 * test_rand_unit(&seed) - 1; }
static void fill(double *x, size_t n, double s)
{
    for (size_t i = 0; i < n; i++) x[i] = s * rnd();
}

/* The scalar each test differentiates: set by the test, reads the globals. */
static double (*loss_fn)(void);

/* Compares the analytic gradient g[n] of loss_fn with respect to x[n] with
 * (L(x+h) - L(x-h)) / 2h, element by element. */
static void check_grad(const char *what, double *x, const double *g, size_t n)
{
    const double h = 1e-5;
    int bad = 0;
    for (size_t i = 0; i < n && bad < 3; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = loss_fn();
        x[i] = keep - h;
        double lm = loss_fn();
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        double tol = 1e-7 * (1 + fabs(num) + fabs(g[i]));
        if (!(fabs(num - g[i]) <= tol)) {
            fprintf(stderr, "  %s[%zu]: analytic %.12g numeric %.12g\n", what, i, g[i], num);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s: gradient differs from finite differences", what);
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- linear ---------------------------------------------------------------*/
enum { LB = 3, LC = 5, LOC = 4 };
static double l_x[LB * LC], l_w[LOC * LC], l_b[LOC], l_r[LB * LOC], l_y[LB * LOC];
static double l_loss(void)
{
    linear_forward_f64(l_y, l_x, l_w, l_b, LB, LC, LOC);
    return dot(l_y, l_r, LB * LOC);
}
static void test_linear(void)
{
    fill(l_x, LB * LC, 1), fill(l_w, LOC * LC, 1), fill(l_b, LOC, 1), fill(l_r, LB * LOC, 1);
    double dx[LB * LC] = {0}, dw[LOC * LC] = {0}, db[LOC] = {0};
    l_loss();
    linear_backward_f64(dx, dw, db, l_r, l_x, l_w, LB, LC, LOC);
    loss_fn = l_loss;
    check_grad("linear dinp", l_x, dx, LB * LC);
    check_grad("linear dweight", l_w, dw, LOC * LC);
    check_grad("linear dbias", l_b, db, LOC);
    /* the float32 build agrees with the double one */
    float xf[LB * LC], wf[LOC * LC], bf[LOC], yf[LB * LOC];
    for (int i = 0; i < LB * LC; i++) xf[i] = (float)l_x[i];
    for (int i = 0; i < LOC * LC; i++) wf[i] = (float)l_w[i];
    for (int i = 0; i < LOC; i++) bf[i] = (float)l_b[i];
    linear_forward_ref(yf, xf, wf, bf, LB, LC, LOC);
    l_loss(); /* l_y of the unperturbed inputs */
    for (int i = 0; i < LB * LOC; i++) CHECK_NEAR(yf[i], l_y[i], 1e-5);
}

/* The GEMM path against the double loops on shapes that cut tiles, panels
 * and k slices unevenly; and the same bits on a pool of 1 and of 2 threads
 * (and with several products in a row through one exec's scratch). */
static int linear_gemm_case(int B, int C, int OC, nn_exec *ex1, nn_exec *ex2)
{
    size_t nx = (size_t)B * C, nw = (size_t)OC * C, ny = (size_t)B * OC;
    double *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(OC * sizeof *b);
    double *dy = malloc(ny * sizeof *dy), *y = malloc(ny * sizeof *y);
    double *dx = calloc(nx, sizeof *dx), *dw = calloc(nw, sizeof *dw), *db = calloc(OC, sizeof *db);
    fill(x, nx, 1), fill(w, nw, 1), fill(b, OC, 1), fill(dy, ny, 1);
    linear_forward_f64(y, x, w, b, B, C, OC);
    /* start the gradients from a non-zero value: the backward adds */
    for (size_t i = 0; i < nx; i++) dx[i] = 0.5;
    for (size_t i = 0; i < nw; i++) dw[i] = -0.25;
    for (int i = 0; i < OC; i++) db[i] = 1;
    linear_backward_f64(dx, dw, db, dy, x, w, B, C, OC);
    float *xf = malloc(nx * 4), *wf = malloc(nw * 4), *bf = malloc(OC * 4), *dyf = malloc(ny * 4);
    float *yf[2], *dxf[2], *dwf[2], *dbf[2];
    for (size_t i = 0; i < nx; i++) xf[i] = (float)x[i];
    for (size_t i = 0; i < nw; i++) wf[i] = (float)w[i];
    for (int i = 0; i < OC; i++) bf[i] = (float)b[i];
    for (size_t i = 0; i < ny; i++) dyf[i] = (float)dy[i];
    int bad = 0;
    for (int e = 0; e < 2; e++) {
        nn_exec *ex = e ? ex2 : ex1;
        yf[e] = malloc(ny * 4), dxf[e] = malloc(nx * 4), dwf[e] = malloc(nw * 4), dbf[e] = malloc(OC * 4);
        for (size_t i = 0; i < nx; i++) dxf[e][i] = 0.5f;
        for (size_t i = 0; i < nw; i++) dwf[e][i] = -0.25f;
        for (int i = 0; i < OC; i++) dbf[e][i] = 1;
        linear_forward(ex, yf[e], xf, wf, bf, B, C, OC);
        linear_backward(ex, dxf[e], dwf[e], dbf[e], dyf, xf, wf, B, C, OC);
        double tol = 1e-5 * (1 + sqrt((double)(C > B ? C : B)));
        for (size_t i = 0; i < ny; i++) bad += !(fabs(yf[e][i] - y[i]) <= tol * (1 + fabs(y[i])));
        for (size_t i = 0; i < nx; i++) bad += !(fabs(dxf[e][i] - dx[i]) <= tol * (1 + fabs(dx[i])));
        for (size_t i = 0; i < nw; i++) bad += !(fabs(dwf[e][i] - dw[i]) <= tol * (1 + fabs(dw[i])));
        for (int i = 0; i < OC; i++) bad += !(fabs(dbf[e][i] - db[i]) <= tol * (1 + fabs(db[i])));
    }
    bad += memcmp(yf[0], yf[1], ny * 4) != 0;
    bad += memcmp(dxf[0], dxf[1], nx * 4) != 0;
    bad += memcmp(dwf[0], dwf[1], nw * 4) != 0;
    bad += memcmp(dbf[0], dbf[1], (size_t)OC * 4) != 0;
    for (int e = 0; e < 2; e++) free(yf[e]), free(dxf[e]), free(dwf[e]), free(dbf[e]);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(xf), free(wf), free(bf), free(dyf);
    return bad;
}

static void test_linear_gemm(void)
{
    static const int shapes[][3] = {{3, 5, 4}, {1, 1, 1}, {37, 70, 45}, {256, 64, 33}, {300, 17, 260}, {7, 600, 2}};
    mm_pool *p2 = mm_pool_create(2);
    nn_exec ex1, ex2;
    nn_exec_init(&ex1, NULL);
    nn_exec_init(&ex2, p2);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int bad = linear_gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], &ex1, &ex2);
        CHECK_MSG(bad == 0, "linear %dx%dx%d: %d mismatches", shapes[s][0], shapes[s][1], shapes[s][2], bad);
    }
    nn_exec_free(&ex1);
    nn_exec_free(&ex2);
    mm_pool_free(p2);
}

/* ---- GELU -----------------------------------------------------------------*/
enum { GN = 12 };
static double g_x[GN], g_r[GN], g_y[GN];
static double g_loss(void)
{
    gelu_forward_f64(g_y, g_x, GN);
    return dot(g_y, g_r, GN);
}
static void test_gelu(void)
{
    fill(g_x, GN, 3), fill(g_r, GN, 1);
    double dx[GN] = {0};
    gelu_backward_f64(dx, g_x, g_r, GN);
    loss_fn = g_loss;
    check_grad("gelu", g_x, dx, GN);
    float xf = 1.5f, yf;
    gelu_forward(&yf, &xf, 1);
    CHECK_NEAR(yf, 1.5 * 0.5 * (1 + erf(1.5 / sqrt(2.0))), 1e-6);
}

/* ---- dropout --------------------------------------------------------------*/
static void test_dropout(void)
{
    enum { N = 1000 };
    float in[N], out[N], mask[N], u[N], d[N] = {0}, one[N];
    nn_rng r;
    nn_rng_seed(&r, 7, 1);
    for (int i = 0; i < N; i++) in[i] = 1, u[i] = nn_rng_uniform(&r), one[i] = 1;
    dropout_forward(out, mask, in, u, N, 0.25f);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        CHECK(out[i] == 0 || fabsf(out[i] - 4.0f / 3.0f) < 1e-6f);
        kept += out[i] != 0;
    }
    CHECK(kept > 700 && kept < 800);
    dropout_backward(d, mask, one, N);
    for (int i = 0; i < N; i++) CHECK(d[i] == mask[i]);
    dropout_forward(out, mask, in, u, N, 0);
    for (int i = 0; i < N; i++) CHECK(out[i] == 1);
}

/* ---- layer norm -----------------------------------------------------------*/
enum { NB = 3, NC = 6 };
static double n_x[NB * NC], n_w[NC], n_b[NC], n_r[NB * NC], n_y[NB * NC], n_m[NB], n_s[NB];
static double n_loss(void)
{
    layernorm_forward_f64(n_y, n_m, n_s, n_x, n_w, n_b, NB, NC, 1e-5);
    return dot(n_y, n_r, NB * NC);
}
static void test_layernorm(void)
{
    fill(n_x, NB * NC, 2), fill(n_w, NC, 1), fill(n_b, NC, 1), fill(n_r, NB * NC, 1);
    double dx[NB * NC] = {0}, dw[NC] = {0}, db[NC] = {0};
    n_loss();
    layernorm_backward_f64(dx, dw, db, n_r, n_x, n_w, n_m, n_s, NB, NC);
    loss_fn = n_loss;
    check_grad("layernorm dinp", n_x, dx, NB * NC);
    check_grad("layernorm dweight", n_w, dw, NC);
    check_grad("layernorm dbias", n_b, db, NC);
}

/* ---- softmax --------------------------------------------------------------*/
enum { SB = 2, SV = 5 };
static double s_x[SB * SV], s_r[SB * SV], s_y[SB * SV];
static double s_loss(void)
{
    softmax_forward_f64(s_y, s_x, SB, SV);
    return dot(s_y, s_r, SB * SV);
}
static void test_softmax(void)
{
    fill(s_x, SB * SV, 3), fill(s_r, SB * SV, 1);
    s_loss();
    double dx[SB * SV] = {0};
    softmax_backward_f64(dx, s_y, s_r, SB, SV);
    loss_fn = s_loss;
    check_grad("softmax", s_x, dx, SB * SV);
}

/* ---- softmax cross-entropy ------------------------------------------------*/
enum { CB = 4, CV = 6 };
static double c_x[CB * CV], c_p[CB * CV];
static int c_t[CB] = {2, 0, -1, 5}; /* row 2 is padding */
static double c_loss(void) { return 0.7 * crossentropy_forward_f64(c_p, c_x, c_t, CB, CV); }
static void test_crossentropy(void)
{
    fill(c_x, CB * CV, 4);
    c_loss();
    double dx[CB * CV] = {0};
    crossentropy_backward_f64(dx, c_p, c_t, CB, CV, 0.7);
    loss_fn = c_loss;
    check_grad("crossentropy", c_x, dx, CB * CV);
    for (int v = 0; v < CV; v++) CHECK(dx[2 * CV + v] == 0);
    /* a huge logit does not overflow: -log p of the target is finite */
    float big[3] = {1000, 0, -1000}, p[3];
    int t = 1;
    float l = crossentropy_forward(p, big, &t, 1, 3);
    CHECK_NEAR(l, 1000, 1e-3);
}

/* ---- sigmoid BCE ----------------------------------------------------------*/
enum { BN = 10 };
static double b_x[BN], b_t[BN];
static double b_loss(void) { return 1.3 * bce_forward_f64(b_x, b_t, BN); }
static void test_bce(void)
{
    fill(b_x, BN, 5);
    for (int i = 0; i < BN; i++) b_t[i] = i % 3 == 0;
    double dx[BN] = {0};
    bce_backward_f64(dx, b_x, b_t, BN, 1.3);
    loss_fn = b_loss;
    check_grad("bce", b_x, dx, BN);
    float x = -200, y = 1;
    CHECK_NEAR(bce_forward(&x, &y, 1), 200, 1e-3);
}

/* ---- MSE ------------------------------------------------------------------*/
static double m_x[BN], m_t[BN];
static double m_loss(void) { return mse_forward_f64(m_x, m_t, BN); }
static void test_mse(void)
{
    fill(m_x, BN, 2), fill(m_t, BN, 2);
    double dx[BN] = {0};
    mse_backward_f64(dx, m_x, m_t, BN, 1);
    loss_fn = m_loss;
    check_grad("mse", m_x, dx, BN);
}

/* ---- multi-head self-attention --------------------------------------------*/
enum { AB = 2, AT = 3, AC = 8, AH = 2 };
static double a_qkv[AB * AT * 3 * AC], a_r[AB * AT * AC], a_y[AB * AT * AC], a_att[AB * AH * AT * AT];
static double a_loss(void)
{
    attention_forward_f64(a_y, a_att, a_qkv, AB, AT, AC, AH);
    return dot(a_y, a_r, AB * AT * AC);
}
static void test_attention(void)
{
    fill(a_qkv, AB * AT * 3 * AC, 1.5), fill(a_r, AB * AT * AC, 1);
    a_loss();
    for (int row = 0; row < AB * AH * AT; row++) {
        double s = 0;
        for (int t = 0; t < AT; t++) s += a_att[row * AT + t];
        CHECK_NEAR(s, 1, 1e-12);
    }
    double d[AB * AT * 3 * AC] = {0};
    attention_backward_f64(d, a_r, a_qkv, a_att, AB, AT, AC, AH);
    loss_fn = a_loss;
    check_grad("attention dqkv", a_qkv, d, AB * AT * 3 * AC);
}

static void test_rng(void)
{
    nn_rng a, b;
    nn_rng_seed(&a, 42, 3);
    nn_rng_seed(&b, 42, 3);
    for (int i = 0; i < 100; i++) CHECK(nn_rng_u64(&a) == nn_rng_u64(&b));
    nn_rng_seed(&b, 42, 4);
    CHECK(nn_rng_u64(&a) != nn_rng_u64(&b));
    for (int i = 0; i < 1000; i++) {
        float u = nn_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        CHECK(nn_rng_below(&a, 7) < 7);
    }
}

int main(void)
{
    RUN(test_linear);
    RUN(test_linear_gemm);
    RUN(test_gelu);
    RUN(test_dropout);
    RUN(test_layernorm);
    RUN(test_softmax);
    RUN(test_crossentropy);
    RUN(test_bce);
    RUN(test_mse);
    RUN(test_attention);
    RUN(test_rng);
    return test_summary();
}
