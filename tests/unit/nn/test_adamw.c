/* test_adamw.c — AdamW against the update written out by hand, and the
 * warm-up + cosine schedule at its corners. */
#include "test.h"

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

int main(void)
{
    RUN(test_step);
    RUN(test_schedule);
    return test_summary();
}
