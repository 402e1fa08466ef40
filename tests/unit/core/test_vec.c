/* test_vec.c — the one L2 rule (lib/core/vec.c): normalising twice changes
 * nothing, byte for byte, for vectors of every size and scale; the first
 * pass is the documented formula; zero and non-finite vectors are refused. */
#include <stdint.h>

#include "core/vec.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void test_idempotent(void)
{
    static const size_t dims[] = {1, 2, 3, 16, 64, 255, 512, 768, 1024, 4096};
    int changed = 0, total = 0;
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
        size_t n = dims[d];
        float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
        for (int rep = 0; rep < 2000; rep++) {
            double scale = rep % 3 == 0 ? 1e-3 : rep % 3 == 1 ? 1.0 : 1e3;
            for (size_t i = 0; i < n; i++) v[i] = (float)((uniform() * 2 - 1) * scale);
            CHECK(vec_l2_normalize(v, n));
            memcpy(w, v, n * sizeof *v);
            CHECK(vec_l2_normalize(w, n));
            changed += memcmp(v, w, n * sizeof *v) != 0;
            total++;
        }
        free(v);
        free(w);
    }
    CHECK_MSG(changed == 0, "%d of %d normalised vectors changed when normalised again", changed, total);
}

static void test_formula(void)
{
    float v[3] = {3.0f, 4.0f, 12.0f}; /* norm 13 */
    CHECK(vec_l2_normalize(v, 3));
    float inv = (float)(1.0 / 13.0);
    CHECK(v[0] == 3.0f * inv && v[1] == 4.0f * inv && v[2] == 12.0f * inv);
    float rows[6] = {0, 0, 0, 0, 2, 0};
    vec_l2_normalize_rows(rows, 2, 3);
    CHECK(rows[0] == 0 && rows[1] == 0 && rows[2] == 0); /* the zero row stays zero */
    CHECK(rows[3] == 0 && rows[4] == 1.0f && rows[5] == 0);
    double d[2] = {0.6 * 5, 0.8 * 5};
    CHECK(vec_l2_normalize_f64(d, 2));
    CHECK(fabs(d[0] - 0.6) < 1e-15 && fabs(d[1] - 0.8) < 1e-15);
}

static void test_refusals(void)
{
    float z[4] = {0};
    CHECK(!vec_l2_normalize(z, 4));
    CHECK(z[0] == 0 && z[3] == 0);
    float big[2] = {3e38f, 3e38f}; /* the sum of squares is finite in double */
    CHECK(vec_l2_normalize(big, 2));
    float inf[2] = {INFINITY, 1.0f};
    CHECK(!vec_l2_normalize(inf, 2));
    CHECK(isinf(inf[0]) && inf[1] == 1.0f);
    float nan[2] = {NAN, 1.0f};
    CHECK(!vec_l2_normalize(nan, 2));
    double dz[2] = {0, 0};
    CHECK(!vec_l2_normalize_f64(dz, 2));
    CHECK(!vec_l2_normalize(NULL, 0));
}

int main(void)
{
    RUN(test_idempotent);
    RUN(test_formula);
    RUN(test_refusals);
    return test_summary();
}
