/* test_crc32c.c — CRC-32C against published vectors and a bitwise reference.
 *
 * The library uses SSE4.2 when the compiler targets it and a table otherwise;
 * the bitwise reference below is independent of both, so whichever path was
 * built is checked against the definition (reflected polynomial 0x82F63B78,
 * initial value and final xor 0xFFFFFFFF).
 */
#include "kernels/crc32c.h"
#include "test.h"

#include <stdint.h>

static uint32_t ref_crc32c(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_known_vectors(void)
{
    CHECK_EQ_INT(mm_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_INT(mm_crc32c(0, "", 0), 0);
    CHECK_EQ_INT(mm_crc32c(0, "a", 1), 0xC1D04330u);
    /* RFC 3720 (iSCSI) appendix B.4 */
    unsigned char buf[48];
    memset(buf, 0, 32);
    CHECK_EQ_INT(mm_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    CHECK_EQ_INT(mm_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
    CHECK_EQ_INT(mm_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
    CHECK_EQ_INT(mm_crc32c(0, buf, 32), 0x113FDB5Cu);
    static const unsigned char iscsi_read[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    CHECK_EQ_INT(mm_crc32c(0, iscsi_read, 48), 0xD9963A56u);
}

/* Every length 0..300 at every alignment 0..7 against the reference. */
static void test_against_reference(void)
{
    unsigned char data[320];
    unsigned long long rng = 42;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)test_rand_u64(&rng);
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 308; n++)
            if (mm_crc32c(0, data + off, n) != ref_crc32c(data + off, n)) bad++;
    CHECK_EQ_INT(bad, 0);
}

/* crc(a ++ b) == crc(crc(a), b) for every split point, in 1, 2 and 3 pieces. */
static void test_incremental_equals_one_shot(void)
{
    unsigned char data[200];
    unsigned long long rng = 7;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)test_rand_u64(&rng);
    uint32_t whole = mm_crc32c(0, data, sizeof data);
    int bad = 0;
    for (size_t a = 0; a <= sizeof data; a++) {
        uint32_t c = mm_crc32c(0, data, a);
        if (mm_crc32c(c, data + a, sizeof data - a) != whole) bad++;
    }
    for (size_t a = 0; a <= sizeof data; a += 7)
        for (size_t b = a; b <= sizeof data; b += 5) {
            uint32_t c = mm_crc32c(0, data, a);
            c = mm_crc32c(c, data + a, b - a);
            if (mm_crc32c(c, data + b, sizeof data - b) != whole) bad++;
        }
    /* byte at a time */
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof data; i++) c = mm_crc32c(c, data + i, 1);
    CHECK_EQ_INT(c, whole);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(mm_crc32c(0x12345678u, data, 0), 0x12345678u); /* empty continuation */
}

/* A larger buffer (the 8-byte hardware loop) and every single-bit flip of a
 * small one is detected. */
static void test_large_and_bit_flips(void)
{
    static unsigned char big[1 << 20];
    unsigned long long rng = 99;
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)test_rand_u64(&rng);
    CHECK_EQ_INT(mm_crc32c(0, big, sizeof big), ref_crc32c(big, sizeof big));
    unsigned char s[64];
    memcpy(s, big, sizeof s);
    uint32_t orig = mm_crc32c(0, s, sizeof s);
    int undetected = 0;
    for (size_t i = 0; i < sizeof s * 8; i++) {
        s[i / 8] ^= (unsigned char)(1u << (i % 8));
        if (mm_crc32c(0, s, sizeof s) == orig) undetected++;
        s[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    CHECK_EQ_INT(undetected, 0);
}

/* The hardware path cuts long inputs into rounds of 3 lanes of 8192 and of
 * 256 bytes and joins them with shift tables: every length around each lane
 * boundary, at every alignment, from a non-zero running value, against both
 * the bitwise reference and the table version (mm_crc32c_table). */
static void test_interleaved_lanes(void)
{
    static unsigned char data[4 * 3 * 8192 + 64];
    unsigned long long rng = 2026;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)test_rand_u64(&rng);
    static const size_t around[] = {3 * 256, 2 * 3 * 256, 3 * 8192, 3 * 8192 + 3 * 256,
                                    2 * 3 * 8192, 4 * 3 * 8192};
    int bad = 0, checked = 0;
    for (size_t a = 0; a < sizeof around / sizeof *around; a++)
        for (size_t off = 0; off < 8; off++)
            for (long d = -17; d <= 17; d++) {
                size_t n = (size_t)((long)around[a] + d);
                if (off + n > sizeof data) continue;
                uint32_t want = ref_crc32c(data + off, n);
                if (mm_crc32c(0, data + off, n) != want) bad++;
                if (mm_crc32c_table(0, data + off, n) != want) bad++;
                /* continuing from a running value */
                uint32_t c = mm_crc32c(0, data, off);
                if (mm_crc32c(c, data + off, n) != ref_crc32c(data, off + n)) bad++;
                checked++;
            }
    CHECK(checked > 1000);
    CHECK_EQ_INT(bad, 0);
    /* random lengths and splits of the whole buffer */
    uint32_t whole = ref_crc32c(data, sizeof data);
    CHECK_EQ_INT(mm_crc32c(0, data, sizeof data), whole);
    CHECK_EQ_INT(mm_crc32c_table(0, data, sizeof data), whole);
    for (int i = 0; i < 200; i++) {
        size_t cut = (size_t)(test_rand_u64(&rng) % sizeof data);
        uint32_t c = mm_crc32c(0, data, cut);
        if (mm_crc32c(c, data + cut, sizeof data - cut) != whole) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* crc(A || B) from crc(A), crc(B) and |B|, for lengths from 0 to a few MB. */
static void test_combine(void)
{
    static unsigned char data[3 << 20];
    unsigned long long rng = 77;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)test_rand_u64(&rng);
    int bad = 0;
    for (int t = 0; t < 300; t++) {
        size_t a = (size_t)(test_rand_u64(&rng) % (t < 100 ? 40 : sizeof data));
        size_t b = (size_t)(test_rand_u64(&rng) % (sizeof data - a + 1));
        if (t % 50 == 0) b = 0;
        uint32_t ca = mm_crc32c(0, data, a), cb = mm_crc32c(0, data + a, b);
        if (mm_crc32c_combine(ca, cb, b) != mm_crc32c(0, data, a + b)) bad++;
        uint32_t op[32];
        mm_crc32c_zeros_op(op, b);
        if (mm_crc32c_combine_op(op, ca, cb) != mm_crc32c_table(0, data, a + b)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* three pieces of 1 MiB joined with one operator */
    uint32_t op[32];
    mm_crc32c_zeros_op(op, 1 << 20);
    uint32_t c = mm_crc32c(0, data, 1 << 20);
    for (int i = 1; i < 3; i++) c = mm_crc32c_combine_op(op, c, mm_crc32c(0, data + ((size_t)i << 20), 1 << 20));
    CHECK_EQ_INT(c, mm_crc32c(0, data, sizeof data));
}

int main(void)
{
    RUN(test_known_vectors);
    RUN(test_against_reference);
    RUN(test_incremental_equals_one_shot);
    RUN(test_large_and_bit_flips);
    RUN(test_interleaved_lanes);
    RUN(test_combine);
    return test_summary();
}
