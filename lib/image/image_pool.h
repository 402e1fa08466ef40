/* image_pool.h — decode + preprocess images on the program's threads, ahead
 * of the consumer, delivered in input order.
 *
 * Owns: one task per image on the program's lib/core/pool (so decoding and
 * the model share the same -t threads: a worker decodes when the model has
 * no part for it), the bounded window of finished items (memory is
 * O(window x tensor size), not O(inputs)), per-thread decode/resample
 * scratch buffers (reused across images), and in-order delivery. A consumer
 * waiting for its next image decodes queued images itself meanwhile.
 *
 *   image_pool *pool = image_pool_start(paths, n, &cfg, &err);
 *   const image_pool_item *it;
 *   while ((it = image_pool_next(pool))) {
 *       if (!it->ok) { report it->err.msg; continue or stop; }
 *       use it->pixel_values (3 x it->height x it->width float32, CHW)
 *       and/or it->crop_uint8 (it->height x it->width x 3)
 *   }   // an item stays valid until the next image_pool_next call
 *   image_pool_stop(pool);
 *
 * image_pool_start, _next and _stop are called by the pool's owner thread.
 * Stopping early (after an error) is allowed: image_pool_stop cancels the
 * images not started and waits for those under way.
 */
#ifndef MM_IMAGE_POOL_H
#define MM_IMAGE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/pool.h"
#include "image/image.h"
#include "image/resample.h"

typedef struct image_pool_config {
    mm_pool *pool;            /* the threads to decode on; NULL = the consumer's */
    int window;               /* items decoded ahead; 0 = 4 x the pool's threads */
    image_decode_opts decode;
    preprocess_params prep;
    bool want_pixel_values;   /* float32 CHW */
    bool want_crop_uint8;     /* resized + cropped uint8 HWC */
    bool want_decoded;        /* the decoded RGB image itself (HWC) */
} image_pool_config;

typedef struct image_pool_item {
    size_t index;             /* position in the input list */
    const char *path;
    bool ok;
    mm_error err;             /* when !ok: "PATH: reason" */
    int width, height;        /* of pixel_values / crop_uint8 */
    int src_width, src_height; /* decoded image (after orientation) */
    float *pixel_values;
    uint8_t *crop_uint8;
    uint8_t *decoded;         /* src_width x src_height x 3 when want_decoded */
} image_pool_item;

typedef struct image_pool image_pool;

/* paths must stay valid until image_pool_stop. */
image_pool *image_pool_start(const char *const *paths, size_t n, const image_pool_config *cfg,
                             mm_error *err);
/* Next item in input order (blocks until it is ready); NULL after the last. */
const image_pool_item *image_pool_next(image_pool *pool);
void image_pool_stop(image_pool *pool);

/* One image, synchronously, with caller-owned scratch (what a worker does). */
typedef struct image_worker_state {
    mm_image img;
    preprocess_scratch prep;
} image_worker_state;
void image_worker_state_free(image_worker_state *w);
int image_process_file(const char *path, const image_decode_opts *dopts,
                       const preprocess_params *prep, image_worker_state *w,
                       uint8_t *crop_uint8, float *pixel_values, mm_error *err);

#endif
