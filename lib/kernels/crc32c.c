/* crc32c.c — see crc32c.h.
 *
 * The SSE4.2 crc32 instruction has a latency of 3 cycles and a throughput of
 * one per cycle, so a single dependent chain runs at a third of the speed the
 * unit allows. Long inputs are therefore cut into rounds of three equal
 * lanes whose CRCs are computed interleaved (three independent chains); the
 * lanes are then joined with the "shift by L zero bytes" operator: the raw
 * CRC register is linear over GF(2) in (state, data), so
 *     crc(A || B) = shift_len(B)(crc(A)) xor crc_from_zero_state(B),
 * and shift_L is a fixed linear map of the 32-bit state, applied with four
 * 256-entry tables (built once from the 32 images of the unit vectors).
 * Two lane sizes: LONG for bulk data, SHORT for the remainder and for
 * record-sized calls. The table version is the reference the unit test
 * compares against (mm_crc32c_table).
 */
#include "kernels/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t byte_table[256];
static pthread_once_t byte_table_once = PTHREAD_ONCE_INIT;

static void build_byte_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        byte_table[i] = c;
    }
}

uint32_t mm_crc32c_table(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    pthread_once(&byte_table_once, build_byte_table);
    crc = ~crc;
    while (n--) crc = byte_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ---- joining checksums -------------------------------------------------------
 * The raw register (before the final inversion) after appending n zero bytes
 * is a linear function Z_n of the register before; with the inversions,
 * crc(A || B) = Z_|B|(crc(A)) xor crc(B). Z_1 comes from the byte table;
 * Z_n by squaring. */
static uint32_t op_apply(const uint32_t op[32], uint32_t x)
{
    uint32_t r = 0;
    for (int j = 0; x; j++, x >>= 1)
        if (x & 1) r ^= op[j];
    return r;
}

void mm_crc32c_zeros_op(uint32_t op[32], uint64_t n)
{
    pthread_once(&byte_table_once, build_byte_table);
    uint32_t base[32], tmp[32];
    for (int j = 0; j < 32; j++) {
        uint32_t s = (uint32_t)1 << j;
        base[j] = byte_table[s & 0xffu] ^ (s >> 8); /* one zero byte */
        op[j] = s;                                  /* identity */
    }
    while (n) {
        if (n & 1) {
            for (int j = 0; j < 32; j++) tmp[j] = op_apply(base, op[j]);
            memcpy(op, tmp, sizeof tmp);
        }
        n >>= 1;
        if (n) {
            for (int j = 0; j < 32; j++) tmp[j] = op_apply(base, base[j]);
            memcpy(base, tmp, sizeof tmp);
        }
    }
}

uint32_t mm_crc32c_combine_op(const uint32_t op[32], uint32_t crc_a, uint32_t crc_b)
{
    return op_apply(op, crc_a) ^ crc_b;
}

uint32_t mm_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    uint32_t op[32];
    mm_crc32c_zeros_op(op, len_b);
    return mm_crc32c_combine_op(op, crc_a, crc_b);
}

#if defined(__SSE4_2__)
#include <nmmintrin.h>

enum { LONG_LANE = 8192, SHORT_LANE = 256 };

/* shift[t][i][b]: the register after L(t) zero bytes, starting from b << 8i. */
static uint32_t shift_tab[2][4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static void build_shift_tables(void)
{
    static const size_t lane[2] = {LONG_LANE, SHORT_LANE};
    for (int t = 0; t < 2; t++) {
        uint32_t unit[32]; /* unit[j]: the register after `lane` zero bytes from bit j alone */
        mm_crc32c_zeros_op(unit, lane[t]);
        for (int i = 0; i < 4; i++)
            for (uint32_t b = 0; b < 256; b++) {
                uint32_t v = 0;
                for (int k = 0; k < 8; k++)
                    if (b >> k & 1) v ^= unit[8 * i + k];
                shift_tab[t][i][b] = v;
            }
    }
}

static inline uint32_t shift(int t, uint32_t x)
{
    return shift_tab[t][0][x & 0xff] ^ shift_tab[t][1][(x >> 8) & 0xff] ^
           shift_tab[t][2][(x >> 16) & 0xff] ^ shift_tab[t][3][x >> 24];
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Rounds of 3 lanes of `lane` bytes while they fit; returns the register. */
static inline uint32_t rounds(int t, size_t lane, uint32_t c, const unsigned char **pp, size_t *np)
{
    const unsigned char *p = *pp;
    size_t n = *np;
    while (n >= 3 * lane) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        const unsigned char *a = p, *b = p + lane, *d = p + 2 * lane;
        for (size_t i = 0; i < lane; i += 8) {
            c0 = _mm_crc32_u64(c0, load64(a + i));
            c1 = _mm_crc32_u64(c1, load64(b + i));
            c2 = _mm_crc32_u64(c2, load64(d + i));
        }
        c = shift(t, shift(t, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * lane;
        n -= 3 * lane;
    }
    *pp = p;
    *np = n;
    return c;
}

uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    if (n >= 3 * SHORT_LANE) {
        pthread_once(&shift_once, build_shift_tables);
        c = rounds(0, LONG_LANE, c, &p, &n);
        c = rounds(1, SHORT_LANE, c, &p, &n);
    }
    uint64_t c64 = c;
    while (n >= 8) {
        c64 = _mm_crc32_u64(c64, load64(p));
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--) c = _mm_crc32_u8(c, *p++);
    return ~c;
}

#else

uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n)
{
    return mm_crc32c_table(crc, data, n);
}
#endif
