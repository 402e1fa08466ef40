/* half.h — IEEE 754 binary16 (f16) and bfloat16 (bf16) <-> float32.
 *
 * Owns the conversions used by the feature format (f16 storage), the
 * safetensors loader (F16/BF16 weights) and .npy interop. f32 -> f16 rounds
 * to nearest even, handles subnormals, overflows to infinity and keeps NaN a
 * NaN; the bulk functions use F16C instructions when the compiler targets them.
 */
#ifndef MM_HALF_H
#define MM_HALF_H

#include <stddef.h>
#include <stdint.h>

float mm_f16_to_f32(uint16_t h);
uint16_t mm_f32_to_f16(float f);
float mm_bf16_to_f32(uint16_t b);
/* f32 -> bf16, round to nearest even; NaN stays a quiet NaN. */
uint16_t mm_f32_to_bf16(float f);

void mm_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);
void mm_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
void mm_bf16_to_f32_n(const uint16_t *src, float *dst, size_t n);

#endif
