/* vec.c — see vec.h. */
#include "core/vec.h"

#include <math.h>

bool vec_l2_normalize(float *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    if (!(s > 0.0) || !isfinite(s)) return false;
    if (fabs(s - 1.0) <= VEC_UNIT_SLACK) return true;
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < n; i++) v[i] *= inv;
    return true;
}

void vec_l2_normalize_rows(float *x, size_t rows, size_t dim)
{
    for (size_t r = 0; r < rows; r++) vec_l2_normalize(x + r * dim, dim);
}

bool vec_l2_normalize_f64(double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i] * v[i];
    if (!(s > 0.0) || !isfinite(s)) return false;
    if (fabs(s - 1.0) <= VEC_UNIT_SLACK) return true;
    double inv = 1.0 / sqrt(s);
    for (size_t i = 0; i < n; i++) v[i] *= inv;
    return true;
}
