/* fuzz_safetensors.c — libFuzzer harness for the safetensors header parser
 * and validator (st_parse), plus conversion of every accepted floating
 * tensor, so that a header the validator lets through cannot make the
 * loader read outside the buffer. */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mm_error err;
    safetensors *st = st_parse(data, size, "fuzz.safetensors", &err);
    if (!st) return 0;
    for (size_t i = 0; i < st_count(st); i++) {
        const st_tensor *t = st_at(st, i);
        if (st_find(st, t->name) != t) abort();
        if (t->dtype == ST_I64 || t->count > (1u << 20)) continue;
        float *f = malloc((t->count ? t->count : 1) * sizeof(float));
        if (f && st_to_f32(t, f, &err) != 0) abort();
        free(f);
    }
    st_metadata(st, "format");
    st_close(st);
    return 0;
}
