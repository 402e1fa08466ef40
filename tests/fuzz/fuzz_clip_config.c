/* fuzz_clip_config.c — libFuzzer harness for config.json parsing
 * (clip_config_parse): any accepted config must describe a model the
 * engine can size without overflow. */
#include <stdint.h>
#include <stdlib.h>

#include "nn/clip_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clip_config c;
    mm_error err;
    if (clip_config_parse((const char *)data, size, "fuzz/config.json", &c, &err) != 0) return 0;
    const clip_tower_config *t[2] = {&c.text.tower, &c.vision.tower};
    for (int i = 0; i < 2; i++)
        if (t[i]->hidden < 1 || t[i]->heads < 1 || t[i]->hidden % t[i]->heads || t[i]->layers < 1 ||
            t[i]->intermediate < 1 || !(t[i]->ln_eps > 0) || !t[i]->act)
            abort();
    if (c.vision.patch_size < 1 || c.vision.image_size % c.vision.patch_size || clip_vision_tokens(&c.vision) < 2 ||
        c.projection_dim < 1 || c.text.max_positions < 1 || c.text.vocab_size < 1)
        abort();
    return 0;
}
