/* fmtfloat.c — see fmtfloat.h. */
#include "core/fmtfloat.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

/* 5^0 .. 5^27 (5^27 < 2^64 < 5^28) and 10^0 .. 10^10. */
static const uint64_t POW5[28] = {
    1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull, 1953125ull,
    9765625ull, 48828125ull, 244140625ull, 1220703125ull, 6103515625ull, 30517578125ull,
    152587890625ull, 762939453125ull, 3814697265625ull, 19073486328125ull, 95367431640625ull,
    476837158203125ull, 2384185791015625ull, 11920928955078125ull, 59604644775390625ull,
    298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull,
};
static const uint64_t POW10[11] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull,
};

/* 5^n as a 128-bit integer, n <= 55. */
static u128 pow5(int n)
{
    return n <= 27 ? (u128)POW5[n] : (u128)POW5[27] * POW5[n - 27];
}

/* How a discarded remainder compares with half of the divisor. */
enum { REM_ZERO, REM_BELOW_HALF, REM_HALF, REM_ABOVE_HALF };

static int cmp_half_u128(u128 rem, u128 half)
{
    if (rem == 0) return REM_ZERO;
    return rem < half ? REM_BELOW_HALF : rem == half ? REM_HALF : REM_ABOVE_HALF;
}

/* floor(m · 2^e · 10^s) and how the remainder compares with one half. The
 * caller guarantees the result is below 10^11 (it is about 10^(P-1) .. 10^P
 * for the s it asks about). */
static uint64_t scale(uint32_t m, int e, int s, int *rem)
{
    int t = e + s; /* m · 2^e · 10^s = m · 5^s · 2^t */
    if (s >= 0) {
        if (t >= 0) {
            *rem = REM_ZERO;
            return (uint64_t)(((u128)m * POW5[s]) << t); /* s small here: the value is < 10^11 */
        }
        int sh = -t;
        if (s <= 44) {
            /* m · 5^s < 2^24 · 2^103 fits 128 bits */
            u128 num = (u128)m * pow5(s);
            if (sh >= 128) {
                *rem = num == 0 ? REM_ZERO : REM_BELOW_HALF;
                return 0;
            }
            u128 low = num & (((u128)1 << sh) - 1);
            *rem = cmp_half_u128(low, (u128)1 << (sh - 1));
            return (uint64_t)(num >> sh);
        }
        /* Only for values below about 1e-36: m · 5^s needs up to 152 bits.
         * Three 64-bit limbs r2:r1:r0 = (m · 5^27) · 5^(s-27). */
        u128 a = (u128)m * POW5[27];
        uint64_t b = POW5[s - 27];
        u128 p0 = (u128)(uint64_t)a * b;
        u128 p1 = (u128)(uint64_t)(a >> 64) * b + (p0 >> 64);
        uint64_t r[3] = {(uint64_t)p0, (uint64_t)p1, (uint64_t)(p1 >> 64)};
        /* quotient: bits sh .. sh+63; remainder: bits 0 .. sh-1 */
        uint64_t q = 0;
        for (int i = 0; i < 64; i++) {
            int bit = sh + i;
            if (bit < 192 && ((r[bit / 64] >> (bit % 64)) & 1)) q |= (uint64_t)1 << i;
        }
        int hb = sh - 1;
        bool half_bit = hb < 192 && ((r[hb / 64] >> (hb % 64)) & 1);
        bool below = false; /* any bit under the half bit */
        for (int w = 0; w < 3 && w * 64 < hb; w++) {
            int n = hb - w * 64; /* bits of this limb below hb */
            uint64_t mask = n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
            if (r[w] & mask) below = true;
        }
        *rem = half_bit ? (below ? REM_ABOVE_HALF : REM_HALF) : (below ? REM_BELOW_HALF : REM_ZERO);
        return q;
    }
    /* s < 0: m · 2^e / 10^-s = (m · 2^max(t,0)) / (5^-s · 2^max(-t,0)) */
    int k = -s; /* <= 45 for a float and P >= 1 */
    u128 num = (u128)m << (t > 0 ? t : 0);
    u128 den = pow5(k) << (t < 0 ? -t : 0);
    u128 q = num / den, r = num % den;
    /* r < den < 2^127: 2r does not overflow */
    *rem = r == 0 ? REM_ZERO : 2 * r < den ? REM_BELOW_HALF : 2 * r == den ? REM_HALF : REM_ABOVE_HALF;
    return (uint64_t)q;
}

static char *put_digits(char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

size_t mm_fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return (size_t)n;
}

size_t mm_fmt_float_g(char *out, float f, int prec)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint32_t bexp = (bits >> 23) & 0xffu, frac = bits & 0x7fffffu;
    if (prec < 1 || prec > 9 || bexp == 0xffu) {
        int n = snprintf(out, MM_FMT_FLOAT_MAX, "%.*g", prec, (double)f);
        return n < 0 ? 0 : (size_t)n;
    }
    char *p = out;
    if (bits >> 31) *p++ = '-';
    if (bexp == 0 && frac == 0) {
        *p++ = '0';
        *p = 0;
        return (size_t)(p - out);
    }
    uint32_t m = bexp ? frac | 0x800000u : frac;
    int e = bexp ? (int)bexp - 150 : -149;
    int e2 = e + 31 - __builtin_clz(m); /* 2^e2 <= value < 2^(e2+1) */
    /* floor(e2 · log10 2) (78913 / 2^18 ~ log10 2); the decimal exponent X
     * is this or one more, and the loops below settle it exactly. */
    int X = (e2 * 78913) >> 18;
    int P = prec;
    int rem;
    uint64_t q = scale(m, e, P - 1 - X, &rem);
    /* X is right when the truncated digits number exactly P */
    while (q >= POW10[P]) {
        X++;
        q = scale(m, e, P - 1 - X, &rem);
    }
    while (q < POW10[P - 1]) {
        X--;
        q = scale(m, e, P - 1 - X, &rem);
    }
    if (rem == REM_ABOVE_HALF || (rem == REM_HALF && (q & 1))) q++;
    if (q == POW10[P]) {
        q = POW10[P - 1];
        X++;
    }
    char d[10];
    put_digits(d, q, P);
    int nd = P; /* significant digits left after dropping trailing zeros */
    while (nd > 1 && d[nd - 1] == '0') nd--;
    if (X >= -4 && X < P) {
        if (X >= 0) {
            /* X+1 integer digits (all within the P significant ones) */
            memcpy(p, d, (size_t)X + 1);
            p += X + 1;
            if (nd > X + 1) {
                *p++ = '.';
                memcpy(p, d + X + 1, (size_t)(nd - X - 1));
                p += nd - X - 1;
            }
        } else {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -X - 1; i++) *p++ = '0';
            memcpy(p, d, (size_t)nd);
            p += nd;
        }
    } else {
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)nd - 1);
            p += nd - 1;
        }
        *p++ = 'e';
        int x = X;
        if (x < 0) {
            *p++ = '-';
            x = -x;
        } else {
            *p++ = '+';
        }
        if (x >= 100) *p++ = (char)('0' + x / 100);
        *p++ = (char)('0' + x / 10 % 10);
        *p++ = (char)('0' + x % 10);
    }
    *p = 0;
    return (size_t)(p - out);
}
