/* crc32c.h — CRC-32C (Castagnoli), the checksum of MMF segments.
 *
 * Chosen over CRC-32 because x86-64 (SSE4.2) and ARMv8 compute it in
 * hardware, so checking 2 GB of features costs well under a second (three
 * interleaved lanes: about 0.1 s). The portable table fallback gives
 * identical values.
 */
#ifndef MM_CRC32C_H
#define MM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a running checksum: crc = mm_crc32c(crc, data, n), starting from 0. */
uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n);

/* The same function, byte-wise with a table: the portable fallback and the
 * reference the hardware path (three interleaved lanes) is tested against. */
uint32_t mm_crc32c_table(uint32_t crc, const void *data, size_t n);

/* Joining checksums computed apart: crc(A || B) from crc(A), crc(B) (both
 * from 0) and the length of B. The operator "append n zero bytes" is a
 * 32 x 32 bit matrix (op[j] = the image of bit j); mm_crc32c_zeros_op()
 * builds it in log2(n) squarings, mm_crc32c_combine_op() applies it. */
void mm_crc32c_zeros_op(uint32_t op[32], uint64_t n);
uint32_t mm_crc32c_combine_op(const uint32_t op[32], uint32_t crc_a, uint32_t crc_b);
uint32_t mm_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

#endif
