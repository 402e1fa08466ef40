/* vec.h — the vector arithmetic every module shares: one L2 rule.
 *
 * Owns how mmkit makes a vector unit length, so that the embedder, mm-rank's
 * cosine, mm-fuse and mm-convert agree bit for bit: the sum of squares in
 * double, then every element times the float32 factor (float)(1/sqrt(s)).
 * A vector whose squared norm is already 1 up to float32 rounding
 * (|s - 1| <= VEC_UNIT_SLACK) is left exactly as it is, so that normalising
 * an mmkit embedding again is a no-op, byte for byte. (Without that slack,
 * the rounding of the first pass leaves s a few ulps off 1 and the second
 * pass would move ~6% of the values by one ulp.)
 */
#ifndef MM_VEC_H
#define MM_VEC_H

#include <stdbool.h>
#include <stddef.h>

/* The rounding of v[i] * inv (2^-24 relative each) and of inv itself moves
 * the squared norm of a normalised vector by at most ~4 * 2^-24; twice that. */
#define VEC_UNIT_SLACK (8.0 / 16777216.0)

/* Scales v[0..n) to unit length as above; false (v unchanged) for a vector
 * of norm 0 or one with a non-finite sum of squares. */
bool vec_l2_normalize(float *v, size_t n);
/* The same for each of `rows` rows of `dim` floats. */
void vec_l2_normalize_rows(float *x, size_t rows, size_t dim);
/* The same rule in double, for accumulators (mm-fuse's fused vectors). */
bool vec_l2_normalize_f64(double *v, size_t n);

#endif
