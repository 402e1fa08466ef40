/* test_ops.c — lib/nn/ops.h on every kernel level this CPU runs (generic,
 * avx2, avx512): activations (quick-GELU, GELU, tanh-GELU), softmax and
 * layer norm, mm-train's GELU backward and softmax's log-sum-exp against a
 * double-precision reference, each level within
 * tolerance of the others, and each value's result independent of where
 * it sits (row splits, tails of fewer than 8 or 16 values). avx512 runs
 * the bodies 16 lanes at a time in the 8-lane code's steps and order
 * (kernels/ops_body.h), so the two must agree bit for bit. */
#include "test.h"

#include <stdint.h>

#include "kernels/cpu.h"
#include "nn/clip_config.h"
#include "nn/ops.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static float rnd(float scale) { return (float)((test_rand_unit(&rng) * 2.0 - 1.0) * scale); }

static double act_ref(double x, int act)
{
    switch (act) {
    case CLIP_ACT_QUICK_GELU: return x / (1.0 + exp(-1.702 * x));
    case CLIP_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    }
}

/* The widths the engine uses and the awkward ones around the lane counts. */
static const int widths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 50, 77, 257, 768, 1024};
#define NW ((int)(sizeof widths / sizeof widths[0]))
#define MAXW 1024
#define ROWS 3

typedef struct outputs { /* one level's results, for comparing levels */
    float act[3][NW][ROWS * MAXW], soft[NW][MAXW], ln[NW][ROWS * MAXW], dgelu[NW][ROWS * MAXW], lse[NW];
} outputs;

static float in_act[NW][ROWS * MAXW], in_soft[NW][MAXW], in_ln[NW][ROWS * MAXW], gam[MAXW], bet[MAXW];

static void make_inputs(void)
{
    for (int s = 0; s < NW; s++) {
        for (int i = 0; i < ROWS * MAXW; i++) in_act[s][i] = rnd(6.0f), in_ln[s][i] = rnd(3.0f) + 0.5f;
        for (int i = 0; i < MAXW; i++) in_soft[s][i] = rnd(20.0f);
    }
    for (int i = 0; i < MAXW; i++) gam[i] = rnd(2.0f), bet[i] = rnd(1.0f);
    in_act[0][0] = 0.0f, in_act[1][0] = -0.0f, in_act[2][1] = -30.0f, in_act[3][2] = 30.0f; /* ends of the range */
}

/* Runs every op on the active level into o; counts reference misses. */
static int run_level(outputs *o)
{
    int bad = 0;
    for (int a = 0; a < 3; a++)
        for (int s = 0; s < NW; s++) {
            int w = widths[s];
            float *y = o->act[a][s];
            memcpy(y, in_act[s], sizeof(float) * ROWS * w);
            ops_activate(y, ROWS, w, CLIP_ACT_QUICK_GELU + a);
            for (int i = 0; i < ROWS * w; i++) {
                double want = act_ref(in_act[s][i], CLIP_ACT_QUICK_GELU + a);
                if (!(fabs(y[i] - want) <= 1e-6 + 2e-6 * fabs(want))) {
                    if (bad++ < 3) fprintf(stderr, "  act %d w %d [%d]: %.9g want %.9g\n", a, w, i, y[i], want);
                }
            }
            /* one row at a time: the same bits (no dependence on the split) */
            float z[MAXW];
            for (int r = 0; r < ROWS; r++) {
                memcpy(z, in_act[s] + r * w, sizeof(float) * w);
                ops_activate(z, 1, w, CLIP_ACT_QUICK_GELU + a);
                if (memcmp(z, y + r * w, sizeof(float) * w) != 0 && bad++ < 3)
                    fprintf(stderr, "  act %d w %d row %d: differs when run alone\n", a, w, r);
            }
        }
    for (int s = 0; s < NW; s++) {
        int w = widths[s];
        float *x = o->soft[s];
        memcpy(x, in_soft[s], sizeof(float) * w);
        o->lse[s] = ops_softmax_lse(x, w);
        double m = -INFINITY, sum = 0;
        for (int i = 0; i < w; i++) m = fmax(m, in_soft[s][i]);
        for (int i = 0; i < w; i++) sum += exp(in_soft[s][i] - m);
        if (!(fabs(o->lse[s] - (m + log(sum))) <= 2e-6 * (1 + fabs(m))) && bad++ < 3)
            fprintf(stderr, "  softmax w %d: log-sum-exp %.9g want %.9g\n", w, o->lse[s], m + log(sum));
        for (int i = 0; i < w; i++) {
            double want = exp(in_soft[s][i] - m) / sum;
            if (!(fabs(x[i] - want) <= 1e-7 + 1e-5 * want) && bad++ < 3)
                fprintf(stderr, "  softmax w %d [%d]: %.9g want %.9g\n", w, i, x[i], want);
        }
    }
    for (int s = 0; s < NW; s++) {
        int w = widths[s];
        float *y = o->ln[s];
        ops_layernorm(y, in_ln[s], gam, bet, ROWS, w, 1e-5f);
        for (int r = 0; r < ROWS; r++) {
            const float *xr = in_ln[s] + r * w;
            double mean = 0, var = 0;
            for (int i = 0; i < w; i++) mean += xr[i];
            mean /= w;
            for (int i = 0; i < w; i++) var += (xr[i] - mean) * (xr[i] - mean);
            var /= w;
            for (int i = 0; i < w; i++) {
                double want = (xr[i] - mean) / sqrt(var + 1e-5) * gam[i] + bet[i];
                if (!(fabs(y[r * w + i] - want) <= 2e-5 * (1 + fabs(want))) && bad++ < 3)
                    fprintf(stderr, "  layernorm w %d row %d [%d]: %.9g want %.9g\n", w, r, i, y[r * w + i], want);
            }
        }
        float z[ROWS * MAXW]; /* in place, as the engine calls it */
        memcpy(z, in_ln[s], sizeof(float) * ROWS * w);
        ops_layernorm(z, z, gam, bet, ROWS, w, 1e-5f);
        if (memcmp(z, y, sizeof(float) * ROWS * w) != 0 && bad++ < 3)
            fprintf(stderr, "  layernorm w %d: in place differs\n", w);
    }
    for (int s = 0; s < NW; s++) { /* dx += dy * GELU'(x), dx starting non-zero */
        int w = widths[s];
        float *dx = o->dgelu[s], dy[ROWS * MAXW];
        for (int i = 0; i < ROWS * w; i++) dx[i] = 0.25f, dy[i] = in_ln[s][i];
        ops_gelu_backward(dx, in_act[s], dy, (size_t)ROWS * w);
        for (int i = 0; i < ROWS * w; i++) {
            double x = in_act[s][i];
            double want = 0.25 + dy[i] * (0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI));
            if (!(fabs(dx[i] - want) <= 2e-6 * (1 + fabs(want))) && bad++ < 3)
                fprintf(stderr, "  gelu backward w %d [%d]: %.9g want %.9g\n", w, i, dx[i], want);
        }
        float z[ROWS * MAXW]; /* the forward through ops_gelu is the activation's */
        ops_gelu(z, in_act[s], (size_t)ROWS * w);
        if (memcmp(z, o->act[CLIP_ACT_GELU - CLIP_ACT_QUICK_GELU][s], sizeof(float) * ROWS * w) != 0 && bad++ < 3)
            fprintf(stderr, "  ops_gelu w %d: differs from ops_activate\n", w);
    }
    return bad;
}

static outputs levels[CPU_ISA_COUNT];

/* Largest |a - b| over two levels' outputs, relative to 1 + |a|. */
static double max_diff(const outputs *a, const outputs *b)
{
    const float *pa = (const float *)a, *pb = (const float *)b;
    double d = 0;
    /* a plain compare: fmax in this loop crashed gcc 12 for aarch64 (vectoriser ICE) */
    for (size_t i = 0; i < sizeof *a / sizeof(float); i++) {
        double v = fabs(pa[i] - pb[i]) / (1 + fabs(pa[i]));
        if (v > d) d = v;
    }
    return d;
}

static void test_levels(void)
{
    cpu_isa was = cpu_isa_active();
    make_inputs();
    int ran[CPU_ISA_COUNT] = {0};
    for (int isa = 0; isa < CPU_ISA_COUNT; isa++) {
        if (cpu_use((cpu_isa)isa) != 0) {
            printf("# level %s: not run by this CPU\n", cpu_isa_name((cpu_isa)isa));
            continue;
        }
        memset(&levels[isa], 0, sizeof levels[isa]);
        int bad = run_level(&levels[isa]);
        CHECK_MSG(bad == 0, "level %s: %d values off the reference", cpu_isa_name((cpu_isa)isa), bad);
        ran[isa] = 1;
    }
    for (int isa = 1; isa < CPU_ISA_COUNT; isa++)
        if (ran[isa]) {
            double d = max_diff(&levels[CPU_ISA_GENERIC], &levels[isa]);
            printf("# %s vs generic: largest difference %.3g (relative to 1 + |value|)\n", cpu_isa_name((cpu_isa)isa), d);
            CHECK_MSG(d <= 4e-6, "%s vs generic: %g", cpu_isa_name((cpu_isa)isa), d);
        }
    cpu_use(was);
}

static void test_avx512_same_bits_as_avx2(void)
{
    if (!cpu_isa_supported(CPU_ISA_AVX512)) {
        test_skip("no avx512");
        return;
    }
    CHECK(memcmp(&levels[CPU_ISA_AVX2], &levels[CPU_ISA_AVX512], sizeof levels[0]) == 0);
}

int main(void)
{
    RUN(test_levels);
    RUN(test_avx512_same_bits_as_avx2);
    return test_summary();
}
