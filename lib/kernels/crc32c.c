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

#include "kernels/cpu.h"

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

/* The SSE4.2 version (the comment above) is in crc32c_body.h, compiled by
 * lib/kernels/x86_avx2/; the table is the portable one. */
uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n)
{
    return cpu_kernels()->crc32c(crc, data, n);
}
