/* resample.h — CLIP image preprocessing, bit-exact with Pillow + HF
 * CLIPImageProcessor (slow/PIL path).
 *
 * Owns: the preprocessing parameters, Pillow's BICUBIC resize
 * (libImaging/Resample.c: separable, horizontal pass first, Keys cubic
 * a = -0.5 with the support widened by the downscale factor, coefficients in
 * double normalised to sum 1, then fixed point with PRECISION_BITS = 22,
 * a 1<<21 rounding bias, clamping to uint8 after each pass), HF's
 * shortest-edge output size (long side truncated), the floor centre crop
 * (zero padding when the crop is larger than the image, as HF does), and
 * rescale + normalise into float32 CHW pixel_values in HF's order:
 * (float)(v * (double)rescale_factor), then (x - mean_f32) / std_f32 in float.
 *
 * Only the pixels that survive the crop are computed: each output pixel of
 * Pillow's resize depends only on its own coefficients, so resizing the crop
 * window alone gives the same bytes as resizing everything and cropping.
 *
 * See ../shared/ref/clip/README.md, "Preprocessing".
 */
#ifndef MM_RESAMPLE_H
#define MM_RESAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define PREPROCESS_BICUBIC 3 /* PIL.Image.BICUBIC; the only resample supported */

typedef struct preprocess_params {
    bool do_resize;         /* true */
    int shortest_edge;      /* 224; > 0: short side to this, long side truncated */
    int resize_height;      /* 0; with resize_width and shortest_edge 0: exact size */
    int resize_width;       /* 0 */
    int resample;           /* 3 (BICUBIC) */
    bool do_center_crop;    /* true */
    int crop_height;        /* 224 */
    int crop_width;         /* 224 */
    bool do_rescale;        /* true */
    double rescale_factor;  /* 1/255 (a double, as the Python float) */
    bool do_normalize;      /* true */
    float mean[3];          /* OpenAI CLIP: 0.48145466 0.4578275 0.40821073 */
    float std[3];           /*              0.26862954 0.26130258 0.27577711 */
} preprocess_params;

/* CLIP defaults (CLIPImageProcessor()) with size and crop = image_size. */
void preprocess_params_default(preprocess_params *p, int image_size);

/* HF get_resize_output_image_size: the size Pillow resizes to. */
void preprocess_resize_size(const preprocess_params *p, int in_w, int in_h, int *out_w,
                            int *out_h);
/* Size of pixel_values for an input of in_w x in_h (the crop size when
 * cropping, else the resized size). */
void preprocess_output_size(const preprocess_params *p, int in_w, int in_h, int *out_w,
                            int *out_h);

/* Per-thread scratch: cached coefficient tables (keyed by geometry) and the
 * intermediate buffers. Zero-initialise; preprocess_scratch_free at the end. */
typedef struct preprocess_scratch {
    struct resample_axis *hcache, *vcache;
    uint8_t *tmp;        /* horizontal-pass rows */
    size_t tmp_cap;
    uint8_t *cols;       /* source block, column-major (horizontal pass) */
    size_t cols_cap;
    uint8_t *cols_out;   /* horizontal-pass result, column-major */
    size_t cols_out_cap;
    uint8_t *crop;       /* resized + cropped uint8 HWC when the caller gives none */
    size_t crop_cap;
    int32_t *acc;        /* vertical-pass accumulators */
    size_t acc_cap;
    float lut[3][256];   /* rescale+normalise per channel and value */
    preprocess_params lut_params;
    bool lut_valid;
} preprocess_scratch;

void preprocess_scratch_free(preprocess_scratch *s);

/* Resize (Pillow BICUBIC) + centre crop of an RGB uint8 image (row-major,
 * in_w*in_h*3) into out (out_w*out_h*3, sizes from preprocess_output_size). */
int preprocess_resize_crop(const preprocess_params *p, const uint8_t *rgb, int in_w, int in_h,
                           preprocess_scratch *s, uint8_t *out, mm_error *err);

/* uint8 HWC (w*h*3) -> float32 CHW pixel_values (3*h*w): rescale, normalise. */
void preprocess_normalize(const preprocess_params *p, const uint8_t *hwc, int w, int h,
                          preprocess_scratch *s, float *chw);

/* Both steps. crop_out (optional, w*h*3) receives the uint8 image before
 * rescaling; pixel_values (optional) the float32 CHW tensor. */
int preprocess_image(const preprocess_params *p, const uint8_t *rgb, int in_w, int in_h,
                     preprocess_scratch *s, uint8_t *crop_out, float *pixel_values,
                     mm_error *err);

/* Pillow's plain resize of an RGB uint8 image to out_w x out_h (BICUBIC,
 * whole image, no crop) — for tests and callers that need the full resize.
 * s (optional) is kept between calls: a caller resizing many images of the
 * same size reuses its weights and buffers instead of allocating, and
 * faulting in, new ones per image. NULL: a scratch for this call only. */
int resample_bicubic_rgb(const uint8_t *rgb, int in_w, int in_h, uint8_t *out, int out_w,
                         int out_h, preprocess_scratch *s, mm_error *err);

#endif
