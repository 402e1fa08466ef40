/* fuzz_image.c — libFuzzer harness for image decoding + CLIP preprocessing
 * (lib/image/image.h, lib/image/resample.h): any input must decode to an image that then
 * preprocesses, or fail with a message; never a crash, leak, hang or
 * sanitizer report. The first input byte picks options (lenient, EXIF
 * rotation, the DCT-scaling fast path) so that every decoder path is reached.
 *   make fuzz
 *   mkdir -p /tmp/fuzz-image && cp ../shared/data/dev/images/d-i00[0-9][0-9].* /tmp/fuzz-image/
 *   build-fuzz/fuzz_image -max_total_time=600 -rss_limit_mb=2048 /tmp/fuzz-image
 * (seed corpus: the dev images; not committed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/resample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mm_image img;              /* buffers reused, as in a worker */
    static preprocess_scratch scratch;
    static uint8_t crop[64 * 64 * 3];
    static float pv[3 * 64 * 64];
    if (size < 1) return 0;
    uint8_t flags = data[0];
    /* Keep the seeds valid: an option byte is only taken from inputs that do
     * not already start like an image. */
    if (flags == 0xFF || flags == 0x89) flags = 0;
    else {
        data++;
        size--;
    }
    image_decode_opts o;
    image_decode_opts_init(&o);
    o.max_pixels = 4u << 20; /* keeps single inputs fast and small */
    o.lenient = flags & 1;
    o.exif_rotate = (flags >> 1) & 1;
    o.jpeg_scale_min_side = (flags >> 2) & 1 ? 32 : 0;
    mm_error err = {0};
    if (image_decode_mem(data, size, "fuzz", &o, &img, &err) != 0) {
        if (err.msg[0] == 0) __builtin_trap();
        return 0;
    }
    if (img.width <= 0 || img.height <= 0) __builtin_trap();
    preprocess_params p;
    preprocess_params_default(&p, 48);
    p.crop_width = 40 + (flags >> 3 & 3) * 8; /* 40..64: sometimes wider than the resize */
    p.crop_height = 48;
    if ((flags >> 5) & 1) p.do_resize = false, p.crop_width = p.crop_height = 64;
    if (preprocess_image(&p, img.rgb, img.width, img.height, &scratch, crop, pv, &err) != 0 &&
        err.msg[0] == 0)
        __builtin_trap();
    return 0;
}
