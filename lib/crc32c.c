/* crc32c.c — see crc32c.h. */
#include "crc32c.h"

#include <string.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>

uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c64 = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    uint32_t c = (uint32_t)c64;
    while (n--) c = _mm_crc32_u8(c, *p++);
    return ~c;
}

#else
#include <pthread.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        table[i] = c;
    }
}

uint32_t mm_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    pthread_once(&table_once, build_table);
    crc = ~crc;
    while (n--) crc = table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}
#endif
