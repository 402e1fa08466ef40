/* thumb.h — thumbnails for the report's gallery, as JPEG data.
 *
 * Owns: the set of image files a report shows, each decoded once (lib/image,
 * with libjpeg's DCT scaling as long as the longer side stays at least
 * the thumbnail size; on the program's -t threads), resized with Pillow's
 * bicubic filter (lib/image/resample)
 * so that the longer side is at most `size` pixels, and encoded with
 * libjpeg-turbo into memory. Paths are collected first, then sorted and made
 * unique, so that an image shown by many queries is decoded once and the
 * lookup is a binary search. A file that cannot be decoded keeps its reason,
 * which the page shows in a placeholder.
 *
 * The size budget: the page holds every distinct thumbnail once, as base64.
 * When their total would pass `budget` bytes, all are encoded again a step
 * down a fixed ladder (quality 60, then 45, then the longer side at 5/6, 2/3
 * and 1/2 of `size` at quality 45, then quality 30), the same step for
 * every image, until the total fits or the ladder ends. Photos with much
 * detail need ~2.5 kB each at 96 px and quality 75, flat images a fifth of
 * that, so one setting cannot hold both to a page size.
 */
#ifndef MM_REPORT_THUMB_H
#define MM_REPORT_THUMB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/pool.h"

typedef struct report_thumb {
    char *path;
    uint8_t *jpeg; /* NULL when the file could not be used */
    size_t jpeg_len;
    int width, height;
    char *why;     /* reason when jpeg is NULL */
    uint8_t *rgb;  /* the first step's pixels, until the ladder is done */
    int rgb_w, rgb_h;
} report_thumb;

typedef struct report_thumbs {
    report_thumb *t;
    size_t count, cap;
    int size;      /* longest side, pixels */
    int quality;   /* JPEG quality 1..100 */
    size_t budget; /* base64 bytes of all thumbnails; 0 = no limit */
    int built;
    /* after build: the ladder step used, and the base64 total */
    int used_size, used_quality;
    size_t total_b64;
} report_thumbs;

void report_thumbs_init(report_thumbs *ts, int size, int quality, size_t budget);
/* Adds a path to make a thumbnail of (duplicates are fine). */
void report_thumbs_add(report_thumbs *ts, const char *path);
/* Decodes, resizes and encodes every path once, the files shared out among
 * the pool's threads (NULL: the caller's only). Failures of single files
 * are recorded, not returned; returns 0. */
int report_thumbs_build(report_thumbs *ts, mm_pool *pool);
/* The thumbnail of path (after build), or NULL if it was never added. */
const report_thumb *report_thumbs_find(const report_thumbs *ts, const char *path);
void report_thumbs_free(report_thumbs *ts);

/* Encodes an RGB image (w*h*3) as a baseline JPEG into *out (malloc'd).
 * Returns 0, or -1 with err. */
int report_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **out,
                       size_t *out_len, mm_error *err);

#endif
