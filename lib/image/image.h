/* image.h — decoding JPEG and PNG files into 8-bit RGB, the way Pillow's
 * Image.open(...).convert("RGB") does.
 *
 * Owns: format detection from the leading bytes (never from the file name),
 * JPEG decoding with libjpeg-turbo, PNG decoding with libpng, conversion of
 * every supported colour model to interleaved RGB (row-major, 3 bytes per
 * pixel), the EXIF orientation tag (parsed always, applied only on request),
 * and the decompression-bomb limit (checked from the header, before any pixel
 * buffer is allocated).
 *
 * What "as Pillow does" means, case by case:
 *   JPEG 1 component      grey, replicated into R=G=B
 *   JPEG 3 components     libjpeg's YCbCr/RGB -> RGB (ISLOW IDCT, fancy upsampling)
 *   JPEG 4 components     CMYK or YCCK (libjpeg converts YCCK to CMYK); the values are
 *                         inverted as Adobe/Photoshop store them (Pillow's "CMYK;I",
 *                         applied whether or not an APP14 marker is present), then
 *                         Pillow's cmyk2rgb: R = 255-K' - (C'*(255-K'))/255 (rounded)
 *   PNG palette (+tRNS)   palette expanded, transparency dropped
 *   PNG grey 1/2/4/8 bit  scaled to 0..255 by bit replication, replicated to RGB
 *   PNG grey+alpha, RGBA  alpha dropped, NOT composited: the stored colour shows
 *   PNG 16-bit            v -> round(v/257). Pillow differs here: it keeps the high
 *                         byte of 16-bit RGB/RGBA/LA (equal to round(v/257) whenever
 *                         v = 257*w, otherwise up to 1 lower), and it opens 16-bit grey
 *                         as mode "I" and clips to 255 on convert("RGB"), which turns
 *                         every value >= 255 (i.e. almost every pixel) white.
 *   Interlaced PNGs are supported. PNG ancillary-chunk warnings are ignored, as
 *   Pillow ignores them; critical errors (bad CRC in IDAT, truncation) fail.
 *
 * Errors (never printed): "NAME: reason", kinds MM_ERR_TRUNCATED (file ends
 * early), MM_ERR_MALFORMED (corrupt data), MM_ERR_UNSUPPORTED (GIF, WebP, ...,
 * or a colour model we do not handle), MM_ERR_LIMIT (too many pixels),
 * MM_ERR_IO, MM_ERR_NOMEM. libjpeg warnings (e.g. "premature end of data
 * segment", "extraneous bytes before marker") are errors unless `lenient`.
 */
#ifndef MM_IMAGE_H
#define MM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Default decompression-bomb limit: 100 megapixels (--max-pixels). */
#define IMAGE_DEFAULT_MAX_PIXELS 100000000ULL
/* Progressive JPEGs with more scans than this are refused (a known libjpeg
 * CPU-exhaustion pattern; real encoders write ~10). */
#define IMAGE_MAX_JPEG_SCANS 500

enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_PNG,
};

typedef struct image_decode_opts {
    uint64_t max_pixels;  /* refuse width*height above this; 0 = no limit */
    bool lenient;         /* libjpeg warnings are not errors */
    bool exif_rotate;     /* apply the EXIF orientation (JPEG APP1, PNG eXIf) */
    /* Fast path, 0 = off (exact). When > 0, a JPEG is decoded with libjpeg's
     * DCT-domain scaling (1/2, 1/4, 1/8) as long as both sides stay >= this
     * many pixels, e.g. the model's resize size. Changes the pixels. */
    int jpeg_scale_min_side;
    /* With the fast path: the bound applies to the longer side only (a
     * thumbnail whose longer side is jpeg_scale_min_side needs no more). */
    bool jpeg_scale_long_side;
} image_decode_opts;

/* Fills the defaults: 100 MP limit, strict, no rotation, no fast path. */
void image_decode_opts_init(image_decode_opts *o);

/* A decoded image. The buffers are reused by the next decode into the same
 * struct (zero-initialise it before first use; image_free at the end), so
 * that a worker decoding thousands of files does not allocate per image. */
typedef struct mm_image {
    int width, height;       /* after orientation, if applied */
    int src_width, src_height; /* as stored in the file (before DCT scaling) */
    int format;              /* enum image_format */
    int orientation;         /* EXIF orientation 1..8 (1 when absent) */
    uint8_t *rgb;            /* width*height*3, row-major */
    size_t rgb_cap;
    uint8_t *file_buf;       /* image_decode_file's read buffer */
    size_t file_cap;
    uint8_t *tmp;            /* scratch (CMYK rows, rotation) */
    size_t tmp_cap;
} mm_image;

void image_free(mm_image *img);

/* Format from the leading bytes. *name (if not NULL) gets a short name for
 * messages also for formats we recognise but do not decode ("gif", "webp",
 * "bmp", "tiff", ...) or NULL when nothing is recognised. */
int image_sniff(const void *data, size_t size, const char **name);

/* Decodes data[0..size) into img. `name` is used in messages ("PATH: reason"). */
int image_decode_mem(const void *data, size_t size, const char *name,
                     const image_decode_opts *opts, mm_image *img, mm_error *err);

/* Reads the whole file (into img->file_buf) and decodes it. */
int image_decode_file(const char *path, const image_decode_opts *opts, mm_image *img,
                      mm_error *err);

/* EXIF orientation from a TIFF-structured EXIF block (starting at "II*\0"
 * or "MM\0*", or at "Exif\0\0" followed by it). Returns 1..8, or 1 when the
 * tag is absent, out of range or the block is malformed. */
int image_exif_orientation(const uint8_t *data, size_t size);

/* Applies orientation o (1..8, as PIL.ImageOps.exif_transpose) to img in
 * place (the buffer may be swapped with the scratch buffer). */
int image_apply_orientation(mm_image *img, int o, mm_error *err);

#endif
