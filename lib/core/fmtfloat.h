/* fmtfloat.h — exact, fast decimal formatting of float32 values.
 *
 * Owns: printing a float the way printf's "%.<P>g" prints the same value
 * converted to double, byte for byte, for P = 1..9 and every float (finite
 * values by exact integer arithmetic, inf/nan through snprintf), and a small
 * unsigned-integer formatter. mm-rank writes hundreds of thousands of scores
 * per run; snprintf("%.9g") was the largest cost after the GEMM.
 *
 * How: a finite float is m · 2^e with m < 2^24. The decimal exponent X of
 * the %e form is estimated from the binary exponent and corrected by one
 * comparison; the P significant digits are floor(m · 2^e · 10^(P-1-X))
 * computed exactly in 64/128/192-bit integers, then rounded half to even on
 * the exact remainder, as glibc does in the default rounding mode (a carry
 * to 10^P bumps X, which is the exponent %g's style choice uses). Then C's
 * %g rules: style f with precision P-1-X when -4 <= X < P, else style e with
 * a signed exponent of at least two digits; trailing zeros and a bare
 * decimal point are removed. Checked against snprintf on millions of random
 * bit patterns and the edge cases, for every P (tests/unit/test_fmtfloat.c),
 * and once on all 2^32 bit patterns for P = 9 against glibc's printf
 * (2026-11-29, a throwaway 2-thread program, about 25 CPU-minutes):
 * 4294967296 checked, 0 mismatches.
 */
#ifndef MM_FMTFLOAT_H
#define MM_FMTFLOAT_H

#include <stddef.h>
#include <stdint.h>

/* Longest output plus NUL: "-1.23456789e-38" is 15 characters. */
#define MM_FMT_FLOAT_MAX 24

/* Writes printf("%.*g", prec, (double)f) into out (MM_FMT_FLOAT_MAX bytes),
 * NUL-terminated; returns its length. prec outside 1..9 (and inf/nan) go
 * through snprintf itself, so the result is always printf's. */
size_t mm_fmt_float_g(char *out, float f, int prec);

/* Writes the decimal digits of v (no sign, no padding) into out (at least
 * 21 bytes), NUL-terminated; returns the length. */
size_t mm_fmt_u64(char *out, uint64_t v);

#endif
