/* preprocess_config.c — see preprocess_config.h. */
#include "image/preprocess_config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_IMAGE_SIDE 65536 /* sanity bound for size/crop values */

static int get_bool(const char *path, json_t *root, const char *key, bool *out, mm_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\": expected true or false", path, key);
    *out = json_is_true(v);
    return 0;
}

static int get_side(const char *path, const char *key, json_t *v, int *out, mm_error *err)
{
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > MAX_IMAGE_SIDE)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\": expected an integer in 1..%d", path,
                       key, MAX_IMAGE_SIDE);
    *out = (int)json_integer_value(v);
    return 0;
}

/* size or crop_size: an int, {"shortest_edge": n} (size only) or
 * {"height": h, "width": w}. */
static int get_size(const char *path, json_t *root, const char *key, bool allow_shortest,
                    int *shortest, int *h, int *w, mm_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        int n;
        if (get_side(path, key, v, &n, err) != 0) return -1;
        if (allow_shortest) {
            *shortest = n; /* CLIP: get_size_dict(int, default_to_square=False) */
            *h = *w = 0;
        } else {
            *h = *w = n;
        }
        return 0;
    }
    if (json_is_object(v)) {
        json_t *se = json_object_get(v, "shortest_edge");
        json_t *hh = json_object_get(v, "height"), *ww = json_object_get(v, "width");
        if (se && allow_shortest) {
            char k[64];
            snprintf(k, sizeof k, "%s.shortest_edge", key);
            if (get_side(path, k, se, shortest, err) != 0) return -1;
            *h = *w = 0;
            return 0;
        }
        if (hh && ww) {
            char k[64];
            snprintf(k, sizeof k, "%s.height", key);
            if (get_side(path, k, hh, h, err) != 0) return -1;
            snprintf(k, sizeof k, "%s.width", key);
            if (get_side(path, k, ww, w, err) != 0) return -1;
            if (allow_shortest) *shortest = 0;
            return 0;
        }
    }
    return mm_fail(err, MM_ERR_MALFORMED,
                   "%s: \"%s\": expected an integer, {\"height\": h, \"width\": w}%s", path, key,
                   allow_shortest ? " or {\"shortest_edge\": n}" : "");
}

static int get_triple(const char *path, json_t *root, const char *key, float out[3], bool positive,
                      mm_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v) || json_array_size(v) != 3)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\": expected a list of 3 numbers", path, key);
    for (size_t i = 0; i < 3; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\"[%zu]: expected a number", path, key, i);
        /* The Python float, rounded to float32 as np.array(..., dtype=float32). */
        double d = json_number_value(x);
        if (positive && !(d > 0))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: \"%s\"[%zu]: must be > 0", path, key, i);
        out[i] = (float)d;
    }
    return 0;
}

int preprocess_config_read(const char *path, preprocess_params *p, mm_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (je.line <= 0 && access(path, R_OK) != 0)
            return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%d: %s", path, je.line, je.text);
    }
    int rc = -1;
    if (!json_is_object(root)) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: expected a JSON object", path);
        goto out;
    }
    if (get_bool(path, root, "do_resize", &p->do_resize, err) ||
        get_bool(path, root, "do_center_crop", &p->do_center_crop, err) ||
        get_bool(path, root, "do_rescale", &p->do_rescale, err) ||
        get_bool(path, root, "do_normalize", &p->do_normalize, err))
        goto out;
    if (get_size(path, root, "size", true, &p->shortest_edge, &p->resize_height,
                 &p->resize_width, err) ||
        get_size(path, root, "crop_size", false, NULL, &p->crop_height, &p->crop_width, err))
        goto out;
    json_t *rs = json_object_get(root, "resample");
    if (rs && !json_is_null(rs)) {
        if (!json_is_integer(rs)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: \"resample\": expected an integer", path);
            goto out;
        }
        if (json_integer_value(rs) != PREPROCESS_BICUBIC) {
            mm_fail(err, MM_ERR_UNSUPPORTED,
                    "%s: \"resample\": %lld is not supported; supported: 3 (BICUBIC)", path,
                    (long long)json_integer_value(rs));
            goto out;
        }
        p->resample = PREPROCESS_BICUBIC;
    }
    json_t *rf = json_object_get(root, "rescale_factor");
    if (rf && !json_is_null(rf)) {
        if (!json_is_number(rf) || !(json_number_value(rf) > 0)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: \"rescale_factor\": expected a number > 0", path);
            goto out;
        }
        p->rescale_factor = json_number_value(rf);
    }
    if (get_triple(path, root, "image_mean", p->mean, false, err) ||
        get_triple(path, root, "image_std", p->std, true, err))
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int preprocess_config_image_size(const char *path, int *image_size, mm_error *err)
{
    json_error_t je;
    *image_size = 0;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        if (je.line <= 0 && access(path, R_OK) != 0)
            return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%d: %s", path, je.line, je.text);
    }
    int rc = 0;
    json_t *vc = json_is_object(root) ? json_object_get(root, "vision_config") : NULL;
    json_t *is = vc && json_is_object(vc) ? json_object_get(vc, "image_size") : NULL;
    if (is && !json_is_null(is)) {
        if (!json_is_integer(is) || json_integer_value(is) <= 0 ||
            json_integer_value(is) > MAX_IMAGE_SIDE)
            rc = mm_fail(err, MM_ERR_MALFORMED,
                         "%s: \"vision_config.image_size\": expected an integer in 1..%d", path,
                         MAX_IMAGE_SIDE);
        else
            *image_size = (int)json_integer_value(is);
    }
    json_decref(root);
    return rc;
}

int preprocess_config_for_model(const char *model_dir, preprocess_params *p,
                                int *found_preprocessor, mm_error *err)
{
    char path[PATH_MAX];
    int image_size = 0;
    if (found_preprocessor) *found_preprocessor = 0;
    snprintf(path, sizeof path, "%s/config.json", model_dir);
    if (access(path, F_OK) == 0 && preprocess_config_image_size(path, &image_size, err) != 0)
        return -1;
    preprocess_params_default(p, image_size);
    snprintf(path, sizeof path, "%s/preprocessor_config.json", model_dir);
    if (access(path, F_OK) != 0) return 0;
    if (preprocess_config_read(path, p, err) != 0) return -1;
    if (found_preprocessor) *found_preprocessor = 1;
    return 0;
}
