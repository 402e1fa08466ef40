/* test_adamw.c — AdamW against the update written out by hand, and the
 * warm-up + cosine schedule at its corners. */
#include "test.h"

#include <string.h>

#include "kernels/cpu.h"
#include "nn/adamw.h"

static void test_step(void)
{
    adamw o;
    adamw_init(&o, 2, 0.9f, 0.999f, 1e-8f, 0.1f);
    float p[2] = {1, -2}, g[2] = {0.5f, -0.25f};
    unsigned char decay[2] = {1, 0};
    adamw_step(&o, p, g, decay, 0.01f);
    /* first step: m̂ = g, v̂ = g², so the Adam step is lr·sign(g) */
    CHECK_NEAR(p[0], 1 * (1 - 0.01 * 0.1) - 0.01, 1e-6);
    CHECK_NEAR(p[1], -2 + 0.01, 1e-6);
    adamw_step(&o, p, g, decay, 0.01f);
    double m = 0.9 * 0.05 + 0.1 * 0.5, v = 0.999 * 0.00025 + 0.001 * 0.25;
    double mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
    double want = (1 * 0.999 - 0.01) * 0.999 - 0.01 * mh / (sqrt(vh) + 1e-8);
    CHECK_NEAR(p[0], want, 1e-6);
    adamw_free(&o);
}

static void test_schedule(void)
{
    CHECK_NEAR(lr_schedule(1, 0, 4, 14), 0.25, 1e-7);
    CHECK_NEAR(lr_schedule(1, 3, 4, 14), 1, 1e-7);
    CHECK_NEAR(lr_schedule(1, 4, 4, 14), 1, 1e-7);
    CHECK_NEAR(lr_schedule(1, 9, 4, 14), 0.5, 1e-6);
    CHECK_NEAR(lr_schedule(2, 0, 0, 10), 2, 1e-7);
}

/* Every kernel level gives the portable loop's bits (kernels/adamw_body.h):
 * n not a multiple of any vector width, a decay mask with gaps, weight
 * decay on and off, values over many magnitudes. */
static void run_steps(float *p, size_t n, const unsigned char *decay, float wd)
{
    adamw o;
    adamw_init(&o, n, 0.9f, 0.999f, 1e-8f, wd);
    float *g = malloc(n * sizeof *g);
    unsigned s = 12345;
    for (int step = 0; step < 7; step++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            g[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 << (s % 13)) * 1e-3f;
        }
        adamw_step(&o, p, g, decay, 0.01f * (float)(step + 1));
    }
    free(g);
    adamw_free(&o);
}

static void test_levels_same_bits(void)
{
    enum { N = 1000 + 13 };
    static float ref[2][N], got[N];
    unsigned char decay[N];
    for (size_t i = 0; i < N; i++) decay[i] = (unsigned char)(i % 7 != 3 && i % 11 != 0);
    cpu_isa was = cpu_isa_active();
    for (int isa = 0; isa < CPU_ISA_COUNT; isa++) {
        if (cpu_use((cpu_isa)isa) != 0) {
            printf("# SKIP level %s: not run by this CPU\n", cpu_isa_name((cpu_isa)isa));
            continue;
        }
        for (int w = 0; w < 2; w++) {
            float *p = isa == CPU_ISA_GENERIC ? ref[w] : got;
            for (size_t i = 0; i < N; i++) p[i] = (float)((int)(i % 17) - 8) * 0.125f;
            run_steps(p, N, w ? decay : NULL, w ? 0.1f : 0);
            if (isa != CPU_ISA_GENERIC)
                CHECK_MSG(memcmp(got, ref[w], sizeof got) == 0, "level %s, weight decay %d: bits differ from generic",
                          cpu_isa_name((cpu_isa)isa), w);
        }
    }
    cpu_use(was);
}

int main(void)
{
    RUN(test_levels_same_bits);
    RUN(test_step);
    RUN(test_schedule);
    return test_summary();
}
