/* fuzz_head.c — the head loader (config.json + model.safetensors) on
 * arbitrary bytes: the input is split at its first NUL into the two files.
 * Must never crash, leak or read out of bounds; errors are fine. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nn/head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t clen = nul ? (size_t)(nul - data) : size;
    const uint8_t *st = nul ? nul + 1 : data + size;
    size_t slen = size - clen - (nul ? 1 : 0);
    head h;
    mm_error err;
    if (head_parse(&h, (const char *)data, clen, "config.json", st, slen, "model.safetensors", &err) == 0) head_free(&h);
    return 0;
}
